"""One shared multi-task model against single-task models, on SNIPS, WNUT-17 and SST-2.

Trains, for each seed:
  (a) one model, one shared encoder and four heads (intent, slots, entities,
      sentiment), on the mixture of the three sources (the package's default
      mixing: temperature 2, every source once per epoch);
  (b) four single-task models with the same encoder configuration, each on
      the data of its own task.
Every model goes through `mtkeras.runs.train` exactly as `mtkeras train` runs a
config: the same epochs, the best epoch picked on the valid/dev splits by the
package's default monitor, `val_score` (the mean over the model's tasks of
each task's accuracy or entity F1; never on test), early stopping with the
same patience by the package's default rule (stop once neither `val_score`
nor any task's own validation score improved for that many epochs), then
scored on test and exported. The latency compares the shared model answering
one text for all four tasks with the four single-task models answering it in
turn (exported SavedModels, `serving_default`, one text per call, in process).

Prints one JSON object, writes it to `OUTPUT_DIR/multitask_<encoder>.json`
(`multitask_<encoder>_<monitor>.json` with `--monitor`, `..._mean<N>` with
`--monitor-window N`, `..._<tag>.json` with `--tag`), and rewrites
`--results-md` (benchmarks/RESULTS.md) from every
`multitask_*.json` in OUTPUT_DIR, with the published figures beside ours.

Usage:
    python benchmarks/multitask.py --data-dir ../shared/datasets
    python benchmarks/multitask.py --data-dir ../shared/datasets --encoder minilm --max-examples 3000 --seeds 1
    python benchmarks/multitask.py --data-dir DIR --quick     # small slices, a few minutes
    python benchmarks/multitask.py --data-dir DIR --work-dir W --resume   # go on where a run in W stopped
    # The full-data proof of issue 24 (from scratch: the previous issue's recipe, GloVe and word shapes),
    # its finished runs kept in the repository across machines:
    python benchmarks/multitask.py --data-dir ../shared/datasets --vectors glove-6b-50d --keep-case \
        --monitor-window 3 --seeds 3 --variants private-transformer_distill private-feedforward_distill distill shared \
        private-transformer-attention_distill private-transformer \
        --variant-seeds private-feedforward_distill=1 --tag full \
        --work-dir W --resume --ledger benchmarks/results/multitask_full_runs.jsonl
    # ... and at the end of a sitting, from another shell: record what finished, train nothing
    python benchmarks/multitask.py ... --ledger benchmarks/results/multitask_full_runs.jsonl --no-train

DIR holds `snips/{train,valid,test}/{seq.in,seq.out,label}`,
`wnut17/{train/wnut17train.conll,dev/emerging.dev.conll,test/emerging.test.annotated}`
and `sst2/{train/sentiment-train,dev/sentiment-dev,test/sentiment-test}`
(the layout of ../shared/datasets).
"""

import argparse
import contextlib
import functools
import glob
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import yaml  # noqa: E402

# === The benchmark's data and tasks ===

SOURCES = {
    "snips": {
        "reader": "joint_nlu",
        "train": "snips/train", "valid": "snips/valid", "test": "snips/test",
        "columns": {"intent": "label", "slots": "tags"},
    },
    "wnut17": {
        "reader": "conll",
        "train": "wnut17/train/wnut17train.conll",
        "valid": "wnut17/dev/emerging.dev.conll",
        "test": "wnut17/test/emerging.test.annotated",
        "columns": {"entities": -1},
    },
    "sst2": {
        "reader": "delimited",
        "train": "sst2/train/sentiment-train",
        "valid": "sst2/dev/sentiment-dev",
        "test": "sst2/test/sentiment-test",
        "columns": {"sentiment": 1},
        "text": 0,
        "options": {"delimiter": "\t", "header": False},
    },
}
TASKS = {  # task -> (kind, source, headline metric of its test report)
    "intent": ("sentence_classification", "snips", "accuracy"),
    "slots": ("token_tagging", "snips", "f1"),
    "entities": ("token_tagging", "wnut17", "f1"),
    "sentiment": ("sentence_classification", "sst2", "accuracy"),
}
METRIC_NAMES = {"accuracy": "accuracy", "f1": "entity F1 (exact span)"}

# Published test figures on these splits (../shared/datasets/README.md).
PUBLISHED = {
    "intent": "Stack-Propagation 2019: 98.0; Joint BERT 2019: 98.6",
    "slots": "Stack-Propagation 2019: 94.2; Joint BERT 2019: 97.0",
    "entities": "UH-RiTUAL (WNUT-17 winner): 41.86; Aguilar et al. 2018: 45.55; CrossWeigh + Flair: 50.03",
    "sentiment": "Kim CNN (random init): 83.5; Kim CNN multichannel: 87.1; BLSTM-2DCNN: 89.5",
}

GOALS = {"within_points": 0.5, "parameter_ratio": 0.40, "train_time_ratio": 0.50}

# Ways to make one shared model pay (issue 24), each a row beside the plain shared model ("shared"): task-private
# layers, distillation from the single-task models, annealed task sampling, and combinations (parts joined by "_").
VARIANTS = ("shared", "private", "distill", "private_distill", "annealed", "private_distill_annealed",
            "private-transformer", "private-transformer_distill", "private-feedforward", "private-feedforward_distill",
            "private-transformer-attention_distill",
            "wide_distill")
# Task-private layers of the "private" rows: a BiLSTM of each token task's own over the shared words, a dense
# layer of each sentence task's own over the pooled vector.
PRIVATE_LAYERS = {"token_tagging": {"sequence": "bilstm", "units": 64}, "sentence_classification": {"dense": [128]}}
# ... of the "private-transformer" rows: a Transformer block of each token task's own instead of the BiLSTM. A
# private BiLSTM costs about 0.7 ms a text per token task, whatever its width (its steps are sequential), which
# puts the private rows over the latency goal; a block attends over all words at once (private_latency.py).
PRIVATE_TRANSFORMER = {"token_tagging": {"sequence": "transformer", "units": 128, "heads": 4},
                       "sentence_classification": {"dense": [128]}}
# ... of the "private-feedforward" rows: a feed-forward layer of each token task's own over each word (as wide as
# the encoder's words), in place of a block. Trained, the Transformer rows answer in 39-44 % of the four models'
# time, over the 35 % goal (its ops, not its arithmetic, cost: about 1 ms a token task on two cores); a feed-forward
# layer costs no more than the sentence tasks' dense layers (28 % in one loop with them, private_latency.py).
PRIVATE_FEEDFORWARD = {"token_tagging": {"sequence": "feedforward", "units": 256},
                       "sentence_classification": {"dense": [128]}}
# ... of the "private-transformer-attention" rows: the Transformer rows' layers, and each sentence task sums the
# shared words up with attention weights of its own (`pooling: attention`) instead of reading the encoder's max
# over them. Sentiment is a point short in every full-data row while its private dense layer bought about 0.2
# (seed 0); which words the pooled vector keeps is the sentence tasks' other private choice, at a few ops a text.
PRIVATE_TRANSFORMER_ATTENTION = {"token_tagging": {"sequence": "transformer", "units": 128, "heads": 4},
                                 "sentence_classification": {"dense": [128], "pooling": "attention"}}
PRIVATE_PARTS = {"private": PRIVATE_LAYERS, "private-transformer": PRIVATE_TRANSFORMER,
                 "private-feedforward": PRIVATE_FEEDFORWARD,
                 "private-transformer-attention": PRIVATE_TRANSFORMER_ATTENTION}
