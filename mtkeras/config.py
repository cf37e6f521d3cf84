"""Training runs described in YAML: the schema, loading and validation.

A config names the tasks, the datasets that label them, the encoder, the
training options and the export; `mtkeras train CONFIG` runs it. Loading
checks everything before any training starts and reports each problem by
file, line and field path, with the bad value:

    configs/demo.yaml:43: training.batch_size: expected a positive integer, got -3

Relative paths in a config are relative to the directory `mtkeras` runs in
(the repository root in the README's examples), as for every other path the
command line takes. The schema is pydantic; `Config.model_json_schema()`
gives it as JSON Schema, and README.md ("Config reference") documents every
field.

Example:
>>> config = load_config("configs/demo.yaml", overrides=["training.epochs=2"])
>>> config.training.batch_size
32
"""

import difflib
import keyword
import re
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from mtkeras.names import LOWER_IS_BETTER, SCORE, VALIDATION_PREFIX

TASK_KINDS = ("sentence_classification", "multi_label_classification", "token_tagging", "regression")
READERS = ("joint_nlu", "conll", "delimited", "jsonl", "tfds")
SPLITS = ("train", "valid", "test")

# Options that only some task kinds take: option -> kinds.
_KIND_OPTIONS = {
    "labels": ("sentence_classification", "multi_label_classification", "token_tagging"),
    "label_smoothing": ("sentence_classification", "multi_label_classification", "token_tagging"),
    "thresholds": ("multi_label_classification",),
    "separator": ("multi_label_classification",),
    "sentence_context": ("token_tagging",),
    "crf": ("token_tagging",),
    "pair": ("sentence_classification", "multi_label_classification", "regression"),
}
# What each joint_nlu column is: the `label` file labels a sentence task, the
# `seq.out` file (`tags`) a token task.
_JOINT_NLU_COLUMNS = {"label": "sentence", "tags": "token"}


class ConfigError(ValueError):
    """A config that cannot be used; the message names file, line, field and value."""


class _Section(BaseModel):
    # Unknown keys are errors (a misspelt option must not be silently ignored).
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _fraction(value, closed_top=False):
    if not (0.0 <= value <= 1.0 if closed_top else 0.0 <= value < 1.0):
        raise ValueError(f"expected a number in [0, 1{']' if closed_top else ')'}, got {value!r}")
    return value


class TaskConfig(_Section):
    """One task: its kind and head options. Labels come from the training data unless given."""

    kind: Literal[TASK_KINDS] = Field(description="the task kind")
    labels: Optional[list[str]] = Field(None, description="label vocabulary; default: the labels in the training data")
    loss_weight: float = Field(1.0, ge=0, description="weight of this task's loss")
    dropout: float = Field(0.1, description="dropout before the output layer, in [0, 1)")
    label_smoothing: float = Field(0.0, description="classification kinds: mass spread over all labels, in [0, 1)")
    thresholds: Any = Field(0.5, json_schema_extra={"shown_type": "float \\| list of float"}, description="multi_label_classification: probability at which a label is on")
    separator: str = Field(",", description="multi_label_classification: joins several labels in one field")
    sentence_context: bool = Field(False, description="token_tagging: the head also reads the pooled text vector")
    crf: bool = Field(False, description="token_tagging: linear-chain CRF with learned tag transitions, trained on whole-sequence likelihood")
    pair: bool = Field(False, description="sentence kinds: the task reads two texts (NLI, similarity)")

    @field_validator("dropout", "label_smoothing")
    @classmethod
    def _in_unit_interval(cls, value, info):
        return _fraction(value)

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value):
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0.0 < item < 1.0:
                raise ValueError(f"expected a number in (0, 1) or a list of them, got {value!r}")
        return value

    @model_validator(mode="after")
    def _options_fit_the_kind(self):
        for option, kinds in _KIND_OPTIONS.items():
            default = type(self).model_fields[option].default
            if option in self.model_fields_set and self.kind not in kinds and getattr(self, option) != default:
                raise _FieldError(option, f"does not apply to kind {self.kind!r} (it applies to {', '.join(kinds)})")
        if isinstance(self.thresholds, list) and self.labels is not None and len(self.thresholds) != len(self.labels):
            raise _FieldError(
                "thresholds", f"expected one threshold per label ({len(self.labels)}), got {len(self.thresholds)}"
            )
        return self


