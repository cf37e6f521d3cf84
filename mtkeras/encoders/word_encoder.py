"""The word-level front end shared by mtkeras' from-scratch encoders."""

import inspect

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mtkeras.errors import FieldError, suggest
from mtkeras.text import WordPreprocessor
from mtkeras.text.preprocessor import SHAPES

# Word id of out-of-vocabulary words (see `mtkeras.text.WordPreprocessor`).
OOV_ID = 1
# Size of the word-shape embedding of encoders built by name.
DEFAULT_SHAPE_DIM = 8


def masked_max_pool(sequence, padding_mask):
    """Max over the real (unpadded) positions; zeros for a text with none."""
    mask = ops.expand_dims(ops.cast(padding_mask, sequence.dtype), -1)
    lowest = ops.cast(-1e4 if sequence.dtype == "float16" else -1e9, sequence.dtype)
    pooled = ops.max(ops.where(mask > 0, sequence, lowest), axis=1)
    has_words = ops.any(padding_mask, axis=1, keepdims=True)
    return ops.where(has_words, pooled, ops.zeros_like(pooled))


def contract_output_spec(batch, steps, output_dim, dtype):
    """Symbolic outputs of the encoder contract every mtkeras encoder follows."""
    return {
        "sequence_output": keras.KerasTensor((batch, steps, output_dim), dtype),
        "pooled_output": keras.KerasTensor((batch, output_dim), dtype),
        "padding_mask": keras.KerasTensor((batch, steps), "bool"),
    }


def _positive_int(arg, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Received an invalid value for `{arg}`, expected a positive integer. Received: {arg}={value!r}")


def _fraction(arg, value):
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"Received an invalid value for `{arg}`, expected a float in [0, 1). Received: {arg}={value!r}")