# The "wide" rows' shared encoder: the BiLSTM's units per direction (the package's default, which every
# single-task model has, is 128). One encoder for four tasks at the width of each one's own is the next
# suspect for the slot points; the parameter goal leaves room (28 % of the four, goal 40 %).
WIDE_ENCODER = {"hidden_dim": 256}


def has_token_task(tasks):
    """Whether a model of `tasks` (names) tags words: its scores depend on the fitted outside weights."""
    return any(TASKS[task][0] == "token_tagging" for task in tasks)


def variant_model(variant):
    """The model name of a variant's rows: `multitask` for the plain shared model, `multitask_<variant>` otherwise."""
    return "multitask" if variant == "shared" else f"multitask_{variant}"


def model_variant(model):
    """The variant whose rows are named `model` (`variant_model`'s inverse); "shared" for any other name."""
    return next((v for v in VARIANTS if variant_model(v) == model), "shared")


def run_dir(work_dir, name, seed):
    """A model's run directory; the single-task models of a seed sit together in `runs/single-seed<seed>/<task>`."""
    if name in TASKS:
        return os.path.join(work_dir, "runs", f"single-seed{seed}", name)
    return os.path.join(work_dir, "runs", f"{name}-seed{seed}")


def model_config(name, tasks, args, work_dir, seed, variant="shared", private_layers=None):
    """The `mtkeras train` config of one model: `tasks` on the sources that label them.

    A shared model's `single_task_dir` is the folder of the single-task
    models of its seed, so (trained first) they pick its best epoch: the mean
    of each task's dev score relative to its single-task model's. `variant`
    "private" gives each task its own layers (`private_layers`, by task kind;
    default `PRIVATE_LAYERS`; "private-transformer": `PRIVATE_TRANSFORMER`; "private-feedforward":
    `PRIVATE_FEEDFORWARD`; "private-transformer-attention": `PRIVATE_TRANSFORMER_ATTENTION`); "wide" widens the
    shared encoder (`WIDE_ENCODER`); "distill"
    makes each task learn from its single-task model (the config's default
    teacher; teacher annealing, teachers labelling every source's texts); both.
    """
    datasets = {}
    for task in tasks:
        source = TASKS[task][1]
        spec = SOURCES[source]
        dataset = datasets.setdefault(source, {
            "reader": spec["reader"],
            **{split: os.path.join(args.data_dir, spec[split]) for split in ("train", "valid", "test")},
            "tasks": {},
        })
        dataset["tasks"][task] = spec["columns"][task]
        for key in ("text", "options"):
            if key in spec:
                dataset[key] = spec[key]
        if args.max_examples:
            dataset["max_examples"] = args.max_examples
    config = {
        "name": name,
        "run_dir": run_dir(work_dir, name, seed),
        "tasks": {task: {"kind": TASKS[task][0]} for task in tasks},
        "datasets": datasets,
        "training": {"epochs": args.epochs, "patience": args.patience, "seed": seed},
        "export": {"after_training": True, "base_path": os.path.join(work_dir, "saved_models", name)},
    }
    if len(tasks) > 1:
        config["single_task_dir"] = os.path.dirname(run_dir(work_dir, tasks[0], seed))
    config["encoder"] = {"name": args.encoder} if args.encoder else {}
    if args.vectors:
        config["encoder"]["vectors"] = {"source": args.vectors}
    if args.keep_case:
        config["encoder"]["lowercase"] = False
    if args.batch_size:
        config["training"]["batch_size"] = args.batch_size
    if args.monitor:
        config["training"]["monitor"] = args.monitor
    if args.monitor_window:
        config["training"]["monitor_window"] = args.monitor_window
    parts = variant.split("_")
    private_part = next((part for part in parts if part in PRIVATE_PARTS), None)
    if private_part:
        for task in tasks:
            private = (private_layers or PRIVATE_PARTS[private_part]).get(TASKS[task][0])
            if private:
                config["tasks"][task]["private"] = dict(private)
    if "wide" in parts:
        config["encoder"]["config"] = dict(WIDE_ENCODER)
    if "distill" in parts:
        config["distillation"] = {"other_sources": True}
    if "annealed" in parts:
        # Proportional to the sources' sizes at the first epoch (WNUT-17 once an epoch), the package's default
        # temperature 2 at the last: the small source is drawn more once the large ones are learnt.
        config["mixing"] = {"sampling": "annealed"}
    return config


