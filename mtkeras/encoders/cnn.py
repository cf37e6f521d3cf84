"""A from-scratch convolutional encoder over words."""

import keras
from keras import ops

from mtkeras.encoders.registry import register_encoder
from mtkeras.encoders.word_encoder import WordEncoder, _positive_int


@register_encoder
@keras.saving.register_keras_serializable(package="mtkeras")
class CNNEncoder(WordEncoder):
    """Word and character features followed by stacked residual 1-D convolutions.

    Each layer is a same-padded convolution over `kernel_size` neighbouring
    words with ReLU, added to its input (after the first layer); padded words
    are zeroed after every layer so they never leak into real ones. Fast on
    CPUs: no recurrence. Output width `H = hidden_dim`.

    Args:
        vocabulary_size, embedding_dim, dropout, char_buckets, char_dim,
            char_filters, char_kernel_size, word_dropout,
            singleton_dropout, first_singleton_id: see `WordEncoder`.
        hidden_dim: int. Filters per layer.
        num_layers: int. Stacked convolutions.
        kernel_size: int. Words each convolution sees.
    """

    encoder_name = "cnn"

    def __init__(self, vocabulary_size, hidden_dim=256, num_layers=3, kernel_size=3, **kwargs):
        super().__init__(vocabulary_size, **kwargs)
        for arg, value in (("hidden_dim", hidden_dim), ("num_layers", num_layers), ("kernel_size", kernel_size)):
            _positive_int(arg, value)
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        # === Layers ===
        self.convolutions = [
            keras.layers.Conv1D(hidden_dim, kernel_size, padding="same", activation="relu", name=f"conv_{i}")
            for i in range(num_layers)
        ]
        self.output_dropouts = [keras.layers.Dropout(self.dropout) for _ in range(num_layers)]

    @property
    def output_dim(self):
        return self.hidden_dim

    def _build_context(self, shape, width):
        for layer in self.convolutions:
            layer.build(shape + (width,))
            width = self.hidden_dim

    def _contextualize(self, x, mask, training):
        real = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        x = x * real
        for i, (layer, dropout) in enumerate(zip(self.convolutions, self.output_dropouts)):
            y = dropout(layer(x), training=training) * real
            x = y if i == 0 else x + y
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "kernel_size": self.kernel_size,
        }
