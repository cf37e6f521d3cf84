"""Task-private layers: one task's own capacity between the shared encoder and its head.

A shared encoder serves every task; what one task needs and the others do not
(entity boundaries, a sentiment's negation scope) competes for the same
weights. Layers that only one task trains give it room of its own while the
encoder stays shared (the shared-private model of Liu et al. 2017; PALs,
Stickland & Murray 2019). The model still answers every task in one pass.
"""

import keras
from keras import ops

from mtkeras.encoders.word_encoder import _fraction, _positive_int, contract_output_spec, masked_max_pool

SEQUENCE_LAYERS = ("bilstm", "transformer", "feedforward")
POOLINGS = ("mean", "max", "attention")


@keras.saving.register_keras_serializable(package="mtkeras")
class TaskPrivateLayers(keras.layers.Layer):
    """Encoder outputs in, encoder outputs out (the same contract), through one task's own layers.

    Sequence layers read the shared `sequence_output` and give the task its
    own word vectors; its `pooled_output` is then the mean of those over the
    text's words (or `pooling`'s summary). Dense layers (GELU, with dropout)
    transform the pooled vector, which sentence heads read (and token heads
    with `sentence_context`).

    Args:
        sequence: `"bilstm"`, `"transformer"`, `"feedforward"` or None. Layers
            over the words. A feed-forward layer (GELU) reads each word on its
            own: features of the task's own without mixing words, the
            cheapest to serve (no steps, no attention). It has no residual
            connection: the head reads its output only.
        units: int. BiLSTM: units per direction (the words become `2 * units`
            wide); Transformer: its feed-forward width (the words keep the
            encoder's width); feed-forward: its width (the words become
            `units` wide).
        heads: int. Transformer: attention heads (must divide the width of
            the words it reads: `width` when given, else the encoder's).
        layers: int. How many sequence layers, stacked.
        width: int or None. Project the shared words to this width (a
            linear layer) before the sequence layers: the task attends or
            recurs over a narrow view of its own, as PALs' projected
            attention does, at a fraction of the work per word. None: the
            sequence layers read the encoder's words as they are.
        dense: list of int. Widths of dense layers over the pooled vector.
        dropout: float. Dropout after each layer.
        pooling: `"mean"`, `"max"`, `"attention"` or None. How the task
            sums a text up from its words (the private ones after sequence
            layers, else the shared ones): their mean or maximum over the
            text's words, or `"attention"`, a weighted mean whose weights
            the task learns (a score per word from a tanh layer as wide as
            the words, softmaxed over the text; the self-attentive pooling
            of Lin et al. 2017 with one head), so each sentence task reads
            the words that matter to it. None: the mean after sequence
            layers, else the encoder's own `pooled_output`. A text without
            words pools to zeros. Sentence heads read the pooled vector;
            token heads only with `sentence_context`.

    Example:
    >>> private = TaskPrivateLayers(sequence="bilstm", units=128)
    >>> head(private(encoder(preprocessor(texts))))
    """

    def __init__(self, sequence=None, units=128, heads=4, layers=1, dense=(), dropout=0.1, width=None, pooling=None,
                 **kwargs):
        super().__init__(**kwargs)
        if sequence not in (None,) + SEQUENCE_LAYERS:
            raise ValueError(f"Received an invalid `sequence`, expected one of {SEQUENCE_LAYERS} or None. "
                             f"Received: sequence={sequence!r}")
        for option, value in (("units", units), ("heads", heads), ("layers", layers)):
            _positive_int(option, value)
        dense = list(dense or ())
        for size in dense:
            _positive_int("dense", size)
        _fraction("dropout", dropout)
        if pooling not in (None,) + POOLINGS:
            raise ValueError(f"Received an invalid `pooling`, expected one of {POOLINGS} or None. "
                             f"Received: pooling={pooling!r}")
        if sequence is None and not dense and pooling is None:
            raise ValueError("TaskPrivateLayers needs `sequence` layers, `dense` layers or a `pooling`.")
        if width is not None:
            _positive_int("width", width)
            if sequence is None:
                raise ValueError(f"`width` projects the words for `sequence` layers; there are none. Received: "
                                 f"width={width}, sequence=None")
            if sequence == "transformer" and width % heads:
                raise ValueError(f"A private Transformer's `heads` must divide `width`. Received: heads={heads}, "
                                 f"width={width}")
        self.sequence = sequence
        self.units = units
        self.heads = heads
        self.num_layers = layers
        self.dense = dense
        self.dropout = dropout
        self.width = width
        self.pooling = pooling
        # === Layers ===
        self.projection = keras.layers.Dense(width, name="projection") if width else None
        self.sequence_layers = []
        self.dense_layers = [keras.layers.Dense(size, activation="gelu", name=f"dense_{i}") for i, size in enumerate(dense)]
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.attention_hidden = self.attention_score = None

    def build(self, encoded_shape):
        *steps, width = encoded_shape["sequence_output"]  # (batch, words), and each word's width
        steps = tuple(steps)
        if self.projection is not None:
            self.projection.build(steps + (width,))
            width = self.width
        for i in range(self.num_layers if self.sequence else 0):
            if self.sequence == "bilstm":
                layer = keras.layers.Bidirectional(keras.layers.LSTM(self.units, return_sequences=True), name=f"bilstm_{i}")
                layer.build(steps + (width,))
                width = 2 * self.units
            elif self.sequence == "feedforward":
                layer = keras.layers.Dense(self.units, activation="gelu", name=f"feedforward_{i}")
                layer.build(steps + (width,))
                width = self.units
            else:
                if width % self.heads:
                    raise ValueError(f"{self.name}: a private Transformer's `heads` must divide the width of the "
                                     f"words it reads, {width} ({'`width`' if self.width else 'the encoder'}). "
                                     f"Received: heads={self.heads}")
                import keras_hub  # only a private Transformer needs it

                layer = keras_hub.layers.TransformerEncoder(self.units, self.heads, dropout=self.dropout,
                                                            name=f"transformer_{i}")
                layer.build(steps + (width,))
            self.sequence_layers.append(layer)
        if self.pooling == "attention":
            self.attention_hidden = keras.layers.Dense(width, activation="tanh", name="attention_hidden")
            self.attention_hidden.build(steps + (width,))
            self.attention_score = keras.layers.Dense(1, use_bias=False, name="attention_score")
            self.attention_score.build(steps + (width,))
        pooled = width if self.sequence or self.pooling else encoded_shape["pooled_output"][-1]
        for layer in self.dense_layers:
            layer.build((None, pooled))
            pooled = layer.units
        self.built = True

    def call(self, encoded, training=None):
        words, mask = encoded["sequence_output"], ops.cast(encoded["padding_mask"], "bool")
        pooled = encoded["pooled_output"]
        if self.sequence_layers:
            if self.projection is not None:
                words = self.projection(words)
            for layer in self.sequence_layers:
                if self.sequence == "bilstm":
                    words = layer(words, mask=mask, training=training)
                elif self.sequence == "feedforward":
                    words = layer(words)
                else:
                    words = layer(words, padding_mask=mask, training=training)
                words = self.dropout_layer(words, training=training)
        how = self.pooling or ("mean" if self.sequence_layers else None)
        if how:
            real = ops.expand_dims(ops.cast(mask, words.dtype), -1)
            # Zero after the text's end: the task's own words as it returns them; the shared ones only to pool.
            zeroed = words * real
            if self.sequence_layers:
                words = zeroed
            pooled = self._pool(zeroed, mask, real, how)
        for layer in self.dense_layers:
            pooled = self.dropout_layer(layer(pooled), training=training)
        return {"sequence_output": words, "pooled_output": pooled, "padding_mask": encoded["padding_mask"]}

    def _pool(self, words, mask, real, how):
        """`[B, width]`: the text's words (zero after its end; `real` is 1 on its words) summed up; zeros for a
        text without words."""
        if how == "max":
            return masked_max_pool(words, mask)
        if how == "mean":
            return ops.sum(words, axis=1) / ops.maximum(ops.sum(real, axis=1), ops.cast(1, words.dtype))
        # [B, T, 1], softmaxed in float32 under a float16 policy too (an exp over the text's words).
        scores = ops.cast(self.attention_score(self.attention_hidden(words)), "float32")
        # Padding gets no weight: exp(-1e9 - max) is 0, and `* real` keeps a text without words at zeros.
        scores = ops.where(ops.expand_dims(mask, -1), scores, -1e9)
        weights = ops.cast(ops.softmax(scores, axis=1), words.dtype) * real
        return ops.sum(weights * words, axis=1)

    def output_widths(self, width, pooled_width):
        """`(words, pooled)` widths out, given the encoder's."""
        if self.sequence == "bilstm":
            width = pooled_width = 2 * self.units
        elif self.sequence == "feedforward":
            width = pooled_width = self.units
        elif self.sequence == "transformer":
            width = pooled_width = self.width or width
        if self.pooling:
            pooled_width = width  # the words' summary, as wide as they are
        return width, (self.dense[-1] if self.dense else pooled_width)

    def compute_output_spec(self, encoded, training=None):
        batch, steps, width = encoded["sequence_output"].shape
        width, pooled = self.output_widths(width, encoded["pooled_output"].shape[-1])
        spec = contract_output_spec(batch, steps, width, self.compute_dtype)
        spec["pooled_output"] = keras.KerasTensor((batch, pooled), dtype=self.compute_dtype)
        return spec

    def get_config(self):
        return {**super().get_config(), "sequence": self.sequence, "units": self.units, "heads": self.heads,
                "layers": self.num_layers, "dense": list(self.dense), "dropout": self.dropout, "width": self.width,
                "pooling": self.pooling}
