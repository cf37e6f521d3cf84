"""Training runs described in YAML: `mtkeras train`, `evaluate`, `calibrate` and `export CONFIG`.

| module | what |
|---|---|
| `schema` | the config's sections and fields (`Config`), checked on load; task kinds, readers and encoders check their own parts |
| `loading` | YAML to a `Config`, each problem named by file, line, field and value (`load_config`, `--set` overrides) |
| `reference` | the README's config reference, generated from the schema and the registries |
| `inputs` | each dataset's splits read, the tasks declared, the training stream |
| `directory` | the run directory: its files, `run.json`, and whether a run may resume |
| `trainer` | `train(config)`: build, fit under a strategy, checkpoints, reports, export |
| `finish` | reports of a split, the trained model, its calibration fitted again, the export |
| `single_task` | each task of a config trained alone (`--single-task`), and their scores as references |
"""

from mtkeras.lazy import lazy_exports

# Each name is imported from its module on first use (`mtkeras.lazy`).
_HOMES = {
    "ConfigError": "mtkeras.errors",
    "reference_scores": "mtkeras.runs.single_task",
    "single_task_config": "mtkeras.runs.single_task",
    "train_each_task": "mtkeras.runs.single_task",
    "CLOCK_FILE": "mtkeras.runs.directory",
    "CONFIG_FILE": "mtkeras.runs.directory",
    "HISTORY_FILE": "mtkeras.runs.directory",
    "MODEL_FILE": "mtkeras.runs.directory",
    "PATIENCE_FILE": "mtkeras.runs.directory",
    "STATE_FILE": "mtkeras.runs.directory",
    "RunDirectory": "mtkeras.runs.directory",
    "RunError": "mtkeras.runs.directory",
    "config_changes": "mtkeras.runs.directory",
    "calibrate_run": "mtkeras.runs.finish",
    "evaluate_run": "mtkeras.runs.finish",
    "export_model": "mtkeras.runs.finish",
    "export_run": "mtkeras.runs.finish",
    "load_run_model": "mtkeras.runs.finish",
    "report": "mtkeras.runs.finish",
    "declare_tasks": "mtkeras.runs.inputs",
    "read_split": "mtkeras.runs.inputs",
    "training_stream": "mtkeras.runs.inputs",
    "config_to_dict": "mtkeras.runs.loading",
    "load_config": "mtkeras.runs.loading",
    "parse_config": "mtkeras.runs.loading",
    "field_reference": "mtkeras.runs.reference",
    "Config": "mtkeras.runs.schema",
    "build_compiled_model": "mtkeras.runs.trainer",
    "train": "mtkeras.runs.trainer",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

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
    "calibrate_run",
    "evaluate_run",
    "export_model",
    "export_run",
    "field_reference",
    "load_config",
    "load_run_model",
    "reference_scores",
    "single_task_config",
    "train_each_task",
    "parse_config",
    "read_split",
    "report",
    "train",
    "training_stream",
]