class DatasetConfig(_Section):
    """One source of examples: a reader, its splits and which column labels which task."""

    reader: Literal[READERS] = Field(description="how to read it")
    train: Optional[str] = Field(None, description="training split: a path (tfds: a split name)")
    valid: Optional[str] = Field(None, description="validation split, used to pick the best epoch")
    test: Optional[str] = Field(None, description="test split, scored once training ends")
    tasks: dict[str, Any] = Field(description="task name -> the column, field or feature that labels it")
    text: Any = Field(None, json_schema_extra={"shown_type": "str \\| int \\| null"}, description="the text column (delimited), field (jsonl) or feature (tfds)")
    pair: Any = Field(None, json_schema_extra={"shown_type": "str \\| int \\| null"}, description="delimited: the second text's column, for pair tasks")
    name: Optional[str] = Field(None, description="tfds: the dataset name, e.g. glue/sst2")
    options: dict[str, Any] = Field(default_factory=dict, description="further reader arguments")
    on_error: Literal["raise", "skip"] = Field("raise", description="a bad record stops the run, or is skipped")
    weight: Optional[float] = Field(None, gt=0, description="sampling weight, with mixing.sampling: weights")
    max_examples: Optional[StrictInt] = Field(None, gt=0, description="keep the first N examples of each split")

    @field_validator("tasks")
    @classmethod
    def _task_columns(cls, value):
        if not value:
            raise ValueError("expected at least one task")
        for task, column in value.items():
            if isinstance(column, bool) or not isinstance(column, (str, int)) or column == "":
                raise _FieldError(task, f"expected a column name or position, got {column!r}")
        return value

    @field_validator("text", "pair")
    @classmethod
    def _column(cls, value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int)) or value == ""):
            raise ValueError(f"expected a column name or position, got {value!r}")
        return value

    @model_validator(mode="after")
    def _reader_needs(self):
        if self.reader == "tfds" and not self.name:
            raise _FieldError("name", "reader tfds needs the dataset name, e.g. glue/sst2")
        if self.reader != "tfds" and self.name is not None:
            raise _FieldError("name", f"only reader tfds takes a dataset name (reader is {self.reader!r})")
        if self.pair is not None and self.reader != "delimited":
            raise _FieldError("pair", f"only reader delimited takes a pair column (reader is {self.reader!r})")
        if self.text is not None and self.reader in ("joint_nlu", "conll"):
            raise _FieldError("text", f"reader {self.reader} reads its words from fixed places; remove `text`")
        if self.reader == "joint_nlu":
            for task, column in self.tasks.items():
                if column not in _JOINT_NLU_COLUMNS:
                    raise _FieldError(
                        f"tasks.{task}", f"joint_nlu columns are 'label' and 'tags', got {column!r}"
                    )
        if self.reader == "conll":
            for task, column in self.tasks.items():
                if not isinstance(column, int):
                    raise _FieldError(f"tasks.{task}", f"conll columns are positions (e.g. -1), got {column!r}")
            if len(self.tasks) != 1:
                raise _FieldError("tasks", f"reader conll labels one token task, got {sorted(self.tasks)}")
        if not any((self.train, self.valid, self.test)):
            raise _FieldError("train", "a dataset needs at least one of train, valid or test")
        return self


class MixingConfig(_Section):
    """How several training sources make one stream."""

    sampling: Literal["proportional", "uniform", "temperature", "weights"] = Field(
        "temperature", description="probability of drawing from each source"
    )
    temperature: float = Field(2.0, gt=0, description="sampling temperature: size ** (1 / T)")
    examples_per_epoch: Optional[StrictInt] = Field(None, gt=0, description="draws per epoch from several sources; default: every source once")
    bucket: bool = Field(True, description="batch texts of similar length together")


