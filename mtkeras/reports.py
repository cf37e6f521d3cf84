"""The earlier home of the report functions, kept for old imports: see `mtkeras.evaluation`."""

from mtkeras.evaluation import (
    history_rows,
    plot_confusion_matrix,
    plot_history,
    plot_task_curves,
    results_json,
    task_curves,
    write_report,
)
from mtkeras.files import write_whole

__all__ = ["history_rows", "plot_confusion_matrix", "plot_history", "plot_task_curves", "results_json", "task_curves", "write_report", "write_whole"]