class PauseWatch:
    """When this process was stopped (SIGSTOP: the machine's owner pausing it while timing something else).

    A thread wakes every `tick` seconds; a wake-up more than `threshold`
    seconds late means the whole process was not running (ordinary load
    delays a thread by milliseconds). The stops (`[start, end]`, Unix time)
    are kept in `path` across sittings; `epoch_seconds` takes them out of a
    run's epoch times.
    """

    def __init__(self, path, fresh, tick=0.5, threshold=5.0, others=None):
        import threading

        # `others`: a folder of other watches' stop files (the work dir's `paused/`): a run's teacher labels may
        # have been computed under another run's watch (`share_teacher_labels`).
        self.path, self.tick, self.threshold, self.others = path, tick, threshold, others
        self.stops = []
        if not fresh and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.stops = json.load(f)["stops"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        last = time.monotonic()  # CLOCK_MONOTONIC runs on while the process is stopped
        while not self._stop.wait(self.tick):
            now = time.monotonic()
            late = now - last - self.tick
            if late > self.threshold:
                wall = time.time()
                self.stops.append([wall - late, wall])
                self._save()
            last = now

    def _save(self):
        from mtkeras.files import write_whole

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        write_whole(self.path, json.dumps({"stops": self.stops}))

    def __enter__(self):
        self._save()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._save()

    def within(self, start, end, stops=None):
        """Seconds of the stops inside `[start, end]` (Unix time); `stops` (default: this watch's) must not overlap."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in (self.stops if stops is None else stops))

    def every_stop(self):
        """This watch's stops and those the watches in `others` recorded, overlaps merged (the machine's stops)."""
        spans = list(self.stops)
        for folder, _, files in os.walk(self.others) if self.others else ():
            for name in files:
                path = os.path.join(folder, name)
                if name.endswith(".json") and os.path.abspath(path) != os.path.abspath(self.path):
                    with open(path, encoding="utf-8") as f:
                        spans += json.load(f)["stops"]
        merged = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return merged

    def epoch_seconds(self, run_dir, recorded):
        """`(training seconds less the stops inside its epochs, seconds taken out)` of the run in `run_dir`.

        Epoch k ran over `[end_k - share_k, end_k]` (the run's
        `checkpoints/clock.json`, read by `TrainingClock`); a stop counts where
        it overlaps one (an epoch recorded without its end: not at all).
        """
        from mtkeras.runs.directory import CLOCK_FILE, RunDirectory
        from mtkeras.training.callbacks import TrainingClock

        path = RunDirectory(run_dir).checkpoint(CLOCK_FILE)
        if not self.stops or not os.path.exists(path):
            return recorded, 0.0
        clock = TrainingClock(path)
        paused = sum(self.within(end - share, end) for share, end in zip(clock.epochs, clock.ends) if end is not None)
        return round(recorded - paused, 1), round(paused, 1)

    def labelling_seconds(self, run_dir):
        """The teachers' time labelling the run's texts less the stops inside it; None if a cache did not record it."""
        from mtkeras.runs.teachers import cached_labelling

        spans = cached_labelling(run_dir).values()
        if any(seconds is None or ended is None for seconds, ended in spans):
            return None
        stops = self.every_stop()
        return round(sum(seconds - self.within(ended - seconds, ended, stops) for seconds, ended in spans), 1)


# === The ledger: finished runs kept with the results ===


def settings_key(name, tasks, args, seed, variant="shared"):
    """What makes two runs the same run: the model's config less its machine's paths (16 hex digits)."""
    import hashlib

    class Placed:  # the arguments, with a data folder of no machine's
        def __getattr__(self, attribute):
            return "DATA" if attribute == "data_dir" else getattr(args, attribute)

    config = model_config(name, tasks, Placed(), "WORK", seed, variant)
    if has_token_task(tasks):
        # Scored since 2026-12-07 with each token task's outside weight fitted on dev (`calibrate_run` brings a
        # run trained before it up to date), and its epoch picked by the dev scores under the weight fitted for
        # each epoch (FittedDecisionScores, since 2026-12-07 too): not the rows of the same config before.
        config = {**config, "scored_with": "outside weight", "epoch_picked_by": "fitted outside weights"}
    from mtkeras.encoders import is_pretrained

    if len({TASKS[task][1] for task in tasks}) > 1 and not is_pretrained(args.encoder or "bilstm"):
        # Since 2026-12-07 each source keeps its own most frequent words (one cap over all sources let SST-2's
        # phrases push SNIPS words out): not the rows of the same config before. A pretrained encoder brings
        # its own vocabulary, which did not change.
        config = {**config, "vocabulary": "per source"}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def run_started(run_dir):
    """When the run in `run_dir` started, which tells one training of a model from another: its first
    sitting (run.json), or for a run from before run.json kept sittings the time its config was written."""
    import datetime

    from mtkeras.runs import RunDirectory

    directory = RunDirectory(run_dir)
    sittings = (directory.read_state() or {}).get("sittings")
    if sittings:
        return sittings[0]["started"]
    config_file = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_file):
        return None
    written = datetime.datetime.fromtimestamp(os.path.getmtime(config_file), datetime.timezone.utc)
    return written.isoformat(timespec="seconds")


# What a run line of the ledger holds: the fields a report reads.
LEDGER_FIELDS = {"model", "seed", "key", "started", "tasks", "test", "test_examples", "train_seconds", "epochs_done",
                 "best_epoch", "parameters", "export_path", "export_bytes", "commits"}


class Ledger:
    """The proof's finished runs, one JSON line each, in a file kept in the repository (`--ledger`).

    A proof of many seeds takes more sittings than a machine may last: a
    sitting can be handed a new machine, without the work folder. A run whose
    row is here with the same settings (`settings_key`) is not trained again
    on any machine, unless a run still to train needs it on disk
    (`must_train_here`). Lines: `{"run": row}`, the row as `train_one` returns
    it, with its `key` and `started`; `{"latency": ..., "keys": {model: key}}`,
    a latency loop timed on exports of runs of those settings (`row_latency`). A model
    trained again (its run lost with a machine) is another line; the one
    started last counts. Lines are appended whole, so two processes may write
    the file; `add` reads it again first, so each training is recorded once.
    """

    def __init__(self, path):
        self.path = path
        self._read()

    def _read(self):
        self.runs, self.latencies = [], []
        if not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    if "run" in entry:
                        lacking = sorted(LEDGER_FIELDS - set(entry["run"]))
                        if lacking:
                            raise ValueError(f"a run without {', '.join(lacking)}")
                        self.runs.append(entry["run"])
                    elif {"latency", "keys"} <= set(entry):
                        self.latencies.append(entry)
                    else:
                        raise ValueError("neither a run nor a latency (latency, keys)")
                except (ValueError, AttributeError, TypeError) as error:
                    raise SystemExit(f"--ledger {self.path}, line {number}: {error}: {line.strip()[:200]!r}") from None

    def find(self, key):
        """The run with these settings started last, else None."""
        runs = [row for row in self.runs if row["key"] == key]
        return max(runs, key=lambda row: row["started"] or "") if runs else None

    def others(self, model, seed, key):
        """The keys of this model and seed's runs under other settings (an edit that changed every key)."""
        return sorted({row["key"] for row in self.runs if (row["model"], row["seed"]) == (model, seed)} - {key})

    def _append(self, entry):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")

    def add(self, row):
        """Records a finished run once (a run reused on resume, or recorded by another process, is there)."""
        self._read()
        if any(r["key"] == row["key"] and r["started"] == row["started"] for r in self.runs):
            return False
        self.runs.append(row)
        self._append({"run": row})
        return True

    def add_latency(self, latency, keys):
        entry = {"latency": latency, "keys": keys}
        self.latencies.append(entry)
        self._append(entry)


def shared_rows(args):
    """The shared rows in training order: --variants' order, the plain row (the reference) first unless listed."""
    return list(dict.fromkeys(args.variants if "shared" in args.variants else ["shared"] + list(args.variants)))


def seed_plan(args, seed):
    """`[(model, tasks, variant)]` of one seed in training order: the single-task models (the teachers, and
    the reference that picks the shared models' epochs), then the shared rows this seed has (--variant-seeds)."""
    return [(task, [task], "shared") for task in TASKS] + [
        (variant_model(v), list(TASKS), v) for v in shared_rows(args) if seed < args.variant_seeds.get(v, args.seeds)]


def must_train_here(plan, args, seed, ledger):
    """The models of a seed's plan not to be taken from the ledger: those it lacks, and the single-task
    models while one of the seed's shared rows is still to train (it needs them on disk)."""
    lacking = {name for name, tasks, variant in plan
               if ledger is None or ledger.find(settings_key(name, tasks, args, seed, variant)) is None}
    if lacking - set(TASKS):
        lacking |= set(TASKS)
    return lacking


def train_one(name, tasks, args, work_dir, seed, variant="shared", ledger=None, needed_here=True, exported=None):
    """Trains one model with `mtkeras.runs.train`; returns its row of results.

    With --resume a finished run in `work_dir` is taken as it is. Else, with a
    `ledger`, its row of the same settings is taken, unless the run is
    `needed_here` (`must_train_here`). A run trained or found finished is
    recorded in the ledger. With --no-train a run that would train returns None.
    The export this process writes for the run is added to the set `exported`.
    """
    import keras

    from mtkeras.runs import parse_config
    from mtkeras.runs import train

    config = parse_config(yaml.safe_dump(model_config(name, tasks, args, work_dir, seed, variant)), source=name)
    key = settings_key(name, tasks, args, seed, variant)
    keras.backend.clear_session()
    exported = set() if exported is None else exported
    stale = args.resume and one_cap_vocabulary(config)
    if stale:
        print(f"[multitask] {config.run_dir} was trained with one vocabulary cap over all sources: training it "
              "again", file=sys.stderr, flush=True)
    outcome = finished_outcome(config, exported) if args.resume and not stale else None
    recorded = ledger.find(key) if ledger is not None and outcome is None else None
    if recorded is not None and not needed_here:
        print(f"[multitask] taking {name} seed {seed} from the ledger (trained at {', '.join(recorded['commits'])}, "
              f"started {recorded['started']})", file=sys.stderr, flush=True)
        return recorded
    others = ledger.others(name, seed, key) if ledger is not None and outcome is None and recorded is None else []
    if others:
        print(f"[multitask] the ledger has {name} seed {seed} only under other settings ({', '.join(others)}): "
              "the benchmark's config of it changed", file=sys.stderr, flush=True)
    if outcome is None and args.no_train:
        return None
    watch = PauseWatch(os.path.join(work_dir, "paused", f"{os.path.relpath(config.run_dir, work_dir)}.json"),
                       fresh=not args.resume or stale, others=os.path.join(work_dir, "paused"))
    if outcome is None and config.distillation and args.resume and not stale:
        # (A run trained over afresh starts from an empty folder: nothing to share into.)
        from mtkeras.runs import RunDirectory

        RunDirectory.of(config).prepare(config)  # a new run's folder, as `train` makes it; an unfinished one as it is
        share_teacher_labels(config.run_dir, work_dir, seed)
    if outcome is None:
        with watch, contextlib.redirect_stdout(sys.stderr):  # the run's tables; stdout keeps the one JSON object
            # --resume: an unfinished run goes on from its last backup (mtkeras' own resume).
            outcome = train(config, overwrite=not args.resume or stale, verbose=0)
        exported.add(os.path.abspath(outcome["export_path"]))
    test = outcome["metrics"]["test"]
    seconds, paused = watch.epoch_seconds(config.run_dir, outcome["train_seconds"])
    row = {
        "model": name,
        "variant": variant if len(tasks) > 1 else None,
        "seed": seed,
        "key": key,
        "started": run_started(config.run_dir),
        "tasks": list(tasks),
        "test": {task: 100 * test[task][TASKS[task][2]] for task in tasks},
        "test_examples": {task: test[task]["examples"] for task in tasks},
        # The epochs' time less the time the process was stopped, and the teachers' labelling (distilled rows).
        "train_seconds": seconds,
        "paused_seconds": paused,
        "teacher_seconds": watch.labelling_seconds(config.run_dir) if config.distillation else 0.0,
        "epochs_done": outcome["epochs_done"],
        "best_epoch": outcome["best_epoch"],
        "monitor": config.selection[0],
        "parameters": outcome["parameters"],
        "trainable_parameters": outcome["trainable_parameters"],
        "export_path": os.path.relpath(outcome["export_path"], work_dir),
        "export_bytes": folder_bytes(outcome["export_path"]),
        "commits": trained_at(config.run_dir),
    }
    if ledger is not None and ledger.add(row):
        print(f"[multitask] {name} seed {seed} recorded in the ledger {ledger.path}", file=sys.stderr, flush=True)
    return row