class EncoderConfig(_Section):
    """The shared encoder and the in-graph text preprocessing before it."""

    name: str = Field("bilstm", description="bilstm, cnn, transformer, minilm, bert, or a preset directory")
    config: dict[str, Any] = Field(default_factory=dict, description="the encoder's own arguments")
    max_vocabulary_size: StrictInt = Field(20000, gt=0, description="from-scratch encoders: words kept in the vocabulary")
    max_words: Optional[StrictInt] = Field(128, gt=0, description="words kept per text")
    lowercase: bool = Field(True, description="from-scratch encoders: lower-case words")
    sequence_length: StrictInt = Field(128, gt=0, description="pretrained encoders: word pieces kept per text")


class OptimizerConfig(_Section):
    name: Literal["adam", "adamw"] = Field("adam", description="adam, or adamw with weight decay")
    learning_rate: Optional[float] = Field(
        None, gt=0, description="peak learning rate; default: 3e-3 from scratch, 5e-5 pretrained"
    )
    weight_decay: float = Field(0.01, ge=0, description="adamw: decoupled weight decay")
    clipnorm: Optional[float] = Field(1.0, gt=0, description="gradient norm clip; null: none")


class ScheduleConfig(_Section):
    name: Literal["warmup_cosine", "constant"] = Field(
        "warmup_cosine", description="linear warm-up then cosine decay to 0, or a constant rate"
    )
    warmup_fraction: float = Field(0.05, description="share of the steps spent warming up, in [0, 1)")

    @field_validator("warmup_fraction")
    @classmethod
    def _in_unit_interval(cls, value, info):
        return _fraction(value)


class TrainingConfig(_Section):
    epochs: StrictInt = Field(10, gt=0, description="training epochs")
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
    patience: Optional[StrictInt] = Field(
        None, gt=0, description="stop after this many epochs without improvement (see patience_per_task)"
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


class ExportConfig(_Section):
    name: Optional[str] = Field(None, description="served model name; default: the config's name")
    base_path: Optional[str] = Field(None, description="versions go under it; default: saved_models/<name>")
    after_training: bool = Field(False, description="export as soon as training ends")
    warmup_texts: Optional[list[str]] = Field(None, description="texts of the warm-up requests")


class Config(_Section):
    """A whole training run: `mtkeras train CONFIG`."""

    name: str = Field(description="run and model name (letters, digits, '_', '-', '.')")
    run_dir: Optional[str] = Field(None, description="checkpoints, logs and reports; default: runs/<name>")
    tasks: dict[str, TaskConfig] = Field(description="task name -> task")
    datasets: dict[str, DatasetConfig] = Field(description="source name -> dataset")
    mixing: MixingConfig = Field(default_factory=MixingConfig)
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)

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
                raise _FieldError(name, f"a task name must be a Python identifier, got {name!r}")
        return value

    @field_validator("datasets")
    @classmethod
    def _some_datasets(cls, value):
        if not value:
            raise ValueError("expected at least one dataset")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        levels = {name: "token" if task.kind == "token_tagging" else "sentence" for name, task in self.tasks.items()}
        trained = set()
        for source, dataset in self.datasets.items():
            where = f"datasets.{source}"
            for task, column in dataset.tasks.items():
                if task not in self.tasks:
                    raise _FieldError(f"{where}.tasks.{task}", f"unknown task{_suggest(task, self.tasks)}")
                if dataset.reader == "joint_nlu" and _JOINT_NLU_COLUMNS[column] != levels[task]:
                    raise _FieldError(
                        f"{where}.tasks.{task}",
                        f"column {column!r} labels a {_JOINT_NLU_COLUMNS[column]} task, but {task!r} is "
                        f"{self.tasks[task].kind}",
                    )
                if dataset.reader == "delimited" and levels[task] == "token":
                    raise _FieldError(
                        f"{where}.tasks.{task}",
                        f"a delimited column holds one label per text; {task!r} is token_tagging (use joint_nlu, "
                        "conll or jsonl for tags)",
                    )
                if dataset.reader == "conll" and levels[task] != "token":
                    raise _FieldError(f"{where}.tasks.{task}", f"conll labels token tasks; {task!r} is {self.tasks[task].kind}")
                if dataset.train:
                    trained.add(task)
            pair_tasks = [task for task in dataset.tasks if self.tasks[task].pair]
            if pair_tasks and dataset.pair is None:
                raise _FieldError(f"{where}.pair", f"tasks {pair_tasks} read two texts: name the second text's column")
            if self.mixing.sampling == "weights" and dataset.weight is None and dataset.train:
                raise _FieldError(f"{where}.weight", "required when mixing.sampling is 'weights'")
            if self.mixing.sampling != "weights" and dataset.weight is not None:
                raise _FieldError(f"{where}.weight", "only used when mixing.sampling is 'weights'")
        for task in self.tasks:
            if task not in trained:
                raise _FieldError(f"tasks.{task}", "no dataset with a train split labels this task")
        if not self.training.shuffle and sum(1 for d in self.datasets.values() if d.train) > 1:
            raise _FieldError(
                "training.shuffle", "false needs a single training dataset (several are mixed by random sampling)"
            )
        if not self.training.shuffle and self.mixing.bucket:
            raise _FieldError(
                "training.shuffle", "false keeps file order only with mixing.bucket: false (bucketing reorders batches)"
            )
        has_valid = any(dataset.valid for dataset in self.datasets.values())
        monitor = self.training.monitor
        if monitor is not None:
            if monitor.startswith("val_") and not has_valid:
                raise _FieldError("training.monitor", f"{monitor!r} needs a valid split in some dataset")
            _check_monitor(monitor, self.tasks)
        if self.training.patience is not None and monitor is None and not has_valid:
            raise _FieldError("training.patience", "early stopping needs a valid split (or training.monitor)")
        _check_encoder(self.encoder)
        return self

    # === Derived values ===

    @property
    def monitor(self):
        """The log that picks the best epoch, and whether higher is better."""
        monitor = self.training.monitor
        if monitor is None:
            monitor = VALIDATION_PREFIX + SCORE if any(d.valid for d in self.datasets.values()) else "loss"
        return monitor, "min" if monitor.endswith(LOWER_IS_BETTER) else "max"

    @property
    def run_directory(self):
        return self.run_dir or f"runs/{self.name}"

    @property
    def export_name(self):
        return self.export.name or self.name

    @property
    def export_base_path(self):
        return self.export.base_path or f"saved_models/{self.export_name}"


