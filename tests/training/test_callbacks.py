"""Early stopping that waits for every task (`TaskPatience`) and the monitors a run gives it."""

import time

import keras
import numpy as np
import pytest

from mtkeras.training.callbacks import HistoryLogger, TaskPatience, TrainingClock


def stop_epoch(callback, rows, first_epoch=0):
    """Feeds `rows` as the logs of epochs `first_epoch`, ... as `fit` does; the epoch that stopped training, or None."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    for epoch, logs in enumerate(rows, start=first_epoch):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            return epoch
    return None


# A run where the mean falls for two epochs (sentiment overfits) while the slots still gain.
SLOW_SLOTS = [
    {"val_score": 0.70, "val_sentiment_accuracy": 0.80, "val_slots_f1": 0.60},
    {"val_score": 0.75, "val_sentiment_accuracy": 0.82, "val_slots_f1": 0.68},
    {"val_score": 0.74, "val_sentiment_accuracy": 0.78, "val_slots_f1": 0.70},
    {"val_score": 0.73, "val_sentiment_accuracy": 0.74, "val_slots_f1": 0.72},
    {"val_score": 0.76, "val_sentiment_accuracy": 0.76, "val_slots_f1": 0.76},
    {"val_score": 0.75, "val_sentiment_accuracy": 0.75, "val_slots_f1": 0.75},
    {"val_score": 0.74, "val_sentiment_accuracy": 0.74, "val_slots_f1": 0.74},
    {"val_score": 0.79, "val_sentiment_accuracy": 0.80, "val_slots_f1": 0.78},
]


def test_it_waits_while_any_task_still_improves():
    per_task = {"val_score": "max", "val_sentiment_accuracy": "max", "val_slots_f1": "max"}
    # On the mean alone, epochs 3 and 4 (0-based 2, 3) bring nothing: stop after 0-based epoch 3.
    assert stop_epoch(TaskPatience({"val_score": "max"}, 2), SLOW_SLOTS) == 3
    # The slots improved in both: go on, until two epochs in a row improve nothing (0-based 5, 6).
    assert stop_epoch(TaskPatience(per_task, 2), SLOW_SLOTS) == 6
    assert stop_epoch(TaskPatience(per_task, 3), SLOW_SLOTS) is None


def test_with_one_monitor_it_stops_where_keras_early_stopping_does():
    rng = np.random.default_rng(0)
    for trial in range(40):
        values = rng.choice([0.1, 0.2, 0.3, 0.4, 0.5], size=12)  # ties included
        patience = int(rng.integers(1, 4))
        mode = "max" if trial % 2 else "min"
        min_delta = [0.0, 0.05, 0.15][trial % 3]  # never on a tie: the values are 0.1 apart
        rows = [{"val_loss": float(v)} for v in values]
        ours = stop_epoch(TaskPatience({"val_loss": mode}, patience, min_delta=min_delta), rows)
        theirs = stop_epoch(
            keras.callbacks.EarlyStopping(monitor="val_loss", mode=mode, patience=patience, min_delta=min_delta), rows
        )
        assert ours == theirs, (values, patience, mode, min_delta)


def test_a_resumed_run_stops_where_an_unbroken_one_does(tmp_path):
    per_task = {"val_score": "max", "val_sentiment_accuracy": "max", "val_slots_f1": "max"}
    unbroken = stop_epoch(TaskPatience(per_task, 2), SLOW_SLOTS)
    assert unbroken == 6
    for done in range(1, unbroken + 1):
        path = str(tmp_path / f"patience{done}.json")
        # The first run records its epochs, and is killed after `done` of them were backed up...
        assert stop_epoch(TaskPatience(per_task, 2, path=path), SLOW_SLOTS[:done]) is None
        # ...the resumed fit starts at epoch `done` with a new callback that reads the record.
        resumed = TaskPatience(per_task, 2, path=path)
        assert stop_epoch(resumed, SLOW_SLOTS[done:], first_epoch=done) == unbroken, done
        # Killed after recording epoch `done` but before backing it up: that epoch runs again and counts once.
        twice = str(tmp_path / f"twice{done}.json")
        stop_epoch(TaskPatience(per_task, 2, path=twice), SLOW_SLOTS[:done + 1])
        assert stop_epoch(TaskPatience(per_task, 2, path=twice), SLOW_SLOTS[done:], first_epoch=done) == unbroken
    # Without the record, the resumed run would have gone on longer.
    assert stop_epoch(TaskPatience(per_task, 2), SLOW_SLOTS[5:], first_epoch=5) is None


def test_seed_tells_a_resumed_run_that_early_stopping_had_already_ended_it(tmp_path):
    """Killed while saving after the stop: the resumed run must not train another epoch."""
    path = str(tmp_path / "patience.json")
    per_task = {"val_score": "max", "val_sentiment_accuracy": "max", "val_slots_f1": "max"}
    assert stop_epoch(TaskPatience(per_task, 2, path=path), SLOW_SLOTS) == 6
    assert TaskPatience(per_task, 2, path=path).seed(7) is True
    assert TaskPatience(per_task, 2, path=path).seed(6) is False  # one epoch short of it
    assert TaskPatience(per_task, 3, path=path).seed(7) is False  # a patience raised on resume


def test_each_fit_starts_afresh():
    stop = TaskPatience({"val_loss": "min"}, 1)
    assert stop_epoch(stop, [{"val_loss": 0.5}, {"val_loss": 0.6}]) == 1
    # A second fit (say, fine-tuning after a frozen phase) does not inherit the first one's best.
    assert stop_epoch(stop, [{"val_loss": 0.9}, {"val_loss": 0.8}, {"val_loss": 0.7}]) is None


def test_a_nan_or_a_missing_task_log_is_no_improvement():
    rows = [{"val_score": 0.5, "val_a_f1": 0.5}, {"val_score": float("nan"), "val_a_f1": float("nan")},
            {"val_score": 0.4}]
    assert stop_epoch(TaskPatience({"val_score": "max", "val_a_f1": "max"}, 2), rows) == 2


def test_epochs_without_any_monitor_are_not_counted(caplog):
    rows = [{"val_score": 0.5}, {"loss": 0.1}, {"loss": 0.1}, {"val_score": 0.4}]
    with caplog.at_level("WARNING", logger="mtkeras"):
        assert stop_epoch(TaskPatience({"val_score": "max"}, 2), rows) is None
    assert "none of ['val_score'] in the logs" in caplog.text


@pytest.mark.parametrize("monitors, patience, message", [
    ({}, 2, "at least one monitor"),
    ({"val_score": "max"}, True, "patience must be an int > 0. Received: patience=True"),
    ({"val_score": "up"}, 2, "mode of 'val_score' must be 'max' or 'min'. Received: 'up'"),
    ({"val_score": "max"}, 0, "patience must be an int > 0. Received: patience=0"),
])
def test_bad_arguments_are_named(monitors, patience, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        TaskPatience(monitors, patience)
    with pytest.raises(ValueError, match="min_delta must be a number >= 0. Received: min_delta=-0.1"):
        TaskPatience({"val_score": "max"}, 2, min_delta=-0.1)


def test_a_run_waits_on_each_task_s_own_score_or_loss():
    from mtkeras.runs import parse_config
    from mtkeras.runs.trainer import _patience_monitors
    from mtkeras.tasks import SentenceClassification, TokenTagging

    tasks = [SentenceClassification("intent", ["a", "b"]), TokenTagging("slots", ["O", "B-x", "I-x"])]

    def monitors(training):
        config = parse_config(
            "name: t\ntasks: {intent: {kind: sentence_classification}, slots: {kind: token_tagging}}\n"
            "datasets: {d: {reader: joint_nlu, train: tr, valid: va, tasks: {intent: label, slots: tags}}}\n"
            f"training: {training}\n", source="t.yaml")
        return _patience_monitors(config, tasks)

    assert monitors("{patience: 2}") == {"val_score": "max", "val_intent_accuracy": "max", "val_slots_f1": "max"}
    assert monitors("{patience: 2, monitor: val_loss}") == {
        "val_loss": "min", "val_intent_loss": "min", "val_slots_loss": "min"}
    # A task's own log, a training log (it nearly always improves), or the opt-out: that log alone.
    assert monitors("{patience: 2, monitor: val_slots_f1}") == {"val_slots_f1": "max"}
    assert monitors("{patience: 2, monitor: score}") == {"score": "max"}
    assert monitors("{patience: 2, patience_per_task: false}") == {"val_score": "max"}
    # One task, or one task left that trains: its counterpart is the mean itself.
    assert TaskPatience.monitors_for(tasks[:1]) == {"val_score": "max"}
    tasks[0].loss_weight = 0.0
    assert TaskPatience.monitors_for(tasks) == {"val_score": "max"}


def test_for_model_stops_a_plain_fit_when_no_task_improves_any_more():
    """`TaskPatience.for_model` on a real three-task model: its keys are the ones `fit` logs."""
    from helpers.data import tiny_examples
    from helpers.models import build_tiny_model

    from mtkeras.data import make_dataset

    examples = tiny_examples()
    model = build_tiny_model(examples)
    stop = TaskPatience.for_model(model, patience=1)
    assert stop.monitors == {"val_score": "max", "val_intent_accuracy": "max", "val_slots_f1": "max",
                             "val_sentiment_accuracy": "max"}
    # Learning rate 0: no log can improve after the first epoch, so fit stops after the second.
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    data = make_dataset(examples, model.tasks, batch_size=8)
    clock = TrainingClock()
    started = time.perf_counter()
    history = model.fit(data, validation_data=data, epochs=5, callbacks=[stop, clock], verbose=0)
    elapsed = time.perf_counter() - started
    assert len(history.history["val_score"]) == 2 and stop.stopped_epoch == 1
    # The clock timed both epochs, and within the fit it timed.
    assert len(clock.epochs) == 2 and min(clock.epochs) > 0 and sum(clock.epochs) <= clock.seconds() <= elapsed
    assert TaskPatience.for_model(model, 2, monitor="val_loss").monitors["val_slots_loss"] == "min"


def test_the_clock_of_a_resumed_run_keeps_the_epochs_its_backup_holds(tmp_path):
    path = str(tmp_path / "clock.json")
    first = TrainingClock(path)
    stop_epoch(first, [{}] * 3)  # three epochs timed, then a kill
    assert len(first.epochs) == 3
    # The backup held two of them: the resumed fit runs epoch 2 (0-based) again.
    resumed = TrainingClock(path)
    assert resumed.epochs == first.epochs
    stop_epoch(resumed, [{}] * 2, first_epoch=2)
    assert resumed.epochs[:2] == first.epochs[:2] and len(resumed.epochs) == 4
    assert TrainingClock(path).epochs == resumed.epochs
    # When each kept epoch ended is kept with it, in order.
    assert TrainingClock(path).ends == resumed.ends and resumed.ends[:2] == first.ends[:2]
    assert len(resumed.ends) == 4 and resumed.ends == sorted(resumed.ends)
    # Resumed where nothing is left to train (early stopping had ended it): the recorded epochs.
    ended = TrainingClock(path)
    ended.seed(3)
    assert ended.seconds() == sum(resumed.epochs[:3])


class ScriptedScore(keras.callbacks.Callback):
    """Logs `val_score` from a list (the dev scores of a run) and keeps each epoch's weights."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = self.scores[epoch]
        self.weights.append([w.copy() for w in self.model.get_weights()])


