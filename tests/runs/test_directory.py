"""The run directory: what a new run writes, and when a run may resume."""

import json
import os

import pytest
import yaml

from helpers.data import write_mixed_jsonl, write_reproducible_config
from mtkeras.runs import CONFIG_FILE, STATE_FILE, RunDirectory, RunError, config_changes, config_to_dict, load_config


@pytest.fixture
def config(tmp_path):
    data = write_mixed_jsonl(tmp_path / "data.jsonl")
    return load_config(write_reproducible_config(tmp_path / "c.yaml", data, training="epochs: 2\nbatch_size: 4"))


def test_a_new_run_writes_its_config_and_state(config, tmp_path):
    directory = RunDirectory(str(tmp_path / "run"))
    assert directory.prepare(config) == 0
    assert yaml.safe_load(open(directory.file(CONFIG_FILE))) == config_to_dict(config)
    assert json.load(open(directory.file(STATE_FILE))) == {
        "status": "running", "epochs_done": 0, "resumed_at_epochs": [], "train_seconds": 0.0
    }
    assert RunDirectory.of(config).path == os.path.abspath("runs/tiny")  # the config's name by default


def test_an_unfinished_run_resumes_only_under_the_same_config(config, tmp_path):
    directory = RunDirectory(str(tmp_path / "run"))
    directory.prepare(config)
    assert directory.prepare(config) == 0  # nothing backed up yet: starts at epoch 0
    os.makedirs(directory.backup)
    with open(os.path.join(directory.backup, "training_metadata.json"), "w") as handle:
        json.dump({"epoch": 1}, handle)
    assert directory.prepare(config) == 1
    changed = config.model_copy(update={"training": config.training.model_copy(update={"batch_size": 8})})
    with pytest.raises(RunError, match="unfinished run of another config \\(training.batch_size: 4 -> 8\\)"):
        directory.prepare(changed)
    # Early stopping and export settings may change on resume.
    patient = config.model_copy(update={"training": config.training.model_copy(update={"patience": 3})})
    assert directory.prepare(patient) == 1
    assert directory.prepare(changed, overwrite=True) == 0


def test_a_finished_run_or_a_foreign_folder_is_refused(config, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="is not an mtkeras run directory"):
        RunDirectory(str(foreign)).prepare(config)
    directory = RunDirectory(str(tmp_path / "run"))
    directory.prepare(config)
    directory.write_state({**directory.read_state(), "status": "finished"})
    with pytest.raises(RunError, match="holds a finished run"):
        directory.prepare(config)


def test_config_changes_names_each_field_that_matters():
    old = {"training": {"epochs": 3, "patience": 2}, "export": {"name": "a"}}
    new = {"training": {"epochs": 4, "patience": 5}, "export": {"name": "b"}}
    assert config_changes(old, new) == [("training.epochs", 3, 4)]


def test_a_run_written_with_every_option_on_every_task_resumes(config, tmp_path):
    # Run directories from before options moved to the task kinds hold every
    # option on every task; the options a kind does not take change nothing.
    directory = RunDirectory(str(tmp_path / "run"))
    directory.prepare(config)
    saved = yaml.safe_load(open(directory.file(CONFIG_FILE)))
    for task in saved["tasks"].values():
        for option, default in {"crf": False, "sentence_context": False, "thresholds": 0.5, "separator": ",",
                                "pair": False, "labels": None, "label_smoothing": 0.0}.items():
            task.setdefault(option, default)
    with open(directory.file(CONFIG_FILE), "w") as handle:
        yaml.safe_dump(saved, handle)
    assert directory.prepare(config) == 0
    sentence = next(name for name, task in config.tasks.items() if task.kind == "sentence_classification")
    saved["tasks"][sentence]["label_smoothing"] = 0.2  # one the kind takes: a real change
    with open(directory.file(CONFIG_FILE), "w") as handle:
        yaml.safe_dump(saved, handle)
    with pytest.raises(RunError, match=f"tasks.{sentence}.label_smoothing: 0.2 -> 0.0"):
        directory.prepare(config)


def test_a_run_written_before_a_field_existed_resumes_while_the_field_keeps_its_default(config, tmp_path):
    # A later mtkeras adds fields (training.monitor_window, a kind's option): the saved config lacks them.
    directory = RunDirectory(str(tmp_path / "run"))
    directory.prepare(config)
    os.makedirs(directory.backup)
    with open(os.path.join(directory.backup, "training_metadata.json"), "w") as handle:
        json.dump({"epoch": 1}, handle)
    saved = yaml.safe_load(open(directory.file(CONFIG_FILE)))
    assert saved["training"].pop("monitor_window") == 1 and saved["mixing"].pop("temperature") == 2.0
    tagging = next(name for name, task in config.tasks.items() if task.kind == "token_tagging")
    assert saved["tasks"][tagging].pop("crf") is False
    with open(directory.file(CONFIG_FILE), "w") as handle:
        yaml.safe_dump(saved, handle)
    assert directory.prepare(config) == 1
    # Set to anything else, it is a change like any other.
    windowed = config.model_copy(update={"training": config.training.model_copy(update={"monitor_window": 3})})
    with pytest.raises(RunError, match=r"training.monitor_window: 1 -> 3"):  # absent: it was the default
        directory.prepare(windowed)
    assert config_changes({"training": {}}, {"training": {"monitor_window": 1, "epochs": 3}}) == [
        ("training.epochs", None, 3)]  # epochs defaults to None (the recipe's): 3 is not it
    # A section the old config set to null is not filled with defaults: switching it on is a change.
    assert config_changes({"distillation": None}, {"distillation": {"other_sources": False, "anneal": True}}) == [
        ("distillation.anneal", None, True), ("distillation.other_sources", None, False)]
