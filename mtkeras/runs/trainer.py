"""Training a config's model in its run directory: `mtkeras train CONFIG`.

An interrupted run (Ctrl-C, a killed process, a lost machine) resumes when
the same command runs again: Keras' `BackupAndRestore` restores the weights,
the optimizer state and the epoch reached. See `mtkeras.runs.directory` for
what the run directory holds.

Example:
>>> from mtkeras.runs import load_config, train
>>> outcome = train(load_config("configs/demo.yaml"))
>>> outcome["metrics"]["test"]["intent"]["accuracy"]
"""

import hashlib
import math
import os
import shutil
import sys

import keras

from mtkeras.data import DataError
from mtkeras.encoders import is_pretrained
from mtkeras.errors import ConfigError, RunError
from mtkeras.evaluation.calibration import FittedDecisionScores, fits_outside_weight
from mtkeras.models import build_model
from mtkeras.runs.directory import CLOCK_FILE, HISTORY_FILE, PATIENCE_FILE, RunDirectory
from mtkeras.runs.finish import calibrate_and_report
from mtkeras.runs.inputs import declare_tasks, distilled_tasks, read_split, training_stream, validation_stream
from mtkeras.runs.provenance import sitting
from mtkeras.runs.single_task import reference_scores
from mtkeras.runs.teachers import teacher_targets
from mtkeras.text.vectors import load_vectors
from mtkeras.training import set_mixed_precision
from mtkeras.training.backup import MidEpochBackup, read_backup
from mtkeras.training.callbacks import HistoryLogger, TaskPatience, TrainingClock, WindowMean
from mtkeras.training.distillation import check_distillable
from mtkeras.training.recipes import recipe_for
from mtkeras.training.screen import EpochTable, ProgressBar
from mtkeras.training.optimizers import layer_rates
from mtkeras.training.schedules import build_optimizer, default_learning_rate
from mtkeras.training.strategy import cluster_size, get_strategy, strategy_name, worker_identity, worker_path


def run_epochs(config):
    """The most epochs the run trains: `training.epochs`, else its encoder's recipe (`mtkeras.training.recipes`)."""
    return config.training.epochs or recipe_for(config.encoder.name).epochs


def run_patience(config):
    """Early stopping's patience, or None: `training.patience` (0: none), else the recipe's with a valid split."""
    patience = config.training.patience
    if patience is None:
        has_valid = any(dataset.valid for dataset in config.datasets.values())
        return recipe_for(config.encoder.name).patience if has_valid else None
    return patience or None


def run_layer_decay(config):
    """Layer-wise learning-rate decay: `training.optimizer.layer_decay`, else the encoder's recipe's."""
    return config.training.optimizer.layer_decay or recipe_for(config.encoder.name).layer_decay


def _patience_monitors(config, tasks):
    """The logs early stopping waits on: `{key: "max" or "min"}` (`TaskPatience.monitors_for`)."""
    monitor, mode = config.monitor
    return TaskPatience.monitors_for(tasks, monitor, mode, config.training.patience_per_task)


def _callbacks(config, directory, tasks, initial_best, strategy, patience, clock, progress_bar, history_rows,
               valid_examples=(), backup_every=None, resume=None):
    monitor, mode = config.selection  # the monitor, or its mean over training.monitor_window epochs
    _, _, chief = worker_identity(strategy)
    checkpoints = directory.file("checkpoints")
    best, last = (worker_path(os.path.join(checkpoints, name), strategy) for name in ("best.weights.h5", "last.weights.h5"))
    os.makedirs(os.path.dirname(best), exist_ok=True)
    callbacks = [keras.callbacks.TerminateOnNaN()]
    if config.training.monitor_window > 1:
        # First: every callback after it (the screen, the history, the checkpoint) sees the window's mean.
        logged = config.monitor[0]
        callbacks.insert(0, WindowMean(logged, config.training.monitor_window, previous={
            row["epoch"] - 1: row[logged] for row in history_rows if logged in row}))
    if valid_examples and any(fits_outside_weight(task) for task in tasks):
        # Before everything that reads val_score: the epoch is picked by the decisions the model will be served with.
        callbacks.insert(0, FittedDecisionScores(valid_examples))
    if chief:  # the logs are the same on every worker; one writes them
        # The screen: a bar while the epoch runs (Keras' own is off), then the epoch's table.
        callbacks += [ProgressBar()] if progress_bar else []
        callbacks += [
            EpochTable([task.name for task in tasks], run_epochs(config), monitor=monitor, mode=mode,
                       best=initial_best, saved_to=os.path.relpath(best, directory.path)),
            HistoryLogger(directory.file(HISTORY_FILE)),
            keras.callbacks.TensorBoard(log_dir=directory.file("logs"), write_graph=False),
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
            worker_path(directory.backup, strategy), double_checkpoint=True, delete_checkpoint=False
        )
    )
    # After it: backups inside the epoch, restored after the epoch's start, removed once Keras backed it up.
    callbacks.append(MidEpochBackup(worker_path(directory.backup, strategy), backup_every, resume, clock))
    return callbacks


