"""Evaluation and reports: scores per task, the results table, training curves, report files.

| module | what |
|---|---|
| `evaluator` | `evaluate(model, data)`: every task scored over its labelled items |
| `table` | `format_table(results)`: the text table `mtkeras train` and `evaluate` print |
| `history` | `history_rows`, `task_curves`: a training history by epoch and by task |
| `plots` | `plot_history`, `plot_task_curves`, `plot_confusion_matrix` (PNG, headless) |
| `report` | `write_report`: `metrics_<split>.json` and the plots of a run |
| `significance` | `paired_bootstrap(task, before, after)`: one model's score minus another's on the same texts, with a bootstrap interval |
| `calibration` | `calibrate(model, dev_examples)`: each sentence task's temperature and token task's outside weight, fitted after training; `FittedDecisionScores`: each epoch's dev score under the weight fitted for it |

The scores themselves (`accuracy`, `macro_f1`, `entity_scores`, ...) live
beside the task kinds that choose them, in `mtkeras.tasks.scores`.
"""

from mtkeras.lazy import lazy_exports

# Each name is imported from its module on first use (`mtkeras.lazy`).
_HOMES = {
    "calibrate": "mtkeras.evaluation.calibration",
    "FittedDecisionScores": "mtkeras.evaluation.calibration",
    "TaskItems": "mtkeras.evaluation.evaluator",
    "collect_items": "mtkeras.evaluation.evaluator",
    "paired_bootstrap": "mtkeras.evaluation.significance",
    "evaluate": "mtkeras.evaluation.evaluator",
    "history_rows": "mtkeras.evaluation.history",
    "task_curves": "mtkeras.evaluation.history",
    "plot_confusion_matrix": "mtkeras.evaluation.plots",
    "plot_history": "mtkeras.evaluation.plots",
    "plot_task_curves": "mtkeras.evaluation.plots",
    "results_json": "mtkeras.evaluation.report",
    "write_report": "mtkeras.evaluation.report",
    "format_table": "mtkeras.evaluation.table",
    "accuracy": "mtkeras.tasks.scores",
    "confusion_matrix": "mtkeras.tasks.scores",
    "entity_errors": "mtkeras.tasks.scores",
    "entity_scores": "mtkeras.tasks.scores",
    "macro_f1": "mtkeras.tasks.scores",
    "pearson": "mtkeras.tasks.scores",
    "rank": "mtkeras.tasks.scores",
    "spearman": "mtkeras.tasks.scores",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "calibrate",
    "FittedDecisionScores",
    "TaskItems",
    "accuracy",
    "collect_items",
    "confusion_matrix",
    "entity_errors",
    "entity_scores",
    "evaluate",
    "format_table",
    "history_rows",
    "macro_f1",
    "paired_bootstrap",
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
