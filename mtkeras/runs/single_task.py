"""Each task of a config trained alone: `mtkeras train CONFIG --single-task`.

The single-task models are what a multi-task model must match: same encoder,
same recipe, each task on its own datasets. They live beside the multi-task
run, one run directory per task:

    runs/<name>/                  the multi-task run
    runs/<name>-single/<task>/    each task alone (a run directory as any other)
    runs/<name>-single/scores.json  each task's best dev and test scores

(`single_task_dir` puts them elsewhere, `--run-dir` or not: e.g. the
single-task runs another config trained. A finished one is kept and used as
it is; `--single-task` says when it was trained with other settings.)

Once they have finished, the multi-task run of the same config picks its best
epoch by each task's dev score *relative to its single-task model's*
(`reference_scores`), so no task's scale or noise picks the epoch for all.
"""

import json
import os

from mtkeras.files import write_whole
from mtkeras.runs.directory import RunDirectory
from mtkeras.tasks import task_kind

SCORES_FILE = "scores.json"


def single_task_root(config, run_dir=None):
    """The folder holding the single-task runs of `config`: its `single_task_dir`, else `<run_dir>-single`."""
    if config.single_task_dir:
        return config.single_task_dir
    return RunDirectory.of(config, run_dir).path.rstrip(os.sep) + "-single"


def single_task_config(config, task, run_dir=None):
    """`config` cut down to `task`: its declaration, the datasets that label it (for it alone), its own run directory.

    Everything else (encoder, training, mixing, seed, the task's private
    layers) stays, so the single-task model differs from the multi-task one
    only by sharing nothing; it has no `distillation` (it is the teacher).
    """
    if task not in config.tasks:
        raise ValueError(f"no task {task!r} in the config; its tasks are {sorted(config.tasks)}")
    single = config.model_copy(deep=True)
    single.name = f"{config.name}-{task}"
    single.tasks = {task: config.tasks[task]}
    datasets = {}
    for source, dataset in config.datasets.items():
        if task in dataset.tasks:
            dataset = dataset.model_copy(deep=True)
            dataset.tasks = {task: dataset.tasks[task]}
            datasets[source] = dataset
    single.datasets = datasets
    if config.mixing.sampling == "weights" and len(datasets) == 1:
        single.mixing = config.mixing.model_copy(update={"sampling": "proportional"})
        for dataset in datasets.values():
            dataset.weight = None
    logged = (config.training.monitor or "").removeprefix("val_")
    if logged and logged not in ("loss", "score") and not logged.startswith(f"{task}_"):
        # A monitor on another task's log: the single-task run picks its epoch by its own score.
        single.training = config.training.model_copy(update={"monitor": None})
    # A single-task model learns from gold alone: it is the teacher, not a student.
    single.distillation = None
    single.single_task_dir = None
    single.run_dir = os.path.join(single_task_root(config, run_dir), task)
    single.export = config.export.model_copy(update={"name": f"{config.export_name}-{task}", "base_path": None})
    single._origin = config._origin
    return single


def train_each_task(config, run_dir=None, overwrite=False, verbose=None, tasks=None):
    """Trains every task of `config` alone (`single_task_config`); a finished one is kept, an unfinished one resumes.

    Returns:
        `{task: {"run_dir", "best_epoch", "valid", "test", "train_seconds", "parameters"}}`,
        also written to `scores.json` in `single_task_root`: each task's score
        (its `score_metric`) on the dev split at the best epoch, and on test.
    """
    from mtkeras.runs.trainer import train

    scores = {}
    for task in tasks or list(config.tasks):
        single = single_task_config(config, task, run_dir)
        directory = RunDirectory(single.run_dir)
        state = directory.read_state() or {}
        if state.get("status") == "finished" and not overwrite:
            changed = _trained_otherwise(directory, single)
            print(f"[mtkeras] {task}: single-task run {directory.path} is finished; kept (--overwrite trains it again)"
                  + (f"; note: it was trained with {changed}" if changed else ""), flush=True)
        else:
            print(f"[mtkeras] {task}: training it alone in {directory.path}", flush=True)
            train(single, overwrite=overwrite, verbose=verbose)
        scores[task] = finished_scores(single, task)
    root = single_task_root(config, run_dir)
    previous = _read_json(os.path.join(root, SCORES_FILE)) or {}
    write_whole(os.path.join(root, SCORES_FILE), json.dumps({**previous, **scores}, indent=2))
    return scores


def _trained_otherwise(directory, single):
    """What differs between the config a finished run was trained with and `single` (e.g. a run another
    config left in a shared `single_task_dir`), as `"field: old (now new)"` text; "" when nothing does."""
    changes = [(field, old, new) for field, old, new in directory.config_changes(single) or () if field != "name"]
    return "; ".join(f"{field}: {old!r} (now {new!r})" for field, old, new in changes[:5])


def finished_scores(single, task):
    """What a finished single-task run scored: its task's `score_metric` on dev at the best epoch, and on test.

    The dev score is the one its epoch was picked by: a token task's entity F1
    under the outside weight fitted for that epoch, when it was logged.
    """
    directory = RunDirectory(single.run_dir)
    state = directory.read_state() or {}
    if state.get("status") != "finished":
        return None
    metric = task_kind(single.tasks[task].kind).score_metric
    best = state.get("best_epoch")
    # A token task's kept epoch was scored under its fitted outside weight, as it is served (FittedDecisionScores).
    dev = next((row.get(f"val_{task}_{metric}_fitted", row.get(f"val_{task}_{metric}"))
                for row in directory.history() if row["epoch"] == best), None)
    test = ((_read_json(directory.file("metrics_test.json")) or {}).get(task) or {}).get(metric)
    return {"run_dir": directory.path, "metric": metric, "best_epoch": best, "valid": dev, "test": test,
            "train_seconds": state.get("train_seconds"), "parameters": state.get("parameters")}


def reference_scores(config, run_dir=None):
    """`{task: dev score}` of the finished single-task runs of `config` (tasks without one are left out)."""
    if len(config.tasks) < 2:
        return {}
    references = {}
    for task in config.tasks:
        scores = finished_scores(single_task_config(config, task, run_dir), task)
        if scores and scores["valid"] is not None and scores["valid"] > 0:
            references[task] = float(scores["valid"])
    return references


def _read_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
