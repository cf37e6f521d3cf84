"""One real value per text."""

import keras

from mtkeras.heads.dense_head import DenseHead


@keras.saving.register_keras_serializable(package="mtkeras")
class RegressionHead(DenseHead):
    """One value `[B]` per text from the encoder's `pooled_output`.

    Args:
        dropout: float. Dropout before the dense layer.
    """

    encoder_output = "pooled_output"
    activation = "linear"

    def __init__(self, dropout=0.1, pair=False, **kwargs):
        kwargs.pop("num_classes", None)
        super().__init__(1, dropout=dropout, pair=pair, **kwargs)

    def call(self, encoded, encoded_pair=None, training=None):
        return keras.ops.squeeze(super().call(encoded, encoded_pair, training=training), axis=-1)

    def compute_output_spec(self, encoded, encoded_pair=None, training=None):
        return keras.KerasTensor(tuple(encoded[self.encoder_output].shape[:1]), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.pop("num_classes")
        return config
