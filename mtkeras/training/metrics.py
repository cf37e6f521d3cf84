"""Metrics that count only labelled items."""

import keras

from mtkeras.training.masking import flatten_items, known_labels


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy over labelled items only (texts, or words for token tasks).

    Items with weight 0 (missing label, padding) are skipped; token labels are
    aligned to the prediction's time axis and every word counts once, whatever
    its batch's padded length. Metric variables are summed across replicas, so
    the value is exact under `tf.distribute`.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, sample_weight = flatten_items(y_true, y_pred, sample_weight)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedLossMean(keras.metrics.Mean):
    """A task's loss averaged over every labelled item seen since the reset.

    Keras' own per-output loss log is a mean of per-batch losses, so a batch
    without a label for the task logs 0 and drags it down. This metric sums
    `loss * weight` and `weight` over the epoch (and across replicas) instead.
    `MultiTaskModel` reports it as `<task>_loss`.

    Args:
        loss: a loss with an unreduced per-item `call(y_true, y_pred)`, such as
            `MaskedSparseCategoricalCrossentropy`.
        name: str. Name of the metric.
    """

    def __init__(self, loss, name="labelled_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.loss = keras.losses.get(loss) if isinstance(loss, (str, dict)) else loss

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, sample_weight = flatten_items(y_true, y_pred, sample_weight)
        y_true, sample_weight = known_labels(y_true, sample_weight)
        values = self.loss.call(y_true, keras.ops.cast(y_pred, "float32"))
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "loss": keras.saving.serialize_keras_object(self.loss),
        }
