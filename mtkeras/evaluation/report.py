"""A run's report files: metrics as JSON, curves and confusion matrices as PNG.

Example:
>>> results = mtkeras.evaluate(model, test_data, print_table=False)
>>> paths = write_report("runs/nlu", results, history=history, split="test")
>>> paths["intent_confusion"]
'runs/nlu/plots/intent_confusion_test.png'
"""

import json
import math
import os
import re

import numpy as np

from mtkeras.evaluation.history import history_rows, task_curves
from mtkeras.evaluation.plots import plot_confusion_matrix, plot_task_curves
from mtkeras.files import write_whole

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
