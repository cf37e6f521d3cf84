"""Metrics that count only labelled items."""

import keras
import tensorflow as tf

from mtkeras.ops.bio import bio_entity_marks
from mtkeras.ops.masking import align_to_prediction, flatten_items, known_labels


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
class MaskedLossMean(keras.metrics.Mean):
    """A task's loss averaged over every labelled item seen since the reset.

    Keras' own per-output loss log is a mean of per-batch losses, so a batch
    without a label for the task logs 0 and drags it down. This metric sums
    `loss * weight` and `weight` over the epoch (and across replicas) instead.
    `MultiTaskModel` reports it as `<task>_loss`.

    Args:
        loss: a `mtkeras.tasks.losses.MaskedLoss`.
        name: str. Name of the metric.
    """

    def __init__(self, loss, name="labelled_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.loss = keras.saving.deserialize_keras_object(loss) if isinstance(loss, dict) else loss

    def update_state(self, y_true, y_pred, sample_weight=None):
        # The loss's own alignment and per-item losses (a CRF's are per text,
        # spread over its labelled words), then one row per item.
        y_true, y_pred, weight = self.loss.items(y_true, y_pred, sample_weight)
        values = self.loss.item_losses(y_true, y_pred, weight)
        return super().update_state(tf.reshape(values, [-1]), tf.reshape(weight, [-1]))

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
    entity (conlleval reading of BIO tags, see
    `mtkeras.ops.bio.bio_entity_marks`). It differs from
    `evaluate` in two ways: predicted tags are the per-word argmax, not the
    constrained Viterbi path of evaluation and export, and labelled words
    past the model's `max_words` are not scored (`evaluate` counts them as
    missed). Words with weight 0 (missing labels, padding) are outside every
    entity on both sides; a run of gold tags unknown to the task (id -1) is
    one entity of a type no prediction has, as `evaluate` reads it. The
    counts of right, predicted and gold entities are float64 variables
    summed across replicas, so the value is exact under `tf.distribute`.
    With no entity on either side the value is 0.

    Args:
        labels: list of str. The task's tags, in id order.
        name: str. Name of the metric.
    """

    def __init__(self, labels, name="f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.labels = list(labels)
        # Unknown gold tags read as an entity type of their own (no real tag
        # name holds "\0"); `I-` joins a run of them into one entity.
        self._read_as = self.labels + ["I-\0unknown"]
        self.right, self.predicted, self.gold = (
            self.add_variable(shape=(), initializer="zeros", dtype="float64", name=key, aggregation="sum")
            for key in ("right", "predicted", "gold")
        )

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
        gold_ids = tf.cast(y_true, tf.int32)
        gold_ids = tf.where(gold_ids < 0, len(self.labels), gold_ids)
        pred_ids = tf.argmax(y_pred, axis=-1, output_type=tf.int32)
        gold, predicted = self._entities(gold_ids, real), self._entities(pred_ids, real)
        # Keys are unique on each side: the shared ones are the right entities.
        both = tf.concat([gold, predicted], axis=0)
        right = tf.size(both) - tf.size(tf.unique(both).y)
        for variable, count in ((self.right, right), (self.predicted, tf.size(predicted)), (self.gold, tf.size(gold))):
            variable.assign_add(tf.cast(count, tf.float64))

    def result(self):
        return tf.cast(tf.math.divide_no_nan(2.0 * self.right, self.predicted + self.gold), self.dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "labels": list(self.labels)}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedMicroF1(keras.metrics.Metric):
    """Multi-label micro-F1 over labelled texts, each label on at its own threshold.

    Counts true positives, false positives and false negatives over every
    (text, label) pair of the labelled texts, summed across batches and
    replicas (float64), as `mtkeras.evaluate`'s `micro_f1` does. 0 with
    nothing to count.

    Args:
        threshold: float or list of float. Probability at which a label is on.
        name: str. Name of the metric.
    """

    def __init__(self, threshold=0.5, name="micro_f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.true_positives, self.errors = (
            self.add_variable(shape=(), initializer="zeros", dtype="float64", name=key, aggregation="sum")
            for key in ("tp", "fp_fn")
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, sample_weight = flatten_items(y_true, y_pred, sample_weight, item_rank=1, sparse=False)
        labelled = sample_weight[:, None] > 0
        gold = (tf.cast(y_true, tf.float32) > 0.5) & labelled
        predicted = (tf.cast(y_pred, tf.float32) >= tf.constant(self.threshold, tf.float32)) & labelled
        self.true_positives.assign_add(tf.reduce_sum(tf.cast(gold & predicted, tf.float64)))
        self.errors.assign_add(tf.reduce_sum(tf.cast(tf.not_equal(gold, predicted), tf.float64)))

    def result(self):
        value = tf.math.divide_no_nan(2.0 * self.true_positives, 2.0 * self.true_positives + self.errors)
        return tf.cast(value, self.dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedPearson(keras.metrics.Metric):
    """Pearson correlation of regression values over labelled texts, exact across batches and replicas.

    Keeps weighted sums of `x`, `y`, `x²`, `y²` and `xy` (float64, summed
    across replicas) instead of averaging per-batch correlations. 0 when
    either side has no spread (below float64 rounding of its sum of
    squares); clipped to [-1, 1].

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
        # n * sum(v²) - sum(v)² is n² times the variance; rounding leaves
        # noise of about 1e-16 * n * sum(v²) where the variance is 0.
        spread_x, spread_y = n * xx - x * x, n * yy - y * y
        flat = (spread_x <= 1e-12 * n * xx) | (spread_y <= 1e-12 * n * yy)
        value = tf.where(flat, tf.constant(0.0, tf.float64),
                         (n * xy - x * y) / tf.sqrt(tf.maximum(spread_x * spread_y, 1e-300)))
        return tf.cast(tf.clip_by_value(value, -1.0, 1.0), self.dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