class _FieldError(ValueError):
    """A validator's error about a field below the one being validated."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def _suggest(word, choices):
    close = difflib.get_close_matches(word, list(choices), n=1)
    known = ", ".join(choices)
    return f"; did you mean {close[0]!r}? (known: {known})" if close else f" (known: {known})"


def _check_monitor(monitor, tasks):
    """`[val_]loss`, `[val_]score`, or `[val_]<task>_<metric>` with a metric that the task's kind logs."""
    from mtkeras.names import split_log_key
    from mtkeras.tasks import task_kind

    split, task, metric = split_log_key(monitor, list(tasks))
    if task is None and metric in ("loss", SCORE):
        return
    if task is not None and metric in task_kind(tasks[task].kind).logged_metrics:
        return
    prefix = VALIDATION_PREFIX if split == "val" else ""
    choices = [prefix + "loss", prefix + SCORE] + [
        f"{prefix}{name}_{logged}" for name, spec in tasks.items() for logged in task_kind(spec.kind).logged_metrics
    ]
    raise _FieldError("training.monitor", f"{monitor!r} is not logged{_suggest(monitor, choices)}")


def _check_encoder(encoder):
    """Encoder options against the named encoder's arguments (from-scratch encoders)."""
    import inspect

    from mtkeras.encoders import ENCODERS
    from mtkeras.encoders.word_encoder import WordEncoder

    import os

    cls = ENCODERS.get(encoder.name)
    if cls is None:
        if encoder.name == "bert" and "preset" not in encoder.config:
            raise _FieldError("encoder.config.preset", "encoder bert needs the preset: a keras-hub or Hugging Face folder")
        if encoder.name in ("minilm", "bert"):
            return  # the package or folder is checked when the encoder is loaded
        if "/" in encoder.name or os.sep in encoder.name or encoder.name.startswith("."):
            if not os.path.isdir(encoder.name):
                raise _FieldError("encoder.name", f"no such preset folder: {encoder.name!r}")
            return
        raise _FieldError(
            "encoder.name",
            f"unknown encoder {encoder.name!r}; expected one of {', '.join(sorted(ENCODERS))}, minilm, bert "
            "or a preset directory",
        )
    known = set()
    for klass in cls.__mro__:
        if issubclass(klass, WordEncoder):
            known |= set(inspect.signature(klass.__init__).parameters) - {"self", "kwargs", "vocabulary_size", "first_singleton_id"}
    for option in encoder.config:
        if option not in known:
            raise _FieldError(f"encoder.config.{option}", f"not an option of {encoder.name}{_suggest(option, sorted(known))}")


