"""A run fits each sentence task's temperature and token task's outside weight on its valid split; the saved
model and its answers use them."""

import json
import os

import numpy as np
import pytest

import mtkeras
from helpers.data import write_mixed_jsonl, write_reproducible_config
from mtkeras.cli import main
from mtkeras.runs import RunDirectory, load_config, train
from mtkeras.tasks.calibration import OUTSIDE_WEIGHTS, with_temperature


def test_training_calibrates_every_task_on_the_valid_split_and_calibrate_fits_an_old_run_again(tmp_path, capsys):
    data = write_mixed_jsonl(tmp_path / "data.jsonl", copies=5)  # enough labelled valid texts of each task
    path = write_reproducible_config(tmp_path / "c.yaml", data, training="epochs: 3\nbatch_size: 8", valid=True,
                                     extra="export: {after_training: true, base_path: %s}" % (tmp_path / "exports"))
    outcome = train(load_config(path), run_dir=str(tmp_path / "run"), verbose=0)
    assert set(outcome["calibration"]) == {"intent", "sentiment", "slots"}
    for task in ("intent", "sentiment"):
        fitted = outcome["calibration"][task]
        assert fitted["texts"] >= 20 and fitted["temperature"] > 0
    # The token task's outside weight: one of the grid's, never worse on the valid split than the weight before.
    slots = outcome["calibration"]["slots"]
    assert slots["outside_weight"] in OUTSIDE_WEIGHTS and slots["f1_after"] >= slots["f1_before"]
    assert slots["texts"] == sum('"slots"' in line for line in open(data))  # the valid split is the data file
    assert json.load(open(os.path.join(outcome["run_dir"], "run.json")))["calibration"] == json.loads(
        json.dumps(outcome["calibration"]))
    metrics = json.load(open(os.path.join(outcome["run_dir"], "metrics_valid.json")))
    assert metrics["intent"]["temperature"] == pytest.approx(outcome["calibration"]["intent"]["temperature"], rel=1e-3)
    assert metrics["intent"]["ece"] == pytest.approx(outcome["calibration"]["intent"]["ece_after"], abs=1e-6)
    assert metrics["slots"]["f1"] == pytest.approx(slots["f1_after"], abs=1e-9)  # the report decodes with the weight
    # The epoch was picked by the score the model is served with: each epoch's slot F1 under the weight fitted
    # for it, in the mean over tasks; the kept epoch's is the finished model's.
    history = RunDirectory(outcome["run_dir"]).history()
    for row in history:
        assert row["val_slots_outside_weight"] in OUTSIDE_WEIGHTS and 0.0 <= row["val_slots_f1_fitted"] <= 1.0
        assert row["val_score"] == pytest.approx(
            (row["val_intent_accuracy"] + row["val_sentiment_accuracy"] + row["val_slots_f1_fitted"]) / 3, abs=1e-6)
    kept = next(row for row in history if row["epoch"] == outcome["best_epoch"])
    assert kept["val_score"] == max(row["val_score"] for row in history)
    assert kept["val_slots_f1_fitted"] == pytest.approx(slots["f1_after"], abs=1e-6)
    assert kept["val_slots_outside_weight"] == slots["outside_weight"]
    # The saved model answers with the temperature.
    model = mtkeras.load_model(outcome["model_path"])
    intent = model.tasks[0]
    assert intent.temperature == pytest.approx(outcome["calibration"]["intent"]["temperature"], rel=1e-3)
    texts = ["book a table for two", "play some jazz"]
    probs = model.predict(texts, verbose=0)["intent"]
    answers = mtkeras.predict(model, texts)
    np.testing.assert_allclose([a["intent"]["score"] for a in answers],
                               with_temperature(probs, intent.temperature).max(-1), rtol=1e-4)
    assert {task.name: task for task in model.tasks}["slots"].outside_weight == slots["outside_weight"]

    # `mtkeras calibrate` on a run trained before the outside weight, as such a run was: its model answers with
    # weight 1, its state knows no calibration.
    run, fitted = outcome["run_dir"], slots
    directory = RunDirectory(run)
    model = mtkeras.load_model(directory.model_path)
    {task.name: task for task in model.tasks}["slots"].outside_weight = 1.0
    model.save(directory.model_path)
    state = directory.read_state()
    del state["calibration"]
    directory.write_state(state)
    capsys.readouterr()
    assert main(["calibrate", path, "--run-dir", run]) == 0
    out = capsys.readouterr().out
    assert f"[mtkeras] slots: outside weight {fitted['outside_weight']:.3g} fitted on {fitted['texts']} valid texts" in out
    # The same fit as training's (same model, same split), saved, reported and exported again.
    state = directory.read_state()
    assert state["calibration"]["slots"]["outside_weight"] == fitted["outside_weight"]
    model = mtkeras.load_model(directory.model_path)
    assert {task.name: task for task in model.tasks}["slots"].outside_weight == fitted["outside_weight"]
    metrics = json.load(open(os.path.join(run, "metrics_valid.json")))
    assert metrics["slots"]["f1"] == pytest.approx(fitted["f1_after"], abs=1e-9)
    assert state["export_path"] == str(tmp_path / "exports" / "2") and os.path.isdir(state["export_path"])
    # Only a finished run.
    state["status"] = "running"
    directory.write_state(state)
    assert main(["calibrate", path, "--run-dir", run]) == 1
    assert "no finished run to calibrate (status 'running')" in capsys.readouterr().err
