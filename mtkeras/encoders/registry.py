"""The registry of encoders: what a config's `encoder.name` (and `build_model(encoder=...)`) names.

An entry is a class with a unique `encoder_name` and two classmethods:
`check_config(options)` (before anything is built) and `build_layers(options,
...)`, which returns the preprocessor and encoder layers (see `WordEncoder`
and `mtkeras.encoders.pretrained`). From-scratch encoders
(`WordEncoder` subclasses: `bilstm`, `cnn`, `transformer`) adapt a word
vocabulary on the training texts; pretrained ones (`bert`, `minilm`) bring
their preset's WordPiece vocabulary and weights. An encoder defined outside
mtkeras registers with `register_encoder` and is then usable from YAML.

Example:
>>> @mtkeras.encoders.register_encoder
... class GRUEncoder(mtkeras.encoders.WordEncoder):
...     encoder_name = "gru"
"""

import difflib

_ENCODERS = {}


def register_encoder(cls):
    """Class decorator: makes an encoder known by its `encoder_name` (a str).

    Raises:
        ValueError: `cls` has no `encoder_name`, or another class has it.
    """
    name = getattr(cls, "encoder_name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__}: a registered encoder needs an `encoder_name` string. Received: {name!r}")
    if _ENCODERS.get(name, cls) is not cls:
        raise ValueError(f"Encoder {name!r} is taken by {_ENCODERS[name].__module__}.{_ENCODERS[name].__name__}")
    _ENCODERS[name] = cls
    return cls


def encoder_class(name):
    """The registered encoder `name`; a `ValueError` names the known ones (and the closest)."""
    cls = _ENCODERS.get(name)
    if cls is None:
        close = difflib.get_close_matches(str(name), list(_ENCODERS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown encoder {name!r}{hint} Known encoders: {sorted(_ENCODERS)}")
    return cls


def registered_encoders():
    """`{name: class}` of every registered encoder, in registration order."""
    return dict(_ENCODERS)
