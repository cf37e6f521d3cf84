"""Training histories: one row per epoch, and each task's curves.

Everything reads one normalised form of a training history, the per-epoch
rows of `history_rows` (from a `keras.callbacks.History`, its `.history`
dict, a list of per-epoch dicts or a `keras.callbacks.CSVLogger` file).
`task_curves` splits the Keras log keys of a multi-task model
(`intent_loss`, `val_intent_accuracy`, `intent_weight`, ...) by task.
"""

import csv
import os

import numpy as np

from mtkeras.names import split_log_key


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
              metric (`NA` or empty reads as `nan`). An empty file (a run
              stopped during its first epoch) has no rows.
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
        if reader.fieldnames is None:
            # Empty: CSVLogger opens its file as training begins and writes the header with the first epoch's
            # row, so a run stopped during its first epoch leaves an empty file: no epoch yet.
            return []
        if "epoch" not in reader.fieldnames:
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
