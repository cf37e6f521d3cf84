"""Any number of labels per text: topics, tags, attributes."""

import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.heads import MultiLabelClassificationHead
from mtkeras.tasks.base import LABELLED_LOSS, UNKNOWN_LABEL_ID, ClassificationTask, register_task
from mtkeras.tasks.losses import MaskedBinaryCrossentropy
from mtkeras.tasks.metrics import MaskedBinaryAccuracy, MaskedLossMean, MaskedMicroF1


@register_task
class MultiLabelClassification(ClassificationTask):
    """Any number of labels per text, each decided on its own (sigmoid).

    Model output `[B, C]` independent probabilities. Data: a list of labels
    per example (or one string of labels joined by `separator`; an empty list
    is a valid label: none applies). Exported: `<name>_labels` (string
    `[B, C]`: the label where its probability reaches its threshold, "" where
    not) and `<name>_probs`.

    Args:
        name, labels, loss_weight, dropout, label_smoothing: as for every
            classification task.
        thresholds: float, or list of one float per label. Probability at
            which a label is on.
        separator: str. Splits a label string into labels.

    Example:
    >>> topics = MultiLabelClassification("topics", ["music", "sports", "news"], thresholds=0.4)
    """

    kind = "multi_label_classification"
    logged_metrics = ("accuracy", "micro_f1", "loss")
    score_metric = "micro_f1"

    def __init__(self, name, labels, thresholds=0.5, separator=",", **kwargs):
        super().__init__(name, labels, **kwargs)
        values = [thresholds] * self.num_labels if isinstance(thresholds, (int, float)) else list(thresholds)
        if len(values) != self.num_labels or not all(0.0 < float(t) < 1.0 for t in values):
            raise ValueError(
                f"Task {name!r}: `thresholds` must be a float in (0, 1) or one per label "
                f"({self.num_labels}). Received: thresholds={thresholds!r}"
            )
        self.thresholds = thresholds
        self.separator = separator
        self._threshold_values = np.array(values, dtype=np.float32)

    @classmethod
    def from_examples(cls, name, examples, separator=",", **kwargs):
        """Declares the task with the labels that `examples` carry (sorted)."""
        seen = set()
        for ex in examples:
            if name in ex.labels:
                seen |= set(_split(ex.labels[name], separator))
        if not seen:
            raise ValueError(f"No example has a label for task {name!r}")
        return cls(name, labels=sorted(seen), separator=separator, **kwargs)

    def build_head(self):
        return MultiLabelClassificationHead(self.num_labels, dropout=self.dropout, pair=self.pair, name=self.name)

    def loss(self):
        return MaskedBinaryCrossentropy(label_smoothing=self.label_smoothing, name=f"{self.name}_loss")

    def metrics(self):
        return [
            MaskedBinaryAccuracy(self._threshold_values.tolist(), name="accuracy"),
            MaskedMicroF1(self._threshold_values.tolist(), name="micro_f1"),
            MaskedLossMean(self.loss(), name=LABELLED_LOSS),
        ]

    def encode(self, value, num_words, source="", unknown="raise"):
        """Multi-hot targets `[C]` and the example's weight."""
        target = np.zeros([self.num_labels], np.float32)
        if value is None:
            return target, np.float32(0.0)
        for label in _split(value, self.separator):
            index = self.label_id(label, source, unknown)
            if index != UNKNOWN_LABEL_ID:
                target[index] = 1.0
        return target, np.float32(1.0)

    def export_outputs(self, probs, lengths):
        on = probs >= tf.constant(self._threshold_values)
        labels = tf.broadcast_to(tf.constant(self.labels), tf.shape(probs))
        return {
            names.labels_key(self.name): tf.where(on, labels, ""),
            names.probs_key(self.name): probs,
        }

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds, "separator": self.separator}


def _split(value, separator):
    if isinstance(value, str):
        return [label.strip() for label in value.split(separator) if label.strip()]
    return list(value)
