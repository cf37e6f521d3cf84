"""Tasks: declared once, they drive the head, loss, metrics, data and export.

A task has a name (the key of its model output, labels and exported tensors),
a kind (its class), a label vocabulary and a loss weight. Adding a task kind
means adding one class here.

Example:
>>> intent = SentenceClassification("intent", labels=["BookRestaurant", "GetWeather"])
>>> slots = TokenTagging("slots", labels=["O", "B-city", "I-city"])
>>> model = mtkeras.build_model([intent, slots], texts=train_texts)
"""

import keras
import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.heads import SentenceClassificationHead, TokenClassificationHead
from mtkeras.training.losses import MaskedSparseCategoricalCrossentropy
from mtkeras.training.metrics import MaskedAccuracy, MaskedLossMean

# Name of each task's exact loss metric; the model reports it as `<task>_loss`.
LABELLED_LOSS = "labelled_loss"

_TASK_KINDS = {}

# Id of a label outside the task's vocabulary (seen in evaluation data, never
# in training): the loss leaves it out, metrics count it as an error.
UNKNOWN_LABEL_ID = -1


def _register(cls):
    _TASK_KINDS[cls.kind] = cls
    return cls


class Task:
    """Base class of task kinds.

    Args:
        name: str. A Python identifier; names the model output and tensors.
        labels: list of str. The label vocabulary; ids follow this order.
        loss_weight: float. Weight of this task's loss in the total loss.
        dropout: float. Dropout before the task's output layer.
    """

    kind = None

    def __init__(self, name, labels, loss_weight=1.0, dropout=0.1):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                "Received an invalid task `name`, expected a Python identifier "
                f"(letters, digits, underscores). Received: name={name!r}"
            )
        labels = list(labels)
        if not labels or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(
                f"Task {name!r}: `labels` must be a non-empty list of non-empty "
                f"strings. Received: labels={labels[:5]!r}"
            )
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"Task {name!r}: duplicate labels {duplicates}")
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"Task {name!r}: `dropout` must be a float in [0, 1). Received: dropout={dropout!r}"
            )
        if not isinstance(loss_weight, (int, float)) or loss_weight < 0:
            raise ValueError(
                f"Task {name!r}: `loss_weight` must be a number >= 0. "
                f"Received: loss_weight={loss_weight!r}"
            )
        self.name = name
        self.labels = labels
        self.loss_weight = float(loss_weight)
        self.dropout = dropout
        self._label_ids = {label: i for i, label in enumerate(labels)}

    @property
    def num_labels(self):
        return len(self.labels)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, labels=<{self.num_labels}>, loss_weight={self.loss_weight})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    # === Model ===
    def build_head(self):
        raise NotImplementedError

    def loss(self):
        return MaskedSparseCategoricalCrossentropy(name=f"{self.name}_loss")

    def metrics(self):
        """Weighted metrics: accuracy and the exact loss, over labelled items."""
        return [MaskedAccuracy(name="accuracy"), MaskedLossMean(self.loss(), name=LABELLED_LOSS)]

    # === Data ===
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

    # === Export ===
    def export_outputs(self, probs, lengths):
        """Named serving outputs from this task's probabilities."""
        raise NotImplementedError

    # === Config ===
    def get_config(self):
        return {
            "kind": self.kind,
            "name": self.name,
            "labels": list(self.labels),
            "loss_weight": self.loss_weight,
            "dropout": self.dropout,
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


@_register
class SentenceClassification(Task):
    """One label per text: topic, intent, sentiment.

    Model output `[B, C]` probabilities. Data: one label string per example.
    Exported: `<name>_label` (string), `<name>_score` and `<name>_probs`.
    """

    kind = "sentence_classification"

    @classmethod
    def from_examples(cls, name, examples, **kwargs):
        """Declares the task with the labels that `examples` carry (sorted)."""
        labels = sorted({ex.labels[name] for ex in examples if name in ex.labels})
        if not labels:
            raise ValueError(f"No example has a label for task {name!r}")
        return cls(name, labels=labels, **kwargs)

    def build_head(self):
        return SentenceClassificationHead(self.num_labels, dropout=self.dropout, name=self.name)

    def encode(self, value, num_words, source="", unknown="raise"):
        """Label id and weight for one example (`value` None: missing label)."""
        if value is None:
            return np.int32(0), np.float32(0.0)
        return np.int32(self.label_id(value, source, unknown)), np.float32(1.0)

    def export_outputs(self, probs, lengths):
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {
            names.label_key(self.name): tf.gather(tf.constant(self.labels), best),
            names.score_key(self.name): tf.reduce_max(probs, axis=-1),
            names.probs_key(self.name): probs,
        }


@_register
class TokenTagging(Task):
    """One tag per word: named entities, slot filling (BIO tags).

    Model output `[B, T, C]` probabilities. Data: one tag per word. Exported:
    `<name>_tags` (string `[B, T]`, "" past each text's length) and
    `<name>_probs`.
    """

    kind = "token_tagging"

    @classmethod
    def from_examples(cls, name, examples, **kwargs):
        """Declares the task with the tags that `examples` carry ("O" first).

        The BIO set is completed: every `B-x` brings `I-x`, which a word split
        into several model words needs even when the data never shows it.
        """
        tags = {tag for ex in examples if name in ex.labels for tag in ex.labels[name]}
        if not tags:
            raise ValueError(f"No example has tags for task {name!r}")
        tags |= {continuation_tag(tag) for tag in tags}
        labels = (["O"] if "O" in tags else []) + sorted(tags - {"O"})
        return cls(name, labels=labels, **kwargs)

    def build_head(self):
        return TokenClassificationHead(self.num_labels, dropout=self.dropout, name=self.name)

    def encode(self, value, num_words, source="", unknown="raise"):
        """Tag ids and weights `[num_words]` for one example's aligned tags."""
        if value is None:
            return np.zeros([num_words], np.int32), np.zeros([num_words], np.float32)
        if len(value) != num_words:
            raise ValueError(
                f"{source}: task {self.name!r} has {len(value)} tags for {num_words} words"
            )
        ids = np.array([self.label_id(tag, source, unknown) for tag in value], dtype=np.int32)
        return ids, np.ones([num_words], np.float32)

    def export_outputs(self, probs, lengths):
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        tags = tf.gather(tf.constant(self.labels), best)
        real = tf.sequence_mask(lengths, maxlen=tf.shape(best)[1])
        return {
            names.tags_key(self.name): tf.where(real, tags, ""),
            names.probs_key(self.name): probs,
        }


def continuation_tag(tag):
    """The tag of a word piece that follows `tag` inside the same data word.

    "B-city" and "I-city" continue as "I-city"; anything else continues as is.
    """
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
        return "I-" + tag[2:]
    return tag


def bio_entities(words, tags):
    """Groups BIO-tagged words into `(type, text)` entities.

    An `I-x` that does not continue an `x` entity starts a new one (the
    conlleval reading), so no tagged word is dropped.

    Example:
    >>> bio_entities(["for", "two", "at", "8", "pm"], ["O", "B-party_size", "O", "B-time", "I-time"])
    [('party_size', 'two'), ('time', '8 pm')]
    """
    entities = []
    current = None
    for word, tag in zip(words, tags):
        prefix, _, kind = tag.partition("-")
        if prefix in ("B", "I") and kind:
            if prefix == "I" and current is not None and current[0] == kind:
                current[1].append(word)
                continue
            current = (kind, [word])
            entities.append(current)
        else:
            current = None
    return [(kind, " ".join(span)) for kind, span in entities]


__all__ = [
    "bio_entities","SentenceClassification", "Task", "TokenTagging", "continuation_tag"]
