"""Independent sigmoids, one per label, per text."""

import keras

from mtkeras.heads.dense_head import DenseHead


@keras.saving.register_keras_serializable(package="mtkeras")
class MultiLabelClassificationHead(DenseHead):
    """Independent probabilities `[B, num_classes]` (sigmoid) from `pooled_output`.

    Args:
        num_classes: int. Number of labels.
        dropout: float. Dropout before the dense layer.
    """

    encoder_output = "pooled_output"
    activation = "sigmoid"
