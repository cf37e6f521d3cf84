"""Training runs from a `Config`: data, model, fit, checkpoints, reports, export.

`train(config)` is what `mtkeras train CONFIG` does. Everything a run makes
goes into its run directory (`runs/<name>/` unless the config or the caller
says otherwise):

    config.yaml          the config with every default filled in
    run.json             status, epochs done, best epoch, time, parameters, resumptions
    history.csv          one row per epoch (Keras CSVLogger), every metric
    checkpoints/         best.weights.h5 (by training.monitor), last.weights.h5,
                         patience.json (the logs early stopping waits on, per epoch),
                         clock.json (each epoch's training seconds)
    backup/              Keras BackupAndRestore state while a run is unfinished
    logs/                TensorBoard event files (`tensorboard --logdir runs`)
    model.keras          the best epoch's model, when training ends
    metrics_<split>.json per-task scores of `mtkeras.evaluate` (valid and test)
    plots/               <task>_curves.png, <task>_confusion_<split>.png

An interrupted run (Ctrl-C, a killed process, a lost machine) resumes when
the same command runs again: Keras' `BackupAndRestore` restores the weights,
the optimizer state and the epoch reached.

Example:
>>> from mtkeras.config import load_config
>>> from mtkeras.run import train
>>> outcome = train(load_config("configs/demo.yaml"))
>>> outcome["metrics"]["test"]["intent"]["accuracy"]
"""

import itertools
import json
import math
import os
import shutil
import sys

import yaml

from mtkeras.config import ConfigError, config_to_dict

MODEL_FILE = "model.keras"
STATE_FILE = "run.json"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.csv"
PATIENCE_FILE = "patience.json"
CLOCK_FILE = "clock.json"

# Sections and fields whose change does not change what an epoch computes (the
# early-stopping ones may change when training stops): a run may resume after
# they change.
_RESUMABLE_CHANGES = ("export", "training.patience", "training.patience_per_task", "training.min_delta", "run_dir")


class RunError(RuntimeError):
    """A run directory in a state the command cannot work from (told to the user, no traceback)."""


# === Data ===


def read_split(config, split):
    """`{source: [Example]}` of one split (`"train"`, `"valid"` or `"test"`) of every dataset that has it."""
    sources = {}
    for source, dataset in config.datasets.items():
        location = getattr(dataset, split)
        if location:
            sources[source] = _read(config, source, dataset, split, location)
    return sources


def _read(config, source, dataset, split, location):
    from mtkeras.data import ConllReader, DataError, DelimitedReader, JointNLUReader, JsonLinesReader, TfdsReader

    field = f"datasets.{source}.{split}"
    if dataset.reader != "tfds" and not os.path.exists(location):
        raise ConfigError(f"{field}: no such file or folder: {location!r} (relative paths start at {os.getcwd()})")
    tasks = dataset.tasks
    options = dict(dataset.options)
    try:
        if dataset.reader == "joint_nlu":
            by_column = {column: task for task, column in tasks.items()}
            reader = JointNLUReader(
                location, label_task=by_column.get("label"), tags_task=by_column.get("tags"),
                on_error=dataset.on_error, **options,
            )
        elif dataset.reader == "conll":
            (task, column), = tasks.items()
            reader = ConllReader(location, task=task, tag_column=column, on_error=dataset.on_error, **options)
        elif dataset.reader == "delimited":
            reader = DelimitedReader(
                location, columns=dict(tasks), text_column=dataset.text if dataset.text is not None else "text",
                pair_column=dataset.pair, on_error=dataset.on_error, **options,
            )
        elif dataset.reader == "jsonl":
            token = {t for t in tasks if config.tasks[t].kind == "token_tagging"}
            reader = JsonLinesReader(
                location,
                label_fields={t: f for t, f in tasks.items() if t not in token} or None,
                tag_fields={t: f for t, f in tasks.items() if t in token} or None,
                text_field=dataset.text, on_error=dataset.on_error, **options,
            )
        else:
            reader = TfdsReader(
                dataset.name, location, text=dataset.text, task_features=dict(tasks),
                on_error=dataset.on_error, **options,
            )
    except TypeError as error:  # an option the reader does not take
        raise ConfigError(f"datasets.{source}.options: {error}") from None
    except DataError:
        raise
    except ValueError as error:
        raise ConfigError(f"datasets.{source}: {error}") from None
    try:
        examples = list(itertools.islice(iter(reader), dataset.max_examples))
    except DataError as error:
        raise DataError(f"{field}: {error}") from None
    if not examples:
        raise ConfigError(f"{field}: {location!r} holds no examples")
    return examples


