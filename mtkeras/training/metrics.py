"""Metrics that count only labelled items."""

import keras

from mtkeras.training.masking import align_to_prediction


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy over labelled items only (texts, or words for token tasks).

    Items with weight 0 (missing label, padding) are skipped; token labels are
    aligned to the prediction's time axis first. Metric variables are summed
    across replicas, so the value is exact under `tf.distribute`.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, sample_weight = align_to_prediction(y_true, y_pred, sample_weight)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)
