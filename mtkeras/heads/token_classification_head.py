"""One tag distribution per word: softmax, or linear-chain CRF marginals."""

import keras

from mtkeras.heads.dense_head import DenseHead
from mtkeras.ops.crf import crf_marginals_and_log_norm, with_crf_scores


@keras.saving.register_keras_serializable(package="mtkeras")
class TokenClassificationHead(DenseHead):
    """Probabilities `[B, T, num_classes]` from the encoder's `sequence_output`.

    With `sentence_context`, each word's vector is concatenated with the
    text's `pooled_output` before the dense layer, so a word's tag can depend
    on what the whole text is about: in joint NLU the same words are a
    `playlist` in one intent and an `object_name` in another (the idea of
    intent-aware slot filling, e.g. Goo et al. 2018, Qin et al. 2019).

    With `crf`, the dense layer's outputs are the emission scores of a
    linear-chain CRF with learned tag-transition, start and end scores, and the
    head outputs each word's CRF marginals `p(tag | whole text)`
    (`mtkeras.ops.crf.crf_marginals`), so a word's distribution also
    depends on which tags its neighbours can take. The output tensor carries
    those scores (`mtkeras.ops.crf.crf_scores`) for `MaskedCRFLoss`, the
    negative log-likelihood of the whole gold tag sequence, which
    `TokenTagging(crf=True)` trains with. The scores start at 0, where the
    marginals are the per-word softmax.

    Args:
        num_classes: int. Number of tags.
        dropout: float. Dropout before the dense layer.
        sentence_context: bool. Also read the text's pooled vector.
        crf: bool. Output linear-chain CRF marginals instead of a per-word softmax.
    """

    encoder_output = "sequence_output"

    def __init__(self, num_classes, dropout=0.1, sentence_context=False, crf=False, **kwargs):
        super().__init__(num_classes, dropout=dropout, **kwargs)
        self.sentence_context = bool(sentence_context)
        self.crf = bool(crf)

    def build(self, encoded_shape, encoded_pair_shape=None):
        shape = tuple(encoded_shape[self.encoder_output])
        if self.sentence_context:
            shape = shape[:-1] + (shape[-1] + encoded_shape["pooled_output"][-1],)
        self.dense.build(shape)
        if self.crf:
            tags = self.num_classes
            scores = dict(dtype="float32", initializer="zeros", autocast=False)  # float32 under mixed precision
            self.transitions = self.add_weight(shape=(tags, tags), name="transitions", **scores)
            self.start_scores = self.add_weight(shape=(tags,), name="start_scores", **scores)
            self.end_scores = self.add_weight(shape=(tags,), name="end_scores", **scores)
        self.built = True

    def call(self, encoded, encoded_pair=None, training=None):
        x = encoded[self.encoder_output]
        if self.sentence_context:
            pooled = keras.ops.expand_dims(encoded["pooled_output"], 1)
            # [B, 1, H] to [B, T, H] by broadcasting against the words.
            x = keras.ops.concatenate([x, keras.ops.zeros_like(x[..., :1]) + pooled], axis=-1)
        x = self.dropout_layer(x, training=training)
        if self.crf:
            emissions, mask = self.dense(x), encoded["padding_mask"]
            scores = [keras.ops.convert_to_tensor(v) for v in (self.transitions, self.start_scores, self.end_scores)]
            marginals, log_norm = crf_marginals_and_log_norm(emissions, mask, *scores)
            # The marginals carry the scores that made them (and log Z, so the
            # loss need not run the forward pass again), for the sequence
            # likelihood (`MaskedCRFLoss`), as Keras' softmax carries its logits.
            return with_crf_scores(marginals, emissions, mask, *scores, log_norm)
        return self.output_activation(self.dense(x))

    def get_config(self):
        return {**super().get_config(), "sentence_context": self.sentence_context, "crf": self.crf}
