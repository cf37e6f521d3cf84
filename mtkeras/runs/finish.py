"""After training: reports of a split, the trained model, the export.

`mtkeras evaluate CONFIG`, `mtkeras calibrate CONFIG` and `mtkeras export
CONFIG` work from a finished run's `model.keras`; `train` calls `report` and
`export_model` itself.
"""

import json
import os

import keras

from mtkeras.errors import ConfigError
from mtkeras.evaluation import calibrate, evaluate, format_table, write_report
from mtkeras.export import ExportError, export_saved_model
from mtkeras.runs.directory import RunDirectory, RunError
from mtkeras.runs.inputs import read_split
from mtkeras.runs.loading import config_to_dict


def report(model, sources, directory, split, history=None):
    """Evaluates `model` on `{source: examples}`, prints the table and writes the reports of `split`.

    Returns `(results, written paths)`.
    """
    examples = [ex for items in sources.values() for ex in items]
    results = evaluate(model, examples, print_table=False)
    print(f"[mtkeras] {split} split ({len(examples)} texts):\n{format_table(results)}", flush=True)
    written = write_report(directory.path, results, history=history, tasks=[t.name for t in model.tasks], split=split)
    return results, list(written.values()) if isinstance(written, dict) else list(written)


def calibrate_and_report(config, model, directory, valid, state, history=None):
    """What every finished model goes through: calibration, saving, reports, export.

    Fits each sentence task's temperature and token task's outside weight on
    the `valid` examples (`mtkeras.evaluation.calibrate`), saves the model to
    the run's `model.keras`, writes the valid and test reports (`history`
    goes with the valid one) and, with `export.after_training`, exports a new
    version. `state` (the run's run.json, recorded in the export) gets
    `metrics`, `calibration` and `export_path`, and is written last: a
    training killed while exporting is not finished yet, and resumes into
    the export. Returns
    `{"calibration", "metrics", "reports", "export_path"}`.
    """
    fitted = calibrate(model, [ex for items in valid.values() for ex in items])
    print_calibration(fitted)
    model.save(directory.model_path)
    metrics, reports = {}, []
    for split, sources in (("valid", valid), ("test", read_split(config, "test"))):
        if sources:
            metrics[split], written = report(model, sources, directory, split,
                                             history=history if split == "valid" else None)
            reports += written
    state["metrics"] = {split: _headline(results) for split, results in metrics.items()}
    if config.export.after_training:
        state["export_path"] = export_model(config, model, directory, state=state)
    elif state.pop("export_path", None):
        print("[mtkeras] the run's export predates this calibration: `mtkeras export CONFIG` writes one with it",
              flush=True)
    state["calibration"] = fitted
    directory.write_state(state)
    return {"calibration": fitted, "metrics": metrics, "reports": reports, "export_path": state.get("export_path")}


def print_calibration(fitted):
    """One line per task of what `calibrate` fitted."""
    for task, values in fitted.items():
        if "temperature" in values:
            print(f"[mtkeras] {task}: temperature {values['temperature']:.3f} fitted on {values['texts']} valid "
                  f"texts; expected calibration error {values['ece_before']:.4f} -> {values['ece_after']:.4f}",
                  flush=True)
        else:
            print(f"[mtkeras] {task}: outside weight {values['outside_weight']:.3g} fitted on {values['texts']} "
                  f"valid texts; entity F1 {values['f1_before']:.4f} -> {values['f1_after']:.4f}", flush=True)


def _headline(results):
    """One number per task for run.json: accuracy, entity F1 or Pearson."""
    headline = {}
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            headline[task] = metrics
            continue
        for key in ("f1", "accuracy", "exact_match", "pearson"):
            if key in metrics and not (key == "accuracy" and "f1" in metrics):
                headline[task] = {key: metrics[key]}
                break
    return headline


def load_run_model(config, run_dir=None, model_path=None):
    """The trained model of a run (`model.keras` in its run directory, or `model_path`)."""
    path = model_path or RunDirectory.of(config, run_dir).model_path
    if not os.path.exists(path):
        raise RunError(f"no trained model at {path}: run `mtkeras train` first (or pass --model)")
    return keras.models.load_model(path)


def evaluate_run(config, split="test", run_dir=None, model_path=None):
    """Scores a run's model on one split of the config's datasets and writes its reports."""
    sources = read_split(config, split)
    if not sources:
        raise ConfigError(f"datasets: no dataset has a {split} split")
    model = load_run_model(config, run_dir, model_path)
    results, _ = report(model, sources, RunDirectory.of(config, run_dir), split)
    return results


def export_model(config, model, directory, base_path=None, version=None, state=None):
    """Exports `model` as the next version under the config's export base path.

    The export records the run's `state` (default: its run.json).
    """
    state = state if state is not None else directory.read_state() or {}
    extra = {"config": config_to_dict(config), "run": {k: state.get(k) for k in ("epochs_done", "best_epoch", "monitor", "train_seconds", "parameters", "metrics")}}
    try:
        path = export_saved_model(
            model, base_path or config.export_base_path, version=version,
            extra_metadata=json.loads(json.dumps(extra, default=float)),
            warmup_texts=config.export.warmup_texts,
        )
    except (FileExistsError, ValueError, ExportError) as error:  # a taken or invalid version, bad warm-up texts
        raise RunError(f"export: {error}") from None
    print(f"[mtkeras] exported {path}", flush=True)
    return path


def export_run(config, run_dir=None, model_path=None, base_path=None, version=None):
    """Exports a run's trained model for TF Serving; returns the version folder."""
    model = load_run_model(config, run_dir, model_path)
    return export_model(config, model, RunDirectory.of(config, run_dir), base_path=base_path, version=version)


def calibrate_run(config, run_dir=None):
    """Fits a finished run's calibration again on its valid split, without training.

    Each sentence task's temperature and token task's outside weight
    (`mtkeras.evaluation.calibrate`) are fitted as training fits them, then the
    model is saved again, the valid and test reports written again and the
    run's state updated; with `export.after_training`, a new version is
    exported. For a run trained before a calibration existed, or after the
    valid split changed. Returns `{"calibration", "metrics", "export_path"}`.
    """
    directory = RunDirectory.of(config, run_dir)
    state = directory.read_state() or {}
    if state.get("status") != "finished":
        raise RunError(f"{directory.path}: no finished run to calibrate (status {state.get('status')!r})")
    valid = read_split(config, "valid")
    if not valid:
        raise ConfigError("datasets: no dataset has a valid split to calibrate on")
    changes = directory.config_changes(config)
    if changes:
        print(f"[mtkeras] calibrating {directory.path} under a config that differs from its training's: "
              f"{'; '.join(changes)}", flush=True)
    model = load_run_model(config, run_dir)
    # Not calibrated until every step below is done: one killed on the way is calibrated again next time.
    state.pop("calibration", None)
    directory.write_state(state)
    for task in model.tasks:  # what to fit is the config's to say
        for switch in ("calibrate", "fit_outside_weight"):
            if hasattr(task, switch) and task.name in config.tasks:
                setattr(task, switch, bool(getattr(config.tasks[task.name], switch, getattr(task, switch))))
    done = calibrate_and_report(config, model, directory, valid, state)
    return {key: done[key] for key in ("calibration", "metrics", "export_path")}
