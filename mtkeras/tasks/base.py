"""The task contract: one declaration drives head, loss, metrics, data, export, evaluation.

A task kind is a `Task` subclass, registered by its `kind` string
(`mtkeras.tasks.register_task_kind`). It declares:

| what | how |
|---|---|
| its options in a config | `Options`, a pydantic model (`tasks.<name>.<option>` in YAML) |
| the model | `build_head`, `loss`, `metrics`, `logged_metrics`, `score_metric` |
| the data | `level` (a label per text or per word), `encode` |
| the export | `export_outputs`, and `result_format`, how a client reads them |
| evaluation | `predict_items`, `score_items`, `item_is_right`; `text_counts`, `score_of_counts` (optional) |
"""

from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from mtkeras.lazy import lazy_module
from mtkeras.names import SENTENCE, UNKNOWN_LABEL, UNKNOWN_LABEL_ID
from mtkeras.tasks.registry import register_task_kind, task_kind

# Keras classes, imported when a task first builds its loss or metrics (a config is checked without them).
losses = lazy_module("mtkeras.tasks.losses")
metrics = lazy_module("mtkeras.tasks.metrics")
private_layers = lazy_module("mtkeras.heads.private_layers")

# Name of each task's exact loss metric; the model reports it as `<task>_loss`.
LABELLED_LOSS = "labelled_loss"

# The decorator's earlier name.
register_task = register_task_kind


def _fraction(value):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"expected a number in [0, 1), got {value!r}")
    return value


# A share of something, in [0, 1): dropout, label smoothing.
Fraction = Annotated[float, AfterValidator(_fraction)]


class PrivateLayersOptions(BaseModel):
    """A task's own layers between the shared encoder and its head (`mtkeras.heads.TaskPrivateLayers`)."""

    model_config = ConfigDict(extra="forbid")

    sequence: Optional[Literal["bilstm", "transformer", "feedforward"]] = Field(
        None, description="layers over the words: bilstm, transformer, or feedforward (each word on its own)")
    units: StrictInt = Field(128, gt=0, description="BiLSTM units per direction, the Transformer's feed-forward width, or the feed-forward layer's width")
    heads: StrictInt = Field(4, gt=0, description="Transformer attention heads")
    layers: StrictInt = Field(1, gt=0, description="sequence layers, stacked")
    dense: list[Annotated[StrictInt, Field(gt=0)]] = Field(default_factory=list, description="widths of dense layers over the pooled vector")
    dropout: Fraction = Field(0.1, description="dropout after each private layer")
    width: Optional[Annotated[StrictInt, Field(gt=0)]] = Field(
        None, description="project the shared words to this width before the sequence layers (PALs); null: the encoder's width")
    pooling: Optional[Literal["mean", "max", "attention"]] = Field(
        None, description="how the task sums a text up from its words: mean, max, or attention (weights it learns); "
        "null: the mean after sequence layers, else the encoder's pooled vector")

    @model_validator(mode="after")
    def _some_layer(self):
        if self.sequence is None and not self.dense and self.pooling is None:
            raise ValueError("give sequence layers (sequence: bilstm, transformer or feedforward), dense layers, "
                             "a pooling, or several")
        if self.width is not None and self.sequence is None:
            raise ValueError(f"width: {self.width} projects the words for sequence layers; give sequence: bilstm, "
                             "transformer or feedforward, or leave width out")
        if self.sequence == "transformer" and self.width is not None and self.width % self.heads:
            raise ValueError(f"heads: {self.heads} must divide width: {self.width} (each attention head reads an "
                             "equal share of the projected words)")
        return self


