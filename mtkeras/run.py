"""The earlier home of training runs, kept for old imports: see `mtkeras.runs`."""

from mtkeras.runs import RunDirectory

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



def read_history(run_dir):
    """The epochs of a run's `history.csv` as dicts (see `RunDirectory.history`)."""
    return RunDirectory(run_dir).history()


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
    "read_history",
    "read_split",
    "train",
]
