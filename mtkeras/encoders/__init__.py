"""Shared text encoders. Every encoder maps `{"token_ids", "padding_mask"}` to
`{"sequence_output" [B, T, H], "pooled_output" [B, H], "padding_mask" [B, T]}`."""

from mtkeras.encoders.bilstm import BiLSTMEncoder
from mtkeras.encoders.cnn import CNNEncoder
from mtkeras.encoders.transformer import TransformerEncoder
from mtkeras.encoders.word_encoder import WordEncoder
from mtkeras.encoders.pretrained import PretrainedEncoder, build_pretrained, minilm_preset

ENCODERS = {"bilstm": BiLSTMEncoder, "cnn": CNNEncoder, "transformer": TransformerEncoder}


def get_encoder(name, vocabulary_size, **config):
    """Builds a registered encoder by name, e.g. `get_encoder("bilstm", 5000)`.

    `config` holds the encoder's other arguments; `build_model` adds the
    preprocessor's `char_buckets` for encoders that take it.
    """
    try:
        cls = ENCODERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown encoder {name!r}. Known encoders: {sorted(ENCODERS)}"
        ) from None
    return cls(vocabulary_size=vocabulary_size, **config)


# Encoder names that bring their own tokenizer and vocabulary (a preset).
PRETRAINED = ("bert", "minilm")

__all__ = [
    "BiLSTMEncoder",
    "CNNEncoder",
    "TransformerEncoder",
    "WordEncoder",
    "ENCODERS",
    "PRETRAINED",
    "PretrainedEncoder",
    "build_pretrained",
    "get_encoder",
    "minilm_preset",
]