def backup_every(config, steps):
    """Batches between backups inside an epoch: `training.backup_steps`, else a quarter of an epoch of 40
    batches or more (None: none)."""
    every = config.training.backup_steps
    if every is None:  # a quarter of an epoch; none inside epochs too short to lose much
        return steps // 4 if steps >= MIN_BACKED_UP_STEPS else None
    return every or None


# The default backs up inside epochs of this many batches or more (shorter ones are cheap to run again).
MIN_BACKED_UP_STEPS = 40


def _strategy(config):
    """The config's strategy; a TF_CONFIG that names several workers needs a multi-worker one."""
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


# The rule run.json's "vocabulary" records: each dataset keeps its own `max_vocabulary_size` words (runs
# started before it was recorded had one cap over all datasets' words together).
VOCABULARY_RULE = "per dataset"


def vocabulary_texts(train_sources):
    """`{source: texts}` a from-scratch model's vocabulary is built from: each training example's text, and its
    second text for sentence-pair examples (`WordPreprocessor.from_texts` keeps each source's own most frequent
    words)."""
    return {source: [text for ex in examples for text in ((ex.text, ex.text_pair) if ex.pair else (ex.text,))]
            for source, examples in train_sources.items()}


def trained_words(model):
    """The words of a from-scratch model's vocabulary that have a trained embedding (not padding, OOV, or
    words of the pretrained vectors)."""
    extra = getattr(model.encoder, "first_extra_id", None)
    return (extra if extra is not None else model.preprocessor.vocabulary_size) - 2


def vocabulary_digest(model):
    """sha256 of a from-scratch model's vocabulary in id order: equal digests, equal word ids."""
    return hashlib.sha256("\n".join(model.preprocessor.vocabulary).encode("utf-8")).hexdigest()


def _check_vocabulary(directory, state, model, resumed_from):
    """Records the vocabulary of a from-scratch run in `state` (run.json); raises `RunError` when a resumed
    run's checkpoints were trained on another one."""
    record = {"words": trained_words(model), "rule": VOCABULARY_RULE, "sha256": vocabulary_digest(model)}
    recorded = state.get("vocabulary")
    if resumed_from:
        if recorded:
            # Runs recorded before the digest was kept are compared by their number of words and the rule.
            keys = ("words", "rule", "sha256") if "sha256" in recorded else ("words", "rule")
            same = all(recorded.get(key) == record[key] for key in keys)
            before = f"{recorded['words']:,} words ({recorded.get('rule', 'one cap over all datasets')})"
        else:
            # A run started before run.json kept it: its backed-up word embedding tells.
            trained = directory.embedded_words()
            same = trained is None or trained == record["words"]
            before = f"{trained:,} words" if trained is not None else None
        if not same:
            raise RunError(
                f"{directory.path}: its checkpoints were trained with another vocabulary ({before}) than the one "
                f"this mtkeras builds from its data now ({record['words']:,} words, {VOCABULARY_RULE}): the "
                "training data or the vocabulary rule changed, and the trained word rows would belong to other "
                "words. Train it again with --overwrite (or keep it and train in another --run-dir)."
            )
    state["vocabulary"] = record