def share_teacher_labels(run_dir, work_dir, seed):
    """Links into `run_dir/teachers/` the teachers' labels another distilled row of `seed` has cached.

    A seed's distilled rows learn from the same single-task models on the
    same texts: each labelling takes minutes (MiniLM's, most of an hour), the
    cache is hundreds of MB. The trainer checks each cache's fingerprint
    (teacher files, labels, texts) and labels again where it does not match;
    a cache keeps the seconds its labelling took, so the row's cost still
    counts them. Returns the linked files' names.
    """
    from mtkeras.runs.teachers import TEACHERS_DIR

    own = os.path.join(run_dir, TEACHERS_DIR)
    linked = []
    for other in sorted(glob.glob(os.path.join(work_dir, "runs", f"*-seed{seed}", TEACHERS_DIR))):
        if os.path.abspath(other) == os.path.abspath(own):
            continue
        for name in sorted(os.listdir(other)):
            target = os.path.join(own, name)
            if not name.endswith(".npz") or name.endswith(".partial.npz") or os.path.exists(target):
                continue
            os.makedirs(own, exist_ok=True)
            try:
                os.link(os.path.join(other, name), target)  # the trainer replaces, never writes into, a cache
            except OSError:
                shutil.copyfile(os.path.join(other, name), target)
            linked.append(name)
            print(f"[multitask] {os.path.join(other, name)} shared with {own} (used if its teacher and texts are "
                  "this run's)", file=sys.stderr, flush=True)
    return linked


def _short(commit, dirty):
    """A commit as RESULTS.md names it: 7 digits, "+dirty" with uncommitted changes, "unknown" outside a checkout."""
    return commit[:7] + ("+dirty" if dirty else "") if commit else "unknown"


@functools.lru_cache(maxsize=None)
def _report_commit():
    """The code writing this report (scoring, latency): the checkout's commit when this process first asks,
    which `main` does as it starts (the code it runs, should the checkout move on meanwhile); None outside
    a checkout."""
    from mtkeras.runs.provenance import source_commit

    commit, dirty = source_commit()
    return _short(commit, dirty) if commit else None


def trained_at(run_dir):
    """The commits whose code trained a run (run.json's sittings, `_short`), each once, in order; empty for
    runs from before run.json kept them."""
    from mtkeras.runs import RunDirectory

    sittings = (RunDirectory(run_dir).read_state() or {}).get("sittings", [])
    # Resumed by a version that records sittings: the epochs before the first record ran on unknown code.
    commits = ["unknown"] if sittings and sittings[0]["from_epoch"] > 0 else []
    for sitting in sittings:
        name = _short(sitting["commit"], sitting["dirty"])
        if name not in commits:
            commits.append(name)
    return commits


def one_cap_vocabulary(config):
    """Whether the run in `config.run_dir` (finished or not) was trained with one vocabulary cap over all its
    sources, as mtkeras did before each dataset kept its own words: a run of several sources whose run.json
    does not record its vocabulary and whose word embedding holds exactly `max_vocabulary_size` words (the
    per-source rule gives more whenever the one cap cut anything, unless one source's own words hold every
    other source's kept ones; such a run is trained again needlessly, not wrongly)."""
    from mtkeras.runs import RunDirectory

    directory = RunDirectory(config.run_dir)
    state = directory.read_state()
    if len(config.datasets) < 2 or state is None or "vocabulary" in state:
        return False
    return directory.embedded_words() == config.encoder.max_vocabulary_size


def finished_outcome(config, exported=None):
    """What `train` returned for a finished run of the same config in its run directory, else None (--resume).

    A run exported again here (calibrated, or from before run.json named its export) adds its new export to
    the set `exported`."""
    import math

    from mtkeras.runs import RunDirectory, calibrate_run, export_run

    run_dir = config.run_dir
    directory = RunDirectory(run_dir)
    state = directory.read_state() or {}
    scored = directory.file("metrics_test.json")
    if state.get("status") != "finished" or directory.config_changes(config) != [] or not os.path.exists(scored):
        return None
    exported_before = state.get("export_path")
    if has_token_task(config.tasks) and "calibration" not in state:  # trained before run.json kept it: without the outside weights
        print(f"[multitask] calibrating the finished run {run_dir} (it has no outside weights)", file=sys.stderr,
              flush=True)
        with contextlib.redirect_stdout(sys.stderr):
            calibrate_run(config, run_dir)
        state = directory.read_state()
    with open(scored, encoding="utf-8") as f:
        test = json.load(f)
    export_path = state.get("export_path")
    if not (export_path and os.path.isdir(export_path)):  # a run from before run.json kept its export
        with contextlib.redirect_stdout(sys.stderr):
            export_path = export_run(config, run_dir)
        directory.write_state({**state, "export_path": export_path})  # exported once, not at every resume
    if exported is not None and export_path != exported_before:
        exported.add(os.path.abspath(export_path))
    print(f"[multitask] reusing the finished run {run_dir}", file=sys.stderr, flush=True)
    return {
        # metrics_test.json holds `mtkeras.evaluate`'s results, NaN written as null.
        "metrics": {"test": {task: {key: math.nan if value is None else value for key, value in test[task].items()}
                             for task in config.tasks}},
        "train_seconds": state["train_seconds"],
        "epochs_done": state["epochs_done"],
        "best_epoch": state["best_epoch"],
        "parameters": state["parameters"],
        # A run from before run.json kept it: counted on its saved model.
        "trainable_parameters": state.get("trainable_parameters") or _trainable(os.path.join(run_dir, "model.keras")),
        "export_path": export_path,
    }


def _trainable(model_path):
    import keras

    import mtkeras  # noqa: F401  (registers the package's layers for loading)

    model = keras.models.load_model(model_path)
    count = int(sum(keras.ops.size(w) for w in model.trainable_weights))
    keras.backend.clear_session()
    return count


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


# === Latency ===


