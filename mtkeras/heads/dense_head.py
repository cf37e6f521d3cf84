"""The head every task kind builds on: dropout, a dense layer, an activation."""

import keras


class DenseHead(keras.layers.Layer):
    """Base of the heads: dropout, then a dense layer over `num_classes` outputs and an activation.

    Reads `pooled_output` (sentence heads) or `sequence_output` (token heads)
    from the encoder outputs dict. Outputs are float32 probabilities even under
    mixed precision, so losses and exported scores stay stable.
    """

    encoder_output = None  # Set by subclasses.

    activation = "softmax"

    def __init__(self, num_classes, dropout=0.1, pair=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                "Received an invalid value for `num_classes`, expected a positive "
                f"integer. Received: num_classes={num_classes!r}"
            )
        if pair and self.encoder_output != "pooled_output":
            raise ValueError(f"{type(self).__name__} reads one text; it cannot take pair=True")
        self.num_classes = num_classes
        self.dropout = dropout
        self.pair = pair
        # === Layers ===
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.dense = keras.layers.Dense(num_classes, name="logits")
        self.output_activation = keras.layers.Activation(self.activation, dtype="float32", name="probs")

    def build(self, encoded_shape, encoded_pair_shape=None):
        shape = tuple(encoded_shape[self.encoder_output])
        self.dense.build(shape[:-1] + (4 * shape[-1],) if self.pair else shape)
        self.built = True

    def call(self, encoded, encoded_pair=None, training=None):
        x = encoded[self.encoder_output]
        if self.pair:
            # Two texts through one encoder: [u, v, |u - v|, u * v] (InferSent,
            # Sentence-BERT) lets the head compare them symmetrically.
            v = encoded_pair[self.encoder_output]
            x = keras.ops.concatenate([x, v, keras.ops.abs(x - v), x * v], axis=-1)
        x = self.dropout_layer(x, training=training)
        return self.output_activation(self.dense(x))

    def compute_output_spec(self, encoded, encoded_pair=None, training=None):
        shape = tuple(encoded[self.encoder_output].shape[:-1]) + (self.num_classes,)
        return keras.KerasTensor(shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "dropout": self.dropout, "pair": self.pair})
        return config
