"""The task contract: one declaration drives head, loss, metrics, data, export."""

from mtkeras.tasks.losses import MaskedSparseCategoricalCrossentropy
from mtkeras.tasks.metrics import MaskedAccuracy, MaskedLossMean

# Name of each task's exact loss metric; the model reports it as `<task>_loss`.
LABELLED_LOSS = "labelled_loss"

# Id of a label outside the task's vocabulary (seen in evaluation data, never
# in training): the loss leaves it out, metrics count it as an error.
UNKNOWN_LABEL_ID = -1

# Data level of a task: one label per text, or one per word.
SENTENCE = "sentence"
TOKEN = "token"

_TASK_KINDS = {}


def register_task(cls):
    """Class decorator: makes a task kind known to `Task.from_config`."""
    _TASK_KINDS[cls.kind] = cls
    return cls


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
    """

    kind = None
    level = SENTENCE
    # What `fit` logs for the task, as `<task>_<metric>` (and `val_<task>_<metric>`).
    logged_metrics = ("loss",)
    # The logged metric, higher is better, that stands for the task in the
    # model's `score` log (the mean over tasks; see `MultiTaskModel`).
    score_metric = None

    def __init__(self, name, loss_weight=1.0, dropout=0.1, pair=False):
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
        self.name = name
        self.loss_weight = float(loss_weight)
        self.dropout = dropout
        self.pair = pair

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, loss_weight={self.loss_weight})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    # === Model ===
    def build_head(self):
        raise NotImplementedError

    def loss(self):
        raise NotImplementedError

    def metrics(self):
        """Weighted metrics over labelled items; always includes the exact loss."""
        return [MaskedLossMean(self.loss(), name=LABELLED_LOSS)]

    # === Data ===
    def encode(self, value, num_words, source="", unknown="raise"):
        """Arrays `(target, weight)` for one example; `value` None: unlabelled."""
        raise NotImplementedError

    # === Export ===
    def export_outputs(self, prediction, lengths):
        """Named serving outputs from this task's model output."""
        raise NotImplementedError

    # === Config ===
    def get_config(self):
        return {
            "kind": self.kind,
            "name": self.name,
            "loss_weight": self.loss_weight,
            "dropout": self.dropout,
            "pair": self.pair,
        }

    @staticmethod
    def from_config(config):
        config = dict(config)
        kind = config.pop("kind", None)
        if kind not in _TASK_KINDS:
            raise ValueError(
                f"Unknown task kind {kind!r} in task config {config.get('name')!r}. "
                f"Known kinds: {sorted(_TASK_KINDS)}"
            )
        return _TASK_KINDS[kind](**config)


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

    def __init__(self, name, labels, loss_weight=1.0, dropout=0.1, label_smoothing=0.0, pair=False):
        super().__init__(name, loss_weight=loss_weight, dropout=dropout, pair=pair)
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
        return MaskedSparseCategoricalCrossentropy(label_smoothing=self.label_smoothing, name=f"{self.name}_loss")

    def metrics(self):
        return [MaskedAccuracy(name="accuracy"), *super().metrics()]

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

    def get_config(self):
        return {**super().get_config(), "labels": list(self.labels), "label_smoothing": self.label_smoothing}