def latency(multi_paths, single_paths, texts, plain="shared"):
    """Median and p90 milliseconds per text: one call of each shared model, and the single models in turn.

    `multi_paths` is `{variant: export}`, `plain` the plain shared model's
    variant (the top-level `multitask` and `ratio_p50`, when it is timed);
    each text goes to every model in turn, so a slow spell of the machine
    hits all. Ratios are of the rounded medians.
    """
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (WordPiece ops of pretrained encoders)

    from mtkeras.names import SERVING_SIGNATURE, TEXT

    def signature(path):
        return tf.saved_model.load(path).signatures[SERVING_SIGNATURE]

    multis = {name: signature(path) for name, path in multi_paths.items()}
    singles = [signature(path) for path in single_paths]
    inputs = [tf.constant([text]) for text in texts]
    for x in inputs[:10]:  # warm-up: the first calls trace and allocate
        for multi in multis.values():
            multi(**{TEXT: x})
        for single in singles:
            single(**{TEXT: x})
    multis_ms, singles_ms = {name: [] for name in multis}, []
    for x in inputs:
        for name, multi in multis.items():
            start = time.perf_counter()
            multi(**{TEXT: x})
            multis_ms[name].append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        for single in singles:
            single(**{TEXT: x})
        singles_ms.append(1000 * (time.perf_counter() - start))

    def summary(values):
        return {"p50_ms": round(float(np.median(values)), 3), "p90_ms": round(float(np.percentile(values, 90)), 3)}

    others = [name for name in multis if name != plain]
    result = {"texts": len(texts), "calls_each": len(singles_ms), "single_task_in_turn": summary(singles_ms)}
    if plain in multis:
        result["multitask"] = summary(multis_ms[plain])
        result["ratio_p50"] = round(result["multitask"]["p50_ms"] / result["single_task_in_turn"]["p50_ms"], 3)
    result["variants"] = {}
    for name in others:
        result["variants"][name] = summary(multis_ms[name])
        result["variants"][name]["ratio_p50"] = round(
            result["variants"][name]["p50_ms"] / result["single_task_in_turn"]["p50_ms"], 3)
    return result


def _timed_in(entry, keys, model):
    """Whether the timing loop `entry` timed a run of `model` in `keys` (`{(model, settings key)}`, a report's
    rows) beside single-task models of settings in `keys` too: its ratio is then to the report's four."""
    timed = entry["keys"]
    return all((name, timed.get(name)) in keys for name in (model, *TASKS))


def row_latency(row, rows, args, work_dir, ledger, loops, measure=True, exported=frozenset()):
    """Times a shared row's model as soon as its run is here: one loop (`latency`) of it, the other shared
    models of its seed that are here, and its seed's four single-task models answering in turn, each
    through an export of this code (the one this process wrote, in `exported`, else one written again by
    `fresh_exports`). The loop is recorded in the ledger (without one, appended to `loops`). Nothing is timed
    when a loop of the ledger (or `loops`) holds a run of the row's settings, when --no-train (`measure` False:
    another process may be training), or when a model is not here: a run taken from the ledger, or one of
    the same settings trained again here (a sitting on a new machine). Returns the loop, else None.

    A proof whose sittings each get a new machine thus times every row beside the single-task models that
    sitting trained, and a row is never timed twice.
    """
    known = ledger.latencies if ledger is not None else loops
    if any(entry["keys"].get(row["model"]) == row["key"] for entry in known):
        return None
    seed = row["seed"]
    first = {r["model"]: r for r in rows if r["seed"] == seed}

    def here(model):
        return model in first and os.path.exists(os.path.join(run_dir(work_dir, model, seed), "model.keras")) \
            and run_started(run_dir(work_dir, model, seed)) == first[model]["started"]

    shared = [model for model in first if model not in TASKS and here(model)]
    away = [model for model in [row["model"], *TASKS] if not here(model)]
    if away or not measure:
        why = f"no model here of {', '.join(away)}" if away else "--no-train measures nothing"
        print(f"[multitask] latency of {row['model']} seed {seed} not measured: {why}", file=sys.stderr, flush=True)
        return None
    models = shared + list(TASKS)
    try:
        paths = {model: os.path.join(work_dir, first[model]["export_path"]) for model in models}
        paths = {model: path for model, path in paths.items() if os.path.abspath(path) in exported}
        paths.update(fresh_exports([model for model in models if model not in paths], args, work_dir, seed=seed))
        lat = latency({model_variant(model): paths[model] for model in shared}, [paths[task] for task in TASKS],
                      latency_texts(args, work_dir, args.latency_texts))
    except Exception as error:  # noqa: BLE001  (a failed timing must not end a proof of many sittings)
        print(f"[multitask] latency of {row['model']} seed {seed} not measured: {type(error).__name__}: {error}",
              file=sys.stderr, flush=True)
        return None
    lat.update(seed=seed, exported_at=_report_commit())
    timed = {model: first[model]["key"] for model in models}
    if ledger is not None:
        ledger.add_latency(lat, timed)
    else:
        loops.append({"latency": lat, "keys": timed})
    return lat


def report_latency(rows, loops):
    """The latency a report gives, from the timing loops (`row_latency`): each shared row's from the last loop
    that timed a run of its settings beside single-task models of its rows' settings, as the ratio to those
    four in that same loop (a loop's other models do not matter); the top-level fields (`latency`'s) from the
    last loop that timed the plain row. `loops` counts the loops that gave something. None when none did."""
    keys = {(row["model"], row["key"]) for row in rows}
    result, used = {"variants": {}}, set()
    for number, entry in enumerate(loops):  # later loops win
        lat = entry["latency"]
        if "multitask" in lat and _timed_in(entry, keys, "multitask"):
            result.update({k: v for k, v in lat.items() if k != "variants"})
            used.add(number)
        for variant, timing in lat.get("variants", {}).items():
            if _timed_in(entry, keys, variant_model(variant)):
                result["variants"][variant] = {**timing, "seed": lat.get("seed", 0),
                                               "single_task_in_turn_p50_ms": lat["single_task_in_turn"]["p50_ms"]}
                used.add(number)
    if not used:
        return None
    result["loops"] = len(used)
    return result


def fresh_exports(models, args, work_dir, seed=0, base=None):
    """`{model: export}`: each run's kept model exported again by this code, under `base` (default: a new
    folder `work_dir/latency_exports-*`, so that two processes timing one work dir never share one).

    The runs' own exports were written by the code of their sittings, and the
    serving graph (text preprocessing, decoding, entity spans) changes too; the
    models timed against each other must answer through the same graph.
    """
    from mtkeras.runs import parse_config
    from mtkeras.runs.finish import export_run

    if not models:
        return {}
    base = base or tempfile.mkdtemp(prefix="latency_exports-", dir=work_dir)
    paths = {}
    for model in models:
        tasks = [model] if model in TASKS else list(TASKS)
        variant = model_variant(model)
        config = parse_config(yaml.safe_dump(model_config(model, tasks, args, work_dir, seed, variant)), source=model)
        with contextlib.redirect_stdout(sys.stderr):
            paths[model] = export_run(config, base_path=os.path.join(base, model), version=1)
    return paths


def latency_texts(args, work_dir, count):
    """`count` test texts taken in turn from the three sources."""
    from mtkeras.runs import parse_config
    from mtkeras.runs import read_split

    config = parse_config(yaml.safe_dump(model_config("latency", list(TASKS), args, work_dir, 0)))
    sources = [[ex.text for ex in examples] for examples in read_split(config, "test").values()]
    texts = [text for group in zip(*sources) for text in group]
    return texts[:count]


# === Summary ===


def mean_std(values):
    return {"mean": round(statistics.mean(values), 2),
            "std": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
            "runs": [round(v, 2) for v in values]}


