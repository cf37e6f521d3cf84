"""Model selection on a validation split with mtkeras' own evaluation."""

import csv
import json
import logging
import math
import numbers
import os
import time

import keras

from mtkeras.files import write_whole
from mtkeras.names import LOWER_IS_BETTER, SCORE, VALIDATION_PREFIX, window_key
from mtkeras.training.screen import EpochTable, ProgressBar  # noqa: F401  (their earlier home)

logger = logging.getLogger("mtkeras")


class BestEpoch(keras.callbacks.Callback):
    """Keeps the weights of the epoch that scores best on validation data.

    After each epoch, `score_fn(model)` returns a dict of validation metrics
    (for example from `mtkeras.evaluate`); `monitor` names the one to
    maximise. The scores are added to the epoch's logs as `val_<name>`. Stops
    training after `patience` epochs without improvement (None: never) and
    restores the best weights at the end.

    Args:
        score_fn: callable taking the model, returning a flat dict of floats.
        monitor: str. Key of the score to maximise.
        patience: int or None. Epochs without improvement before stopping.

    Example:
    >>> best = BestEpoch(lambda m: flat_scores(mtkeras.evaluate(m, valid)), "sentence_accuracy")
    >>> model.fit(train, epochs=30, callbacks=[best])
    """

    def __init__(self, score_fn, monitor, patience=None):
        super().__init__()
        self.score_fn = score_fn
        self.monitor = monitor
        self.patience = patience
        self.best = None
        self.best_epoch = None
        self.history = []
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        scores = self.score_fn(self.model)
        if self.monitor not in scores:
            raise KeyError(f"BestEpoch: monitor {self.monitor!r} not among the scores {sorted(scores)}")
        self.history.append(scores)
        if logs is not None:
            logs.update({f"val_{key}": value for key, value in scores.items()})
        if self.best is None or scores[self.monitor] > self.best:
            self.best, self.best_epoch = scores[self.monitor], epoch
            self._best_weights = self.model.get_weights()
        elif self.patience is not None and epoch - self.best_epoch >= self.patience:
            logger.info("BestEpoch: no improvement in %s for %d epochs; stopping", self.monitor, self.patience)
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)
            logger.info("BestEpoch: restored epoch %d (%s=%.4f)", self.best_epoch + 1, self.monitor, self.best)


