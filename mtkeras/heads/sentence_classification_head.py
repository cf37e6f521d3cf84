"""One softmax over the labels per text."""

import keras

from mtkeras.heads.dense_head import DenseHead


@keras.saving.register_keras_serializable(package="mtkeras")
class SentenceClassificationHead(DenseHead):
    """Probabilities `[B, num_classes]` from the encoder's `pooled_output`.

    Args:
        num_classes: int. Number of labels.
        dropout: float. Dropout before the dense layer.
    """

    encoder_output = "pooled_output"