# === Loading ===


def load_config(path, overrides=()):
    """Reads, checks and returns the `Config` in a YAML file.

    Args:
        path: str. The YAML file.
        overrides: list of `"dotted.field=value"` strings applied on top of
            the file (`--set` on the command line); values are YAML scalars
            or flow collections (`training.epochs=2`, `encoder.config={num_layers: 1}`).

    Raises:
        ConfigError: naming the file, line, field path and value of every
        problem found (unreadable YAML, unknown or missing fields, wrong types
        and values, fields that contradict each other).
    """
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config: {error.strerror or error}") from None
    return parse_config(text, path, overrides)


def parse_config(text, source="<config>", overrides=()):
    """`load_config` for YAML text already in memory; `source` names it in errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}:1: expected a mapping of sections (name, tasks, datasets, ...), got {_show(raw)}")
    _refuse_duplicate_keys(node, source)
    lines = _line_numbers(node)
    overridden = set()
    for override in overrides:
        overridden.add(_apply_override(raw, override))
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        problems = [_describe(item) for item in error.errors(include_url=False)]
        messages = []
        for loc, message in problems:
            field = ".".join(str(part) for part in loc)
            if field in overridden or any(field.startswith(o + ".") for o in overridden):
                where = "--set"
            else:
                where = f"{source}:{_line_of(lines, loc)}" if _line_of(lines, loc) else source
            messages.append(f"{where}: {field or '(top level)'}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(messages))) from None


def _apply_override(raw, override):
    field, sep, value = override.partition("=")
    field = field.strip()
    if not sep or not field or any(not part for part in field.split(".")):
        raise ConfigError(f"--set {override!r}: expected FIELD=VALUE, e.g. training.epochs=2")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
    parts = field.split(".")
    target = raw
    for i, part in enumerate(parts[:-1]):
        child = target.get(part)
        if child is None:
            child = target[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {override!r}: {'.'.join(parts[: i + 1])} is not a section")
        target = child
    target[parts[-1]] = parsed
    return field


def _refuse_duplicate_keys(node, source):
    """YAML lets a later key silently replace an earlier one (a second `training:`); a config may not."""
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if key.value in seen:
                raise ConfigError(
                    f"{source}:{key.start_mark.line + 1}: {key.value!r} appears twice (first at line {seen[key.value]})"
                )
            seen[key.value] = key.start_mark.line + 1
            _refuse_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, source)


def _line_numbers(node, path=()):
    """`{field path: 1-based line}` of every key and item in a composed YAML document."""
    lines = {}
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[path + (key.value,)] = key.start_mark.line + 1
            for sub, line in _line_numbers(value, path + (key.value,)).items():
                if sub != path + (key.value,):
                    lines[sub] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_numbers(item, path + (i,)))
    return lines


def _line_of(lines, loc):
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def _show(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(item):
    """`(field path, message)` of one pydantic error, in mtkeras' words."""
    loc = tuple(item["loc"])
    kind, ctx, value = item["type"], item.get("ctx") or {}, item.get("input")
    got = f", got {_show(value)}"
    if kind == "value_error":
        error = ctx.get("error")
        if isinstance(error, _FieldError):
            return loc + tuple(_split_field(error.field)), error.message
        return loc, str(error) if error is not None else item["msg"]
    if kind == "missing":
        return loc, "required field is missing"
    if kind == "extra_forbidden":
        siblings = _fields_at(loc[:-1])
        hint = _suggest(str(loc[-1]), siblings) if siblings else ""
        return loc, f"unknown field{hint}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        if isinstance(value, int) and bound == 0 and kind == "greater_than":
            return loc, f"expected a positive integer{got}" if _is_int_field(loc) else f"expected a number > 0{got}"
        sign = ">" if kind == "greater_than" else ">="
        bound = f"{bound:g}" if isinstance(bound, float) else bound
        return loc, f"expected a number {sign} {bound}{got}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if _is_positive(loc):
            return loc, f"expected a positive integer{got}"
        return loc, f"expected an integer{got}"
    if kind in ("float_type", "float_parsing"):
        return loc, f"expected a number{got}"
    if kind in ("bool_type", "bool_parsing"):
        return loc, f"expected true or false{got}"
    if kind in ("string_type",):
        return loc, f"expected a string{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, f"expected a mapping{got}"
    if kind in ("list_type",):
        return loc, f"expected a list{got}"
    if kind == "literal_error":
        return loc, f"expected one of {ctx.get('expected')}{got}"
    return loc, f"{item['msg']}{got}"


