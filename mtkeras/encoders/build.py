"""The one place that turns an encoder name into layers, and decides pretrained vs from scratch.

`encoder.name` in a config (and `build_model(encoder=...)`) is a registered
encoder (`bilstm`, `cnn`, `transformer`, `bert`, `minilm`, or one registered
from outside mtkeras) or a preset folder, read as a BERT-family preset.
"""

import os

from mtkeras.encoders.pretrained import BertPreset
from mtkeras.encoders.registry import encoder_class, registered_encoders
from mtkeras.errors import FieldError


def _is_path(name):
    return "/" in name or os.sep in name or name.startswith(".") or os.path.isdir(name)


def resolve_encoder(name, options=None):
    """`(encoder class, options)` for an encoder name; a folder becomes `bert` with that preset.

    Raises:
        ValueError: an unknown name (naming the known ones), or a folder that does not exist.
    """
    options = dict(options or {})
    if name in registered_encoders():
        return encoder_class(name), options
    if _is_path(name):
        if not os.path.isdir(name):
            raise ValueError(f"no such preset folder: {name!r}")
        return BertPreset, {**options, "preset": name}
    encoder_class(name)  # raises, naming the known encoders


def is_pretrained(name):
    """Whether the encoder `name` brings its own vocabulary and weights (a preset)."""
    cls, _ = resolve_encoder(name)
    return bool(getattr(cls, "pretrained", False))


def check_encoder_config(name, options):
    """Raises `FieldError` (`name` or `config.<option>`) for an encoder a config cannot build."""
    try:
        cls, resolved = resolve_encoder(name, options)
    except ValueError as error:
        message = str(error)
        if message.startswith("Unknown encoder"):
            message = (f"unknown encoder {name!r}; expected one of {', '.join(sorted(registered_encoders()))} "
                       "or a preset directory")
        raise FieldError("name", message) from None
    cls.check_config(resolved)


def build_encoder_layers(name, options=None, **vocabulary):
    """`(preprocessor, encoder)` of the encoder `name`.

    Args:
        name: str. A registered encoder or a preset folder.
        options: dict. The encoder's own arguments (`encoder.config`).
        **vocabulary: for from-scratch encoders `texts` or `vocabulary`,
            `max_vocabulary_size`, `max_words`, `lowercase`; for pretrained
            ones `sequence_length` (the others must be absent).
    """
    cls, resolved = resolve_encoder(name, options)
    return cls.build_layers(resolved, **vocabulary)