def declare_tasks(config, train_examples):
    """The `Task`s of `config`, with labels from the training examples unless the config gives them."""
    from mtkeras.tasks import task_kind

    tasks = []
    for name, spec in config.tasks.items():
        cls = task_kind(spec.kind)
        options = {"loss_weight": spec.loss_weight, "dropout": spec.dropout}
        for option in ("label_smoothing", "thresholds", "separator", "sentence_context", "crf", "pair"):
            if option in spec.model_fields_set:
                options[option] = getattr(spec, option)
        try:
            if spec.kind == "regression":
                tasks.append(cls(name, **options))
            elif spec.labels is not None:
                tasks.append(cls(name, labels=spec.labels, **options))
            else:
                tasks.append(cls.from_examples(name, train_examples, **options))
        except ValueError as error:
            raise ConfigError(f"tasks.{name}: {error}") from None
    return tasks


def training_stream(config, sources, tasks, replicas=1):
    """`(dataset, steps_per_epoch)` for `model.fit`: one source batched, several mixed."""
    from mtkeras.data import make_dataset, mix_datasets

    training, mixing = config.training, config.mixing
    if len(sources) == 1:
        (examples,) = sources.values()
        data = make_dataset(
            examples, tasks, training.batch_size, shuffle=training.shuffle, seed=training.seed,
            drop_remainder=replicas > 1, bucket=mixing.bucket, unknown_labels="raise",
        )
    else:
        weights = {source: config.datasets[source].weight for source in sources} if mixing.sampling == "weights" else None
        data = mix_datasets(
            sources, tasks, training.batch_size,
            sampling=mixing.sampling, temperature=mixing.temperature, weights=weights,
            examples_per_epoch=mixing.examples_per_epoch, seed=training.seed, bucket=mixing.bucket,
        )
    steps = int(data.cardinality())  # both streams know their batch count
    if steps < 1:
        total = sum(len(examples) for examples in sources.values())
        raise ConfigError(f"training.batch_size: {training.batch_size} is more than the {total} training examples")
    return data, steps


# === The run directory ===


def run_directory(config, run_dir=None):
    return os.path.abspath(run_dir or config.run_directory)


def _read_state(run_dir):
    path = os.path.join(run_dir, STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _write_state(run_dir, state):
    from mtkeras.files import write_whole

    write_whole(os.path.join(run_dir, STATE_FILE), json.dumps(state, indent=2))


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value}


def config_changes(old, new):
    """Fields whose values differ between two config dicts: `[(field, old, new)]`."""
    old, new = _flatten(old), _flatten(new)
    return [
        (field, old.get(field), new.get(field))
        for field in sorted(set(old) | set(new))
        if old.get(field) != new.get(field)
        and not any(field == skip or field.startswith(skip + ".") for skip in _RESUMABLE_CHANGES)
    ]


def _prepare_run_directory(config, run_dir, overwrite):
    """Creates or checks the run directory; returns the epoch a resumed run restarts from (0: new)."""
    state = _read_state(run_dir)
    if state is not None and overwrite:
        shutil.rmtree(run_dir)
        state = None
    if state is None and os.path.isdir(run_dir) and os.listdir(run_dir) and not overwrite:
        raise RunError(f"{run_dir} exists and is not an mtkeras run directory; pass --overwrite or another --run-dir")
    if state is None:
        os.makedirs(run_dir, exist_ok=True)
        with open(os.path.join(run_dir, CONFIG_FILE), "w", encoding="utf-8") as handle:
            yaml.safe_dump(config_to_dict(config), handle, sort_keys=False)
        _write_state(run_dir, {"status": "running", "epochs_done": 0, "resumed_at_epochs": [], "train_seconds": 0.0})
        return 0
    if state.get("status") == "finished":
        raise RunError(
            f"{run_dir} holds a finished run ({MODEL_FILE}); evaluate or export it, or pass --overwrite to "
            "train it again"
        )
    with open(os.path.join(run_dir, CONFIG_FILE), encoding="utf-8") as handle:
        saved = yaml.safe_load(handle)
    changes = config_changes(saved, config_to_dict(config))
    if changes:
        shown = "; ".join(f"{field}: {old!r} -> {new!r}" for field, old, new in changes[:5])
        more = f" (and {len(changes) - 5} more)" if len(changes) > 5 else ""
        raise RunError(
            f"{run_dir} holds an unfinished run of another config ({shown}{more}); rerun with the same config "
            "to resume it, or pass --overwrite or another --run-dir"
        )
    return _backed_up_epoch(run_dir)