def summarize(rows, lat, args):
    multi = [row for row in rows if row["model"] == "multitask"]
    single = {task: [row for row in rows if row["model"] == task] for task in TASKS}
    tasks = {}

    def delta(runs, task):
        """Shared minus single-task, over the seeds the shared rows have (a row may have fewer seeds)."""
        seeds = {row["seed"] for row in runs}
        return round(statistics.mean(row["test"][task] for row in runs)
                     - statistics.mean(row["test"][task] for row in single[task] if row["seed"] in seeds), 2)

    for task in TASKS:
        shared = mean_std([row["test"][task] for row in multi])
        alone = mean_std([row["test"][task] for row in single[task]])
        tasks[task] = {
            "metric": TASKS[task][2],
            "test_examples": multi[0]["test_examples"][task],
            "multitask": shared,
            "single_task": alone,
            "delta": delta(multi, task),
            "goal_met": delta(multi, task) >= -GOALS["within_points"],
        }
    seeds = sorted({row["seed"] for row in multi})
    multi_seconds = [row["train_seconds"] for row in multi]
    single_seconds = [sum(row["train_seconds"] for task in TASKS for row in single[task] if row["seed"] == seed)
                      for seed in seeds]
    time_ratios = [m / s for m, s in zip(multi_seconds, single_seconds)]
    multi_params = multi[0]["parameters"]
    single_params = {task: single[task][0]["parameters"] for task in TASKS}
    trainable = {row["model"]: row.get("trainable_parameters") for row in rows if row["seed"] == multi[0]["seed"]}
    multi_bytes = multi[0]["export_bytes"]
    single_bytes = {task: single[task][0]["export_bytes"] for task in TASKS}
    cost = {
        "parameters": {"multitask": multi_params, "single_task": single_params,
                       "single_task_total": sum(single_params.values()),
                       "ratio": round(multi_params / sum(single_params.values()), 3),
                       # Frozen pretrained vectors count in "parameters" (they are served); trainable ones apart.
                       "trainable": {"multitask": trainable["multitask"],
                                     "single_task_total": sum(trainable[task] for task in TASKS),
                                     "ratio": round(trainable["multitask"] / sum(trainable[task] for task in TASKS), 3)}
                       if None not in trainable.values() else None},
        "train_seconds": {"multitask": mean_std(multi_seconds), "single_task_total": mean_std(single_seconds),
                          "single_task": {task: mean_std([row["train_seconds"] for row in single[task]]) for task in TASKS},
                          "ratio": round(statistics.mean(time_ratios), 3),
                          "ratio_per_seed": [round(r, 3) for r in time_ratios]},
        "export_bytes": {"multitask": multi_bytes, "single_task": single_bytes,
                         "single_task_total": sum(single_bytes.values()),
                         "ratio": round(multi_bytes / sum(single_bytes.values()), 3)},
        "epochs_done": {"multitask": [row["epochs_done"] for row in multi],
                        **{task: [row["epochs_done"] for row in single[task]] for task in TASKS}},
        "best_epoch": {"multitask": [row["best_epoch"] for row in multi],
                       **{task: [row["best_epoch"] for row in single[task]] for task in TASKS}},
    }
    variants = {}
    for variant in VARIANTS[1:]:
        runs = [row for row in rows if row["model"] == variant_model(variant)]
        if not runs:
            continue
        # A distilled row's cost counts its teachers: their training and their labelling of the texts
        # (unknown when a cache from before the labelling time was kept says nothing).
        teachers = [sum(row["train_seconds"] for task in TASKS for row in single[task] if row["seed"] == r["seed"])
                    + r["teacher_seconds"] if r.get("teacher_seconds") is not None else None
                    for r in runs] if "distill" in variant.split("_") else [0.0] * len(runs)
        variants[variant] = {
            "seeds": [row["seed"] for row in runs],
            "tasks": {task: {**mean_std([row["test"][task] for row in runs]),
                             "delta": delta(runs, task)}
                      for task in TASKS},
            "parameters": runs[0]["parameters"],
            "parameter_ratio": round(runs[0]["parameters"] / sum(single_params.values()), 3),
            "trainable_parameters": runs[0].get("trainable_parameters"),
            "train_seconds": mean_std([row["train_seconds"] for row in runs]),
            "train_seconds_with_teachers": mean_std([row["train_seconds"] + t for row, t in zip(runs, teachers)])
                                           if None not in teachers else None,
            "export_bytes": runs[0]["export_bytes"],
            "latency": (lat or {}).get("variants", {}).get(variant),
        }
        variants[variant]["every_task_within_0.5_points"] = all(
            t["delta"] >= -GOALS["within_points"] for t in variants[variant]["tasks"].values())
    goals = {
        "every_task_within_0.5_points": all(t["goal_met"] for t in tasks.values()),
        "parameters_at_most_40_percent": cost["parameters"]["ratio"] <= GOALS["parameter_ratio"],
        "train_time_at_most_50_percent": cost["train_seconds"]["ratio"] <= GOALS["train_time_ratio"],
        "one_call_faster_than_four": lat["ratio_p50"] < 1.0 if lat and "ratio_p50" in lat else None,
    }
    return {
        "benchmark": "multitask",
        "encoder": args.encoder or "bilstm (package default)",
        "quick": args.quick,
        "command": "python benchmarks/multitask.py " + " ".join(shlex.quote(a) for a in args.argv),
        "commit": _report_commit(),
        "settings": {"seeds": seeds, "epochs": args.epochs, "patience": args.patience,
                     "max_examples": args.max_examples, "batch_size": args.batch_size or "package default (32)",
                     "monitor": args.monitor or "package default",
                     "monitor_window": args.monitor_window or 1,
                     "vectors": args.vectors, "lowercase": not args.keep_case,
                     "variant_seeds": args.variant_seeds,
                     "model_selection": "the mean of each task's dev score relative to its single-task model's "
                                        "(single_task_dir)" if args.monitor in (None, "val_score") else None,
                     "early_stopping": "waits for the monitor and every task's own score or loss "
                                       "(training.patience_per_task, the package default)"},
        "tasks": tasks,
        "variants": variants,
        "cost": cost,
        "latency": lat,
        "goals": goals,
        "runs": rows,
    }


# === RESULTS.md ===


def _monitor(result):
    """The log that picked the best epochs (runs from before it was recorded used val_loss)."""
    return " and ".join(sorted({row.get("monitor", "val_loss") for row in result["runs"]}))


def _row_cells(task, result):
    t = result["tasks"][task]
    shared, alone = t["multitask"], t["single_task"]
    return (f"| {task} ({TASKS[task][1]}, {METRIC_NAMES[t['metric']]}) | {shared['mean']:.2f} ± {shared['std']:.2f} "
            f"| {alone['mean']:.2f} ± {alone['std']:.2f} | {t['delta']:+.2f} | {'yes' if t['goal_met'] else '**no**'} |")


def _seconds_cell(seconds):
    return f"{seconds['mean']:.0f}" if seconds else "unknown"


def _latency_cell(latency):
    return f"{latency['p50_ms']:.2f} ms ({latency['ratio_p50']:.1%})" if latency else "not measured"


def _code_lines(result):
    """Which commits trained the models and wrote the report (RESULTS.md lines), when they are known."""
    trained = []
    for row in result["runs"]:
        trained += [commit for commit in row.get("commits", []) if commit not in trained]
    if not trained and not result.get("commit"):
        return []
    parts = ([f"models trained at {', '.join(trained)}"] if trained else []) + (
        [f"report written at {result['commit']}"] if result.get("commit") else [])
    return [f"Code: {'; '.join(parts)}.", ""]


