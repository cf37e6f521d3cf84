"""Metrics that count only labelled items."""

import keras
import tensorflow as tf

from mtkeras.heads.bio_decoding import bio_entity_marks
from mtkeras.training.masking import align_to_prediction, flatten_items, known_labels


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy over labelled items only (texts, or words for token tasks).

    Items with weight 0 (missing label, padding) are skipped; token labels are
    aligned to the prediction's time axis and every word counts once, whatever
    its batch's padded length. A label unknown to the task (id -1) counts as
    an error. Metric variables are summed across replicas, so the value is
    exact under `tf.distribute`.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, sample_weight = flatten_items(y_true, y_pred, sample_weight)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)


class _MaskedMean(keras.metrics.Mean):
    """Mean of a per-item value over labelled items, exact across batches and replicas."""

    sparse = True
    value_rank = 1

    def item_values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        item_rank = y_pred.shape.rank - self.value_rank
        y_true, y_pred, sample_weight = flatten_items(y_true, y_pred, sample_weight, item_rank, self.sparse)
        if self.sparse:
            y_true, sample_weight = known_labels(y_true, sample_weight)
        return super().update_state(self.item_values(y_true, tf.cast(y_pred, tf.float32)), sample_weight)


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedLossMean(_MaskedMean):
    """A task's loss averaged over every labelled item seen since the reset.

    Keras' own per-output loss log is a mean of per-batch losses, so a batch
    without a label for the task logs 0 and drags it down. This metric sums
    `loss * weight` and `weight` over the epoch (and across replicas) instead.
    `MultiTaskModel` reports it as `<task>_loss`.

    Args:
        loss: a `mtkeras.training.losses.MaskedLoss`.
        name: str. Name of the metric.
    """

    def __init__(self, loss, name="labelled_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.loss = keras.saving.deserialize_keras_object(loss) if isinstance(loss, dict) else loss
        self.sparse = self.loss.sparse
        self.value_rank = self.loss.value_rank

    def item_values(self, y_true, y_pred):
        return self.loss.call(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "loss": keras.saving.serialize_keras_object(self.loss)}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedBinaryAccuracy(_MaskedMean):
    """Multi-label accuracy: the share of labels right per text, over labelled texts.

    Args:
        threshold: float or list of float. Probability at which a label is on.
        name: str. Name of the metric.
    """

    sparse = False

    def __init__(self, threshold=0.5, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold

    def item_values(self, y_true, y_pred):
        predicted = tf.cast(y_pred >= tf.constant(self.threshold, tf.float32), tf.float32)
        return tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(y_true, tf.float32)), tf.float32), axis=-1)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedMeanAbsoluteError(_MaskedMean):
    """Mean absolute error of regression values over labelled texts."""

    sparse = False
    value_rank = 0

    def __init__(self, name="mae", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def item_values(self, y_true, y_pred):
        return tf.abs(tf.cast(y_true, tf.float32) - y_pred)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedEntityF1(keras.metrics.Metric):
    """Entity-level exact-span F1 of BIO tags, over labelled words, summed across batches and replicas.

    The training-time view of `mtkeras.evaluate`'s entity F1: an entity
    counts as right when its first word, last word and type all match a gold
    entity (conlleval reading of tags, see
    `mtkeras.heads.bio_decoding.bio_entity_marks`). Predicted tags are the
    per-word argmax, not the constrained Viterbi path of evaluation and
    export, so the two may differ slightly. Words with weight 0 (missing
    labels, padding) are outside every entity on both sides; a gold tag
    unknown to the task (id -1) is an entity of its own type that no
    prediction matches. The counts of right, predicted and gold entities
    are variables summed across replicas, so the value is exact under
    `tf.distribute`. With no entity on either side the value is 0.

    Args:
        labels: list of str. The task's tags, in id order.
        name: str. Name of the metric.
    """

    def __init__(self, labels, name="f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.labels = list(labels)
        # An unknown gold tag reads as an entity type of its own; a word to
        # skip reads as a tag outside entities. Neither is a real tag name.
        self._read_as = self.labels + ["B-\0unknown", "\0outside"]
        self.right = self.add_variable(shape=(), initializer="zeros", name="right", aggregation="sum")
        self.predicted = self.add_variable(shape=(), initializer="zeros", name="predicted", aggregation="sum")
        self.gold = self.add_variable(shape=(), initializer="zeros", name="gold", aggregation="sum")

    def _entities(self, tag_ids, real):
        """int64 `[N]` keys, one per entity: (text, first word, last word, type)."""
        begins, last, kind = bio_entity_marks(tag_ids, real, self._read_as)
        steps = tf.cast(tf.shape(tag_ids)[1], tf.int64)
        begin_at, last_at = tf.where(begins), tf.where(last)
        kinds = tf.cast(tf.gather_nd(kind, begin_at), tf.int64)
        return ((begin_at[:, 0] * steps + begin_at[:, 1]) * steps + last_at[:, 1]) * len(self._read_as) + kinds

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, sample_weight = align_to_prediction(y_true, y_pred, sample_weight, item_rank=2)
        real = sample_weight > 0
        gold_ids = tf.where(tf.cast(y_true, tf.int32) < 0, len(self.labels), tf.cast(y_true, tf.int32))
        gold_ids = tf.where(real, gold_ids, len(self.labels) + 1)
        pred_ids = tf.where(real, tf.argmax(y_pred, axis=-1, output_type=tf.int32), len(self.labels) + 1)
        gold, predicted = self._entities(gold_ids, real), self._entities(pred_ids, real)
        # Keys are unique on each side: the shared ones are the right entities.
        both = tf.concat([gold, predicted], axis=0)
        right = tf.size(both) - tf.size(tf.unique(both).y)
        self.right.assign_add(tf.cast(right, self.dtype))
        self.predicted.assign_add(tf.cast(tf.size(predicted), self.dtype))
        self.gold.assign_add(tf.cast(tf.size(gold), self.dtype))

    def result(self):
        return tf.math.divide_no_nan(2.0 * self.right, self.predicted + self.gold)

    def reset_state(self):
        for variable in (self.right, self.predicted, self.gold):
            variable.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "labels": list(self.labels)}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedMicroF1(keras.metrics.Metric):
    """Multi-label micro-F1 over labelled texts, each label on at its own threshold.

    Counts true positives, false positives and false negatives over every
    (text, label) pair of the labelled texts, summed across batches and
    replicas, as `mtkeras.evaluate`'s `micro_f1` does. 0 with nothing to count.

    Args:
        threshold: float or list of float. Probability at which a label is on.
        name: str. Name of the metric.
    """

    def __init__(self, threshold=0.5, name="micro_f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp", aggregation="sum")
        self.errors = self.add_variable(shape=(), initializer="zeros", name="fp_fn", aggregation="sum")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, sample_weight = flatten_items(y_true, y_pred, sample_weight, item_rank=1, sparse=False)
        labelled = sample_weight[:, None] > 0
        gold = (tf.cast(y_true, tf.float32) > 0.5) & labelled
        predicted = (tf.cast(y_pred, tf.float32) >= tf.constant(self.threshold, tf.float32)) & labelled
        self.true_positives.assign_add(tf.reduce_sum(tf.cast(gold & predicted, self.dtype)))
        self.errors.assign_add(tf.reduce_sum(tf.cast(tf.not_equal(gold, predicted), self.dtype)))

    def result(self):
        return tf.math.divide_no_nan(2.0 * self.true_positives, 2.0 * self.true_positives + self.errors)

    def reset_state(self):
        for variable in (self.true_positives, self.errors):
            variable.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedPearson(keras.metrics.Metric):
    """Pearson correlation of regression values over labelled texts, exact across batches and replicas.

    Keeps weighted sums of `x`, `y`, `x²`, `y²` and `xy` (float64, summed
    across replicas) instead of averaging per-batch correlations. 0 when
    either side has no spread.

    Args:
        name: str. Name of the metric.
    """

    _SUMS = ("n", "x", "y", "xx", "yy", "xy")

    def __init__(self, name="pearson", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.sums = [
            self.add_variable(shape=(), initializer="zeros", dtype="float64", name=f"sum_{key}", aggregation="sum")
            for key in self._SUMS
        ]

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weight = flatten_items(y_true, y_pred, sample_weight, item_rank=1, sparse=False)
        x, y, w = (tf.cast(tf.reshape(v, [-1]), tf.float64) for v in (y_true, y_pred, weight))
        for variable, value in zip(self.sums, (w, w * x, w * y, w * x * x, w * y * y, w * x * y)):
            variable.assign_add(tf.reduce_sum(value))

    def result(self):
        n, x, y, xx, yy, xy = self.sums
        spread = (n * xx - x * x) * (n * yy - y * y)
        value = tf.math.divide_no_nan(n * xy - x * y, tf.sqrt(tf.maximum(spread, 0.0)))
        return tf.cast(value, self.dtype)

    def reset_state(self):
        for variable in self.sums:
            variable.assign(tf.zeros((), tf.float64))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