def build_compiled_model(config, tasks, train_sources, steps_per_epoch, distilled=()):
    """Builds and compiles the model of `config` (call inside the strategy's scope)."""
    encoder = config.encoder
    pretrained = is_pretrained(encoder.name)
    options = {
        "encoder": encoder.name,
        "encoder_config": dict(encoder.config) or None,
        "max_words": encoder.max_words,
        "sequence_length": encoder.sequence_length,
        "uncertainty_weighting": config.training.uncertainty_weighting,
    }
    if not pretrained:
        options.update(
            # Each dataset keeps its own most frequent words (`WordPreprocessor.from_texts`); both texts of
            # sentence-pair examples feed the vocabulary and its counts.
            texts=vocabulary_texts(train_sources),
            max_vocabulary_size=encoder.max_vocabulary_size,
            lowercase=encoder.lowercase,
        )
        if encoder.vectors is not None:
            try:
                vectors = load_vectors(encoder.vectors.source, words=encoder.vectors.words)
            except (OSError, ImportError, ValueError) as error:
                raise ConfigError(f"{config.where('encoder.vectors.source')}: {error}") from None
            options.update(vectors=vectors, vector_words=encoder.vectors.max_words)
            options["encoder_config"] = {**(options["encoder_config"] or {}), "vectors_trainable": encoder.vectors.trainable}
    elif encoder.vectors is not None:
        raise ConfigError(f"{config.where('encoder.vectors')}: a pretrained encoder ({encoder.name}) brings its own "
                          "vocabulary; vectors go with bilstm, cnn or transformer")
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
            total_steps=run_epochs(config) * steps_per_epoch,
            schedule=schedule.name,
            warmup_fraction=schedule.warmup_fraction,
            clipnorm=optimizer.clipnorm,
            weight_decay=optimizer.weight_decay,
            layer_rates=layer_rates(model, run_layer_decay(config)),
        ),
        distillation={"tasks": list(distilled), "anneal_steps": run_epochs(config) * steps_per_epoch
                      if config.distillation.anneal else 0} if distilled else None,
    )
    return model