class TaskOptions(BaseModel):
    """What every task kind takes in a config, beside `kind` and the labels."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    loss_weight: float = Field(1.0, ge=0, description="weight of this task's loss")
    dropout: Fraction = Field(0.1, description="dropout before the output layer, in [0, 1)")
    private: Optional[PrivateLayersOptions] = Field(None, description="the task's own layers between the shared encoder and its head")


class PairOption(BaseModel):
    """The option of the kinds that can read two texts."""

    pair: bool = Field(False, description="the task reads two texts (NLI, similarity)")


class Task:
    """Base class of task kinds.

    A task has a name (the key of its model output, labels, weights and
    exported tensors), a kind (its class), a loss weight and the dropout
    before its output layer. Subclasses define the head, the loss, the
    metrics, how a label becomes arrays (`encode`) and the exported outputs.

    Args:
        name: str. A Python identifier.
        loss_weight: float. Weight of this task's loss in the total loss.
        dropout: float. Dropout before the task's output layer.
        pair: bool. The task reads two texts (`Example.pair`): the shared
            encoder reads each, and the head combines both (NLI, similarity).
        private: dict or None. The task's own layers between the shared
            encoder and its head: `TaskPrivateLayers` arguments, e.g.
            `{"sequence": "bilstm", "units": 128}` or `{"dense": [256]}`.
    """

    kind = None
    level = SENTENCE
    # What `fit` logs for the task, as `<task>_<metric>` (and `val_<task>_<metric>`).
    logged_metrics = ("loss",)
    # The logged metric, higher is better, that stands for the task in the
    # model's `score` log (the mean over tasks; see `MultiTaskModel`).
    score_metric = None
    # How clients read the task's exported outputs (`mtkeras.results`).
    result_format = None
    # The task's options in a config (`tasks.<name>`), checked when it loads.
    Options = TaskOptions

    def __init__(self, name, loss_weight=1.0, dropout=0.1, pair=False, private=None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                "Received an invalid task `name`, expected a Python identifier "
                f"(letters, digits, underscores). Received: name={name!r}"
            )
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"Task {name!r}: `dropout` must be a float in [0, 1). Received: dropout={dropout!r}")
        if not isinstance(loss_weight, (int, float)) or loss_weight < 0:
            raise ValueError(
                f"Task {name!r}: `loss_weight` must be a number >= 0. Received: loss_weight={loss_weight!r}"
            )
        if pair not in (True, False):
            raise ValueError(f"Task {name!r}: `pair` must be True or False. Received: pair={pair!r}")
        if pair and self.level != SENTENCE:
            raise ValueError(f"Task {name!r}: {type(self).__name__} reads one text; it cannot take pair=True")
        if private is not None:
            if isinstance(private, BaseModel):
                private = private.model_dump(exclude_unset=True)
            try:
                PrivateLayersOptions(**private)
            except (TypeError, ValidationError) as error:
                raise ValueError(f"Task {name!r}: invalid `private` layers {private!r}: {error}") from None
            private = dict(private)
        self.name = name
        self.loss_weight = float(loss_weight)
        self.dropout = dropout
        self.pair = pair
        self.private = private

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, loss_weight={self.loss_weight})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    # === Model ===
    def build_head(self):
        raise NotImplementedError

    def build_private_layers(self):
        """The task's own layers between the shared encoder and its head, or None."""
        if self.private is None:
            return None
        return private_layers.TaskPrivateLayers(**self.private, name=f"{self.name}_private")

    def loss(self):
        raise NotImplementedError

    def metrics(self):
        """Weighted metrics over labelled items; always includes the exact loss."""
        return [metrics.MaskedLossMean(self.loss(), name=LABELLED_LOSS)]

    # === Data ===
    def encode(self, value, num_words, source="", unknown="raise"):
        """Arrays `(target, weight)` for one example; `value` None: unlabelled."""
        raise NotImplementedError

    # === Export ===
    def export_outputs(self, prediction, lengths):
        """Named serving outputs from this task's model output.

        Traced without autograph (the export and `mtkeras.predict`): write graph code as it runs, with
        `tf.cond`, `tf.while_loop` or `tf.scan` where a branch or loop depends on a tensor's value.
        """
        raise NotImplementedError

    # === Evaluation ===
    def predict_items(self, outputs, lengths, decode=True):
        """Per-text predictions from a batch of model outputs (numpy) and each text's word count."""
        raise NotImplementedError

    def score_items(self, items):
        """Metrics of the labelled texts gathered by `mtkeras.evaluate`.

        `items` has `gold`, `pred`, `mask` and `gold_names`, one entry per
        labelled text (see `mtkeras.evaluation.TaskItems`).
        """
        raise NotImplementedError

    def item_is_right(self, gold, pred, mask):
        """Whether one text's prediction is right, for `sentence_accuracy`; None: the kind has no right answer."""
        return None

    def text_counts(self, items):
        """`score_metric` as a sum over texts: float `[N, k]`, k counts per labelled text of `items`.

        `score_of_counts` turns the counts summed over any texts into their
        score, so texts can be drawn again and again without scoring them
        again (`mtkeras.evaluation.paired_bootstrap`). None (the default):
        each draw is scored with `score_items`, as a score that is no such
        sum (a macro average, a correlation) must be.
        """
        return None

    def score_of_counts(self, sums):
        """The `score_metric` of `text_counts` summed over texts: `[..., k]` to `[...]`."""
        raise NotImplementedError

    # === Config ===
    def get_config(self):
        return {
            "kind": self.kind,
            "name": self.name,
            "loss_weight": self.loss_weight,
            "dropout": self.dropout,
            "pair": self.pair,
            **({"private": dict(self.private)} if self.private is not None else {}),
        }

    @staticmethod
    def from_config(config):
        config = dict(config)
        kind = config.pop("kind", None)
        try:
            cls = task_kind(kind)
        except ValueError as error:
            raise ValueError(f"Task config {config.get('name')!r}: {error}") from None
        return cls(**config)

    @classmethod
    def from_options(cls, name, options, examples):
        """The task a config declares: `options` (an `Options`), labels from `examples` where needed.

        Only the options the config sets are passed, so the class's defaults
        apply to the others.
        """
        return cls(name, **options.model_dump(exclude_unset=True))


