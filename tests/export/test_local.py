"""`mtkeras predict --model-path`: answers from an export, a run's model or a .keras file, as a server gives them."""

import json
import os

import pytest

import mtkeras
from helpers.served import TEXTS
from mtkeras.cli import main
from mtkeras.export.local import local_predictor
from mtkeras.results import same_answers


def predict_lines(capsys, *args):
    code = main(["predict", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return [json.loads(line) for line in captured.out.splitlines()]


def test_an_export_a_keras_file_and_a_run_directory_answer_alike(trained_model, exported_model, tmp_path, capsys):
    expected = mtkeras.predict(trained_model, TEXTS)
    base, version_path = exported_model
    keras_file = str(tmp_path / "run" / "model.keras")
    os.makedirs(os.path.dirname(keras_file))
    trained_model.save(keras_file)
    for path in (base, version_path, keras_file, os.path.dirname(keras_file)):
        rows = predict_lines(capsys, "--model-path", path, "--jsonl", *TEXTS)
        assert [row.pop("text") for row in rows] == TEXTS
        assert same_answers(rows, expected), path
    # Texts from a file, one per line (blank lines skipped).
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS[:2]) + "\n\n", encoding="utf-8")
    rows = predict_lines(capsys, "--model-path", base, "--jsonl", "--file", str(texts))
    assert [row["text"] for row in rows] == TEXTS[:2]


def test_what_is_not_a_model_is_named(exported_model, tmp_path, capsys):
    base, _ = exported_model
    with pytest.raises(FileNotFoundError, match="has no version 7; it has \\[1\\]"):
        local_predictor(base, version=7)
    with pytest.raises(FileNotFoundError, match="holds no model"):
        local_predictor(str(tmp_path))
    assert main(["predict", "--model-path", str(tmp_path / "missing"), "hi"]) == 1
    assert f"--model-path {tmp_path / 'missing'}: no such file or folder" in capsys.readouterr().err
