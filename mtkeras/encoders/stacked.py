"""A stacked encoder: a pretrained transformer's word vectors beside word vectors and character features.

As flair stacks embeddings (Akbik et al. 2018): each word is its trained
embedding, its character CNN, its shape, optionally its pretrained static
vector (`vectors=`), and the transformer's vector at its first piece,
concatenated; a BiLSTM reads them in context. The transformer is frozen by
default, so training costs its forward pass only, and its vectors carry
what it learned about names and context.

`encoder: {name: stacked, config: {preset: minilm, hidden_dim: 256}}` in
YAML; the vocabulary is adapted on the training texts as for `bilstm`.
"""

import keras
import tensorflow as tf

from mtkeras.encoders.bilstm import BiLSTMEncoder
from mtkeras.encoders.pretrained import build_pretrained, minilm_preset
from mtkeras.encoders.registry import register_encoder
from mtkeras.errors import FieldError

# The preprocessor's outputs for the transformer carry this prefix.
PIECES = "pieces_"


@keras.saving.register_keras_serializable(package="mtkeras")
class StackedPreprocessor(keras.layers.Layer):
    """Both front ends on the same raw texts: `WordPreprocessor`'s outputs and, prefixed `pieces_`, `WordPiecePreprocessor`'s.

    Words are `words`' (`tokenize`); the pieces are aligned to the same words
    (`mtkeras.text.split_words`), up to the transformer's sequence length.
    """

    def __init__(self, words, pieces, **kwargs):
        super().__init__(**kwargs)
        if isinstance(words, dict):
            words = keras.saving.deserialize_keras_object(words)
        if isinstance(pieces, dict):
            pieces = keras.saving.deserialize_keras_object(pieces)
        self.words = words
        self.pieces = pieces
        self.built = True

    # What the encoders and the rest of mtkeras read from a word-level preprocessor.
    @property
    def vocabulary(self):
        return self.words.vocabulary

    @property
    def vocabulary_size(self):
        return self.words.vocabulary_size

    @property
    def max_words(self):
        return self.words.max_words

    def tokenize(self, text):
        return self.words.tokenize(text)

    def sequence_lengths(self, text):
        """The pieces' steps: the pretrained model reading them costs the most."""
        return self.pieces.sequence_lengths(text)

    def call(self, text):
        outputs = dict(self.words(text))
        outputs.update({PIECES + key: value for key, value in self.pieces(text).items()})
        return outputs

    def compute_output_spec(self, text):
        outputs = dict(self.words.compute_output_spec(text))
        outputs.update({PIECES + key: value for key, value in self.pieces.compute_output_spec(text).items()})
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "words": keras.saving.serialize_keras_object(self.words),
            "pieces": keras.saving.serialize_keras_object(self.pieces),
        }


@register_encoder
@keras.saving.register_keras_serializable(package="mtkeras")
class StackedEncoder(BiLSTMEncoder):
    """`BiLSTMEncoder` whose words also carry a pretrained transformer's vector (at each word's first piece).

    Args:
        vocabulary_size: int. Word ids (see `WordEncoder`).
        pretrained: `PretrainedEncoder`. Its `sequence_output` gives each word's vector.
        num_layers: int. BiLSTM layers over the stacked words (0: the words as they are).
        **kwargs: `BiLSTMEncoder` and `WordEncoder` arguments (`hidden_dim`,
            `embedding_dim`, `char_dim`, `shape_dim`, ...).

    In a config, `encoder.config` takes `preset` (`minilm`, default, or a
    keras-hub / Hugging Face folder), `sequence_length` (pieces per text,
    128), `pretrained_trainable` (fine-tune the transformer; default frozen)
    and the `bilstm` options.
    """

    encoder_name = "stacked"
    pretrained = False  # its word vocabulary is adapted on the training texts

    def __init__(self, vocabulary_size, pretrained=None, num_layers=1, **kwargs):
        if isinstance(pretrained, dict):
            pretrained = keras.saving.deserialize_keras_object(pretrained)
        if pretrained is None:
            raise ValueError("StackedEncoder needs `pretrained`, a PretrainedEncoder (see `build_layers`).")
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 0:
            raise ValueError(f"Received an invalid value for `num_layers`, expected an integer >= 0. "
                             f"Received: num_layers={num_layers!r}")
        super().__init__(vocabulary_size, num_layers=max(num_layers, 1), **kwargs)
        self.transformer = pretrained
        self.num_layers = num_layers
        if num_layers == 0:
            self.recurrent_layers, self.output_dropouts = [], []

    # === Configs and build_model ===
    STACK_OPTIONS = ("preset", "sequence_length", "pretrained_trainable")

    @classmethod
    def config_options(cls):
        return sorted((set(super().config_options()) - {"pretrained"}) | set(cls.STACK_OPTIONS))

    @classmethod
    def check_config(cls, options):
        super().check_config(options)
        length = options.get("sequence_length", 128)
        if not isinstance(length, int) or isinstance(length, bool) or length < 3:
            raise FieldError("config.sequence_length", f"expected an integer >= 3, got {length!r}")

    @classmethod
    def build_layers(cls, options, **vocabulary):
        """`(StackedPreprocessor, StackedEncoder)`: the transformer's preset, then the word vocabulary as `bilstm`."""
        options = dict(options or {})
        preset = options.pop("preset", "minilm")
        sequence_length = options.pop("sequence_length", 128)
        trainable = options.pop("pretrained_trainable", False)
        pieces, transformer = build_pretrained(minilm_preset() if preset == "minilm" else preset,
                                               sequence_length=sequence_length, trainable=trainable, dropout=0.0)
        words, encoder = super().build_layers({**options, "pretrained": transformer}, **vocabulary)
        return StackedPreprocessor(words, pieces), encoder

    # === Layer ===
    @property
    def extra_word_dim(self):
        return self.transformer.output_dim

    @property
    def output_dim(self):
        return 2 * self.hidden_dim if self.num_layers else self.word_dim

    def _extra_word_features(self, inputs, training):
        pieces = {key[len(PIECES):]: value for key, value in inputs.items() if key.startswith(PIECES)}
        words = self.transformer(pieces, training=training)["sequence_output"]  # [B, T', H], T' <= T
        steps = tf.shape(inputs["token_ids"])[1]
        words = words[:, :steps]
        # Words past the transformer's sequence length get zeros.
        return [tf.pad(words, [[0, 0], [0, steps - tf.shape(words)[1]], [0, 0]])]

    def get_config(self):
        return {**super().get_config(), "pretrained": keras.saving.serialize_keras_object(self.transformer)}
