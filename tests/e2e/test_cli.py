"""The `mtkeras` command line on tiny data: train, resume, evaluate, export, errors."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mtkeras
from mtkeras.runs import RunDirectory
from helpers.data import TINY_ASSISTANT, TINY_FEEDBACK
from helpers.processes import repository_commit, run_in_terminal, screen_lines

pytestmark = pytest.mark.slow

MTKERAS = [sys.executable, "-m", "mtkeras"]
TASKS = ("intent", "slots", "sentiment")


def write_joint_folder(folder, rows):
    os.makedirs(folder, exist_ok=True)
    texts = [row[0] for row in rows]
    with open(os.path.join(folder, "seq.in"), "w") as f:
        f.write("\n".join(texts) + "\n")
    with open(os.path.join(folder, "label"), "w") as f:
        f.write("\n".join(row[1] for row in rows) + "\n")
    if len(rows[0]) > 2:
        with open(os.path.join(folder, "seq.out"), "w") as f:
            f.write("\n".join(row[2] for row in rows) + "\n")


CONFIG = """\
name: tiny
run_dir: {root}/runs/tiny
tasks:
  intent: {{kind: sentence_classification}}
  slots: {{kind: token_tagging}}
  sentiment: {{kind: sentence_classification}}
datasets:
  assistant:
    reader: joint_nlu
    train: {root}/data/assistant/train
    valid: {root}/data/assistant/valid
    test: {root}/data/assistant/test
    tasks: {{intent: label, slots: tags}}
  feedback:
    reader: joint_nlu
    train: {root}/data/feedback/train
    valid: {root}/data/feedback/valid
    test: {root}/data/feedback/test
    tasks: {{sentiment: label}}
mixing: {{examples_per_epoch: {examples_per_epoch}}}
encoder:
  config: {{embedding_dim: 8, hidden_dim: 8, num_layers: 1, char_filters: 8, char_dim: 8}}
  max_vocabulary_size: 30  # the assistant texts' words; with the feedback's, 42
training:
  epochs: {epochs}
  batch_size: 4
  optimizer: {{learning_rate: 0.02}}
  schedule: {{name: constant}}
export:
  base_path: {root}/saved_models/tiny
"""


def make_project(root, epochs=3, examples_per_epoch=40):
    for split in ("train", "valid", "test"):
        write_joint_folder(os.path.join(root, "data", "assistant", split), TINY_ASSISTANT)
        write_joint_folder(os.path.join(root, "data", "feedback", split), TINY_FEEDBACK)
    path = os.path.join(root, "tiny.yaml")
    with open(path, "w") as f:
        f.write(CONFIG.format(root=root, epochs=epochs, examples_per_epoch=examples_per_epoch))
    return path


def run_cli(*args, timeout=300):
    return subprocess.run(MTKERAS + list(args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny project trained once by `mtkeras train` in its own process, on a terminal (a pseudo-terminal,
    TensorFlow's native logging as a user has it); the third item is all the command wrote."""
    root = str(tmp_path_factory.mktemp("cli"))
    config = make_project(root)
    code, raw = run_in_terminal(MTKERAS + ["train", config])
    assert code == 0, raw[-3000:]
    return root, config, raw


