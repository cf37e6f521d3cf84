"""A from-scratch bidirectional LSTM encoder over word ids."""

import keras
import tensorflow as tf
from keras import ops


# Word id of out-of-vocabulary words (see `mtkeras.text.WordPreprocessor`).
OOV_ID = 1


def masked_max_pool(sequence, padding_mask):
    """Max over the real (unpadded) positions; zeros for a text with none."""
    mask = ops.expand_dims(ops.cast(padding_mask, sequence.dtype), -1)
    lowest = ops.cast(-1e4 if sequence.dtype == "float16" else -1e9, sequence.dtype)
    pooled = ops.max(ops.where(mask > 0, sequence, lowest), axis=1)
    has_words = ops.any(padding_mask, axis=1, keepdims=True)
    return ops.where(has_words, pooled, ops.zeros_like(pooled))


@keras.saving.register_keras_serializable(package="mtkeras")
class BiLSTMEncoder(keras.layers.Layer):
    """Word (and character) embeddings followed by stacked bidirectional LSTMs.

    Each word is the concatenation of its word embedding and, when
    `char_dim > 0`, a character CNN over its hashed characters (max-pooled
    over characters): words never seen in training, such as names, still get
    a representation from their spelling.

    Takes `{"token_ids": [B, T] int, "padding_mask": [B, T] bool, "char_ids":
    [B, T, L] int}` (from `WordPreprocessor`) and returns
    the encoder contract shared by every mtkeras encoder:
    `{"sequence_output": [B, T, H], "pooled_output": [B, H], "padding_mask": [B, T]}`
    with `H = 2 * hidden_dim` and `pooled_output` a max over real words.

    Args:
        vocabulary_size: int. Number of word ids, padding and OOV included.
        embedding_dim: int. Size of the word embeddings.
        hidden_dim: int. LSTM units per direction.
        num_layers: int. Stacked BiLSTM layers.
        dropout: float. Dropout on the embeddings and on each layer's output.
        char_buckets: int. Number of character ids (as in the preprocessor).
        char_dim: int. Character embedding size; 0 turns character features off.
        char_filters: int. Character CNN filters (its output size per word).
        char_kernel_size: int. Character CNN width.
        word_dropout: float. Share of training words replaced by the
            out-of-vocabulary id, so that id learns to stand for unseen words
            (whose spelling the character CNN still sees).

    Example:
    >>> encoder = BiLSTMEncoder(vocabulary_size=100, embedding_dim=8, hidden_dim=4)
    >>> out = encoder({"token_ids": ids, "padding_mask": ids != 0})
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=128,
        hidden_dim=128,
        num_layers=1,
        dropout=0.2,
        char_buckets=512,
        char_dim=32,
        char_filters=64,
        char_kernel_size=3,
        word_dropout=0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (
            ("vocabulary_size", vocabulary_size),
            ("embedding_dim", embedding_dim),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
            ("char_buckets", char_buckets),
            ("char_filters", char_filters),
            ("char_kernel_size", char_kernel_size),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Received an invalid value for `{arg}`, expected a positive "
                    f"integer. Received: {arg}={value!r}"
                )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                "Received an invalid value for `dropout`, expected a float in "
                f"[0, 1). Received: dropout={dropout!r}"
            )
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.dropout = dropout
        if not isinstance(char_dim, int) or char_dim < 0:
            raise ValueError(
                "Received an invalid value for `char_dim`, expected an integer >= 0. "
                f"Received: char_dim={char_dim!r}"
            )
        self.char_buckets = char_buckets
        self.char_dim = char_dim
        self.char_filters = char_filters
        self.char_kernel_size = char_kernel_size
        if not 0.0 <= word_dropout < 1.0:
            raise ValueError(
                "Received an invalid value for `word_dropout`, expected a float in [0, 1). "
                f"Received: word_dropout={word_dropout!r}"
            )
        self.word_dropout = word_dropout
        self.seed_generator = keras.random.SeedGenerator(1337)

        # === Layers ===
        self.embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, name="word_embedding"
        )
        if char_dim:
            self.char_embedding = keras.layers.Embedding(char_buckets, char_dim, name="char_embedding")
            self.char_conv = keras.layers.Conv1D(
                char_filters, char_kernel_size, padding="same", activation="relu", name="char_cnn"
            )
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.recurrent_layers = [
            keras.layers.Bidirectional(
                keras.layers.LSTM(hidden_dim, return_sequences=True),
                name=f"bilstm_{i}",
            )
            for i in range(num_layers)
        ]
        self.output_dropouts = [keras.layers.Dropout(dropout) for _ in range(num_layers)]

    def _char_features(self, char_ids):
        """`[B, T, char_filters]`: a CNN over each word's characters, max-pooled."""
        batch, steps, width = ops.shape(char_ids)[0], ops.shape(char_ids)[1], ops.shape(char_ids)[2]
        flat = ops.reshape(char_ids, (-1, width))
        features = self.char_conv(self.char_embedding(flat))
        char_mask = ops.expand_dims(ops.cast(flat > 0, features.dtype), -1)
        # ReLU outputs are >= 0, so zeroing padded characters keeps the max right.
        pooled = ops.max(features * char_mask, axis=1)
        return ops.reshape(pooled, (batch, steps, self.char_filters))

    @property
    def output_dim(self):
        return 2 * self.hidden_dim

    def build(self, input_shape):
        shape = tuple(input_shape["token_ids"])
        self.embedding.build(shape)
        width = self.embedding_dim
        if self.char_dim:
            self.char_embedding.build((None, None))
            self.char_conv.build((None, None, self.char_dim))
            width += self.char_filters
        for layer in self.recurrent_layers:
            layer.build(shape + (width,))
            width = self.output_dim
        self.built = True

    def call(self, inputs, training=None):
        mask = inputs["padding_mask"]
        token_ids = inputs["token_ids"]
        if training and self.word_dropout:
            noise = keras.random.uniform(ops.shape(token_ids), seed=self.seed_generator)
            token_ids = ops.where((noise < self.word_dropout) & mask, OOV_ID, token_ids)
        x = self.embedding(token_ids)
        if self.char_dim:
            x = ops.concatenate([x, self._char_features(inputs["char_ids"])], axis=-1)
        x = self.embedding_dropout(x, training=training)
        for layer, dropout in zip(self.recurrent_layers, self.output_dropouts):
            x = layer(x, mask=mask, training=training)
            x = dropout(x, training=training)
        # The contract carries the padding mask explicitly. `tf.identity` drops
        # the implicit Keras mask the LSTM attached to `x`, which heads would
        # otherwise be warned about and metrics would apply a second time.
        return {
            "sequence_output": tf.identity(x),
            "pooled_output": masked_max_pool(x, mask),
            "padding_mask": mask,
        }

    def compute_output_spec(self, inputs, training=None):
        batch, steps = inputs["token_ids"].shape
        return {
            "sequence_output": keras.KerasTensor((batch, steps, self.output_dim), self.compute_dtype),
            "pooled_output": keras.KerasTensor((batch, self.output_dim), self.compute_dtype),
            "padding_mask": keras.KerasTensor((batch, steps), "bool"),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
                "char_buckets": self.char_buckets,
                "char_dim": self.char_dim,
                "char_filters": self.char_filters,
                "char_kernel_size": self.char_kernel_size,
                "word_dropout": self.word_dropout,
            }
        )
        return config
