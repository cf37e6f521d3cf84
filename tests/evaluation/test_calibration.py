"""A run fits each sentence task's temperature on its valid split; the saved model and its answers use it."""

import json
import os

import numpy as np
import pytest

import mtkeras
from helpers.data import write_mixed_jsonl, write_reproducible_config
from mtkeras.runs import load_config, train
from mtkeras.tasks.calibration import with_temperature


def test_training_calibrates_the_sentence_tasks_on_the_valid_split(tmp_path):
    data = write_mixed_jsonl(tmp_path / "data.jsonl", copies=5)  # enough labelled valid texts of each sentence task
    config = load_config(write_reproducible_config(tmp_path / "c.yaml", data, training="epochs: 3\nbatch_size: 8",
                                                   valid=True))
    outcome = train(config, run_dir=str(tmp_path / "run"), verbose=0)
    assert set(outcome["calibration"]) == {"intent", "sentiment"}  # the token task has no temperature
    for fitted in outcome["calibration"].values():
        assert fitted["texts"] >= 20 and fitted["temperature"] > 0
    metrics = json.load(open(os.path.join(outcome["run_dir"], "metrics_valid.json")))
    assert metrics["intent"]["temperature"] == pytest.approx(outcome["calibration"]["intent"]["temperature"], rel=1e-3)
    assert metrics["intent"]["ece"] == pytest.approx(outcome["calibration"]["intent"]["ece_after"], abs=1e-6)
    # The saved model answers with the temperature.
    model = mtkeras.load_model(outcome["model_path"])
    intent = model.tasks[0]
    assert intent.temperature == pytest.approx(outcome["calibration"]["intent"]["temperature"], rel=1e-3)
    texts = ["book a table for two", "play some jazz"]
    probs = model.predict(texts, verbose=0)["intent"]
    answers = mtkeras.predict(model, texts)
    np.testing.assert_allclose([a["intent"]["score"] for a in answers],
                               with_temperature(probs, intent.temperature).max(-1), rtol=1e-4)