def test_the_window_mean_keeps_the_epoch_that_ends_the_best_run_of_epochs_not_one_lucky_evaluation(tmp_path):
    """In a real `fit`, `ModelCheckpoint` on `val_score_mean3` saves the window's last epoch; on `val_score`, the spike."""
    from mtkeras.training.callbacks import WindowMean

    # Epoch 2 (0-based 1) is one lucky evaluation of a noisy task; epochs 5-7 are better on the whole.
    scores = [0.80, 0.95, 0.80, 0.84, 0.90, 0.91, 0.90]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    scripted, mean = ScriptedScore(scores), WindowMean("val_score", 3)
    assert mean.key == "val_score_mean3"
    paths = {key: str(tmp_path / f"{key}.weights.h5") for key in ("val_score", mean.key)}
    checkpoints = [keras.callbacks.ModelCheckpoint(path, monitor=key, mode="max", save_best_only=True,
                                                   save_weights_only=True) for key, path in paths.items()]
    history = model.fit(x, y, batch_size=16, epochs=len(scores), callbacks=[scripted, mean] + checkpoints, verbose=0)
    expected = [np.mean(scores[max(0, e - 2):e + 1]) for e in range(len(scores))]  # fewer epochs at the start
    np.testing.assert_allclose(history.history["val_score_mean3"], expected)
    assert int(np.argmax(expected)) == 6 and int(np.argmax(scores)) == 1
    for key, epoch in (("val_score", 1), (mean.key, 6)):
        model.load_weights(paths[key])
        for saved, kept in zip(model.get_weights(), scripted.weights[epoch]):
            np.testing.assert_array_equal(saved, kept)