def _backed_up_epoch(run_dir):
    path = os.path.join(run_dir, "backup", "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as handle:
        return int(json.load(handle).get("epoch", 0))


def read_history(run_dir):
    """The epochs of `history.csv` as dicts (1-based `epoch`); a re-run epoch keeps its last row."""
    from mtkeras.evaluation import history_rows

    path = os.path.join(run_dir, HISTORY_FILE)
    return history_rows(path) if os.path.exists(path) else []


# === Training ===


def _patience_monitors(config, tasks):
    """The logs early stopping waits on: `{key: "max" or "min"}` (`TaskPatience.monitors_for`)."""
    from mtkeras.training.callbacks import TaskPatience

    monitor, mode = config.monitor
    return TaskPatience.monitors_for(tasks, monitor, mode, config.training.patience_per_task)


def _callbacks(config, run_dir, tasks, initial_best, strategy, patience, clock):
    import keras

    from mtkeras.training.callbacks import EpochTable
    from mtkeras.training.strategy import worker_identity, worker_path

    monitor, mode = config.monitor
    _, _, chief = worker_identity(strategy)
    checkpoints = os.path.join(run_dir, "checkpoints")
    best, last = (worker_path(os.path.join(checkpoints, name), strategy) for name in ("best.weights.h5", "last.weights.h5"))
    os.makedirs(os.path.dirname(best), exist_ok=True)
    callbacks = [keras.callbacks.TerminateOnNaN()]
    if chief:  # the logs are the same on every worker; one writes them
        callbacks += [
            EpochTable([task.name for task in tasks], config.training.epochs),
            keras.callbacks.CSVLogger(os.path.join(run_dir, HISTORY_FILE), append=True),
            keras.callbacks.TensorBoard(log_dir=os.path.join(run_dir, "logs"), write_graph=False),
        ]
    callbacks += [
        keras.callbacks.ModelCheckpoint(
            best, monitor=monitor, mode=mode, save_best_only=True,
            save_weights_only=True, initial_value_threshold=initial_best, verbose=0,
        ),
        keras.callbacks.ModelCheckpoint(last, save_weights_only=True),
    ]
    if patience is not None:
        callbacks.append(patience)
    callbacks.append(clock)
    # Last, so that everything above has recorded an epoch before the backup
    # says it is done (a kill in between re-runs the epoch; the history keeps
    # its last row).
    # Kept when fit returns (Keras would delete it then): a run killed while
    # it saves, evaluates or exports resumes after its last epoch instead of
    # starting over. `train` deletes it once the run is finished.
    callbacks.append(
        keras.callbacks.BackupAndRestore(
            worker_path(os.path.join(run_dir, "backup"), strategy), double_checkpoint=True, delete_checkpoint=False
        )
    )
    return callbacks


def _strategy(config):
    """The config's strategy; a TF_CONFIG that names several workers needs a multi-worker one."""
    from mtkeras.training.strategy import cluster_size, get_strategy

    kind = config.training.strategy
    try:
        workers = cluster_size()
    except ValueError as error:
        raise ConfigError(f"TF_CONFIG: {error}") from None
    if workers > 1 and kind in ("mirrored", "default"):
        raise ConfigError(
            f"training.strategy: {kind!r} trains every host on its own, but TF_CONFIG names {workers} workers "
            "(each would write the same run directory); use auto or multi_worker"
        )
    return get_strategy(kind)


def build_compiled_model(config, tasks, train_sources, steps_per_epoch):
    """Builds and compiles the model of `config` (call inside the strategy's scope)."""
    from mtkeras.encoders import PRETRAINED
    from mtkeras.models import build_model
    from mtkeras.training.schedules import build_optimizer, default_learning_rate

    encoder = config.encoder
    pretrained = encoder.name in PRETRAINED or os.path.isdir(encoder.name)
    options = {
        "encoder": encoder.name,
        "encoder_config": dict(encoder.config) or None,
        "max_words": encoder.max_words,
        "sequence_length": encoder.sequence_length,
        "uncertainty_weighting": config.training.uncertainty_weighting,
    }
    if not pretrained:
        options.update(
            # Both texts of sentence-pair examples feed the vocabulary and its counts.
            texts=[text for examples in train_sources.values() for ex in examples
                   for text in ((ex.text, ex.text_pair) if ex.pair else (ex.text,))],
            max_vocabulary_size=encoder.max_vocabulary_size,
            lowercase=encoder.lowercase,
        )
    try:
        model = build_model(tasks, **options)
    except (TypeError, ValueError, FileNotFoundError, ImportError) as error:
        raise ConfigError(f"encoder.name: {encoder.name!r}: {error}") from None
    optimizer = config.training.optimizer
    schedule = config.training.schedule
    model.compile(
        optimizer=build_optimizer(
            optimizer.name,
            optimizer.learning_rate or default_learning_rate(model),
            total_steps=config.training.epochs * steps_per_epoch,
            schedule=schedule.name,
            warmup_fraction=schedule.warmup_fraction,
            clipnorm=optimizer.clipnorm,
            weight_decay=optimizer.weight_decay,
        )
    )
    return model


def train(config, run_dir=None, overwrite=False, verbose=None):
    """Trains the model a config describes, in a run directory; resumes an unfinished run.

    Args:
        config: a `mtkeras.config.Config`.
        run_dir: str or None. Overrides the config's `run_dir`.
        overwrite: bool. Start afresh even if `run_dir` holds a run.
        verbose: int or None. Keras' progress bar (1) or none (0); None: a
            bar when standard output is a terminal. Per-task metrics are
            printed after every epoch either way.

    Returns:
        dict: `run_dir`, `model_path`, `epochs_done`, `best_epoch`,
        `resumed_from` (0 for a new run), `train_seconds`, `parameters`
        (the model's weight count), `metrics`
        (`{split: evaluate() results}` for valid and test), `export_path`
        (when `export.after_training`), `reports` (written files).

    Raises:
        ConfigError: a problem with the config found while reading data or
            building the model (names the field).
        DataError: a bad record (names the file and line).
        RunError: `run_dir` holds a finished run, or an unfinished run of
            another config.
    """
    import keras

    from mtkeras.data import DataError
    from mtkeras.training import set_mixed_precision
    from mtkeras.training.callbacks import TaskPatience, TrainingClock
    from mtkeras.training.strategy import strategy_name, worker_identity, worker_path

    run_dir = run_directory(config, run_dir)
    # The strategy comes before any other TensorFlow work (a TFDS reader runs
    # tf.data): a multi-worker strategy must be the first to start
    # TensorFlow's runtime.
    strategy = _strategy(config)
    worker, workers, chief = worker_identity(strategy)
    train_sources = read_split(config, "train")
    valid_sources = read_split(config, "valid")
    train_examples = [ex for examples in train_sources.values() for ex in examples]
    tasks = declare_tasks(config, train_examples)
    if chief:
        resumed_from = _prepare_run_directory(config, run_dir, overwrite)
        state = _read_state(run_dir)
        if resumed_from:
            print(f"[mtkeras] resuming {run_dir} after epoch {resumed_from} of {config.training.epochs}", flush=True)
            state["resumed_at_epochs"].append(resumed_from)
        _write_state(run_dir, state)
    else:
        # Other workers write only their own checkpoints and backup, beside the chief's.
        private = [worker_path(os.path.join(run_dir, "backup"), strategy),
                   os.path.dirname(worker_path(os.path.join(run_dir, "checkpoints", "last.weights.h5"), strategy))]
        if overwrite:
            for folder in private:
                shutil.rmtree(folder, ignore_errors=True)
        resumed_from = _backed_up_epoch(os.path.dirname(private[0]))
        state = {}

    previous_policy = keras.config.dtype_policy().name
    keras.utils.set_random_seed(config.training.seed)
    try:
        policy = set_mixed_precision(config.training.mixed_precision)
        replicas = strategy.num_replicas_in_sync
        try:  # a label that does not fit its task (names the file and line)
            data, steps = training_stream(config, train_sources, tasks, replicas)
            validation = None
            if valid_sources:
                from mtkeras.data import make_dataset

                valid_examples = [ex for examples in valid_sources.values() for ex in examples]
                validation = make_dataset(valid_examples, tasks, config.training.batch_size, unknown_labels="error")
        except ValueError as error:
            raise DataError(str(error)) from None
        with strategy.scope():
            model = build_compiled_model(config, tasks, train_sources, steps)
        where = f"worker {worker} of {workers} ({'chief' if chief else 'writes only its own checkpoints'}); " if workers > 1 else ""
        print(
            f"[mtkeras] {config.name}: {len(train_examples)} training texts from {len(train_sources)} source(s), "
            f"tasks {', '.join(t.name for t in tasks)}; {model.count_params():,} parameters; {replicas} replica(s) "
            f"under {strategy_name(strategy)}, {policy}; {where}run directory {run_dir}",
            flush=True,
        )
        monitor, mode = config.monitor
        # The epochs the backup holds (a row written after it, by a run
        # killed before backing its epoch up, is for an epoch that runs again).
        history_rows = [row for row in read_history(run_dir) if row["epoch"] <= resumed_from]
        seen = [row[monitor] for row in history_rows if not math.isnan(row.get(monitor, float("nan")))]
        initial_best = (min(seen) if mode == "min" else max(seen)) if seen and resumed_from else None
        patience = None
        if config.training.patience is not None:
            # Each worker records the logs it waits on in its own file, so a
            # resumed run, on every worker, stops where an unbroken one would.
            patience = TaskPatience(
                _patience_monitors(config, tasks), config.training.patience,
                path=worker_path(os.path.join(run_dir, "checkpoints", PATIENCE_FILE), strategy),
                min_delta=config.training.min_delta,
            )
        # Times every epoch into a record, so a run trained over several
        # sittings (killed and resumed) counts the time of an unbroken one.
        # The chief's alone: run.json is its to write.
        clock = TrainingClock(os.path.join(run_dir, "checkpoints", CLOCK_FILE) if chief else None)
        clock.seed(resumed_from)
        if verbose is None:
            verbose = 1 if sys.stdout.isatty() and chief else 0
        if resumed_from and patience is not None and patience.seed(resumed_from):
            # Killed after early stopping ended it (while saving or exporting): no more epochs.
            print(f"[mtkeras] early stopping had ended this run after epoch {resumed_from}", flush=True)
        else:
            model.fit(
                data,
                validation_data=validation,
                epochs=config.training.epochs,
                callbacks=_callbacks(config, run_dir, tasks, initial_best, strategy, patience, clock),
                verbose=verbose,
            )
        seconds = clock.seconds()
    finally:
        keras.config.set_dtype_policy(previous_policy)

    history_rows = read_history(run_dir)
    outcome = {
        "run_dir": run_dir,
        "model_path": os.path.join(run_dir, MODEL_FILE),
        "epochs_done": len(history_rows) if chief else None,
        "best_epoch": _best_epoch(history_rows, monitor, mode),
        "resumed_from": resumed_from,
        "train_seconds": round(seconds, 1),
        "parameters": model.count_params(),
        "metrics": {},
        "reports": [],
        "worker": worker,
    }
    if not chief:
        shutil.rmtree(worker_path(os.path.join(run_dir, "backup"), strategy), ignore_errors=True)
        print(f"[mtkeras] worker {worker} of {workers} done; the chief writes the model and reports", flush=True)
        return outcome
    best_path = os.path.join(run_dir, "checkpoints", "best.weights.h5")
    if os.path.exists(best_path):
        model.load_weights(best_path)
    model.save(outcome["model_path"])
    if workers > 1:
        # Evaluation and export run on the chief alone: on a copy outside the
        # multi-worker strategy, whose every step waits for all workers.
        model = keras.models.load_model(outcome["model_path"])
    state.update(
        status="finished",
        epochs_done=len(history_rows),
        best_epoch=outcome["best_epoch"],
        monitor=monitor,
        parameters=outcome["parameters"],
        train_seconds=round(seconds, 1),
    )
    outcome["train_seconds"] = state["train_seconds"]
    if outcome["best_epoch"] is not None:
        print(f"[mtkeras] best epoch {outcome['best_epoch']} by {monitor}; model saved to {outcome['model_path']}",
              flush=True)
    for split in ("valid", "test"):
        sources = valid_sources if split == "valid" else read_split(config, "test")
        if sources:
            results, written = report(model, sources, run_dir, split, history=history_rows if split == "valid" else None)
            outcome["metrics"][split] = results
            outcome["reports"] += written
    state["metrics"] = {split: _headline(results) for split, results in outcome["metrics"].items()}
    if config.export.after_training:
        outcome["export_path"] = state["export_path"] = export_model(config, model, run_dir)
    _write_state(run_dir, state)
    shutil.rmtree(os.path.join(run_dir, "backup"), ignore_errors=True)
    return outcome


def _best_epoch(rows, monitor, mode):
    scored = [(row[monitor], row["epoch"]) for row in rows if not math.isnan(row.get(monitor, float("nan")))]
    if not scored:
        return None
    return (min(scored) if mode == "min" else max(scored, key=lambda item: (item[0], -item[1])))[1]


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


def report(model, sources, run_dir, split, history=None):
    """Evaluates `model` on `{source: examples}`, prints the table and writes the reports of `split`.

    Returns `(results, written paths)`.
    """
    from mtkeras import evaluate
    from mtkeras.evaluation import format_table
    from mtkeras.evaluation import write_report

    examples = [ex for items in sources.values() for ex in items]
    results = evaluate(model, examples, print_table=False)
    print(f"[mtkeras] {split} split ({len(examples)} texts):\n{format_table(results)}", flush=True)
    written = write_report(run_dir, results, history=history, tasks=[t.name for t in model.tasks], split=split)
    return results, list(written.values()) if isinstance(written, dict) else list(written)


# === After training ===


def load_run_model(config, run_dir=None, model_path=None):
    """The trained model of a run (`model.keras` in its run directory, or `model_path`)."""
    import keras

    path = model_path or os.path.join(run_directory(config, run_dir), MODEL_FILE)
    if not os.path.exists(path):
        raise RunError(f"no trained model at {path}: run `mtkeras train` first (or pass --model)")
    return keras.models.load_model(path)


def evaluate_run(config, split="test", run_dir=None, model_path=None):
    """Scores a run's model on one split of the config's datasets and writes its reports."""
    sources = read_split(config, split)
    if not sources:
        raise ConfigError(f"datasets: no dataset has a {split} split")
    model = load_run_model(config, run_dir, model_path)
    results, _ = report(model, sources, run_directory(config, run_dir), split)
    return results


def export_model(config, model, run_dir, base_path=None, version=None):
    """Exports `model` as the next version under the config's export base path."""
    from mtkeras.export import export_saved_model

    state = _read_state(run_dir) or {}
    extra = {"config": config_to_dict(config), "run": {k: state.get(k) for k in ("epochs_done", "best_epoch", "monitor", "train_seconds", "parameters", "metrics")}}
    try:
        path = export_saved_model(
            model, base_path or config.export_base_path, version=version,
            extra_metadata=json.loads(json.dumps(extra, default=float)),
            warmup_texts=config.export.warmup_texts,
        )
    except (FileExistsError, ValueError) as error:  # a taken or invalid version, bad warm-up texts
        raise RunError(f"export: {error}") from None
    print(f"[mtkeras] exported {path}", flush=True)
    return path


def export_run(config, run_dir=None, model_path=None, base_path=None, version=None):
    """Exports a run's trained model for TF Serving; returns the version folder."""
    model = load_run_model(config, run_dir, model_path)
    return export_model(config, model, run_directory(config, run_dir), base_path=base_path, version=version)


__all__ = ["RunError", "train", "evaluate_run", "export_run", "read_split", "declare_tasks", "read_history"]
