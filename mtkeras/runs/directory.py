"""A run directory: what a run writes, its state, and whether it may resume.

    config.yaml          the config with every default filled in
    run.json             status, epochs done, best epoch, time, parameters, resumptions,
                         the code of each sitting (package version, git commit)
    history.csv          one row per epoch (Keras CSVLogger), every metric
    checkpoints/         best.weights.h5 (by training.monitor, or its mean over
                         training.monitor_window epochs), last.weights.h5,
                         patience.json (the logs early stopping waits on, per epoch),
                         clock.json (each epoch's training seconds)
    backup/              while a run is unfinished: Keras BackupAndRestore's state at the last
                         epoch's end, and mtkeras' inside the epoch since (training.backup_steps;
                         mtkeras.training.backup)
    logs/                TensorBoard event files (`tensorboard --logdir runs`)
    model.keras          the best epoch's model, when training ends
    metrics_<split>.json per-task scores of `mtkeras.evaluate` (valid and test)
    plots/               <task>_curves.png, <task>_confusion_<split>.png
"""

import json
import os
import shutil
import types
import typing

import yaml
from pydantic import BaseModel

from mtkeras.errors import RunError  # noqa: F401  (raised here; defined with the other errors)
from mtkeras.evaluation import history_rows
from mtkeras.files import write_whole
from mtkeras.runs.loading import config_to_dict
from mtkeras.runs.schema import Config, TaskConfig
from mtkeras.tasks import task_kind

MODEL_FILE = "model.keras"
STATE_FILE = "run.json"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
PATIENCE_FILE = "patience.json"
CLOCK_FILE = "clock.json"

# Sections and fields whose change does not change what an epoch computes (the
# early-stopping ones may change when training stops): a run may resume after
# they change.
_RESUMABLE_CHANGES = ("export", "training.patience", "training.patience_per_task", "training.min_delta", "run_dir",
                      "training.backup_steps")


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value}


def _kind_fields_only(config):
    """`config` with each task's entries limited to those its kind takes.

    Run directories written before task options moved to the kinds hold
    every option on every task (`crf: false` on a sentence task); such an
    entry changes nothing and must not stop a resume.
    """
    tasks = config.get("tasks") if isinstance(config, dict) else None
    if not isinstance(tasks, dict):
        return config
    kept = {}
    for name, task in tasks.items():
        try:
            fields = set(task_kind(task["kind"]).Options.model_fields) | {"kind"}
        except (KeyError, TypeError, ValueError):
            kept[name] = task
            continue
        kept[name] = {key: value for key, value in task.items() if key in fields}
    return {**config, "tasks": kept}


_NO_DEFAULT = object()


def _schema_default(field, config):
    """The schema's default of the dotted `field` (`training.monitor_window`) of the config dict `config`.

    Sections are walked through their models; a name under `tasks` or
    `datasets` is skipped, and a task's own fields are those of its kind's
    `Options` (its `kind` read from `config`). `_NO_DEFAULT` for a required
    field or a path the schema does not know.
    """
    parts = field.split(".")
    model, i = Config, 0
    while i < len(parts):
        info = model.model_fields.get(parts[i])
        if info is None:
            return _NO_DEFAULT
        i += 1
        if i == len(parts):
            if info.is_required():
                return _NO_DEFAULT
            return info.default_factory() if info.default_factory is not None else info.default
        annotation = info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:  # Optional[Section]
            annotation = args[0]
        if typing.get_origin(annotation) is dict:  # tasks, datasets: skip the name
            name, annotation = parts[i] if i < len(parts) else None, typing.get_args(annotation)[1]
            i += 1
            if annotation is TaskConfig:
                try:
                    annotation = task_kind(config["tasks"][name]["kind"]).Options
                except (KeyError, TypeError, ValueError):
                    return _NO_DEFAULT
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return _NO_DEFAULT
        model = annotation
    return _NO_DEFAULT


def config_changes(old, new):
    """Fields whose values differ between two config dicts: `[(field, old, new)]`.

    A field the old config lacks (a run written by an mtkeras from before the
    field existed) had its schema default then, unless the old config set a
    section above it to a value of its own (`distillation: null`).
    """
    new_config = _kind_fields_only(new)
    old, new = _flatten(_kind_fields_only(old)), _flatten(new_config)

    def before(field):
        if field in old or any(field.startswith(key + ".") for key in old):
            return old.get(field)
        default = _schema_default(field, new_config)
        return None if default is _NO_DEFAULT else default

    changes = []
    for field in sorted(set(old) | set(new)):
        if any(field == skip or field.startswith(skip + ".") for skip in _RESUMABLE_CHANGES):
            continue
        if before(field) != new.get(field):
            changes.append((field, before(field), new.get(field)))
    return changes