def test_a_resumed_window_mean_reads_the_earlier_epochs_and_counts_a_rerun_epoch_once():
    from mtkeras.training.callbacks import WindowMean

    def means(callback, scores, first_epoch=0):
        logs = [{"val_score": s} if s is not None else {"loss": 0.1} for s in scores]
        for epoch, row in enumerate(logs, start=first_epoch):
            callback.on_epoch_end(epoch, row)  # the logs `fit` hands every callback after it
        return [row.get(callback.key) for row in logs]

    scores = [0.80, 0.95, 0.80, 0.84, 0.90]
    unbroken = means(WindowMean("val_score", 3), scores)
    assert unbroken == pytest.approx([0.80, 0.875, 0.85, 0.8633333, 0.8466667])
    # Killed after epoch 3 (0-based 2) was logged but before its backup: the resumed fit runs it again,
    # with the history's earlier epochs (the third one's value from the epoch that is run again).
    resumed = WindowMean("val_score", 3, previous={0: 0.80, 1: 0.95, 2: 0.70})
    assert means(resumed, scores[2:], first_epoch=2) == unbroken[2:]
    assert WindowMean("val_loss", 1).key == "val_loss"
    # An epoch that logs NaN or no value gets a NaN mean (never saved), and later windows leave it out,
    # as a resumed run does (the history holds NaN for both).
    nan = means(WindowMean("val_score", 2), [0.5, float("nan"), 0.7, None, 0.9])
    assert nan[0] == 0.5 and np.isnan(nan[1]) and nan[2] == 0.7 and np.isnan(nan[3]) and nan[4] == 0.9
    assert means(WindowMean("val_score", 2, previous={0: 0.5, 1: float("nan")}), [0.7], first_epoch=2) == [0.7]
    for window in (0, 2.0, True):
        with pytest.raises(ValueError, match=f"window must be an int > 0. Received: window={window!r}"):
            WindowMean("val_score", window)


