"""Each task trained alone from the multi-task config, and the multi-task run's epoch picked relative to them."""

import json

import pytest

from helpers.data import TINY_ASSISTANT, TINY_FEEDBACK
from mtkeras.cli import main
from mtkeras.evaluation import history_rows
from mtkeras.runs import load_config, single_task_config

CONFIG = """\
name: two-sources
tasks:
  intent: {{kind: sentence_classification, dropout: 0.0}}
  slots: {{kind: token_tagging, dropout: 0.0}}
  sentiment: {{kind: sentence_classification, dropout: 0.0}}
datasets:
  assistant: {{reader: jsonl, train: {assistant}, valid: {assistant}, test: {assistant}, tasks: {{intent: intent, slots: slots}}}}
  feedback: {{reader: jsonl, train: {feedback}, valid: {feedback}, tasks: {{sentiment: sentiment}}}}
mixing: {{examples_per_epoch: 26}}
encoder:
  config: {{embedding_dim: 8, hidden_dim: 8, num_layers: 1, char_dim: 0, dropout: 0.0, word_dropout: 0.0, singleton_dropout: 0.0}}
training: {{epochs: 8, batch_size: 4, monitor: val_slots_f1, optimizer: {{learning_rate: 0.05}}, schedule: {{name: constant}}}}
"""


@pytest.fixture
def config_path(tmp_path):
    assistant, feedback = tmp_path / "assistant.jsonl", tmp_path / "feedback.jsonl"
    assistant.write_text("".join(json.dumps({"text": t, "intent": i, "slots": s.split()}) + "\n" for t, i, s in TINY_ASSISTANT))
    feedback.write_text("".join(json.dumps({"text": t, "sentiment": s}) + "\n" for t, s in TINY_FEEDBACK))
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(assistant=assistant, feedback=feedback))
    return path


def test_a_single_task_config_keeps_the_task_its_datasets_and_everything_else(config_path, tmp_path):
    config = load_config(str(config_path))
    slots = single_task_config(config, "slots", run_dir=str(tmp_path / "runs" / "mt"))
    assert list(slots.tasks) == ["slots"] and list(slots.datasets) == ["assistant"]
    assert slots.datasets["assistant"].tasks == {"slots": "slots"}
    assert slots.run_dir == str(tmp_path / "runs" / "mt-single" / "slots")
    assert slots.name == "two-sources-slots" and slots.export_name == "two-sources-slots"
    assert slots.encoder == config.encoder and slots.training == config.training  # its own monitor: val_slots_f1
    sentiment = single_task_config(config, "sentiment")
    assert list(sentiment.datasets) == ["feedback"]
    assert sentiment.training.monitor is None  # val_slots_f1 is not its log: its own score picks its epoch
    assert sentiment.run_dir.endswith("runs/two-sources-single/sentiment")
    with pytest.raises(ValueError, match="no task 'topic'"):
        single_task_config(config, "topic")


def test_single_task_runs_then_the_multi_task_run_scores_relative_to_them(config_path, tmp_path, capsys):
    run_dir = str(tmp_path / "mt")
    assert main(["train", str(config_path), "--run-dir", run_dir, "--single-task", "--progress", "none"]) == 0
    scores = json.loads((tmp_path / "mt-single" / "scores.json").read_text())
    assert set(scores) == {"intent", "slots", "sentiment"}
    for task, metric in (("intent", "accuracy"), ("slots", "f1"), ("sentiment", "accuracy")):
        rows = history_rows(str(tmp_path / "mt-single" / task / "history.csv"))
        best = scores[task]["best_epoch"]
        assert scores[task]["metric"] == metric
        assert scores[task]["valid"] == pytest.approx(rows[best - 1][f"val_{task}_{metric}"])
    assert scores["intent"]["test"] is not None and scores["sentiment"]["test"] is None  # feedback has no test split

    # Finished runs are kept: a second call trains nothing.
    capsys.readouterr()
    main(["train", str(config_path), "--run-dir", run_dir, "--single-task", "--progress", "none"])
    assert capsys.readouterr().out.count("is finished; kept") == 3

    assert main(["train", str(config_path), "--run-dir", run_dir, "--progress", "none"]) == 0
    assert "relative to its single-task model's" in capsys.readouterr().out
    for row in history_rows(str(tmp_path / "mt" / "history.csv")):
        relative = [row[f"val_{task}_{scores[task]['metric']}"] / scores[task]["valid"] for task in scores]
        assert row["val_score"] == pytest.approx(sum(relative) / 3, rel=1e-5)