class TaskPatience(keras.callbacks.Callback):
    """Early stopping that waits for the slowest task.

    Stops training once `patience` epochs in a row brought no new best for
    any of `monitors`: the model-wide validation log and each task's own
    counterpart (`val_score` with `val_intent_accuracy`, `val_slots_f1`, ...).
    Tasks learn at different speeds: a sentence task can peak after two
    epochs and overfit while a tagging task still gains every epoch, and
    their mean may then dip for a few epochs although the slow task is far
    from done. Waiting on the mean alone ends training there; this waits.
    It only decides when to stop: keep the best epoch by the model-wide log
    with a checkpoint (`mtkeras train` does), else `fit` leaves the weights
    of the last epoch.

    A log improves when it beats its best by more than `min_delta`. A NaN or
    missing log is no improvement, and an epoch that logs none of `monitors`
    is not counted; otherwise, with one monitor, it stops where
    `keras.callbacks.EarlyStopping` with the same `patience` and `min_delta`
    does (but for a value exactly `min_delta` from its best, which Keras
    compares in float32). Each `fit` starts afresh.

    With `path`, the callback writes each epoch's monitored values to that
    JSON file and reads it back when built again: a `fit` that resumes at
    epoch k (after a kill, with `keras.callbacks.BackupAndRestore`) replays
    the recorded epochs before k and so stops where an unbroken run would
    have; `seed(k)` replays them without training, and tells whether they
    had already used up the patience. Under a multi-worker strategy give
    each worker its own path: the logs are the same on every worker, so
    they all stop at the same epoch.

    Args:
        monitors: dict of log key to `"max"` or `"min"`.
        patience: int > 0. Epochs without a new best of any monitor.
        path: str or None. JSON file recording the monitored values.
        min_delta: float >= 0. The least change of a log that counts as an
            improvement (in its own units: 0.001 of an accuracy is 0.1 points).

    Example:
    >>> stop = TaskPatience({"val_score": "max", "val_intent_accuracy": "max", "val_slots_f1": "max"}, 2)
    >>> model.fit(train, validation_data=valid, epochs=20, callbacks=[stop])
    >>> # the same, for any mtkeras model:
    >>> stop = TaskPatience.for_model(model, patience=2)
    """

    def __init__(self, monitors, patience, path=None, min_delta=0.0):
        super().__init__()
        if not monitors:
            raise ValueError("TaskPatience: give at least one monitor")
        for key, mode in monitors.items():
            if mode not in ("max", "min"):
                raise ValueError(f"TaskPatience: mode of {key!r} must be 'max' or 'min'. Received: {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 1:
            raise ValueError(f"TaskPatience: patience must be an int > 0. Received: patience={patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not min_delta >= 0:
            raise ValueError(f"TaskPatience: min_delta must be a number >= 0. Received: min_delta={min_delta!r}")
        self.monitors = dict(monitors)
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.path = path
        self.epochs = []  # [{"epoch": 0-based epoch, key: value}] of the epochs seen, in order
        if path is not None and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                self.epochs = json.load(handle)["epochs"]
        self._reset()

    @staticmethod
    def monitors_for(tasks, monitor="val_score", mode="max", per_task=True):
        """`{log key: mode}`: `monitor` and, if it is a model-wide validation log, each task's counterpart.

        `val_score` and `val_loss` are model-wide: with `per_task` and more
        than one task, each task's `val_<task>_<score_metric>` or
        `val_<task>_loss` joins them (not a task with `loss_weight` 0, which
        does not train). Any other monitor, a task's own log or a training
        log, is watched alone.

        Args:
            tasks: list of `mtkeras.tasks.Task`.
            monitor: str. The model-wide log or any other.
            mode: `"max"` or `"min"`, for `monitor` and its task logs.
            per_task: bool. False: `monitor` alone.
        """
        monitors = {monitor: mode}
        trained = [task for task in tasks if task.loss_weight]
        if per_task and len(trained) > 1 and monitor in (VALIDATION_PREFIX + SCORE, VALIDATION_PREFIX + "loss"):
            for task in trained:
                metric = task.score_metric if monitor.endswith(SCORE) else "loss"
                monitors[f"{VALIDATION_PREFIX}{task.name}_{metric}"] = mode
        return monitors

    @classmethod
    def for_model(cls, model, patience, monitor="val_score", per_task=True, path=None, min_delta=0.0):
        """Stops `model`'s `fit` once neither `monitor` nor any task's own counterpart improved for `patience` epochs.

        The mode follows the monitor (`min` for losses and mean absolute errors).

        Example:
        >>> model.fit(train, validation_data=valid, epochs=30,
        ...           callbacks=[TaskPatience.for_model(model, patience=3)])
        """
        mode = "min" if monitor.endswith(LOWER_IS_BETTER) else "max"
        return cls(cls.monitors_for(model.tasks, monitor, mode, per_task), patience, path, min_delta)

    def _reset(self):
        self.best = {}
        self.wait = 0
        self.stopped_epoch = None
        self._started = False

    def _update(self, logs):
        """Counts one epoch's logs: True on a new best, False without, None when none of the monitors is logged."""
        values = [(key, logs[key]) for key in self.monitors if key in logs]
        if not values:
            return None
        improved = False
        for key, value in values:
            value = float(value)
            if value != value:  # NaN
                continue
            best = self.best.get(key)
            if best is None or (
                value - self.min_delta > best if self.monitors[key] == "max" else value + self.min_delta < best
            ):
                self.best[key] = value
                improved = True
        self.wait = 0 if improved else self.wait + 1
        return improved

    def seed(self, initial_epoch):
        """Replays the recorded epochs before `initial_epoch`; True when they had used up the patience.

        Recorded epochs from `initial_epoch` on (an epoch recorded but not
        backed up before a kill, which the resumed `fit` runs again) are
        dropped.
        """
        self._reset()
        self._started = True
        self.epochs = [row for row in self.epochs if row["epoch"] < initial_epoch]
        for row in self.epochs:
            self._update(row)
        return self.wait >= self.patience

    def on_train_begin(self, logs=None):
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:  # the first epoch of this fit: from 0, or where a resumed fit starts
            self.seed(epoch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": int(epoch), **{key: float(logs[key]) for key in self.monitors if key in logs}}
        self.epochs.append(row)
        if self.path is not None:
            write_whole(self.path, json.dumps({"monitors": self.monitors, "patience": self.patience, "epochs": self.epochs}))
        improved = self._update(row)
        if improved is None:
            logger.warning("TaskPatience: none of %s in the logs (%s); not counted", sorted(self.monitors), sorted(logs))
        elif not improved and self.wait >= self.patience:
            logger.info("TaskPatience: no new best in %s for %d epochs; stopping", sorted(self.monitors), self.wait)
            self.stopped_epoch = epoch
            self.model.stop_training = True


class WindowMean(keras.callbacks.Callback):
    """Logs a log's mean over the last `window` epochs, so a checkpoint can pick the best epoch by it.

    A multi-task model's `val_score` moves with its noisiest task: on a small
    dev split (a few hundred entities) one epoch's lucky evaluation can lift
    the mean over tasks above epochs that are better for every other task, and
    a checkpoint on `val_score` then keeps that epoch. The mean over the
    epochs ending at each one (fewer at the start) needs several good epochs
    in a row: put this first among the callbacks and give
    `ModelCheckpoint(monitor=callback.key)` its log, `<monitor>_mean<window>`.
    The weights kept are those of the window's last epoch. An epoch whose
    value is NaN (or that does not log `monitor`) logs a NaN mean, which no
    checkpoint counts as an improvement, and later windows leave it out, as
    they do on resume (the history holds NaN for it).

    Args:
        monitor: str. The log to average (`val_score`).
        window: int > 0. How many epochs, ending at the current one.
        previous: dict of 0-based epoch to `monitor`'s value: the epochs a
            resumed `fit` does not run again (from the run's history). An
            epoch that runs again replaces its value.

    Example:
    >>> mean = WindowMean("val_score", 3)
    >>> best = keras.callbacks.ModelCheckpoint("best.weights.h5", monitor=mean.key, mode="max",
    ...                                        save_best_only=True, save_weights_only=True)
    >>> model.fit(train, validation_data=valid, epochs=30, callbacks=[mean, best])
    """

    def __init__(self, monitor, window, previous=None):
        super().__init__()
        if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1:
            raise ValueError(f"WindowMean: window must be an int > 0. Received: window={window!r}")
        self.monitor = monitor
        self.window = int(window)
        self.key = window_key(monitor, self.window)
        self.values = {int(epoch): float(value) for epoch, value in (previous or {}).items()
                       if not math.isnan(float(value))}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        value = float(logs.get(self.monitor, math.nan))
        self.values.pop(int(epoch), None)  # an epoch run again (after a kill) counts once
        if math.isnan(value):
            logs[self.key] = math.nan
            return
        self.values[int(epoch)] = value
        recent = [self.values[e] for e in range(epoch - self.window + 1, epoch + 1) if e in self.values]
        logs[self.key] = sum(recent) / len(recent)


class TrainingClock(keras.callbacks.Callback):
    """Training time that survives a kill: each epoch's share of `fit`'s wall time.

    An epoch's share runs from the end of the one before (or the start of
    `fit`) to its own end, so the shares add up to the time of `fit`:
    restoring a backup, tracing, validation and the previous epoch's
    checkpoint writes included; `seconds()` adds the time from the end of the
    last epoch to the end of `fit`.

    With `path`, the shares are written to that JSON file after every epoch
    and read back when the callback is built again: a `fit` resumed at epoch
    k (`keras.callbacks.BackupAndRestore`) keeps the shares of the epochs
    before k and times the rest, so a run trained over several sittings
    counts what an unbroken run would, without the work a kill threw away.
    The file also keeps when each epoch ended (`epoch_ends`, Unix time), so
    a share can be set against what else happened then.
    Put it before `BackupAndRestore`: an epoch timed but not backed up before
    a kill is dropped and timed again when the resumed `fit` runs it again.

    Args:
        path: str or None. JSON file of the shares.

    Example:
    >>> clock = TrainingClock()
    >>> model.fit(train, epochs=5, callbacks=[clock])
    >>> clock.seconds()  # about the wall time of that fit
    """

    def __init__(self, path=None):
        super().__init__()
        self.path = path
        self.epochs = []  # seconds of epoch 0, 1, ... as recorded
        self.ends = []  # when each ended (time.time(); None in a file written before they were kept)
        if path is not None and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                recorded = json.load(handle)
            self.epochs = [float(value) for value in recorded["epoch_seconds"]]
            self.ends = list(recorded.get("epoch_ends", [None] * len(self.epochs)))
        self.tail = 0.0  # from the end of the last epoch to the end of fit
        self._mark = None
        self._started = False
        self._carried = 0.0  # the first epoch's seconds before a kill (`carry`)

    def seed(self, initial_epoch):
        """Keeps the recorded shares of the epochs before `initial_epoch` (of a run recorded
        from its start: all of them) and drops any later one."""
        self.epochs = self.epochs[:initial_epoch]
        self.ends = self.ends[:initial_epoch]
        self._started = True

    def seconds(self):
        """The training time: the epochs' shares and the tail of the last `fit`."""
        return sum(self.epochs) + self.tail

    def carry(self, seconds):
        """Adds `seconds` to the share of the next `fit`'s first epoch: its time before a kill, for a `fit`
        that trains the rest of it (`mtkeras.training.backup.MidEpochBackup`)."""
        self._carried = float(seconds)

    def running(self):
        """The share of the epoch in progress so far (what `carry` takes back after a kill)."""
        return self._carried + time.perf_counter() - self._mark

    def on_train_begin(self, logs=None):
        self._mark = time.perf_counter()
        self.tail = 0.0
        self._started = False

    def on_train_end(self, logs=None):
        self.tail = time.perf_counter() - self._mark

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:  # where this fit starts: 0, or the epoch a resumed fit runs first
            self.seed(epoch)

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.epochs.append(self._carried + now - self._mark)
        self._carried = 0.0
        self.ends.append(time.time())
        self._mark = now
        if self.path is not None:
            write_whole(self.path, json.dumps({"epoch_seconds": self.epochs, "epoch_ends": self.ends}))


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the first epoch that ends past `seconds`.

    Args:
        seconds: float. Training time allowed, from the start of `fit`.
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.elapsed = 0.0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed = time.perf_counter() - self._start
        if self.elapsed > self.seconds:
            logger.info("TimeBudget: %.0f s spent (budget %.0f s); stopping", self.elapsed, self.seconds)
            self.model.stop_training = True


class HistoryLogger(keras.callbacks.CSVLogger):
    """Keras' `CSVLogger` appending to a run's history, which keeps every value under its own column.

    Keras writes each sitting's rows in the order of that sitting's logs and
    the header only when the file is new: a run resumed under code that logs
    more or other metrics than its first sitting (a new task score, a new
    callback's log) would write values under the wrong names. When the
    sitting's logs differ from the file's header, the file is written again
    once with every column of both (a value a row lacks reads `NA`), and
    the new rows follow in that order.

    Args:
        filename: str. The CSV file (`history.csv` of the run directory).
    """

    def __init__(self, filename):
        super().__init__(filename, append=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.keys is None and logs and not self.append_header:  # the first epoch of a sitting, after others
            with open(self.filename, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle, delimiter=self.sep)
                header, rows = reader.fieldnames or [], list(reader)
            keys = sorted(set(logs) | set(header) - {"epoch"})
            if header != ["epoch"] + keys:
                self.csv_file.close()
                with open(self.filename, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.DictWriter(handle, fieldnames=["epoch"] + keys, restval="NA", delimiter=self.sep)
                    writer.writeheader()
                    writer.writerows(rows)
                self.csv_file = open(self.filename, "a", newline="", encoding="utf-8")
            self.keys = keys
        super().on_epoch_end(epoch, logs)
