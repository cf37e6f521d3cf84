"""One label per text: topic, intent, sentiment."""

from typing import Optional

import numpy as np
from pydantic import Field

from mtkeras import names, results
from mtkeras.lazy import lazy_module
from mtkeras.tasks.calibration import expected_calibration_error, with_temperature
from mtkeras.tasks.base import ClassificationOptions, ClassificationTask, PairOption
from mtkeras.tasks.registry import register_task_kind
from mtkeras.tasks.scores import accuracy, confusion_matrix, macro_f1

tf = lazy_module("tensorflow")
heads = lazy_module("mtkeras.heads")


class SentenceClassificationOptions(ClassificationOptions, PairOption):
    calibrate: bool = Field(True, description="fit a temperature on the valid split after training, so that scores are calibrated")
    fallback_label: Optional[str] = Field(None, description="answered instead of the best label when its score is below fallback_threshold (e.g. out_of_scope)")
    fallback_threshold: float = Field(0.5, gt=0, lt=1, description="with fallback_label: the (calibrated) score below which the fallback label is answered")


@register_task_kind
class SentenceClassification(ClassificationTask):
    """One label per text: topic, intent, sentiment.

    Model output `[B, C]` probabilities. Data: one label string per example.
    Exported: `<name>_label` (string), `<name>_score` and `<name>_probs`.
    Evaluation: `accuracy`, `macro_f1` (over the labels seen in gold or
    predictions) and `confusion`.

    Example:
    >>> intent = SentenceClassification("intent", labels=["BookRestaurant", "GetWeather"])
    >>> intent = SentenceClassification.from_examples("intent", train)  # labels seen in train
    """

    kind = "sentence_classification"
    result_format = results.LABEL
    Options = SentenceClassificationOptions

    def __init__(self, name, labels, temperature=1.0, calibrate=True, fallback_label=None, fallback_threshold=0.5,
                 **kwargs):
        super().__init__(name, labels, **kwargs)
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
            raise ValueError(f"Task {name!r}: `temperature` must be a number > 0. Received: temperature={temperature!r}")
        if fallback_label is not None and (not isinstance(fallback_label, str) or not fallback_label):
            raise ValueError(f"Task {name!r}: `fallback_label` must be a non-empty string. Received: {fallback_label!r}")
        if not isinstance(fallback_threshold, (int, float)) or not 0.0 < fallback_threshold < 1.0:
            raise ValueError(
                f"Task {name!r}: `fallback_threshold` must be in (0, 1). Received: fallback_threshold={fallback_threshold!r}"
            )
        # Divides the logits (log-probabilities) in the answers; fitted on the valid split after training
        # (`mtkeras.evaluation.calibrate`). The model's own outputs stay as trained.
        self.temperature = float(temperature)
        self.calibrate = bool(calibrate)
        self.fallback_label = fallback_label
        self.fallback_threshold = float(fallback_threshold)

    @classmethod
    def from_examples(cls, name, examples, **kwargs):
        """Declares the task with the labels that `examples` carry (sorted)."""
        labels = sorted({ex.labels[name] for ex in examples if name in ex.labels})
        if not labels:
            raise ValueError(f"No example has a label for task {name!r}")
        return cls(name, labels=labels, **kwargs)

    def build_head(self):
        return heads.SentenceClassificationHead(self.num_labels, dropout=self.dropout, pair=self.pair, name=self.name)

    def encode(self, value, num_words, source="", unknown="raise"):
        if value is None:
            return np.int32(0), np.float32(0.0)
        return np.int32(self.label_id(value, source, unknown)), np.float32(1.0)

    def export_outputs(self, probs, lengths):
        """The best label, its score and every probability, with the task's temperature and fallback."""
        if self.temperature != 1.0:
            probs = tf.nn.softmax(tf.math.log(tf.maximum(probs, 1e-12)) / self.temperature, axis=-1)
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        score = tf.reduce_max(probs, axis=-1)
        label = tf.gather(tf.constant(self.labels), best)
        if self.fallback_label is not None:
            label = tf.where(score < self.fallback_threshold, tf.constant(self.fallback_label), label)
        return {names.label_key(self.name): label, names.score_key(self.name): score, names.probs_key(self.name): probs}

    def predict_items(self, outputs, lengths, decode=True):
        return list(np.argmax(outputs, axis=-1).astype(np.int32))

    def score_items(self, items):
        gold_names = [given if given is not None else self.label_name(gold) for gold, given in zip(items.gold, items.gold_names)]
        scores = {
            "examples": len(items.gold),
            "accuracy": accuracy(items.gold, items.pred),
            "macro_f1": macro_f1(gold_names, [self.labels[p] for p in items.pred]),
        }
        known = [i for i, gold in enumerate(items.gold) if gold >= 0]
        if items.probs and known:
            probs = np.asarray([items.probs[i] for i in known])
            gold = [items.gold[i] for i in known]
            # Expected calibration error of the answers' scores (with the task's temperature) and of the model's.
            scores["ece"] = expected_calibration_error(with_temperature(probs, self.temperature), gold)
            if self.temperature != 1.0:
                scores["ece_uncalibrated"] = expected_calibration_error(probs, gold)
                scores["temperature"] = self.temperature
        scores["confusion"] = confusion_matrix(self.labels, items.gold, items.pred)
        return scores

    def get_config(self):
        return {
            **super().get_config(),
            "temperature": self.temperature,
            "calibrate": self.calibrate,
            "fallback_label": self.fallback_label,
            "fallback_threshold": self.fallback_threshold,
        }

    def item_is_right(self, gold, pred, mask):
        return gold != names.UNKNOWN_LABEL_ID and gold == pred

    def text_counts(self, items):
        """Per text: right (1 or 0), and 1 (a text): `accuracy` is their ratio."""
        right = np.asarray(items.gold) == np.asarray(items.pred)
        return np.stack([right, np.ones_like(right)], axis=-1).astype(np.float64).reshape(-1, 2)

    def score_of_counts(self, sums):
        sums = np.asarray(sums, np.float64)
        return sums[..., 0] / sums[..., 1]
