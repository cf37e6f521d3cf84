"""Any number of labels per text: topics, tags, attributes."""

from typing import Any

import numpy as np
from pydantic import Field, field_validator

from mtkeras import names, results
from mtkeras.lazy import lazy_module
from mtkeras.names import UNKNOWN_LABEL_ID
from mtkeras.tasks.base import LABELLED_LOSS, ClassificationOptions, ClassificationTask, PairOption
from mtkeras.tasks.registry import register_task_kind

tf = lazy_module("tensorflow")
heads = lazy_module("mtkeras.heads")
losses = lazy_module("mtkeras.tasks.losses")
metrics = lazy_module("mtkeras.tasks.metrics")


class MultiLabelClassificationOptions(ClassificationOptions, PairOption):
    thresholds: Any = Field(0.5, json_schema_extra={"shown_type": "float \\| list of float"},
                            description="probability at which a label is on")
    separator: str = Field(",", description="joins several labels in one field")

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value):
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0.0 < item < 1.0:
                raise ValueError(f"expected a number in (0, 1) or a list of them, got {value!r}")
        if isinstance(value, list) and not value:
            raise ValueError("expected a number in (0, 1) or a list of them, got []")
        return value


@register_task_kind
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
    result_format = results.LABEL_SET
    Options = MultiLabelClassificationOptions

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
        self.threshold_values = np.array(values, dtype=np.float32)

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
        return heads.MultiLabelClassificationHead(self.num_labels, dropout=self.dropout, pair=self.pair, name=self.name)

    def loss(self):
        return losses.MaskedBinaryCrossentropy(label_smoothing=self.label_smoothing, name=f"{self.name}_loss")

    def metrics(self):
        return [
            metrics.MaskedBinaryAccuracy(self.threshold_values.tolist(), name="accuracy"),
            metrics.MaskedMicroF1(self.threshold_values.tolist(), name="micro_f1"),
            metrics.MaskedLossMean(self.loss(), name=LABELLED_LOSS),
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
        on = probs >= tf.constant(self.threshold_values)
        labels = tf.broadcast_to(tf.constant(self.labels), tf.shape(probs))
        return {
            names.labels_key(self.name): tf.where(on, labels, ""),
            names.probs_key(self.name): probs,
        }

    def predict_items(self, outputs, lengths, decode=True):
        return list(np.asarray(outputs) >= self.threshold_values)

    def score_items(self, items):
        gold = np.array(items.gold, dtype=bool).reshape(-1, self.num_labels)
        pred = np.array(items.pred, dtype=bool).reshape(-1, self.num_labels)
        tp = np.sum(gold & pred)
        fp, fn = np.sum(~gold & pred), np.sum(gold & ~pred)
        per_label = []
        for j in range(self.num_labels):
            if gold[:, j].any() or pred[:, j].any():
                hits = np.sum(gold[:, j] & pred[:, j])
                per_label.append(2 * hits / (2 * hits + np.sum(~gold[:, j] & pred[:, j]) + np.sum(gold[:, j] & ~pred[:, j])))
        return {
            "examples": len(gold),
            "exact_match": float(np.mean(np.all(gold == pred, axis=1))) if len(gold) else float("nan"),
            "micro_f1": float(2 * tp / (2 * tp + fp + fn)) if (tp + fp + fn) else float("nan"),
            "macro_f1": float(np.mean(per_label)) if per_label else float("nan"),
        }

    def item_is_right(self, gold, pred, mask):
        return bool(np.array_equal(np.asarray(gold) > 0.5, np.asarray(pred)))

    def text_counts(self, items):
        """Per text: labels right, wrongly on, wrongly off: `micro_f1`."""
        gold = np.array(items.gold, dtype=bool).reshape(-1, self.num_labels)
        pred = np.array(items.pred, dtype=bool).reshape(-1, self.num_labels)
        return np.stack([np.sum(gold & pred, axis=1), np.sum(~gold & pred, axis=1), np.sum(gold & ~pred, axis=1)],
                        axis=-1).astype(np.float64)

    def score_of_counts(self, sums):
        sums = np.asarray(sums, np.float64)
        found = 2.0 * sums[..., 0] + sums[..., 1] + sums[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(found > 0, 2.0 * sums[..., 0] / found, np.nan)  # no label on or gold: no score

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds, "separator": self.separator}


def _split(value, separator):
    if isinstance(value, str):
        return [label.strip() for label in value.split(separator) if label.strip()]
    return list(value)
