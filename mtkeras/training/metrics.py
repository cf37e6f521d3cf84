"""Metrics that count only labelled items."""

import keras
import tensorflow as tf

from mtkeras.training.masking import flatten_items, known_labels


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
