"""`mtkeras validate`: every dataset read without training; counts, labels and the problems a user must see."""

import json

from mtkeras.cli import main
from mtkeras.runs import load_config
from mtkeras.runs.validate import validate_config

CONFIG = """\
name: checked
tasks:
  intent: {{kind: sentence_classification}}
  slots: {{kind: token_tagging}}
datasets:
  chat:
    reader: jsonl
    train: {train}
    test: {test}
    text: text
    tasks: {{intent: intent, slots: slots}}
"""


def write(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def row(text, intent, slots):
    return {"text": text, "intent": intent, "slots": slots.split()}


def config_with(tmp_path, train_rows, test_rows):
    train, test = write(tmp_path / "train.jsonl", train_rows), write(tmp_path / "test.jsonl", test_rows)
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG.format(train=train, test=test), encoding="utf-8")
    return str(path)


TRAIN = [row("play jazz", "music", "O B-genre"), row("play some rock", "music", "O O B-genre"),
         row("rain in rome", "weather", "O O B-city")]


def test_counts_labels_and_the_problems_a_run_would_meet(tmp_path, capsys):
    test = [row("play jazz", "music", "O B-genre"), row("book a cab", "taxi", "O O O"),
            row("to paris", "weather", "O B-place")]
    path = config_with(tmp_path, TRAIN, test)
    report = validate_config(load_config(path))
    assert report["counts"] == {"chat": {"train": 3, "test": 3}}
    assert report["tasks"]["intent"]["train_labels"] == {"music": 2, "weather": 1}
    assert report["tasks"]["slots"]["train_labels"] == {"genre": 2, "city": 1}
    assert report["overlaps"] == {"valid": 0, "test": 1}
    warnings = "\n".join(report["warnings"])
    assert "tasks.intent: test labels never seen in training: taxi" in warnings
    assert "tasks.slots: test entity types never seen in training: place" in warnings
    assert "test texts also in training: 1, e.g. " in warnings and "'play jazz'" in warnings
    assert report["errors"] == []
    assert main(["validate", path]) == 0
    out = capsys.readouterr().out
    assert "chat             train 3  test 3" in out and out.rstrip().endswith("ok (with warnings)")


def test_the_first_bad_line_of_each_file_is_an_error(tmp_path, capsys):
    test = [row("rain in rome", "weather", "O O B-city"), "{not json", row("play jazz", "music", "O")]
    path = config_with(tmp_path, TRAIN, test)
    assert main(["validate", path, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (error,) = report["errors"]
    assert error.startswith("chat/test: ") and f"{tmp_path / 'test.jsonl'}:2" in error
    assert report["counts"] == {"chat": {"train": 3}}  # the training split still read and counted


def test_a_missing_data_path_is_named_with_the_config_line(tmp_path, capsys):
    path = config_with(tmp_path, TRAIN, TRAIN)
    text = open(path).read().replace(str(tmp_path / "test.jsonl"), str(tmp_path / "missing.jsonl"))
    open(path, "w").write(text)
    assert main(["validate", path]) == 1
    out = capsys.readouterr().out
    assert f"error: chat/test: {path}:9: datasets.chat.test: no such file or folder: '{tmp_path / 'missing.jsonl'}'" in out
    # Given on the command line, the place is --set.
    report = validate_config(load_config(path, overrides=[f"datasets.chat.test={tmp_path / 'gone.jsonl'}"]))
    assert report["errors"][0].startswith("chat/test: --set: datasets.chat.test: no such file or folder")