def test_the_screen_shows_the_window_mean_that_picks_the_epoch():
    from mtkeras.training.screen import EpochTable

    table = EpochTable(["intent"], 4, monitor="val_score_mean3", best=0.9)
    line = table.format(3, {"loss": 0.5, "val_score": 0.95, "val_score_mean3": 0.92}, 1.0, table._improvement(
        {"val_score_mean3": 0.92})).splitlines()[0]
    assert line == "epoch 4/4  1.0 s  loss 0.5000  val_score 0.9500  val_score_mean3 0.9200  (improved)"


def test_a_sitting_that_logs_other_metrics_keeps_every_value_under_its_name(tmp_path):
    """A run resumed under code that logs a new metric: Keras' CSVLogger would shift the columns."""
    from mtkeras.evaluation import history_rows

    path = str(tmp_path / "history.csv")
    first = HistoryLogger(path)
    first.on_train_begin()
    for epoch in range(2):
        first.on_epoch_end(epoch, {"loss": 1.0 - epoch / 10, "val_score": 0.5 + epoch / 10})
    first.on_train_end()
    again = HistoryLogger(path)  # the next sitting logs a new key, between the others in sorted order
    again.on_train_begin()
    again.on_epoch_end(2, {"loss": 0.7, "val_f1_fitted": 0.9, "val_score": 0.8})
    again.on_epoch_end(3, {"loss": 0.6, "val_f1_fitted": 0.95, "val_score": 0.85})
    again.on_train_end()
    rows = history_rows(path)
    assert [row["loss"] for row in rows] == pytest.approx([1.0, 0.9, 0.7, 0.6])
    assert [row["val_score"] for row in rows] == pytest.approx([0.5, 0.6, 0.8, 0.85])
    assert [row.get("val_f1_fitted") for row in rows][2:] == pytest.approx([0.9, 0.95])
    assert all(np.isnan(row.get("val_f1_fitted", np.nan)) for row in rows[:2])
    # A sitting that logs the same keys only appends.
    same = HistoryLogger(path)
    same.on_train_begin()
    same.on_epoch_end(4, {"loss": 0.5, "val_f1_fitted": 0.96, "val_score": 0.86})
    same.on_train_end()
    assert open(path).read().count("epoch") == 1 and len(history_rows(path)) == 5


