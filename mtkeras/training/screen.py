"""What training shows on the screen: a progress bar while an epoch runs, then one table per epoch.

Keras' own progress bar lists every logged metric on one line, and prints
that line again when the epoch ends, after any table a callback printed; so
`mtkeras train` runs `fit` with `verbose=0` and shows these instead: a bar
with the running loss and score, ended when the epoch ends, then the
epoch's table (`EpochTable`), each printed once.
"""

import math
import sys
import time

import keras

from mtkeras.names import SCORE, VALIDATION_PREFIX, split_log_key


class ProgressBar(keras.callbacks.Callback):
    """A progress bar per epoch (on standard output) with the running `loss` and `score` only."""

    def __init__(self):
        super().__init__()
        self._bar = None
        self._step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._bar = keras.utils.Progbar(self.params.get("steps"), stateful_metrics=("loss", SCORE), unit_name="step")
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step = batch + 1
        self._bar.update(self._step, values=_shown(logs))

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            target = self._bar.target
            if target is None or self._step < target:  # at the target, the last step's update ended the bar
                self._bar.update(self._step, values=_shown(logs), finalize=True)
            self._bar = None


def _shown(logs):
    logs = logs or {}
    return [(key, float(logs[key])) for key in ("loss", SCORE) if key in logs]


class EpochTable(keras.callbacks.Callback):
    """Prints one table per epoch: a row per task, its training and validation metrics.

    Keras logs every task's metrics on one long line (`intent_accuracy: ...
    val_slots_loss: ...`); this groups them by task:

        epoch 3/6  14.2 s  loss 0.3100  score 0.9300  val_loss 0.2800  val_score 0.9200
        task        loss  accuracy        f1  | val_loss  val_accuracy    val_f1
        intent    0.0400    0.9900         -  |   0.0300        0.9900         -
        slots     0.1500    0.9600    0.8700  |   0.1300        0.9600    0.8600

    With a `monitor`, the head line says whether the epoch improved on the
    best so far (the rule `ModelCheckpoint(save_best_only=True)` follows, so
    "improved, saved" means the checkpoint was written).

    Args:
        tasks: list of str. Task names, in the order to print them.
        epochs: int or None. Total epochs, for "epoch 3/6".
        stream: file-like. Where to print (default: standard output).
        monitor: str or None. The log that picks the best epoch.
        mode: "max" or "min". Whether higher or lower `monitor` is better.
        best: float or None. The best value before this run (a resumed run's).
        saved_to: str or None. The checkpoint an improved epoch is saved to, as shown.
    """

    def __init__(self, tasks, epochs=None, stream=None, monitor=None, mode="max", best=None, saved_to=None):
        super().__init__()
        self.tasks = list(tasks)
        self.epochs = epochs
        self.stream = stream
        self.monitor = monitor
        self.mode = mode
        self.best = best
        self.saved_to = saved_to

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        print(self.format(epoch, logs, time.perf_counter() - getattr(self, "_start", time.perf_counter()),
                          self._improvement(logs)),
              file=self.stream or sys.stdout, flush=True)

    def _improvement(self, logs):
        value = logs.get(self.monitor) if self.monitor else None
        if value is None:
            return None
        value = float(value)
        if math.isnan(value):  # never an improvement, as for ModelCheckpoint
            return f"{self.monitor} is NaN"
        better = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        if not better:
            return f"no improvement on {self.monitor} {self.best:.4f}"
        self.best = value
        return "improved, saved " + self.saved_to if self.saved_to else "improved"

    def format(self, epoch, logs, seconds=None, improvement=None):
        """The table of one epoch's `logs`."""
        head = f"epoch {epoch + 1}" + (f"/{self.epochs}" if self.epochs else "")
        if seconds is not None:
            head += f"  {seconds:.1f} s"
        shown = ["loss", SCORE, VALIDATION_PREFIX + "loss", VALIDATION_PREFIX + SCORE]
        if self.monitor and self.monitor not in shown:
            shown.append(self.monitor)  # the log that picks the epoch (`val_score_mean3`, `val_intent_accuracy`)
        for key in shown:
            if key in logs:
                head += f"  {key} {float(logs[key]):.4f}"
        if improvement:
            head += f"  ({improvement})"

        metrics, has_val = [], False
        for key in logs:
            split, task, metric = split_log_key(key, self.tasks)
            if task is not None:
                has_val = has_val or split == "val"
                if split == "train" and metric not in metrics:
                    metrics.append(metric)
        width = max([len("task")] + [len(task) for task in self.tasks])
        columns = [(metric, "") for metric in metrics] + ([(metric, "val_") for metric in metrics] if has_val else [])
        header = f"{'task':<{width}}" + "".join(
            ("  | " if prefix and i == len(metrics) else "  ") + f"{prefix + metric:>{max(len(prefix + metric), 8)}}"
            for i, (metric, prefix) in enumerate(columns)
        )
        lines = [head, header]
        for task in self.tasks:
            cells = []
            for i, (metric, prefix) in enumerate(columns):
                value = logs.get(f"{prefix}{task}_{metric}")
                text = "-" if value is None else f"{float(value):.4f}"
                cells.append(("  | " if prefix and i == len(metrics) else "  ") + f"{text:>{max(len(prefix + metric), 8)}}")
            lines.append(f"{task:<{width}}" + "".join(cells))
        return "\n".join(lines)