class WordEncoder(keras.layers.Layer):
    """Base of the from-scratch encoders: words in, the encoder contract out.

    Each word is its word embedding concatenated, when `char_dim > 0`, with a
    character CNN over its hashed characters (max-pooled over characters), so
    words never seen in training, such as names, still get a representation
    from their spelling. During training, words seen only once in the training
    texts are replaced by the out-of-vocabulary id with probability
    `singleton_dropout` (Lample et al. 2016, "Neural Architectures for Named
    Entity Recognition", use 0.5), and any word with probability
    `word_dropout`, so that id and the character features learn to stand for
    the words training never showed. Subclasses put their context layers on top (`_build_context`,
    `_contextualize`, `output_dim`).

    Takes `{"token_ids": [B, T] int, "padding_mask": [B, T] bool, "char_ids":
    [B, T, L] int}` (from `WordPreprocessor`) and returns the encoder contract
    shared by every mtkeras encoder: `{"sequence_output": [B, T, H],
    "pooled_output": [B, H], "padding_mask": [B, T]}`, `pooled_output` being
    a max over real words.

    Args:
        vocabulary_size: int. Number of word ids, padding and OOV included.
        embedding_dim: int. Size of the word embeddings.
        dropout: float. Dropout on the word vectors and on each layer's output.
        char_buckets: int. Number of character ids (as in the preprocessor).
        char_dim: int. Character embedding size; 0 turns character features off.
        char_filters: int. Character CNN filters (its output size per word).
        char_kernel_size: int. Character CNN width.
        word_dropout: float. Share of training words replaced by the OOV id.
        singleton_dropout: float. Probability that a training word seen once
            in the training texts is replaced by the OOV id.
        first_singleton_id: int or None. The word ids of those words start
            here: `WordPreprocessor.from_texts` ranks words by frequency and
            reports it as `first_singleton_id`, and `mtkeras.build_model`
            passes it on. None (a vocabulary given without counts): no
            singleton dropout.
        shape_dim: int. Size of a word-shape embedding (`WordPreprocessor`'s
            `shape_ids`: lower, Title, UPPER, digits, ...) concatenated to
            each word; 0 turns it off.
        vector_dim: int. Size of pretrained word vectors concatenated to each
            word (0: none). `build_layers` sets it and the vectors from
            `vectors=` (`mtkeras.text.load_vectors`).
        vectors_trainable: bool. Fine-tune the pretrained vectors (default: frozen).
        first_extra_id: int or None. Words from this id on came from the
            vectors only, never from training: the trainable word embedding
            sees them as the OOV word (which singleton and word dropout
            trained), while their pretrained vector tells them apart.
    """

    # The name a registered subclass has in configs and `build_model` (see `register_encoder`).
    encoder_name = None
    # From scratch: the word vocabulary is adapted on the training texts.
    pretrained = False

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=128,
        dropout=0.2,
        char_buckets=512,
        char_dim=32,
        char_filters=64,
        char_kernel_size=3,
        word_dropout=0.1,
        singleton_dropout=0.5,
        first_singleton_id=None,
        shape_dim=0,
        vector_dim=0,
        vectors_trainable=False,
        first_extra_id=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (
            ("vocabulary_size", vocabulary_size),
            ("embedding_dim", embedding_dim),
            ("char_buckets", char_buckets),
            ("char_filters", char_filters),
            ("char_kernel_size", char_kernel_size),
        ):
            _positive_int(arg, value)
        if not isinstance(char_dim, int) or char_dim < 0:
            raise ValueError(f"Received an invalid value for `char_dim`, expected an integer >= 0. Received: char_dim={char_dim!r}")
        _fraction("dropout", dropout)
        _fraction("word_dropout", word_dropout)
        _fraction("singleton_dropout", singleton_dropout)
        if first_singleton_id is not None and (
            not isinstance(first_singleton_id, int) or isinstance(first_singleton_id, bool) or first_singleton_id < 2
        ):
            raise ValueError(
                "Received an invalid value for `first_singleton_id`, expected None or a word id >= 2 "
                f"(0 and 1 are padding and OOV). Received: first_singleton_id={first_singleton_id!r}"
            )
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.char_buckets = char_buckets
        self.char_dim = char_dim
        self.char_filters = char_filters
        self.char_kernel_size = char_kernel_size
        self.word_dropout = word_dropout
        self.singleton_dropout = singleton_dropout
        self.first_singleton_id = first_singleton_id
        for arg, value in (("shape_dim", shape_dim), ("vector_dim", vector_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Received an invalid value for `{arg}`, expected an integer >= 0. Received: {arg}={value!r}")
        if first_extra_id is not None and (
            not isinstance(first_extra_id, int) or isinstance(first_extra_id, bool)
            or not 2 <= first_extra_id <= vocabulary_size
        ):
            raise ValueError(
                "Received an invalid value for `first_extra_id`, expected None or a word id in "
                f"[2, vocabulary_size={vocabulary_size}]. Received: first_extra_id={first_extra_id!r}"
            )
        self.shape_dim = shape_dim
        self.vector_dim = vector_dim
        self.vectors_trainable = bool(vectors_trainable)
        self.first_extra_id = first_extra_id
        # Set by `set_vectors` before the layer is built; the built layer keeps them as weights.
        self._initial_vectors = None

        # === Layers ===
        # Words from the vectors only never reach the trainable embedding (they read as OOV): no rows for them.
        trained_words = first_extra_id if first_extra_id is not None else vocabulary_size
        self.embedding = keras.layers.Embedding(trained_words, embedding_dim, name="word_embedding")
        if char_dim:
            self.char_embedding = keras.layers.Embedding(char_buckets, char_dim, name="char_embedding")
            self.char_conv = keras.layers.Conv1D(
                char_filters, char_kernel_size, padding="same", activation="relu", name="char_cnn"
            )
        if shape_dim:
            self.shape_embedding = keras.layers.Embedding(len(SHAPES) + 1, shape_dim, name="shape_embedding")
        if vector_dim:
            self.vector_embedding = keras.layers.Embedding(
                vocabulary_size, vector_dim, trainable=self.vectors_trainable, name="word_vectors"
            )
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.seed_generator = keras.random.SeedGenerator(1337)

    # === Configs and build_model ===
    @classmethod
    def config_options(cls):
        """The arguments a config's `encoder.config` may set: the constructors' own, less what the vocabulary decides."""
        known = set()
        for klass in cls.__mro__:
            if issubclass(klass, WordEncoder):
                known |= set(inspect.signature(klass.__init__).parameters)
        return sorted(known - {"self", "kwargs", "vocabulary_size", "first_singleton_id", "vector_dim", "first_extra_id"})

    @classmethod
    def check_config(cls, options):
        """Raises `FieldError` for an option the encoder does not take (before anything is built)."""
        known = cls.config_options()
        for option in options:
            if option not in known:
                raise FieldError(f"config.{option}", f"not an option of {cls.encoder_name}{suggest(option, known)}")

    @classmethod
    def build_layers(cls, options, *, texts=None, vocabulary=None, max_vocabulary_size=20000, max_words=128,
                     lowercase=True, sequence_length=None, vectors=None, vector_words=100000):
        """`(WordPreprocessor, encoder)`: a vocabulary adapted on `texts` (or the given `vocabulary`), then the encoder.

        The encoder gets the preprocessor's `char_buckets` and, adapted on
        texts, its `first_singleton_id` for singleton dropout, unless
        `options` says otherwise. With `vectors` (`mtkeras.text.WordVectors`),
        the vocabulary adapted on texts also keeps the `vector_words` most
        frequent vector words, so that words never seen in training still
        have a vector, and each word gets its vector (or its lower-cased
        form's; zeros without either).
        """
        if vectors is not None and texts is not None:
            preprocessor = WordPreprocessor.from_texts(
                texts, max_vocabulary_size=max_vocabulary_size, max_words=max_words, lowercase=lowercase,
                extra_words=vectors.words[:vector_words],
            )
        else:
            preprocessor = WordPreprocessor.build(texts, vocabulary, max_vocabulary_size, max_words, lowercase)
        config = dict(options or {})
        config.setdefault("char_buckets", preprocessor.char_buckets)
        # Built by name (from a config or `build_model`), a word also gets its shape; the class default
        # stays 0, so that models saved before shapes existed load as they were.
        config.setdefault("shape_dim", DEFAULT_SHAPE_DIM)
        if preprocessor.first_singleton_id is not None:
            config.setdefault("first_singleton_id", preprocessor.first_singleton_id)
        if vectors is not None:
            config["vector_dim"] = vectors.dim
            if getattr(preprocessor, "first_extra_id", None) is not None:
                config["first_extra_id"] = preprocessor.first_extra_id
        encoder = cls(preprocessor.vocabulary_size, **config)
        if vectors is not None:
            matrix, found = vectors.matrix_for(preprocessor.vocabulary)
            encoder.set_vectors(matrix)
            encoder.vectors_found = found
        return preprocessor, encoder

    def set_vectors(self, matrix):
        """Gives the pretrained word vectors, `[vocabulary_size, vector_dim]` (before or after the layer is built)."""
        matrix = np.asarray(matrix, dtype="float32")
        if matrix.shape != (self.vocabulary_size, self.vector_dim):
            raise ValueError(f"Expected word vectors of shape {(self.vocabulary_size, self.vector_dim)}, "
                             f"received {matrix.shape}")
        if self.built:
            self.vector_embedding.embeddings.assign(matrix)
        else:
            self._initial_vectors = matrix

    @property
    def word_dim(self):
        """Size of a word vector before the context layers."""
        return (self.embedding_dim + (self.char_filters if self.char_dim else 0) + self.shape_dim + self.vector_dim
                + self.extra_word_dim)

    # === Extension: more features per word (the stacked encoder's transformer words) ===
    @property
    def extra_word_dim(self):
        """Width of `_extra_word_features`' outputs, concatenated to each word."""
        return 0

    def _extra_word_features(self, inputs, training):
        """More `[B, T, D]` word features from the preprocessor's outputs (none here)."""
        return []

    @property
    def output_dim(self):
        raise NotImplementedError

    def _build_context(self, shape, width):
        """Builds the context layers for `[B, T, width]` word vectors."""
        raise NotImplementedError

    def _contextualize(self, x, mask, training):
        """`[B, T, word_dim]` word vectors to `[B, T, output_dim]`."""
        raise NotImplementedError

    def build(self, input_shape):
        shape = tuple(input_shape["token_ids"])
        self.embedding.build(shape)
        if self.char_dim:
            self.char_embedding.build((None, None))
            self.char_conv.build((None, None, self.char_dim))
        if self.shape_dim:
            self.shape_embedding.build(shape)
        if self.vector_dim:
            self.vector_embedding.build(shape)
            if self._initial_vectors is not None:
                self.vector_embedding.embeddings.assign(self._initial_vectors)
                self._initial_vectors = None
        self._build_context(shape, self.word_dim)
        self.built = True

    def _char_features(self, char_ids):
        """`[B, T, char_filters]`: a CNN over each word's characters, max-pooled."""
        batch, steps, width = ops.shape(char_ids)[0], ops.shape(char_ids)[1], ops.shape(char_ids)[2]
        flat = ops.reshape(char_ids, (-1, width))
        features = self.char_conv(self.char_embedding(flat))
        char_mask = ops.expand_dims(ops.cast(flat > 0, features.dtype), -1)
        # ReLU outputs are >= 0, so zeroing padded characters keeps the max right.
        pooled = ops.max(features * char_mask, axis=1)
        return ops.reshape(pooled, (batch, steps, self.char_filters))

    def _to_oov(self, token_ids, candidates, rate):
        """Replaces each `candidates` word by the OOV id with probability `rate`."""
        noise = keras.random.uniform(ops.shape(token_ids), seed=self.seed_generator)
        return ops.where(candidates & (noise < rate), OOV_ID, token_ids)

    def call(self, inputs, training=None):
        mask = inputs["padding_mask"]
        token_ids = inputs["token_ids"]
        vector_ids = token_ids
        if self.first_extra_id is not None:
            # Words known from the vectors only: the OOV word to the trainable embedding.
            token_ids = ops.where(token_ids >= self.first_extra_id, OOV_ID, token_ids)
        if training and self.singleton_dropout and self.first_singleton_id is not None:
            token_ids = self._to_oov(token_ids, token_ids >= self.first_singleton_id, self.singleton_dropout)
        if training and self.word_dropout:
            token_ids = self._to_oov(token_ids, mask, self.word_dropout)
        parts = [self.embedding(token_ids)]
        if self.char_dim:
            parts.append(self._char_features(inputs["char_ids"]))
        if self.shape_dim:
            parts.append(self.shape_embedding(inputs["shape_ids"]))
        if self.vector_dim:
            parts.append(ops.cast(self.vector_embedding(vector_ids), parts[0].dtype))
        parts += [ops.cast(part, parts[0].dtype) for part in self._extra_word_features(inputs, training)]
        x = ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        x = self.embedding_dropout(x, training=training)
        x = self._contextualize(x, mask, training)
        # The contract carries the padding mask explicitly. `tf.identity` drops
        # any implicit Keras mask a layer attached to `x`, which heads would
        # otherwise be warned about and metrics would apply a second time.
        return {
            "sequence_output": tf.identity(x),
            "pooled_output": masked_max_pool(x, mask),
            "padding_mask": mask,
        }

    def compute_output_spec(self, inputs, training=None):
        batch, steps = inputs["token_ids"].shape
        return contract_output_spec(batch, steps, self.output_dim, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "dropout": self.dropout,
                "char_buckets": self.char_buckets,
                "char_dim": self.char_dim,
                "char_filters": self.char_filters,
                "char_kernel_size": self.char_kernel_size,
                "word_dropout": self.word_dropout,
                "singleton_dropout": self.singleton_dropout,
                "first_singleton_id": self.first_singleton_id,
                "shape_dim": self.shape_dim,
                "vector_dim": self.vector_dim,
                "vectors_trainable": self.vectors_trainable,
                "first_extra_id": self.first_extra_id,
            }
        )
        return config