class RunDirectory:
    """The folder of one run, and the files in it.

    Args:
        path: str. The folder (made absolute).
    """

    def __init__(self, path):
        self.path = os.path.abspath(path)

    @classmethod
    def of(cls, config, run_dir=None):
        """The run directory of `config`: `run_dir`, else the config's `run_dir`, else `runs/<name>`."""
        return cls(run_dir or config.run_directory)

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def model_path(self):
        return self.file(MODEL_FILE)

    @property
    def backup(self):
        return self.file("backup")

    def checkpoint(self, name):
        return self.file("checkpoints", name)

    def embedded_words(self):
        """The trained words of the run's word embedding (a from-scratch encoder's), read from its weights:
        the backup of an unfinished run, else its saved model; None without either or without one.

        Keras keeps a layer's weights under `layers/<layer>/<attribute>/vars/<i>`; the encoders' trained
        word rows (padding and OOV first) are their `embedding`.
        """
        import re
        import zipfile

        import h5py

        def rows(weights):
            found = []
            weights.visititems(lambda name, item: found.append(item.shape[0])
                               if re.fullmatch(r"layers/[^/]+/embedding/vars/0", name) else None)
            return found[0] - 2 if found else None

        backup = os.path.join(self.backup, "latest.weights.h5")
        try:
            if os.path.exists(backup):
                with h5py.File(backup, "r") as weights:
                    return rows(weights)
            if os.path.exists(self.model_path):
                with zipfile.ZipFile(self.model_path) as archive, archive.open("model.weights.h5") as handle, \
                        h5py.File(handle, "r") as weights:
                    return rows(weights)
        except (OSError, KeyError, zipfile.BadZipFile):
            pass
        return None

    # === State (run.json) ===
    def read_state(self):
        """`run.json` as a dict, or None for a folder that holds no run."""
        path = self.file(STATE_FILE)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def write_state(self, state):
        write_whole(self.file(STATE_FILE), json.dumps(state, indent=2))

    def history(self):
        """The epochs of `history.csv` as dicts (1-based `epoch`); a re-run epoch keeps its last row."""
        path = self.file(HISTORY_FILE)
        return history_rows(path) if os.path.exists(path) else []

    def backed_up_epoch(self):
        """The epoch Keras' `BackupAndRestore` holds (0: none), where a resumed run starts."""
        path = os.path.join(self.backup, "training_metadata.json")
        if not os.path.exists(path):
            return 0
        with open(path, encoding="utf-8") as handle:
            return int(json.load(handle).get("epoch", 0))

    def config_changes(self, config):
        """`[(field, saved, now)]` where `config` differs from the one the run was started with
        (`config_changes`); None for a folder without a saved config."""
        if not os.path.exists(self.file(CONFIG_FILE)):
            return None
        with open(self.file(CONFIG_FILE), encoding="utf-8") as handle:
            saved = yaml.safe_load(handle) or {}
        return config_changes(saved, config_to_dict(config))

    # === Starting and resuming ===
    def prepare(self, config, overwrite=False):
        """Creates or checks the folder for a run of `config`; returns the epoch it restarts from (0: new).

        Raises:
            RunError: the folder holds something else, a finished run, or an
                unfinished run of another config.
        """
        state = self.read_state()
        if state is not None and overwrite:
            shutil.rmtree(self.path)
            state = None
        if state is None and os.path.isdir(self.path) and os.listdir(self.path) and not overwrite:
            raise RunError(f"{self.path} exists and is not an mtkeras run directory; pass --overwrite or another --run-dir")
        if state is None:
            os.makedirs(self.path, exist_ok=True)
            with open(self.file(CONFIG_FILE), "w", encoding="utf-8") as handle:
                yaml.safe_dump(config_to_dict(config), handle, sort_keys=False)
            self.write_state({"status": "running", "epochs_done": 0, "resumed_at_epochs": [], "train_seconds": 0.0})
            return 0
        if state.get("status") == "finished":
            raise RunError(
                f"{self.path} holds a finished run ({MODEL_FILE}); evaluate or export it, or pass --overwrite to "
                "train it again"
            )
        changes = self.config_changes(config)
        if changes:
            shown = "; ".join(f"{field}: {old!r} -> {new!r}" for field, old, new in changes[:5])
            more = f" (and {len(changes) - 5} more)" if len(changes) > 5 else ""
            raise RunError(
                f"{self.path} holds an unfinished run of another config ({shown}{more}); rerun with the same config "
                "to resume it, or pass --overwrite or another --run-dir"
            )
        return self.backed_up_epoch()
