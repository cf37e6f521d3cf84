"""Training reports: per-task curves, confusion matrices and a metrics JSON.

Everything reads one normalised form of a training history, the per-epoch
rows of `history_rows` (from a `keras.callbacks.History`, its `.history`
dict, a list of per-epoch dicts or a `keras.callbacks.CSVLogger` file).
`task_curves` splits the Keras log keys of a multi-task model
(`intent_loss`, `val_intent_accuracy`, `intent_weight`, ...) by task.

Plots are built on `matplotlib.figure.Figure` alone: no pyplot state and no
backend switch, so they work headless, in threads and in Jupyter, where a
returned figure shows inline.

| function | writes |
|---|---|
| `plot_history` | one figure, a row of panels per task (optionally a PNG) |
| `plot_task_curves` | `<directory>/<task>_curves.png` per task |
| `plot_confusion_matrix` | one heat map (optionally a PNG) |
| `write_report` | `metrics_<split>.json`, `plots/<task>_curves.png`, `plots/<task>_confusion_<split>.png` |

Example:
>>> history = model.fit(train_data, validation_data=valid_data, epochs=10)
>>> results = mtkeras.evaluate(model, test_data)
>>> from mtkeras.reports import write_report
>>> paths = write_report("runs/nlu", results, history, tasks=model.tasks)
>>> paths["intent_confusion"]
'runs/nlu/plots/intent_confusion_test.png'
"""

import csv
import io
import json
import math
import os
import re

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mtkeras.names import split_log_key

# The prefix Keras gives the metrics of `validation_data`.