def results_markdown(results):
    """The RESULTS.md text for a list of benchmark results (one per encoder)."""
    lines = [
        "# Multi-task against single-task models",
        "",
        "Written by `benchmarks/multitask.py` from its JSON files (`benchmarks/results/`);",
        "do not edit by hand. Test metrics in %, mean ± standard deviation over seeds.",
        "The best epoch of every model is picked on the valid/dev splits, never on test",
        "(each section says by which log). Measured on the shared 2-core CPU machine.",
    ]
    for result in results:
        cost, lat, settings = result["cost"], result["latency"], result["settings"]
        seeds = len(settings["seeds"])
        scope = f"the first {settings['max_examples']:,} texts of each split" if settings["max_examples"] else "all data"
        lines += [
            "",
            f"## Encoder: {result['encoder']}, best epoch by {_monitor(result)}, {scope}"
            f"{'; quick run: small slices, not a result' if result['quick'] else ''}",
            "",
            f"`{result['command']}`",
            "",
            *([f"Note: {result['note']}.", ""] if result.get("note") else []),
            *_code_lines(result),
            f"{seeds} seed(s) {settings['seeds']}; at most {settings['epochs']} epoch(s), early stopping with patience "
            f"{settings['patience']}"
            f"{' (' + settings['early_stopping'] + ')' if settings.get('early_stopping') else ''}"
            f"; batch {settings['batch_size']}; examples per split and source: "
            f"{settings['max_examples'] or 'all'}"
            f"{'; word vectors ' + settings['vectors'] if settings.get('vectors') else ''}"
            f"{'; words keep their case' if settings.get('lowercase') is False else ''}"
            f"{'. Shared rows pick their best epoch by ' + settings['model_selection'] if settings.get('model_selection') else ''}.",
            "",
            "| task (source, test metric) | one shared model | single-task model | shared − single | within 0.5 |",
            "|---|---|---|---|---|",
            *[_row_cells(task, result) for task in TASKS],
            "",
            "| cost | one shared model | four single-task models | ratio | goal |",
            "|---|---|---|---|---|",
            f"| parameters | {cost['parameters']['multitask']:,} | {cost['parameters']['single_task_total']:,} "
            f"| {cost['parameters']['ratio']:.1%} | ≤ 40 %: {'met' if result['goals']['parameters_at_most_40_percent'] else '**missed**'} |",
            *([f"| trainable parameters (without frozen word vectors) | {cost['parameters']['trainable']['multitask']:,} "
               f"| {cost['parameters']['trainable']['single_task_total']:,} | {cost['parameters']['trainable']['ratio']:.1%} | |"]
              if cost["parameters"].get("trainable") else []),
            f"| training seconds (mean over seeds) | {cost['train_seconds']['multitask']['mean']:.0f} "
            f"| {cost['train_seconds']['single_task_total']['mean']:.0f} | {cost['train_seconds']['ratio']:.1%} "
            f"| ≤ 50 %: {'met' if result['goals']['train_time_at_most_50_percent'] else '**missed**'} |",
            f"| exported SavedModel size | {cost['export_bytes']['multitask'] / 1e6:.1f} MB "
            f"| {cost['export_bytes']['single_task_total'] / 1e6:.1f} MB | {cost['export_bytes']['ratio']:.1%} | |",
            f"| latency, one text, p50 (p90) | {lat['multitask']['p50_ms']:.2f} ({lat['multitask']['p90_ms']:.2f}) ms "
            f"| {lat['single_task_in_turn']['p50_ms']:.2f} ({lat['single_task_in_turn']['p90_ms']:.2f}) ms in turn "
            f"| {lat['ratio_p50']:.1%} | faster: {'met' if result['goals']['one_call_faster_than_four'] else '**missed**'} |"
            if lat and "multitask" in lat else "| latency, one text | not measured (exports on another machine) | | | |",
            "",
            "Per single-task model: " + "; ".join(
                f"{task} {cost['parameters']['single_task'][task]:,} parameters, "
                f"{cost['train_seconds']['single_task'][task]['mean']:.0f} s"
                for task in TASKS
            ) + f". Epochs run (best): shared {cost['epochs_done']['multitask']} ({cost['best_epoch']['multitask']}); "
            + "; ".join(f"{task} {cost['epochs_done'][task]} ({cost['best_epoch'][task]})" for task in TASKS) + ".",
            f"Latency: {lat['calls_each']} calls of each over {lat['texts']} test texts, exported SavedModels "
            "loaded in one process (`serving_default`, batch of one text); each shared row timed in one loop "
            "with its seed's four single-task models as soon as it was trained (a ratio is to the four of its "
            "own loop)." if lat and "calls_each" in lat else "",
        ]
        if result.get("variants"):
            lines += [
                "",
                "Ways to make the shared model pay (shared − single in points; `private`: task-private layers, "
                "`private-transformer`: a Transformer block per token task instead of a BiLSTM, "
                "`private-feedforward`: a feed-forward layer over each word per token task, "
                "`private-transformer-attention`: the Transformer blocks, and attention pooling of each sentence "
                "task's own, "
                "`distill`: single-task teachers with teacher annealing; training seconds count the teachers):",
                "",
                "| variant (seeds) | " + " | ".join(TASKS)
                + " | parameters (ratio to four) | training s (with teachers) | latency p50 (ratio to four) | all within 0.5 |",
                "|---|" + "---|" * len(TASKS) + "---|---|---|---|",
                *[f"| {variant} ({len(v.get('seeds') or v['tasks'][next(iter(TASKS))]['runs'])}) | " + " | ".join(
                    f"{v['tasks'][task]['mean']:.2f} ± {v['tasks'][task]['std']:.2f} ({v['tasks'][task]['delta']:+.2f})"
                    for task in TASKS)
                  + f" | {v['parameters']:,} ({v['parameter_ratio']:.1%}) | {v['train_seconds']['mean']:.0f} "
                    f"({_seconds_cell(v['train_seconds_with_teachers'])}) | {_latency_cell(v.get('latency'))} "
                    f"| {'yes' if v['every_task_within_0.5_points'] else '**no**'} |"
                  for variant, v in result["variants"].items()],
            ]
    lines += [
        "",
        "## Published figures on the same test sets",
        "",
        "From `../shared/datasets/README.md`; other systems, other budgets (mostly GPUs and",
        "pretrained embeddings), quoted for scale.",
        "",
        "| task | published |",
        "|---|---|",
        *[f"| {task} | {PUBLISHED[task]} |" for task in TASKS],
        "",
    ]
    return "\n".join(lines)


def write_results_markdown(output_dir, path):
    results = []
    for name in sorted(os.listdir(output_dir)):
        if name.startswith("multitask_") and name.endswith(".json"):
            with open(os.path.join(output_dir, name)) as f:
                results.append(json.load(f))
    # The from-scratch default first, then pretrained encoders.
    results.sort(key=lambda r: (not r["encoder"].startswith("bilstm"), r["encoder"], "note" in r))
    with open(path, "w") as f:
        f.write(results_markdown(results))


# === Main ===