def test_train_writes_a_complete_run_directory(trained):
    root, _, raw = trained
    run = os.path.join(root, "runs", "tiny")
    # Per-task metrics after every epoch, a table per split at the end.
    for epoch in (1, 2, 3):
        assert f"epoch {epoch}/3" in raw
    assert all(f"\n{task} " in raw for task in TASKS)
    assert "valid split" in raw and "test split" in raw
    assert "Traceback" not in raw

    state = json.load(open(os.path.join(run, "run.json")))
    assert state["status"] == "finished" and state["epochs_done"] == 3 and state["resumed_at_epochs"] == []
    # The code that trained it: this checkout's commit (tests run from one), as git itself says.
    (sitting,) = state["sittings"]
    commit, dirty = repository_commit()
    assert sitting["commit"] == commit and len(sitting["commit"]) == 40
    assert sitting["dirty"] == dirty
    assert sitting["from_epoch"] == 0 and sitting["mtkeras"] == mtkeras.__version__
    assert state["monitor"] == "val_score"  # the default with a valid split: the mean of each task's score
    assert f"; {state['parameters']:,} parameters;" in raw  # the weight count of the trained model
    # Each dataset's words are all in the vocabulary (30 + 13, one shared).
    assert "[mtkeras] vocabulary: 42 trained words (assistant: 30 of its 30, feedback: 13 of its 13)" in raw
    history = open(os.path.join(run, "history.csv")).read().splitlines()
    assert len(history) == 4 and "val_intent_accuracy" in history[0]
    rows = list(csv.DictReader(open(os.path.join(run, "history.csv"))))
    scores = [float(row["val_score"]) for row in rows]
    assert state["best_epoch"] == scores.index(max(scores)) + 1
    # A run whose last epoch was its best says so: dev may still have been improving.
    assert ("the last epoch was the best: val_score was still improving after 3 epochs"
            in raw) == (state["best_epoch"] == 3)
    for name in ("best.weights.h5", "last.weights.h5"):
        assert os.path.getsize(os.path.join(run, "checkpoints", name)) > 0
    events = [f for _, _, files in os.walk(os.path.join(run, "logs")) for f in files if f.startswith("events.out")]
    assert len(events) >= 2  # train and validation
    assert os.path.exists(os.path.join(run, "model.keras"))
    assert not os.path.exists(os.path.join(run, "backup"))  # removed once the run finished
    for split in ("valid", "test"):
        metrics = json.load(open(os.path.join(run, f"metrics_{split}.json")))
        assert set(TASKS) <= set(metrics) and metrics["intent"]["examples"] == len(TINY_ASSISTANT)
        assert metrics["sentiment"]["examples"] == len(TINY_FEEDBACK)
    plots = sorted(os.listdir(os.path.join(run, "plots")))
    assert {f"{task}_curves.png" for task in TASKS} <= set(plots)
    assert {"intent_confusion_test.png", "sentiment_confusion_test.png"} <= set(plots)
    assert not any(name.startswith("slots_confusion") for name in plots)  # a token task has none
    for name in plots:
        with open(os.path.join(run, "plots", name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    saved = open(os.path.join(run, "config.yaml")).read()
    assert "batch_size: 4" in saved and "warmup_fraction" in saved  # defaults written out


def test_early_stopping_ends_a_run_and_its_resumption_trains_no_further(tmp_path, monkeypatch):
    """`training.patience` waits on the mean and every task; a run killed after the stop (while exporting) resumes without training."""
    from helpers.data import write_mixed_jsonl, write_reproducible_config

    import mtkeras.runs
    from mtkeras.runs import load_config

    data = write_mixed_jsonl(tmp_path / "data.jsonl")
    # A learning rate too small to change any prediction: no score can improve after the first epoch.
    config = load_config(write_reproducible_config(
        tmp_path / "c.yaml", data, valid=True,
        training="epochs: 6\nbatch_size: 4\npatience: 1\noptimizer: {learning_rate: 1.0e-9}\nschedule: {name: constant}",
        extra=f"export: {{after_training: true, base_path: {tmp_path / 'saved'}}}"))
    run_dir = str(tmp_path / "run")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while exporting")

    monkeypatch.setattr(mtkeras.runs.finish, "export_model", killed)
    with pytest.raises(KeyboardInterrupt):
        mtkeras.runs.train(config, run_dir=run_dir, verbose=0)
    record = json.load(open(os.path.join(run_dir, "checkpoints", "patience.json")))
    assert [row["epoch"] for row in record["epochs"]] == [0, 1]  # stopped after epoch 2 of 6
    waited = {"val_score", "val_intent_accuracy", "val_slots_f1", "val_sentiment_accuracy"}
    assert all(set(row) == waited | {"epoch"} and all(row[k] >= 0 for k in waited) for row in record["epochs"])
    assert json.load(open(os.path.join(run_dir, "run.json")))["status"] == "running"

    monkeypatch.undo()
    outcome = mtkeras.runs.train(config, run_dir=run_dir, verbose=0)
    # Keras' EarlyStopping starts afresh on resume and would train epochs 3 and 4 here.
    assert outcome["epochs_done"] == 2 and outcome["resumed_from"] == 2
    assert os.path.isdir(outcome["export_path"])
    assert json.load(open(os.path.join(run_dir, "run.json")))["status"] == "finished"
    # The export records the finished run: its epochs and scores.
    run = json.load(open(os.path.join(outcome["export_path"], "assets.extra", "mtkeras.json")))["run"]
    assert run["epochs_done"] == 2 and run["best_epoch"] == 1 and set(run["metrics"]) == {"valid"}


def test_the_training_screen_shows_each_epoch_once_and_no_tensorflow_log_lines(trained):
    _, _, raw = trained
    lines = screen_lines(raw)
    # Not one of TensorFlow's native log lines, which it writes at import and when it lists devices.
    assert not [line for line in lines if re.match(r"^[IWEF]\d{4} |^WARNING: All log messages before absl", line)], lines
    for epoch in (1, 2, 3):
        heads = [line for line in lines if line.startswith(f"epoch {epoch}/3 ")]
        assert len(heads) == 1, lines  # one table per epoch
        assert "val_score" in heads[0] and ("improved, saved checkpoints/best.weights.h5" in heads[0] or "no improvement" in heads[0])
    assert "improved, saved" in [line for line in lines if line.startswith("epoch 1/3 ")][0]
    # Each task's metrics appear in the tables only: once per epoch, never as Keras' "name: value" list.
    assert sum(line.startswith("intent ") and " | " in line for line in lines) == 3, lines
    assert "intent_accuracy:" not in raw and "val_intent_loss:" not in raw
    # A Python warning is one line, never followed by the source line that raised it.
    assert not [line for line in lines if line.strip() == "warnings.warn("], lines
    # The progress bar ends before its epoch's table.
    bars = [i for i, line in enumerate(lines) if re.search(r"\d+/\d+ .*step - loss: ", line)]
    first_table = next(i for i, line in enumerate(lines) if line.startswith("epoch 1/3 "))
    assert bars and bars[0] < first_table


def test_a_finished_run_is_not_trained_again(trained, capsys):
    from mtkeras.cli import main

    _, config, _ = trained
    assert main(["train", config]) == 1
    assert "holds a finished run" in capsys.readouterr().err


def test_evaluate_and_export(trained, capsys):
    from mtkeras.cli import main

    root, config, _ = trained
    assert main(["evaluate", config, "--split", "valid", "--json"]) == 0
    out = capsys.readouterr().out
    results = json.loads(out[out.index("{"):])
    assert results["intent"]["examples"] == len(TINY_ASSISTANT) and 0.0 <= results["slots"]["f1"] <= 1.0
    assert results["intent"]["confusion"]["labels"] == sorted({row[1] for row in TINY_ASSISTANT})

    assert main(["export", config]) == 0
    assert main(["export", config]) == 0
    base = os.path.join(root, "saved_models", "tiny")
    assert sorted(os.listdir(base)) == ["1", "2"]
    capsys.readouterr()
    assert main(["export", config, "--version", "1"]) == 1  # taken: refused, nothing replaced
    assert "mtkeras export: export: " in capsys.readouterr().err
    assert sorted(os.listdir(base)) == ["1", "2"]
    meta = json.load(open(os.path.join(base, "2", "assets.extra", "mtkeras.json")))
    assert meta["config"]["name"] == "tiny" and meta["run"]["epochs_done"] == 3

    import tensorflow as tf

    served = tf.saved_model.load(os.path.join(base, "1")).signatures["serving_default"]
    outputs = served(text=tf.constant(["play some jazz", "this is useless"]))
    import keras

    model = keras.models.load_model(os.path.join(root, "runs", "tiny", "model.keras"))
    expected = model.predict(["play some jazz", "this is useless"], verbose=0)
    np.testing.assert_allclose(outputs["intent_probs"].numpy(), expected["intent"], atol=1e-5)
    # Each dataset kept its own 30 most frequent words: the larger one did not push the other's out.
    texts = [row[0] for row in TINY_ASSISTANT + TINY_FEEDBACK]
    words = {word.decode().lower() for word in mtkeras.text.split_words(texts).flat_values.numpy()}
    assert len(words) == 42 and set(model.preprocessor.vocabulary) == words


def test_user_errors_are_one_line_messages(tmp_path, capsys):
    from mtkeras.cli import main

    assert main(["train", str(tmp_path / "nope.yaml")]) == 1
    assert "mtkeras train: " in capsys.readouterr().err

    config = make_project(str(tmp_path))
    assert main(["train", config, "--set", "training.batch_size=-3"]) == 1
    assert capsys.readouterr().err.strip() == (
        "mtkeras train: --set: training.batch_size: expected a positive integer, got -3"
    )
    text = open(config).read().replace("test: " + str(tmp_path) + "/data/feedback/test", "test: /no/such/folder")
    open(config, "w").write(text)
    assert main(["evaluate", config]) == 1
    err = capsys.readouterr().err
    # Named by the config's file and line, as a schema error is.
    assert re.search(rf"^mtkeras evaluate: {re.escape(config)}:\d+: datasets.feedback.test: no such file or folder: "
                     r"'/no/such/folder'", err), err
    assert main(["export", config]) == 1
    assert "no trained model at" in capsys.readouterr().err
    # A label a task cannot take is named by file and line, before any training.
    (tmp_path / "scores.tsv").write_text("text\tscore\ngood one\t4.5\nbad one\tterrible\n")
    (tmp_path / "scores.yaml").write_text(
        "name: scores\ntasks: {score: {kind: regression}}\n"
        f"datasets: {{s: {{reader: delimited, train: {tmp_path}/scores.tsv, tasks: {{score: score}}}}}}\n"
    )
    assert main(["train", str(tmp_path / "scores.yaml"), "--run-dir", str(tmp_path / "runs" / "scores")]) == 1
    err = capsys.readouterr().err
    assert "scores.tsv:3" in err and "'score'" in err and "Traceback" not in err, err
    with pytest.raises(SystemExit) as exited:
        main(["train"])
    assert exited.value.code == 2


def test_help_names_every_command(capsys):
    from mtkeras.cli import main

    for argv in (["--help"], ["train", "--help"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("train", "evaluate", "export", "serve", "predict", "demo"):
        assert command in out
    assert "--set" in out and "resume" in out


def test_demo_data_only(tmp_path):
    from mtkeras.cli import main

    assert main(["demo", "--data-only", "--data-dir", str(tmp_path / "demo")]) == 0
    assert os.path.exists(tmp_path / "demo" / "assistant" / "train" / "seq.out")


def _optimizer_steps(path):
    import h5py

    with h5py.File(path) as f:
        return int(f["optimizer"]["vars"]["0"][()])


def test_a_run_killed_during_its_first_epoch_starts_again_with_the_same_command(tmp_path):
    """SIGKILL before any epoch ended: the run directory holds a running run with an empty history; the same
    command trains it from the start (it once failed on the empty CSVLogger file)."""
    from helpers.data import write_mixed_jsonl, write_reproducible_config

    data = write_mixed_jsonl(tmp_path / "data.jsonl", copies=34)  # 102 steps per epoch
    config = tmp_path / "first.yaml"
    write_reproducible_config(config, data, training="epochs: 1\nbatch_size: 4")
    run = tmp_path / "runs" / "first"
    command = MTKERAS + ["train", str(config), "--run-dir", str(run)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None and not (run / "history.csv").exists():
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before it could be killed:\n" + process.stdout.read()[-3000:]
        assert (run / "history.csv").exists(), "training did not begin within 300 s"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert (run / "history.csv").read_text() == "", "the test wants the first epoch in progress when killed"
    assert json.load(open(run / "run.json"))["status"] == "running"
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    state = json.load(open(run / "run.json"))
    assert state["status"] == "finished" and state["epochs_done"] == 1
    assert [row["epoch"] for row in RunDirectory(str(run)).history()] == [1]


def _kill_one_of_two_runs(config, whole, killed, record, when, command=MTKERAS):
    """Trains `config` into `whole` and into `killed` at once (`command` + train arguments); SIGKILLs the
    second as soon as the JSON file `record` holds what `when` (given its contents) wants, and waits for the
    first to finish."""
    reference = subprocess.Popen(command + ["train", str(config), "--run-dir", str(whole)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    process = subprocess.Popen(command + ["train", str(config), "--run-dir", str(killed)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if when(json.loads(record.read_text())):
                    break
            except (OSError, ValueError, KeyError):
                pass  # not there yet, or caught mid-write
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before it could be killed:\n" + process.stdout.read()[-3000:]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        out, _ = reference.communicate(timeout=300)
        assert reference.returncode == 0, out[-3000:]
    finally:
        for running in (process, reference):
            if running.poll() is None:
                running.kill()


def test_a_killed_run_resumes_and_ends_like_an_uninterrupted_one(tmp_path, capsys):
    """SIGKILL during epoch 2 of 3; the same command finishes the run, as if nothing happened."""
    from helpers.data import write_mixed_jsonl, write_reproducible_config
    from mtkeras.cli import main

    data = write_mixed_jsonl(tmp_path / "data.jsonl", copies=34)  # 408 texts: 102 steps per epoch
    config = tmp_path / "resumable.yaml"
    # The saved epoch is picked by the loss's mean over 2 epochs: the resumed sitting's first epoch needs the first's.
    write_reproducible_config(config, data, training="epochs: 3\nbatch_size: 4\nmonitor_window: 2")
    killed, whole = tmp_path / "runs" / "killed", tmp_path / "runs" / "whole"
    backup = killed / "backup" / "training_metadata.json"
    _kill_one_of_two_runs(config, whole, killed, backup, lambda record: record["epoch"] >= 1)
    assert json.loads(backup.read_text())["epoch"] == 1, "the test wants epoch 2 in progress when killed"
    assert json.load(open(killed / "run.json"))["status"] == "running"

    # Checkpoints of another vocabulary (e.g. a run started by an mtkeras that capped it over all datasets
    # together) cannot go on: the command says why and what to do, and leaves the run as it was.
    state_file = killed / "run.json"
    kept = state_file.read_text()
    state = json.loads(kept)
    recorded = state["vocabulary"]
    words = recorded["words"]
    assert recorded["rule"] == "per dataset" and words > 0 and len(recorded["sha256"]) == 64
    for changed_record in ({**recorded, "words": words + 1}, {**recorded, "sha256": "0" * 64}):
        # Another number of words, or as many other ones (e.g. the training data was edited).
        state_file.write_text(json.dumps({**state, "vocabulary": changed_record}))
        changed = state_file.read_text()
        capsys.readouterr()
        assert main(["train", str(config), "--run-dir", str(killed)]) == 1
        err = capsys.readouterr().err
        assert f"{killed}: its checkpoints were trained with another vocabulary ({changed_record['words']:,} words" in err
        assert f"builds from its data now ({words:,} words" in err
        assert "--overwrite" in err and "Traceback" not in err and state_file.read_text() == changed
    # A run.json from before it recorded the vocabulary: the backed-up word embedding is checked instead,
    # read from the weights file Keras wrote.
    assert RunDirectory(str(killed)).embedded_words() == words
    state.pop("vocabulary")
    state_file.write_text(json.dumps(state))

    # The same command again (here in this process: the resumption reads only what the killed one left).
    capsys.readouterr()
    assert main(["train", str(config), "--run-dir", str(killed)]) == 0
    out = capsys.readouterr().out
    assert "after epoch 1 of 3" in out
    assert "epoch 1/3" not in out and "epoch 2/3" in out and "epoch 3/3" in out
    state = json.load(open(killed / "run.json"))
    assert state["status"] == "finished" and state["resumed_at_epochs"] == [1] and state["epochs_done"] == 3
    assert state["vocabulary"] == recorded
    assert [sitting["from_epoch"] for sitting in state["sittings"]] == [0, 1]  # each sitting names its code
    assert state["sittings"][0]["started"] <= state["sittings"][1]["started"]
    # The optimizer went on from its saved state: 3 epochs of 102 steps, as in the uninterrupted run.
    steps = [_optimizer_steps(run / "checkpoints" / "last.weights.h5") for run in (killed, whole)]
    assert steps == [306, 306]
    # The same final loss: resuming restored the weights and the optimizer's moments.
    losses, means = [], []
    for run in (killed, whole):
        rows = [line.split(",") for line in open(run / "history.csv").read().splitlines()]
        losses.append([float(row[rows[0].index("loss")]) for row in rows[1:]])
        means.append([float(row[rows[0].index("loss_mean2")]) for row in rows[1:]])
    assert len(losses[1]) == 3 and len(losses[0]) >= 3
    # Measured: the same to the last digit (no dropout, the same batches every epoch).
    assert losses[0][-2:] == pytest.approx(losses[1][-2:], rel=1e-5), losses
    assert means[1] == pytest.approx([losses[1][0], sum(losses[1][:2]) / 2, sum(losses[1][1:]) / 2])
    assert means[0][-2:] == pytest.approx(means[1][-2:], rel=1e-5), means
    assert state["monitor"] == "loss_mean2" and state["best_epoch"] == json.load(open(whole / "run.json"))["best_epoch"]
    # The training time counts each epoch once, the one trained before the kill
    # too (its share, with the first tracing, is longer than this sitting's
    # tail after the last epoch): not only the sitting that finished the run.
    seconds = json.load(open(killed / "checkpoints" / "clock.json"))["epoch_seconds"]
    assert len(seconds) == 3 and min(seconds) > 0
    assert state["train_seconds"] >= round(sum(seconds), 1)


# `mtkeras` on two logical CPU devices (set before TensorFlow starts): `strategy: mirrored` trains 2 replicas.
TWO_REPLICAS = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from mtkeras.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("epoch, replicas", [(1, 1), (2, 2)])
def test_a_run_killed_inside_an_epoch_resumes_at_its_last_backup_and_ends_like_an_unbroken_one(
        tmp_path, capsys, epoch, replicas):
    """Two sources mixed, shuffled, bucketed, with dropout: SIGKILL inside `epoch` of 3, after a backup
    inside it (`training.backup_steps`): in epoch 1 on one device (before Keras' first backup), in epoch 2
    on two replicas (MirroredStrategy, after it). The same command
    trains the rest of that epoch from the backup (not from the epoch's start) and ends with the losses,
    within float rounding, of a run never killed: the same batches in the same order (each epoch's stream
    is its seed's), the same dropout, the same optimizer steps (also when the kill came before Keras'
    first epoch backup built the optimizer), and the epoch's logged loss averages all its batches."""
    from mtkeras.cli import main
    from mtkeras.training.backup import RECORD

    assistant, feedback = tmp_path / "assistant.jsonl", tmp_path / "feedback.jsonl"
    assistant.write_text("".join(json.dumps({"text": t, "intent": i, "slots": s.split()}) + "\n"
                                 for t, i, s in TINY_ASSISTANT * 20))
    feedback.write_text("".join(json.dumps({"text": t, "sentiment": s}) + "\n" for t, s in TINY_FEEDBACK * 20))
    config = tmp_path / "resumable.yaml"
    config.write_text(f"""\
name: tiny
tasks:
  intent: {{kind: sentence_classification}}
  slots: {{kind: token_tagging}}
  sentiment: {{kind: sentence_classification}}
datasets:
  assistant: {{reader: jsonl, train: {assistant}, text: text, tasks: {{intent: intent, slots: slots}}}}
  feedback: {{reader: jsonl, train: {feedback}, text: text, tasks: {{sentiment: sentiment}}}}
mixing: {{sampling: temperature, bucket: true}}
encoder:
  config: {{embedding_dim: 8, hidden_dim: 8, num_layers: 1, char_filters: 8, char_dim: 8}}
training: {{epochs: 3, batch_size: 4, backup_steps: 10, strategy: {"mirrored" if replicas == 2 else "default"}}}
""")
    command = MTKERAS
    if replicas == 2:
        script = tmp_path / "two_replicas.py"
        script.write_text(TWO_REPLICAS)
        command = [sys.executable, str(script)]
    killed, whole = tmp_path / "runs" / "killed", tmp_path / "runs" / "whole"
    record = killed / "backup" / RECORD
    _kill_one_of_two_runs(config, whole, killed, record, lambda backed_up: backed_up["epoch"] == epoch - 1, command)
    assert json.load(open(killed / "run.json"))["status"] == "running"
    backed_up = json.loads(record.read_text())  # the record always names a whole backup, whenever the kill came
    assert backed_up["epoch"] == epoch - 1 and backed_up["batches"] % 10 == 0 and backed_up["seconds"] > 0

    if replicas == 1:
        capsys.readouterr()
        assert main(["train", str(config), "--run-dir", str(killed)]) == 0
        out = capsys.readouterr().out
    else:
        again = subprocess.run(command + ["train", str(config), "--run-dir", str(killed)], capture_output=True,
                               text=True, timeout=300)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        out = again.stdout
    steps = _optimizer_steps(whole / "checkpoints" / "last.weights.h5") // 3
    assert backed_up["iterations"] == (epoch - 1) * steps + backed_up["batches"]
    assert f"resuming inside epoch {epoch}, after batch {backed_up['batches']} of {steps}" in out
    assert f"epoch {epoch - 1}/3" not in out and f"epoch {epoch}/3" in out and "epoch 3/3" in out
    state = json.load(open(killed / "run.json"))
    assert state["status"] == "finished" and state["epochs_done"] == 3
    assert state["resumed_at_epochs"] == ([epoch - 1] if epoch > 1 else [])
    assert state["resumed_inside_epochs"] == [[epoch, backed_up["batches"]]]
    assert not (killed / "backup").exists()  # a finished run keeps no backup
    assert [_optimizer_steps(run / "checkpoints" / "last.weights.h5") for run in (killed, whole)] == [3 * steps] * 2
    histories = []
    for run in (killed, whole):
        rows = list(csv.DictReader(open(run / "history.csv")))
        histories.append({key: [float(row[key]) for row in rows] for key in ("loss", "intent_accuracy", "slots_f1")})
    for key in histories[1]:
        assert len(histories[0][key]) == len(histories[1][key]) == 3
        assert histories[0][key] == pytest.approx(histories[1][key], rel=1e-5), (key, histories)
    # The epoch's time counts its part before the kill too.
    seconds = json.load(open(killed / "checkpoints" / "clock.json"))["epoch_seconds"]
    assert len(seconds) == 3 and seconds[epoch - 1] >= backed_up["seconds"]