def _split_field(field):
    return [int(part) if part.lstrip("-").isdigit() else part for part in field.split(".")]


class _DictOf:
    """A dict of sections in the schema: the next part of a path is a key."""

    def __init__(self, model):
        self.model = model


def _walk(loc):
    """`(section, field info)` at the end of `loc` in the schema: the section
    class the path leads into (None for a leaf) and the last field's info."""
    import typing

    model, info = Config, None
    for part in loc:
        if isinstance(model, _DictOf):
            model = model.model
            continue
        if model is None or part not in model.model_fields:
            return None, None
        info = model.model_fields[part]
        annotation = info.annotation
        if typing.get_origin(annotation) is dict:
            value = typing.get_args(annotation)[1]
            model = _DictOf(value) if isinstance(value, type) and issubclass(value, BaseModel) else None
        else:
            args = [a for a in typing.get_args(annotation) if isinstance(a, type)] or [annotation]
            model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model, info


def _fields_at(loc):
    """The field names of the section at `loc` (for "did you mean")."""
    model, _ = _walk(loc)
    return list(model.model_fields) if model is not None and not isinstance(model, _DictOf) else []


def _is_int_field(loc):
    import typing

    info = _walk(loc)[1]
    if info is None:
        return False
    annotation = info.annotation
    return annotation in (int, StrictInt) or any(a in (int, StrictInt) for a in typing.get_args(annotation))


def _is_positive(loc):
    """An integer field declared `gt=0`."""
    info = _walk(loc)[1]
    return _is_int_field(loc) and any(getattr(m, "gt", None) == 0 for m in info.metadata)


def config_to_dict(config):
    """The config as plain data (every default filled in), for run directories and exports."""
    return config.model_dump(mode="json")


__all__ = ["Config", "ConfigError", "load_config", "parse_config", "config_to_dict", "TASK_KINDS", "READERS"]


def field_reference():
    """`[(field path, type, default, description)]` for every field of the schema (README's reference)."""
    import typing

    rows = []

    def type_name(annotation):
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:  # StrictInt
            return type_name(typing.get_args(annotation)[0])
        if origin is Literal:
            return " \\| ".join(str(a) for a in typing.get_args(annotation))
        if origin is typing.Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            return " \\| ".join(type_name(a) for a in args) + " \\| null"
        if origin is dict:
            return "mapping"
        if origin is list:
            return f"list of {type_name(typing.get_args(annotation)[0])}"
        return getattr(annotation, "__name__", str(annotation)).replace("Any", "any")

    def walk(model, prefix):
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            annotation = info.annotation
            value = typing.get_args(annotation)[1] if typing.get_origin(annotation) is dict else None
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, path + ".")
            elif isinstance(value, type) and issubclass(value, BaseModel):
                rows.append((path, f"mapping of name to {path.split('.')[-1][:-1]}", "required", info.description))
                walk(value, f"{path}.<name>.")
            else:
                if info.is_required():
                    default = "required"
                else:
                    value = info.default_factory() if info.default_factory is not None else info.default
                    default = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
                shown = (info.json_schema_extra or {}).get("shown_type") or type_name(annotation)
                rows.append((path, shown, default, info.description or ""))

    walk(Config, "")
    return rows
