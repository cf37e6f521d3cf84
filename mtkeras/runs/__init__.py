"""Training runs described in YAML: `mtkeras train`, `evaluate` and `export CONFIG`.

| module | what |
|---|---|
| `schema` | the config's sections and fields (`Config`), checked on load; task kinds, readers and encoders check their own parts |
| `loading` | YAML to a `Config`, each problem named by file, line, field and value (`load_config`, `--set` overrides) |
| `reference` | the README's config reference, generated from the schema and the registries |
| `inputs` | each dataset's splits read, the tasks declared, the training stream |
| `directory` | the run directory: its files, `run.json`, and whether a run may resume |
| `trainer` | `train(config)`: build, fit under a strategy, checkpoints, reports, export |
| `finish` | reports of a split, the trained model, the export |
"""

from mtkeras.errors import ConfigError
from mtkeras.runs.directory import (
    CLOCK_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    PATIENCE_FILE,
    STATE_FILE,
    RunDirectory,
    RunError,
    config_changes,
)
from mtkeras.runs.finish import evaluate_run, export_model, export_run, load_run_model, report
from mtkeras.runs.inputs import declare_tasks, read_split, training_stream
from mtkeras.runs.loading import config_to_dict, load_config, parse_config
from mtkeras.runs.reference import field_reference
from mtkeras.runs.schema import Config
from mtkeras.runs.trainer import build_compiled_model, train

__all__ = [
    "CLOCK_FILE",
    "CONFIG_FILE",
    "HISTORY_FILE",
    "MODEL_FILE",
    "PATIENCE_FILE",
    "STATE_FILE",
    "Config",
    "ConfigError",
    "RunDirectory",
    "RunError",
    "build_compiled_model",
    "config_changes",
    "config_to_dict",
    "declare_tasks",
    "evaluate_run",
    "export_model",
    "export_run",
    "field_reference",
    "load_config",
    "load_run_model",
    "parse_config",
    "read_split",
    "report",
    "train",
    "training_stream",
]
