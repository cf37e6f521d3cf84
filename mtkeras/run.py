"""The earlier home of training runs, kept for old imports: see `mtkeras.runs`."""

from mtkeras.runs import (
    CONFIG_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    STATE_FILE,
    RunError,
    config_changes,
    declare_tasks,
    evaluate_run,
    export_run,
    read_split,
    train,
)

__all__ = [
    "CONFIG_FILE",
    "HISTORY_FILE",
    "MODEL_FILE",
    "STATE_FILE",
    "RunError",
    "config_changes",
    "declare_tasks",
    "evaluate_run",
    "export_run",
    "read_split",
    "train",
]
