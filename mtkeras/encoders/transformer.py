"""A from-scratch Transformer encoder over words (keras-hub layers)."""

import keras
import keras_hub

from mtkeras.encoders.registry import register_encoder
from mtkeras.encoders.word_encoder import WordEncoder, _positive_int


@register_encoder
@keras.saving.register_keras_serializable(package="mtkeras")
class TransformerEncoder(WordEncoder):
    """Word and character features, learned positions, then Transformer layers.

    Word vectors are projected to `hidden_dim`, given learned position
    embeddings (`keras_hub.layers.PositionEmbedding`) and passed through
    `num_layers` `keras_hub.layers.TransformerEncoder` blocks that attend only
    to real words (`padding_mask`). Output width `H = hidden_dim`.

    Args:
        vocabulary_size, embedding_dim, dropout, char_buckets, char_dim,
            char_filters, char_kernel_size, word_dropout,
            singleton_dropout, first_singleton_id: see `WordEncoder`.
        hidden_dim: int. Model width (divisible by `num_heads`).
        num_layers: int. Transformer blocks.
        num_heads: int. Attention heads per block.
        intermediate_dim: int. Feed-forward width.
        max_length: int. Longest text in words (position embeddings).
    """

    encoder_name = "transformer"

    def __init__(
        self,
        vocabulary_size,
        hidden_dim=256,
        num_layers=2,
        num_heads=4,
        intermediate_dim=512,
        max_length=512,
        **kwargs,
    ):
        super().__init__(vocabulary_size, **kwargs)
        for arg, value in (
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
            ("num_heads", num_heads),
            ("intermediate_dim", intermediate_dim),
            ("max_length", max_length),
        ):
            _positive_int(arg, value)
        if hidden_dim % num_heads:
            raise ValueError(f"`hidden_dim` ({hidden_dim}) must be divisible by `num_heads` ({num_heads})")
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.max_length = max_length
        # === Layers ===
        self.projection = keras.layers.Dense(hidden_dim, name="projection")
        self.positions = keras_hub.layers.PositionEmbedding(sequence_length=max_length, name="positions")
        self.blocks = [
            keras_hub.layers.TransformerEncoder(
                intermediate_dim=intermediate_dim, num_heads=num_heads, dropout=self.dropout, name=f"transformer_{i}"
            )
            for i in range(num_layers)
        ]

    @property
    def output_dim(self):
        return self.hidden_dim

    def _build_context(self, shape, width):
        self.projection.build(shape + (width,))
        self.positions.build(shape + (self.hidden_dim,))
        for block in self.blocks:
            block.build(shape + (self.hidden_dim,))

    def _contextualize(self, x, mask, training):
        x = self.projection(x)
        x = x + self.positions(x)
        for block in self.blocks:
            x = block(x, padding_mask=mask, training=training)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "max_length": self.max_length,
        }
