"""Shared text encoders. Every encoder maps its preprocessor's outputs to
`{"sequence_output" [B, T, H], "pooled_output" [B, H], "padding_mask" [B, T]}`.

Encoders are registered by name (`register_encoder`); `build_encoder_layers`
is the one place that turns a name (or a preset folder) into the
preprocessor and encoder layers, and decides whether the vocabulary is
adapted on training texts (from scratch) or brought by a preset.

| name | class | vocabulary |
|---|---|---|
| `bilstm` | `BiLSTMEncoder` | adapted on the training texts |
| `cnn` | `CNNEncoder` | adapted |
| `transformer` | `TransformerEncoder` | adapted |
| `bert` (`config.preset`), or a preset folder | `BertPreset` → `PretrainedEncoder` | the preset's WordPiece |
| `minilm` | `MiniLMPreset` → `PretrainedEncoder` | the preset's WordPiece |
| `stacked` | `StackedEncoder`: a preset's word vectors beside word and character features, under a BiLSTM | adapted (words) and the preset's WordPiece |
"""

from mtkeras.encoders.bilstm import BiLSTMEncoder
from mtkeras.encoders.build import build_encoder_layers, check_encoder_config, is_pretrained, resolve_encoder
from mtkeras.encoders.cnn import CNNEncoder
from mtkeras.encoders.pretrained import BertPreset, MiniLMPreset, PretrainedEncoder, build_pretrained, minilm_preset
from mtkeras.encoders.registry import encoder_class, register_encoder, registered_encoders
from mtkeras.encoders.stacked import StackedEncoder, StackedPreprocessor
from mtkeras.encoders.transformer import TransformerEncoder
from mtkeras.encoders.word_encoder import WordEncoder


def get_encoder(name, vocabulary_size, **config):
    """Builds a registered from-scratch encoder by name, e.g. `get_encoder("bilstm", 5000)`.

    Pretrained encoders bring their own vocabulary: `build_pretrained` or
    `build_encoder_layers` build them.
    """
    if is_pretrained(name):
        raise ValueError(
            f"Encoder {name!r} is pretrained: it brings its own vocabulary, so build it with "
            "`build_pretrained(preset)` or `build_encoder_layers`, not `get_encoder`"
        )
    return encoder_class(name)(vocabulary_size=vocabulary_size, **config)


def __getattr__(name):
    # Earlier names, computed from the registry so that they list registered encoders too:
    # ENCODERS (from-scratch name -> class) and PRETRAINED (the preset names).
    if name == "ENCODERS":
        return {key: cls for key, cls in registered_encoders().items() if not is_pretrained(key)}
    if name == "PRETRAINED":
        return tuple(key for key in registered_encoders() if is_pretrained(key))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BertPreset",
    "BiLSTMEncoder",
    "CNNEncoder",
    "MiniLMPreset",
    "PretrainedEncoder",
    "StackedEncoder",
    "StackedPreprocessor",
    "TransformerEncoder",
    "WordEncoder",
    "build_encoder_layers",
    "build_pretrained",
    "check_encoder_config",
    "encoder_class",
    "registered_encoders",
    "get_encoder",
    "is_pretrained",
    "minilm_preset",
    "register_encoder",
    "resolve_encoder",
]
