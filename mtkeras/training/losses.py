"""Losses whose denominator is the global number of labelled items."""

import keras
import tensorflow as tf

from mtkeras.training.masking import align_to_prediction, global_sum, known_labels


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy averaged over the labelled items of the global batch.

    `sample_weight` marks labelled items (1) and missing labels or padding (0).
    Each replica returns its share `sum(loss * w) / global_sum(w)`: gradients
    summed over replicas (what `tf.distribute` does) are exactly those of the
    mean over every labelled item of the global batch, and a batch with no
    label for this task returns 0. Keras' built-in reductions divide by the
    number of items instead, so a missing label would still dilute the mean.

    Works for sentence tasks (`y_pred` `[B, C]`) and token tasks (`[B, T, C]`,
    where labels are aligned to the prediction's time axis).

    Args:
        label_smoothing: float in [0, 1). Mass spread evenly over all labels.
        name: str. Name of the loss.
    """

    def __init__(self, label_smoothing=0.0, name="masked_sparse_categorical_crossentropy", **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                "Received an invalid value for `label_smoothing`, expected a "
                f"float in [0, 1). Received: label_smoothing={label_smoothing!r}"
            )
        self.label_smoothing = label_smoothing

    def __call__(self, y_true, y_pred, sample_weight=None):
        with tf.name_scope(self.name):
            y_pred = tf.cast(y_pred, tf.float32)
            y_true, weight = align_to_prediction(y_true, y_pred, sample_weight)
            y_true, weight = known_labels(y_true, weight)
            per_item = self.call(y_true, y_pred)
            local_sum = tf.reduce_sum(per_item * weight)
            labelled = tf.stop_gradient(global_sum(tf.reduce_sum(weight)))
            return tf.math.divide_no_nan(local_sum, labelled)

    def call(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.int32)
        if self.label_smoothing:
            num_classes = tf.shape(y_pred)[-1]
            one_hot = tf.one_hot(y_true, num_classes, dtype=y_pred.dtype)
            return keras.losses.categorical_crossentropy(
                one_hot, y_pred, label_smoothing=self.label_smoothing
            )
        return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "label_smoothing": self.label_smoothing}
