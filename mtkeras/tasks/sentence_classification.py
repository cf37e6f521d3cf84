"""One label per text: topic, intent, sentiment."""

import numpy as np
import tensorflow as tf

from mtkeras import names, results
from mtkeras.heads import SentenceClassificationHead
from mtkeras.tasks.base import ClassificationOptions, ClassificationTask, PairOption
from mtkeras.tasks.registry import register_task_kind
from mtkeras.tasks.scores import accuracy, confusion_matrix, macro_f1


class SentenceClassificationOptions(ClassificationOptions, PairOption):
    pass


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

    @classmethod
    def from_examples(cls, name, examples, **kwargs):
        """Declares the task with the labels that `examples` carry (sorted)."""
        labels = sorted({ex.labels[name] for ex in examples if name in ex.labels})
        if not labels:
            raise ValueError(f"No example has a label for task {name!r}")
        return cls(name, labels=labels, **kwargs)

    def build_head(self):
        return SentenceClassificationHead(self.num_labels, dropout=self.dropout, pair=self.pair, name=self.name)

    def encode(self, value, num_words, source="", unknown="raise"):
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

    def predict_items(self, outputs, lengths, decode=True):
        return list(np.argmax(outputs, axis=-1).astype(np.int32))

    def score_items(self, items):
        gold_names = [given if given is not None else self.label_name(gold) for gold, given in zip(items.gold, items.gold_names)]
        return {
            "examples": len(items.gold),
            "accuracy": accuracy(items.gold, items.pred),
            "macro_f1": macro_f1(gold_names, [self.labels[p] for p in items.pred]),
            "confusion": confusion_matrix(self.labels, items.gold, items.pred),
        }

    def item_is_right(self, gold, pred, mask):
        return gold != names.UNKNOWN_LABEL_ID and gold == pred
