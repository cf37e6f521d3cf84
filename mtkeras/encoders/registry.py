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

from mtkeras.registry import Registry

# Keras layers have a `name` of their own: encoders register by `encoder_name`.
ENCODERS = Registry("encoder", "encoder_name", identifier=False)

register_encoder = ENCODERS.register
encoder_class = ENCODERS.get
registered_encoders = ENCODERS.classes