class ClassificationOptions(TaskOptions):
    labels: Optional[list[str]] = Field(None, description="label vocabulary; default: the labels in the training data")
    label_smoothing: Fraction = Field(0.0, description="mass spread over all labels, in [0, 1)")


class ClassificationTask(Task):
    """A task with a label vocabulary.

    Args:
        name: str. A Python identifier.
        labels: list of str. The label vocabulary; ids follow this order.
        loss_weight: float. Weight of this task's loss in the total loss.
        dropout: float. Dropout before the task's output layer.
        label_smoothing: float in [0, 1). Mass spread evenly over all labels.
    """

    logged_metrics = ("accuracy", "loss")
    score_metric = "accuracy"
    Options = ClassificationOptions

    def __init__(self, name, labels, loss_weight=1.0, dropout=0.1, label_smoothing=0.0, pair=False, private=None):
        super().__init__(name, loss_weight=loss_weight, dropout=dropout, pair=pair, private=private)
        labels = list(labels)
        if not labels or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(
                f"Task {name!r}: `labels` must be a non-empty list of non-empty strings. "
                f"Received: labels={labels[:5]!r}"
            )
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"Task {name!r}: duplicate labels {duplicates}")
        if not isinstance(label_smoothing, (int, float)) or not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"Task {name!r}: `label_smoothing` must be a float in [0, 1). "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        self.labels = labels
        self.label_smoothing = label_smoothing
        self._label_ids = {label: i for i, label in enumerate(labels)}

    @property
    def num_labels(self):
        return len(self.labels)

    def __repr__(self):
        return (
            f"{type(self).__name__}(name={self.name!r}, labels=<{self.num_labels}>, "
            f"loss_weight={self.loss_weight})"
        )

    def loss(self):
        """Cross-entropy over one softmax per item (kinds with other outputs override it)."""
        return losses.MaskedSparseCategoricalCrossentropy(label_smoothing=self.label_smoothing, name=f"{self.name}_loss")

    def metrics(self):
        return [metrics.MaskedAccuracy(name="accuracy"), *super().metrics()]

    def label_id(self, label, source="", unknown="raise"):
        """Maps a label to its id.

        An unknown label raises an error naming `source`, or with
        `unknown="error"` gets `UNKNOWN_LABEL_ID`.
        """
        try:
            return self._label_ids[label]
        except KeyError:
            if unknown == "error":
                return UNKNOWN_LABEL_ID
            where = f"{source}: " if source else ""
            raise ValueError(
                f"{where}label {label!r} of task {self.name!r} is not in its "
                f"vocabulary ({self.num_labels} labels, e.g. {self.labels[:5]})"
            ) from None

    @classmethod
    def from_options(cls, name, options, examples):
        """With `labels` from the options, else the labels `examples` carry (`from_examples`)."""
        given = options.model_dump(exclude_unset=True)
        labels = given.pop("labels", None)
        if labels is not None:
            return cls(name, labels=labels, **given)
        return cls.from_examples(name, examples, **given)

    def label_name(self, label_id):
        """The label of an id; `UNKNOWN_LABEL` for the id of a label outside the vocabulary."""
        return self.labels[label_id] if label_id >= 0 else UNKNOWN_LABEL

    def get_config(self):
        return {**super().get_config(), "labels": list(self.labels), "label_smoothing": self.label_smoothing}