# Confusion matrices write every count up to this many labels, the non-zero
# counts up to `_MAX_LABELS_WITH_COUNTS`, and no counts beyond.
_MAX_LABELS_WITH_ZEROS = 12
_MAX_LABELS_WITH_COUNTS = 60

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _ReportFigure(Figure):
    """A `Figure` that Jupyter shows as a PNG even when pyplot was never imported."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


# === History ===
def history_rows(history):
    """A training history as one dict per epoch, numbered from 1.

    Args:
        history: one of
            - a `keras.callbacks.History` (what `model.fit` returns); its
              `epoch` list numbers the rows (a run resumed with
              `initial_epoch=5` starts at epoch 6);
            - its `.history` dict `{metric: [value per epoch]}`, all lists
              equally long; the rows are numbered 1, 2, ...;
            - a list of per-epoch dicts of metric values, such as this
              function returns: an `epoch` key (1-based) is kept, without
              one the rows are numbered 1, 2, ...;
            - the path (str or `os.PathLike`) of a `keras.callbacks.CSVLogger`
              file: an `epoch` column numbered from 0 plus one column per
              metric (`NA` or empty reads as `nan`).
            When an epoch appears twice (a resumed run that ran it again),
            the last row wins; rows are sorted by epoch.

    Returns:
        list of dict: `{"epoch": int, metric: float, ...}` per epoch. A
        metric a row lacks is absent from that row.

    Example:
    >>> history_rows({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]})
    [{'epoch': 1, 'loss': 0.9, 'val_loss': 1.0}, {'epoch': 2, 'loss': 0.5, 'val_loss': 0.7}]
    """
    if isinstance(history, (str, os.PathLike)):
        return _last_per_epoch(_csv_rows(history))
    logs = getattr(history, "history", None)
    if isinstance(logs, dict):  # a keras.callbacks.History
        epochs = getattr(history, "epoch", None) or range(max((len(v) for v in logs.values()), default=0))
        columns = _columns(logs, len(epochs))
        return _last_per_epoch(
            [{"epoch": int(epoch) + 1, **{key: values[i] for key, values in columns.items()}}
             for i, epoch in enumerate(epochs)]
        )
    if isinstance(history, dict):
        if "epoch" in history:
            raise ValueError(
                "history_rows: a dict of per-epoch lists numbers its epochs by position and takes no "
                "`epoch` entry (pass a list of per-epoch dicts or a CSVLogger file instead). "
                f"Received keys: {sorted(history)}"
            )
        columns = _columns(history, None)
        size = len(next(iter(columns.values()))) if columns else 0
        return [{"epoch": i + 1, **{key: values[i] for key, values in columns.items()}} for i in range(size)]
    if isinstance(history, (list, tuple)):
        return _last_per_epoch(_list_rows(history))
    raise ValueError(
        "history_rows: `history` must be a keras.callbacks.History, a dict of per-epoch lists, a list "
        f"of per-epoch dicts or the path of a CSVLogger file. Received: history={history!r:.200}"
    )


def _columns(logs, size):
    """`{metric: [float]}` from a dict of lists, all of one length (`size`, when given)."""
    columns = {}
    for key, values in logs.items():
        if not isinstance(key, str):
            raise ValueError(f"history_rows: metric names must be strings. Received: {key!r}")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise ValueError(
                f"history_rows: `history[{key!r}]` must be a list of per-epoch values. Received: {values!r:.200}"
            )
        columns[key] = [_number(value, key, f"epoch {i + 1}") for i, value in enumerate(values)]
    lengths = {key: len(values) for key, values in columns.items()}
    expected = size if size is not None else next(iter(lengths.values()), 0)
    if any(length != expected for length in lengths.values()):
        raise ValueError(
            "history_rows: every metric needs one value per epoch (with `validation_freq` > 1 the "
            "validation lists are shorter: log with keras.callbacks.CSVLogger instead). "
            f"Received lengths: {lengths}"
        )
    return columns


def _list_rows(history):
    with_epoch = [isinstance(row, dict) and "epoch" in row for row in history]
    if any(not isinstance(row, dict) for row in history):
        raise ValueError(
            "history_rows: a list history must hold one dict of metric values per epoch. "
            f"Received: {[type(row).__name__ for row in history][:10]}"
        )
    if any(with_epoch) and not all(with_epoch):
        raise ValueError(
            "history_rows: either every row of a list history has an `epoch` key or none has. "
            f"Rows without one: {[i for i, has in enumerate(with_epoch) if not has][:10]}"
        )
    rows = []
    for i, row in enumerate(history):
        epoch = row["epoch"] if all(with_epoch) else i + 1
        if isinstance(epoch, bool) or not isinstance(epoch, (int, float, np.integer, np.floating)) \
                or not float(epoch).is_integer() or epoch < 1:
            raise ValueError(f"history_rows: `epoch` must be an integer from 1. Received: epoch={epoch!r}")
        where = f"epoch {int(epoch)}"
        rows.append({"epoch": int(epoch), **{
            key: _number(value, key, where) for key, value in row.items() if key != "epoch"
        }})
    return rows


def _csv_rows(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"history_rows: no CSVLogger file at `history`. Received: history={path!r}")
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if not reader.fieldnames or "epoch" not in reader.fieldnames:
            raise ValueError(
                f"history_rows: {path} is not a CSVLogger file: it needs an `epoch` column. "
                f"Received columns: {reader.fieldnames}"
            )
        rows = []
        for line, record in enumerate(reader, start=2):
            if record["epoch"] == "epoch":  # a header written again by an appending logger
                continue
            where = f"{path}:{line}"
            try:
                epoch = int(float(record["epoch"]))
            except (TypeError, ValueError):
                raise ValueError(
                    f"history_rows: {where}: `epoch` must be an integer. "
                    f"Received: {record['epoch']!r}"
                ) from None
            row = {"epoch": epoch + 1}
            for key, value in record.items():
                if key is None or key == "epoch":
                    continue
                row[key] = float("nan") if value in (None, "", "NA") else _number(value, key, where)
            rows.append(row)
    return rows


def _number(value, key, where):
    if value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"history_rows: {where}: metric {key!r} must be a number. "
            f"Received: {value!r:.100}"
        ) from None


def _last_per_epoch(rows):
    last = {}
    for row in rows:
        last[row["epoch"]] = row
    return [last[epoch] for epoch in sorted(last)]


# === Curves per task ===
def task_curves(history, tasks):
    """The metric curves of each task, training and validation side by side.

    A log key belongs to the task whose name, followed by `_`, starts it
    (after a leading `val_` for validation): `intent_accuracy` and
    `val_intent_accuracy` are the `accuracy` of `intent`. When several task
    names fit (`topic` and `topic_labels`), the longest wins. Keys of no task
    (`loss`, `learning_rate`) are left out.

    Args:
        history: anything `history_rows` reads (its rows, too).
        tasks: list of str, or of `mtkeras.Task` (their `name`). The tasks
            to report; each must have at least one key in the history.

    Returns:
        `{task: {metric: {"train": [float], "val": [float] or None}}}`, one
        value per row of `history_rows(history)` (`nan` where a row lacks
        the key), `loss` first and the other metrics in the order they were
        logged. `"train"` is None for a metric logged for validation only
        (such as `BestEpoch` scores).

    Example:
    >>> curves = task_curves(history, ["intent", "slots"])
    >>> curves["intent"]["accuracy"]["val"]
    [0.71, 0.88, 0.93]
    """
    rows = history_rows(history)
    names = _task_names(tasks)
    keys = list(dict.fromkeys(key for row in rows for key in row if key != "epoch"))
    curves = {name: {} for name in names}
    for key in keys:
        split, task, metric = split_log_key(key, names)
        if task is None:
            continue
        entry = curves[task].setdefault(metric, {"train": None, "val": None})
        entry[split] = [row.get(key, float("nan")) for row in rows]
    missing = [name for name in names if not curves[name]]
    if missing:
        raise ValueError(
            f"task_curves: no metric of task(s) {missing} in the history (keys `<task>_<metric>` or "
            f"`val_<task>_<metric>`). Received: tasks={names}; the history's keys: {keys}"
        )
    return {name: _loss_first(metrics) for name, metrics in curves.items()}


def _task_names(tasks):
    if isinstance(tasks, str) or not isinstance(tasks, (list, tuple)):
        raise ValueError(f"`tasks` must be a list of task names. Received: tasks={tasks!r}")
    names = [getattr(task, "name", task) for task in tasks]
    bad = [name for name in names if not isinstance(name, str) or not name.isidentifier()]
    if bad or not names:
        raise ValueError(
            f"`tasks` must be a non-empty list of task names (Python identifiers). Received: tasks={names!r}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"`tasks` names a task twice. Received: tasks={names!r}")
    return names


def _loss_first(metrics):
    return dict(sorted(metrics.items(), key=lambda item: item[0] != "loss"))


# === Plots ===
def plot_history(history, tasks, path=None):
    """Training and validation curves, one row of panels per task.

    Each row shows the task's `loss`, then its other metrics (`accuracy`,
    a learned `weight`, ...), over the epochs: training as a solid line
    with circles, validation as a dashed line with squares.

    Args:
        history: anything `history_rows` reads.
        tasks: list of str, or of `mtkeras.Task`. One row per task, in order.
        path: str or None. Also save the figure there as a PNG (its folder
            is created).

    Returns:
        `matplotlib.figure.Figure`.

    Example:
    >>> history = model.fit(train_data, validation_data=valid_data, epochs=10)
    >>> figure = plot_history(history, model.tasks, path="runs/nlu/history.png")
    """
    rows = history_rows(history)
    curves = task_curves(rows, tasks)
    epochs = [row["epoch"] for row in rows]
    columns = max(len(metrics) for metrics in curves.values())
    figure = _ReportFigure(figsize=(4.2 * columns, 3.2 * len(curves)), layout="constrained")
    axes = figure.subplots(len(curves), columns, squeeze=False)
    for row_axes, (task, metrics) in zip(axes, curves.items()):
        _draw_task(row_axes, epochs, task, metrics)
        for unused in row_axes[len(metrics):]:
            figure.delaxes(unused)
    if path is not None:
        _save(figure, path)
    return figure


def plot_task_curves(history, tasks, directory):
    """One PNG of curves per task: `<directory>/<task>_curves.png`.

    Args:
        history: anything `history_rows` reads.
        tasks: list of str, or of `mtkeras.Task`.
        directory: str. Where to write (created when missing).

    Returns:
        list of str: the paths written, in the order of `tasks`.

    Example:
    >>> plot_task_curves("runs/nlu/log.csv", ["intent", "slots"], "runs/nlu/plots")
    ['runs/nlu/plots/intent_curves.png', 'runs/nlu/plots/slots_curves.png']
    """
    rows = history_rows(history)
    curves = task_curves(rows, tasks)
    epochs = [row["epoch"] for row in rows]
    paths = []
    for task, metrics in curves.items():
        figure = _ReportFigure(figsize=(4.2 * len(metrics), 3.4), layout="constrained")
        _draw_task(figure.subplots(1, len(metrics), squeeze=False)[0], epochs, task, metrics)
        paths.append(_save(figure, os.path.join(os.fspath(directory), f"{task}_curves.png")))
    return paths


def _draw_task(axes, epochs, task, metrics):
    size = 4 if len(epochs) <= 30 else 2
    for ax, (metric, lines) in zip(axes, metrics.items()):
        if lines["train"] is not None:
            ax.plot(epochs, lines["train"], marker="o", markersize=size, label="train")
        if lines["val"] is not None:
            ax.plot(epochs, lines["val"], marker="s", markersize=size, linestyle="--", label="validation")
        ax.set_title(f"{task}: {metric}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()


def plot_confusion_matrix(labels, matrix, title=None, path=None, normalize=True):
    """A confusion matrix as a heat map with the counts in its cells.

    Rows are gold labels, columns predicted ones (as `evaluate` returns them
    under `confusion`). Fonts shrink and tick labels turn as labels grow;
    every count is written up to 12 labels, the non-zero ones up to 60, none
    beyond (the colours remain).

    Args:
        labels: list of str. The row and column names.
        matrix: `[len(labels), len(labels)]` non-negative integer counts
            (nested lists or an array).
        title: str or None. The figure's title.
        path: str or None. Also save the figure there as a PNG.
        normalize: bool. Colour each cell by its share of its row (the
            gold label's examples; recall on the diagonal) rather than by
            its count. The cells show counts either way.

    Returns:
        `matplotlib.figure.Figure`.

    Example:
    >>> confusion = mtkeras.evaluate(model, test_data)["intent"]["confusion"]
    >>> figure = plot_confusion_matrix(confusion["labels"], confusion["matrix"], title="intent")
    """
    labels, counts = _check_confusion(labels, matrix)
    if not isinstance(normalize, bool):
        raise ValueError(
            "plot_confusion_matrix: `normalize` must be True or False. "
            f"Received: normalize={normalize!r}"
        )
    size = len(labels)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        shades = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        top, bar_label = 1.0, "share of the gold label's examples"
    else:
        shades = counts.astype(np.float64)
        top, bar_label = max(float(counts.max(initial=0)), 1.0), "examples"
    longest = max((len(label) for label in labels), default=1)
    side = min(max(4.5, 0.38 * size + 0.07 * min(longest, 40) + 2.5), 40.0)
    figure = _ReportFigure(figsize=(side + 1.2, side), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(shades, cmap="Blues", vmin=0.0, vmax=top, interpolation="nearest")
    figure.colorbar(image, ax=ax, shrink=0.8, label=bar_label)
    # The figure grows with the labels (cells of about 0.38 inch), so fonts shrink only a little.
    font = 10 if size <= 12 else 8 if size <= 30 else 7 if size <= _MAX_LABELS_WITH_COUNTS else 6
    ticks = range(size)
    ax.set_xticks(ticks, labels, fontsize=font, rotation=45 if size <= 20 else 90,
                  ha="right" if size <= 20 else "center", rotation_mode="anchor" if size <= 20 else "default")
    ax.set_yticks(ticks, labels, fontsize=font)
    ax.set_xlabel("predicted", fontsize=12)
    ax.set_ylabel("gold", fontsize=12)
    if title is not None:
        ax.set_title(str(title), fontsize=13)
    if size <= _MAX_LABELS_WITH_COUNTS:
        for row in range(size):
            for column in range(size):
                count = int(counts[row, column])
                if count == 0 and size > _MAX_LABELS_WITH_ZEROS:
                    continue
                dark = shades[row, column] > 0.5 * top
                ax.text(column, row, str(count), ha="center", va="center", fontsize=font,
                        color="white" if dark else "black")
    if path is not None:
        _save(figure, path)
    return figure


def _check_confusion(labels, matrix):
    if isinstance(labels, str) or not isinstance(labels, (list, tuple)) or not labels:
        raise ValueError(
            "plot_confusion_matrix: `labels` must be a non-empty list of str. "
            f"Received: labels={labels!r:.200}"
        )
    labels = [str(label) for label in labels]
    try:
        counts = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "plot_confusion_matrix: `matrix` must be a square table of counts. "
            f"Received: matrix={matrix!r:.200}"
        ) from None
    if counts.shape != (len(labels), len(labels)):
        raise ValueError(
            f"plot_confusion_matrix: `matrix` must be {len(labels)} x {len(labels)} (one row and column per "
            f"label). Received: matrix of shape {counts.shape}"
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(
            "plot_confusion_matrix: `matrix` must hold non-negative integer counts. "
            f"Received: matrix={matrix!r:.200}"
        )
    return labels, counts.astype(np.int64)


def _save(figure, path):
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path


# === Report ===
def write_report(run_dir, results, history=None, tasks=None, split="test"):
    """Writes a run's metrics and plots under `run_dir`; prints nothing.

    Files:
    - `metrics_<split>.json`: `results` as JSON (`nan` and infinities as
      `null`, NumPy numbers as plain numbers);
    - `plots/<task>_curves.png` per task, when `history` is given (and
      holds at least one epoch);
    - `plots/<task>_confusion_<split>.png` per task whose results carry a
      `confusion` entry (sentence classification tasks).

    Args:
        run_dir: str. The run's folder (created when missing).
        results: dict. What `mtkeras.evaluate` returns.
        history: None, or anything `history_rows` reads.
        tasks: None, or a list of str or `mtkeras.Task`: the tasks whose
            curves to plot. None: every task of `results`.
        split: str. The evaluated split, in file names (letters, digits,
            `_`, `-`, `.`).

    Returns:
        dict of str: the paths written, under the keys `"metrics"`,
        `"<task>_curves"` and `"<task>_confusion"`.

    Example:
    >>> results = mtkeras.evaluate(model, test_data, print_table=False)
    >>> paths = write_report("runs/nlu", results, history=history, split="test")
    >>> paths["metrics"]
    'runs/nlu/metrics_test.json'
    """
    if not isinstance(results, dict):
        raise ValueError(
            "write_report: `results` must be the dict `evaluate` returns. "
            f"Received: results={results!r:.200}"
        )
    if not isinstance(split, str) or not _SPLIT_NAME.match(split):
        raise ValueError(
            "write_report: `split` must be a name usable in a file name (letters, digits, _ - .). "
            f"Received: split={split!r}"
        )
    text = results_json(results)
    rows = history_rows(history) if history is not None else []
    if rows:  # checked before anything is written
        if tasks is None:
            tasks = [name for name, metrics in results.items() if isinstance(metrics, dict)]
        names = list(task_curves(rows, tasks))
    run_dir = os.fspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    plots = os.path.join(run_dir, "plots")
    paths = {"metrics": os.path.join(run_dir, f"metrics_{split}.json")}
    write_whole(paths["metrics"], text + "\n")
    if rows:
        for name, path in zip(names, plot_task_curves(rows, names, plots)):
            paths[f"{name}_curves"] = path
    for task, metrics in results.items():
        confusion = metrics.get("confusion") if isinstance(metrics, dict) else None
        if confusion is None:
            continue
        path = os.path.join(plots, f"{task}_confusion_{split}.png")
        total = int(np.sum(confusion["matrix"]))
        title = f"{task} ({split}, {total} example{'' if total == 1 else 's'})"
        plot_confusion_matrix(confusion["labels"], confusion["matrix"], title=title, path=path)
        paths[f"{task}_confusion"] = path
    return paths


def results_json(results):
    """`evaluate` results as JSON text: NaN and infinities as `null`, NumPy numbers as plain numbers."""
    return json.dumps(_plain(results, "results"), indent=2, ensure_ascii=False, allow_nan=False)


def _plain(value, where):
    """`value` in JSON types; non-finite floats become None."""
    if value is None or isinstance(value, (str, bool, np.bool_)):
        return value if not isinstance(value, np.bool_) else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        items = value.tolist() if isinstance(value, np.ndarray) else value
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(items)]
    raise ValueError(
        f"write_report: {where} is a {type(value).__name__}, which JSON cannot hold. "
        f"Received: {value!r:.100}"
    )


def write_whole(path, text):
    """Writes `path` whole or not at all (a crash leaves the old file); creates its folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(partial, path)


__all__ = [
    "history_rows",
    "plot_confusion_matrix",
    "plot_history",
    "plot_task_curves",
    "task_curves",
    "write_report",
]