def test_a_backup_inside_an_epoch_is_read_only_for_the_epoch_a_resumed_run_trains_first(tmp_path):
    import json

    from mtkeras.runs.trainer import backup_every
    from mtkeras.runs import load_config
    from mtkeras.training.backup import RECORD, MidEpochBackup, read_backup

    assert read_backup(str(tmp_path), 0) is None  # none written
    (tmp_path / RECORD).write_text(json.dumps({"epoch": 1, "batches": 30, "seconds": 12.5}))
    assert read_backup(str(tmp_path), 1) is None  # the first form of the record, without slots: from the start
    record = {"slot": "b", "epoch": 1, "batches": 30, "iterations": 130, "seconds": 12.5}
    (tmp_path / RECORD).write_text(json.dumps(record))
    assert read_backup(str(tmp_path), 1) == record
    # Epoch 2 ended after it (Keras' backup holds epoch 2's end): the run resumes at epoch 3's start.
    assert read_backup(str(tmp_path), 2) is None
    with pytest.raises(ValueError, match="Received: -1"):
        MidEpochBackup(str(tmp_path), every=-1)
    config = load_config("configs/demo.yaml")
    assert backup_every(config, 102) == 25 and backup_every(config, 39) is None  # a quarter of an epoch of 40 or more
    config.training.backup_steps = 0
    assert backup_every(config, 102) is None
    config.training.backup_steps = 10
    assert backup_every(config, 102) == 10


def test_the_clock_gives_a_resumed_epoch_its_seconds_before_the_kill():
    clock = TrainingClock()
    clock.seed(1)
    clock.carry(40.0)
    clock.on_train_begin()
    assert 40.0 <= clock.running() < 41.0
    clock.on_epoch_begin(1)
    clock.on_epoch_end(1)
    clock.on_epoch_begin(2)
    clock.on_epoch_end(2)
    assert 40.0 <= clock.epochs[0] < 41.0 and clock.epochs[1] < 1.0  # only the first epoch carries them