def parse_args(argv=None):
    """The command line's settings, the encoder's recipe filled in (exits on a bad one, as argparse does)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder holding snips/, wnut17/ and sst2/")
    parser.add_argument("--encoder", default=None, help="encoder name (default: the package default, bilstm)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3; quick: 1)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="at most this many epochs per model (default: the encoder's recipe, mtkeras.training.recipes)")
    parser.add_argument("--patience", type=int, default=None,
                        help="early stopping patience, the same for every model (default: the encoder's recipe): each "
                        "stops once neither its monitor nor any of its tasks' own validation scores improved for this "
                        "many epochs (training.patience_per_task)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the package default (32)")
    parser.add_argument("--monitor", default=None, choices=["val_loss", "val_score"],
                        help="the log that picks every model's best epoch (default: the package default, val_score)")
    parser.add_argument("--monitor-window", type=int, default=None,
                        help="pick every model's best epoch by the monitor's mean over this many epochs ending at it "
                        "(training.monitor_window; default 1, each epoch's own value)")
    parser.add_argument("--max-examples", type=int, default=None,
                        help="first N examples of every split of each source (below 1821 the SST-2 test set is cut)")
    parser.add_argument("--latency-texts", type=int, default=300)
    parser.add_argument("--output-dir", default=None, help="default: benchmarks/results (quick: benchmarks/results/quick)")
    parser.add_argument("--results-md", default=None, help="default: benchmarks/RESULTS.md (quick: OUTPUT_DIR/RESULTS.md)")
    parser.add_argument("--work-dir", default=None, help="runs and exports (default: a temporary folder, removed)")
    parser.add_argument("--resume", action="store_true",
                        help="with --work-dir: reuse the finished runs an earlier invocation left there with the same "
                             "settings, and go on with an unfinished one from its last backup (a long run over several "
                             "sittings). A resumed run's training time adds up its sittings' epochs, each "
                             "counted once, as an unbroken run would (checkpoints/clock.json)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["shared"],
                        help="shared-model rows beside the single-task models (default: shared, the plain one); "
                        "private: task-private layers (a BiLSTM per token task); private-transformer: a Transformer block per "
                        "token task instead; private-feedforward: a feed-forward layer over each word per token task; distill: single-task teachers; annealed: annealed task "
                        "sampling; combinations of them joined by _. Each seed trains the rows in this order, the "
                        "plain one first unless it is listed")
    parser.add_argument("--variant-seeds", nargs="+", default=[], metavar="VARIANT=N",
                        help="fewer seeds for some rows, e.g. private=1 distill=1 (the first N seeds; default: all)")
    parser.add_argument("--vectors", default=None,
                        help="pretrained word vectors for from-scratch encoders: a file or glove-6b-50d "
                        "(encoder.vectors.source; the previous issue's recipe)")
    parser.add_argument("--keep-case", action="store_true",
                        help="from-scratch encoders keep the words' case (encoder.lowercase: false; WNUT-17's recipe)")
    parser.add_argument("--note", default=None, help="a note printed above this run's section of RESULTS.md")
    parser.add_argument("--tag", default=None,
                        help="a name for this run's JSON: multitask_<encoder>[_<monitor>][_mean<N>]_<tag>.json (e.g. full)")
    parser.add_argument("--ledger", default=None, metavar="FILE",
                        help="finished runs kept in the repository (JSON lines, e.g. benchmarks/results/"
                        "multitask_full_runs.jsonl): each run trained or found finished is added; a run found there "
                        "with the same settings is not trained again on any machine, unless a run still to train "
                        "needs it on disk (a seed's single-task models); the latency loops timed are kept too")
    parser.add_argument("--no-train", action="store_true",
                        help="train nothing: take the finished runs (from --work-dir, recording them in --ledger, and "
                        "from the ledger); with every run there, report as usual, else print the runs still to train "
                        "(the end of a sitting whose machine may not come back; safe beside a training process: it "
                        "measures no latency)")
    parser.add_argument("--quick", action="store_true",
                        help="small slices: 1 seed, 1 epoch, 200 examples per split, 20 latency texts")
    args = parser.parse_args(argv)
    if args.resume and not args.work_dir:
        parser.error("--resume needs --work-dir: the folder holding the earlier runs")
    args.resume = args.resume or (args.no_train and args.work_dir is not None)  # it takes the finished runs
    args.argv = argv
    try:
        args.variant_seeds = {key: int(value) for key, value in (item.split("=") for item in args.variant_seeds)}
    except ValueError:
        parser.error(f"--variant-seeds: {args.variant_seeds}: give VARIANT=N pairs, e.g. private=1")
    unknown = sorted(set(args.variant_seeds) - set(VARIANTS))
    if unknown:
        parser.error(f"--variant-seeds: no variant {unknown[0]!r} (the variants: {', '.join(VARIANTS)})")
    if args.monitor_window is not None and args.monitor_window < 1:
        parser.error(f"--monitor-window: at least 1 epoch. Received: {args.monitor_window}")
    if any(n < 1 for n in args.variant_seeds.values()):
        parser.error(f"--variant-seeds: every row needs at least one seed: {args.variant_seeds}")
    if args.quick:
        args.epochs, args.max_examples, args.latency_texts = 1, args.max_examples or 200, 20
    from mtkeras.training.recipes import recipe_for

    recipe = recipe_for(args.encoder or "bilstm")  # the package's defaults for the encoder kind
    args.epochs = args.epochs or recipe.epochs
    args.patience = recipe.patience if args.patience is None else args.patience
    args.seeds = args.seeds or (1 if args.quick else 3)
    if (args.vectors or args.keep_case) and recipe is not recipe_for("bilstm"):
        parser.error(f"--vectors and --keep-case are for from-scratch encoders; {args.encoder} is pretrained")
    for source, spec in SOURCES.items():
        for split in ("train", "valid", "test"):
            if not os.path.exists(os.path.join(args.data_dir, spec[split])):
                parser.error(f"--data-dir {args.data_dir}: no {spec[split]} (the {source} {split} split)")
    return args


def main(argv=None):
    args = parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    output_dir = args.output_dir or os.path.join(here, "results", "quick" if args.quick else "")
    results_md = args.results_md or os.path.join(output_dir if args.quick else here, "RESULTS.md")
    os.makedirs(output_dir, exist_ok=True)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="mtkeras-multitask-")

    _report_commit()  # the code this process runs
    ledger = Ledger(args.ledger) if args.ledger else None
    started = time.perf_counter()
    rows, missing, loops = [], [], []  # loops: the latency timings this process made (without a ledger)
    exported = set()  # the exports this process wrote: this code's serving graph, timed as they are
    try:
        for seed in range(args.seeds):
            plan = seed_plan(args, seed)
            here = must_train_here(plan, args, seed, ledger)
            for name, tasks, variant in plan:
                row = train_one(name, tasks, args, work_dir, seed, variant, ledger, needed_here=name in here,
                                exported=exported)
                if row is None:
                    missing.append(f"{name} seed {seed}")
                    continue
                rows.append(row)
                what = f"{name} alone" if len(tasks) == 1 else f"shared model ({variant})"
                print(f"[multitask] seed {seed} {what}: {row['test']} in {row['train_seconds']} s",
                      file=sys.stderr, flush=True)
                if len(tasks) > 1:
                    # Timed as soon as it is here, beside its seed's single-task models, while nothing trains.
                    row_latency(row, rows, args, work_dir, ledger, loops, measure=not args.no_train,
                                exported=exported)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    if missing:
        print(json.dumps({"finished": len(rows), "still_to_train": missing}))
        return
    # The ledger read again: another process (a sitting's --no-train) may have added loops since.
    result = summarize(rows, report_latency(rows, Ledger(args.ledger).latencies if ledger is not None else loops), args)
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    if args.note:
        result["note"] = args.note
    name = os.path.basename(os.path.normpath(args.encoder or "bilstm"))  # a preset folder: its name
    name += f"_{args.monitor}" if args.monitor else ""
    name += f"_mean{args.monitor_window}" if (args.monitor_window or 1) > 1 else ""
    name += f"_{args.tag}" if args.tag else ""
    with open(os.path.join(output_dir, f"multitask_{name}.json"), "w") as f:
        json.dump(result, f, indent=1)
    write_results_markdown(output_dir, results_md)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
