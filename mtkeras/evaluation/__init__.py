"""Evaluation and reports: scores per task, the results table, training curves, report files.

| module | what |
|---|---|
| `evaluator` | `evaluate(model, data)`: every task scored over its labelled items |
| `table` | `format_table(results)`: the text table `mtkeras train` and `evaluate` print |
| `history` | `history_rows`, `task_curves`: a training history by epoch and by task |
| `plots` | `plot_history`, `plot_task_curves`, `plot_confusion_matrix` (PNG, headless) |
| `report` | `write_report`: `metrics_<split>.json` and the plots of a run |
| `calibration` | `calibrate(model, dev_examples)`: each sentence task's temperature, fitted after training |

The scores themselves (`accuracy`, `macro_f1`, `entity_scores`, ...) live
beside the task kinds that choose them, in `mtkeras.tasks.scores`.
"""

from mtkeras.evaluation.calibration import calibrate
from mtkeras.evaluation.evaluator import TaskItems, evaluate
from mtkeras.evaluation.history import history_rows, task_curves
from mtkeras.evaluation.plots import plot_confusion_matrix, plot_history, plot_task_curves
from mtkeras.evaluation.report import results_json, write_report
from mtkeras.evaluation.table import format_table
from mtkeras.tasks.scores import (
    accuracy,
    confusion_matrix,
    entity_errors,
    entity_scores,
    macro_f1,
    pearson,
    rank,
    spearman,
)

__all__ = [
    "calibrate",
    "TaskItems",
    "accuracy",
    "confusion_matrix",
    "entity_errors",
    "entity_scores",
    "evaluate",
    "format_table",
    "history_rows",
    "macro_f1",
    "pearson",
    "plot_confusion_matrix",
    "plot_history",
    "plot_task_curves",
    "rank",
    "results_json",
    "spearman",
    "task_curves",
    "write_report",
]