def train(config, run_dir=None, overwrite=False, verbose=None):
    """Trains the model a config describes, in a run directory; resumes an unfinished run.

    Args:
        config: a `mtkeras.runs.Config`.
        run_dir: str or None. Overrides the config's `run_dir`.
        overwrite: bool. Start afresh even if `run_dir` holds a run.
        verbose: int or None. a progress bar (1) or none (0); None: a
            bar when standard output is a terminal. Per-task metrics are
            printed after every epoch either way.

    Returns:
        dict: `run_dir`, `model_path`, `epochs_done`, `best_epoch`,
        `resumed_from` (0 for a new run), `train_seconds` (the epochs',
        each counted once across sittings), `teacher_seconds` (distillation:
        the teachers labelling the training texts), `parameters` (the
        model's weight count) and `trainable_parameters`, `metrics`
        (`{split: evaluate() results}` for valid and test), `export_path`
        (when `export.after_training`), `reports` (written files).

    Raises:
        ConfigError: a problem with the config found while reading data or
            building the model (names the field).
        DataError: a bad record (names the file and line).
        RunError: `run_dir` holds a finished run, or an unfinished run of
            another config.
    """
    directory = RunDirectory.of(config, run_dir)
    run_dir = directory.path
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
        resumed_from = directory.prepare(config, overwrite)
        this_sitting = sitting(resumed_from)  # which code trains which epochs; recorded once the model is built
        if resumed_from:
            print(f"[mtkeras] resuming {run_dir} after epoch {resumed_from} of {run_epochs(config)}", flush=True)
    else:
        # Other workers write only their own checkpoints and backup, beside the chief's.
        private = [worker_path(directory.backup, strategy),
                   os.path.dirname(worker_path(directory.checkpoint("last.weights.h5"), strategy))]
        if overwrite:
            for folder in private:
                shutil.rmtree(folder, ignore_errors=True)
        resumed_from = RunDirectory(os.path.dirname(private[0])).backed_up_epoch()
        state = {}

    previous_policy = keras.config.dtype_policy().name
    keras.utils.set_random_seed(config.training.seed)
    try:
        policy = set_mixed_precision(config.training.mixed_precision)
        replicas = strategy.num_replicas_in_sync
        distilled = distilled_tasks(config)
        for task in tasks:
            if task.name in distilled:
                try:
                    check_distillable(task)
                except ValueError as error:
                    raise ConfigError(f"{config.where('distillation')}: {error}") from None
        # Each distilled task's teacher on the training texts: computed once, cached in the run directory.
        labelling = {}
        soft = teacher_targets(config, tasks, train_sources, run_dir, seconds=labelling) if distilled else None
        def stream(initial_epoch, initial_batch=0):
            try:  # a label that does not fit its task (names the file and line)
                return training_stream(config, train_sources, tasks, replicas, run_epochs(config),
                                       min(initial_epoch, run_epochs(config) - 1), soft_targets=soft,
                                       initial_batch=initial_batch)
            except ValueError as error:
                raise DataError(str(error)) from None

        data, steps = stream(resumed_from)
        try:
            validation = validation_stream(config, valid_sources, tasks)
        except ValueError as error:
            raise DataError(str(error)) from None
        # A backup inside the epoch the run resumes at: the rest of that epoch is trained first.
        partial = read_backup(worker_path(directory.backup, strategy), resumed_from) \
            if resumed_from < run_epochs(config) else None
        if partial is not None and not partial["batches"] < steps:
            print(f"[mtkeras] {directory.backup}: its backup inside epoch {resumed_from + 1} is after batch "
                  f"{partial['batches']}, but the epoch has {steps}; resuming at the epoch's start", flush=True)
            partial = None
        with strategy.scope():
            model = build_compiled_model(config, tasks, train_sources, steps, distilled)
        if chief:
            state = directory.read_state()
            if not is_pretrained(config.encoder.name):
                _check_vocabulary(directory, state, model, resumed_from)
            if resumed_from:
                state["resumed_at_epochs"].append(resumed_from)
            if partial is not None:  # [epoch (1-based), batches of it done]: resumed inside that epoch
                state.setdefault("resumed_inside_epochs", []).append([resumed_from + 1, partial["batches"]])
            state.setdefault("sittings", []).append(this_sitting)
            directory.write_state(state)
        where = f"worker {worker} of {workers} ({'chief' if chief else 'writes only its own checkpoints'}); " if workers > 1 else ""
        print(
            f"[mtkeras] {config.name}: {len(train_examples)} training texts from {len(train_sources)} source(s), "
            f"tasks {', '.join(t.name for t in tasks)}; {model.count_params():,} parameters; {replicas} replica(s) "
            f"under {strategy_name(strategy)}, {policy}; {where}run directory {run_dir}",
            flush=True,
        )
        # A stacked encoder's preprocessor holds the word one (`words`).
        coverage = getattr(getattr(model.preprocessor, "words", model.preprocessor), "source_coverage", None)
        if coverage:
            trained = trained_words(model)
            vectors = model.preprocessor.vocabulary_size - 2 - trained
            print(f"[mtkeras] vocabulary: {trained:,} trained words ("
                  + ", ".join(f"{source}: {kept:,} of its {seen:,}" for source, (kept, seen) in coverage.items())
                  + (f"), then {vectors:,} words of the vectors" if vectors else ")"), flush=True)
        # Read by every worker (their run directories sit side by side), so every worker logs the same score.
        references = reference_scores(config, run_dir)
        if references:
            # Each task's dev score relative to its own single-task model's picks the epoch (MultiTaskModel.score).
            model.reference_scores = references
            print("[mtkeras] score is each task's dev score relative to its single-task model's ("
                  + ", ".join(f"{task} {value:.4f}" for task, value in references.items()) + ")", flush=True)
        monitor, mode = config.selection
        first_resumed = resumed_from  # the epoch this sitting started at (the loop moves on past a partial one)
        if verbose is None:
            verbose = 1 if sys.stdout.isatty() and chief else 0
        while True:
            # The epochs the backup holds (a row written after it, by a run
            # killed before backing its epoch up, is for an epoch that runs again).
            history_rows = [row for row in directory.history() if row["epoch"] <= resumed_from]
            seen = [row[monitor] for row in history_rows if not math.isnan(row.get(monitor, float("nan")))]
            initial_best = (min(seen) if mode == "min" else max(seen)) if seen and resumed_from else None
            patience = None
            if run_patience(config) is not None:
                # Each worker records the logs it waits on in its own file, so a
                # resumed run, on every worker, stops where an unbroken one would.
                patience = TaskPatience(
                    _patience_monitors(config, tasks), run_patience(config),
                    path=worker_path(directory.checkpoint(PATIENCE_FILE), strategy),
                    min_delta=config.training.min_delta,
                )
            # Times every epoch into a record, so a run trained over several
            # sittings (killed and resumed) counts the time of an unbroken one.
            # The chief's alone: run.json is its to write.
            clock = TrainingClock(directory.checkpoint(CLOCK_FILE) if chief else None)
            clock.seed(resumed_from)
            if resumed_from and patience is not None and patience.seed(resumed_from):
                # Killed after early stopping ended it (while saving or exporting): no more epochs.
                print(f"[mtkeras] early stopping had ended this run after epoch {resumed_from}", flush=True)
                break
            if partial is not None:
                # The rest of the epoch a kill broke off, in a fit of its own; then on from the next epoch.
                print(f"[mtkeras] resuming inside epoch {resumed_from + 1}, after batch {partial['batches']} "
                      f"of {steps}", flush=True)
                data, _ = stream(resumed_from, partial["batches"])
                # Keras builds the compiled metrics at their first update; the backup's running values go into
                # them at the epoch's start, before any: one evaluation step builds them (and changes nothing).
                model.evaluate(data.take(1), verbose=0)
            model.fit(
                data,
                validation_data=validation,
                epochs=resumed_from + 1 if partial is not None else run_epochs(config),
                # A stream of several epochs: fit reads on through it.
                steps_per_epoch=steps if int(data.cardinality()) > steps else None,
                callbacks=_callbacks(config, directory, tasks, initial_best, strategy, patience, clock, verbose == 1,
                                     history_rows, [ex for items in valid_sources.values() for ex in items],
                                     backup_every(config, steps), partial),
                verbose=0,
            )
            if partial is None or model.stop_training or resumed_from + 1 >= run_epochs(config):
                break
            resumed_from, partial = resumed_from + 1, None
            data, _ = stream(resumed_from)
        seconds = clock.seconds()
    finally:
        keras.config.set_dtype_policy(previous_policy)

    history_rows = directory.history()
    outcome = {
        "run_dir": run_dir,
        "model_path": directory.model_path,
        "epochs_done": len(history_rows) if chief else None,
        "best_epoch": _best_epoch(history_rows, monitor, mode),
        "resumed_from": first_resumed,
        "train_seconds": round(seconds, 1),
        # The teachers labelling the training texts (before the first epoch; kept with their cache).
        "teacher_seconds": (round(sum(labelling.values()), 1)
                            if None not in labelling.values() else None),  # None: a cache from before they were kept
        "parameters": model.count_params(),
        # Frozen ones (pretrained word vectors) are served but not trained: both counts tell.
        "trainable_parameters": int(sum(math.prod(w.shape) for w in model.trainable_weights)),
        "metrics": {},
        "reports": [],
        "worker": worker,
    }
    if not chief:
        shutil.rmtree(worker_path(directory.backup, strategy), ignore_errors=True)
        print(f"[mtkeras] worker {worker} of {workers} done; the chief writes the model and reports", flush=True)
        return outcome
    best_path = directory.checkpoint("best.weights.h5")
    if os.path.exists(best_path):
        model.load_weights(best_path)
    if distilled:
        # The saved model is compiled as any other (plain labels); the distillation losses were for training.
        with strategy.scope():
            model.compile(optimizer=model.optimizer)
    if workers > 1:
        # Calibration, evaluation and export run on the chief alone: on a copy
        # outside the multi-worker strategy, whose every step waits for all workers.
        model.save(outcome["model_path"])
        model = keras.models.load_model(outcome["model_path"])
    state.update(
        status="finished",
        epochs_done=len(history_rows),
        best_epoch=outcome["best_epoch"],
        monitor=monitor,
        parameters=outcome["parameters"],
        trainable_parameters=outcome["trainable_parameters"],
        train_seconds=round(seconds, 1),
        teacher_seconds=outcome["teacher_seconds"],
    )
    outcome["train_seconds"] = state["train_seconds"]
    if outcome["best_epoch"] is not None:
        print(f"[mtkeras] best epoch {outcome['best_epoch']} by {monitor}; model saved to {outcome['model_path']}",
              flush=True)
        outcome["still_improving"] = outcome["best_epoch"] == len(history_rows) == run_epochs(config)
        if outcome["still_improving"]:
            # Ended on its best epoch: the dev score may still have been rising (issue 23's user run).
            print(f"[mtkeras] the last epoch was the best: {monitor} was still improving after "
                  f"{run_epochs(config)} epochs; more epochs (with training.patience to stop) may "
                  "score higher", flush=True)
    # Fitted on the valid split, saved with the model: each sentence task's temperature (calibrated scores),
    # each token task's outside weight (entity F1).
    done = calibrate_and_report(config, model, directory, valid_sources, state, history=history_rows)
    outcome.update(calibration=done["calibration"], reports=outcome["reports"] + done["reports"])
    outcome["metrics"].update(done["metrics"])
    if done["export_path"]:
        outcome["export_path"] = done["export_path"]
    shutil.rmtree(directory.backup, ignore_errors=True)
    return outcome


def _best_epoch(rows, monitor, mode):
    scored = [(row[monitor], row["epoch"]) for row in rows if not math.isnan(row.get(monitor, float("nan")))]
    if not scored:
        return None
    return (min(scored) if mode == "min" else max(scored, key=lambda item: (item[0], -item[1])))[1]
