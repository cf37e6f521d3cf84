"""One tag per word: named entities, slot filling (BIO tags)."""

import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.heads import TokenClassificationHead
from mtkeras.ops.bio import bio_entity_spans, continuation_tag, decode_bio
from mtkeras.tasks.base import TOKEN, ClassificationTask, register_task
from mtkeras.tasks.losses import MaskedCRFLoss
from mtkeras.tasks.metrics import MaskedEntityF1


@register_task
class TokenTagging(ClassificationTask):
    """One tag per word: named entities, slot filling (BIO tags).

    Model output `[B, T, C]` probabilities. Data: one tag per word. Exported:
    `<name>_tags` (string `[B, T]`, "" past each text's length), decoded with
    a constrained Viterbi so that they always form valid BIO entities,
    `<name>_probs`, and the entities of those tags as dense tensors (TF
    Serving returns no ragged tensors), padded to `E`, the most entities of
    any text in the batch: `<name>_entity_start` and `<name>_entity_end`
    (int32 `[B, E]`, `words[start:end]` is the entity, -1 padded),
    `<name>_entity_type` (string `[B, E]`, "" padded) and
    `<name>_entity_count` (int32 `[B]`); see `bio_entity_spans`. Tags that
    are not `B-x`/`I-x` (e.g. POS tags) belong to no entity, so a task
    without BIO tags still has these outputs, with `E = 0`.

    Args:
        name, labels, loss_weight, dropout, label_smoothing: see `ClassificationTask`.
        sentence_context: bool. The head also reads the text's pooled vector
            (`TokenClassificationHead`), so tags can depend on the whole text.
        crf: bool. A linear-chain CRF with learned tag transitions over the
            words (`TokenClassificationHead`), trained on the likelihood of
            each text's whole tag sequence (`MaskedCRFLoss`); the output is
            each word's CRF marginals, so decoding, metrics and export are
            unchanged. Not with `label_smoothing`.

    Example:
    >>> slots = TokenTagging.from_examples("slots", train)  # "O" first, every B-x with its I-x
    """

    kind = "token_tagging"
    level = TOKEN
    logged_metrics = ("accuracy", "f1", "loss")  # f1: entities of the argmax tags
    score_metric = "f1"

    def __init__(self, name, labels, sentence_context=False, crf=False, **kwargs):
        super().__init__(name, labels, **kwargs)
        self.sentence_context = bool(sentence_context)
        self.crf = bool(crf)
        if self.crf and self.label_smoothing:
            raise ValueError(
                f"Task {name!r}: `label_smoothing` does not apply with crf=True (the CRF is trained on the "
                f"likelihood of whole tag sequences). Received: label_smoothing={self.label_smoothing!r}"
            )

    @classmethod
    def from_examples(cls, name, examples, **kwargs):
        """Declares the task with the tags that `examples` carry ("O" first).

        The BIO set is completed: every `B-x` brings `I-x`, which a word split
        into several model words needs even when the data never shows it.
        """
        tags = {tag for ex in examples if name in ex.labels for tag in ex.labels[name]}
        if not tags:
            raise ValueError(f"No example has tags for task {name!r}")
        tags |= {continuation_tag(tag) for tag in tags}
        labels = (["O"] if "O" in tags else []) + sorted(tags - {"O"})
        return cls(name, labels=labels, **kwargs)

    def build_head(self):
        return TokenClassificationHead(
            self.num_labels,
            dropout=self.dropout,
            sentence_context=self.sentence_context,
            crf=self.crf,
            name=self.name,
        )

    def loss(self):
        if self.crf:
            return MaskedCRFLoss(name=f"{self.name}_loss")
        return super().loss()

    def metrics(self):
        return [MaskedEntityF1(self.labels, name="f1"), *super().metrics()]

    def get_config(self):
        return {**super().get_config(), "sentence_context": self.sentence_context, "crf": self.crf}

    def encode(self, value, num_words, source="", unknown="raise"):
        """Tag ids and weights `[num_words]` for one example's aligned tags."""
        if value is None:
            return np.zeros([num_words], np.int32), np.zeros([num_words], np.float32)
        if len(value) != num_words:
            raise ValueError(f"{source}: task {self.name!r} has {len(value)} tags for {num_words} words")
        ids = np.array([self.label_id(tag, source, unknown) for tag in value], dtype=np.int32)
        return ids, np.ones([num_words], np.float32)

    def decode(self, probs, lengths):
        """Best valid BIO tag ids `[B, T]` (0 past each length)."""
        return decode_bio(probs, lengths, self.labels)

    def export_outputs(self, probs, lengths):
        ids = self.decode(probs, lengths)
        tags = tf.gather(tf.constant(self.labels), ids)
        real = tf.sequence_mask(lengths, maxlen=tf.shape(probs)[1])
        starts, ends, types, counts = bio_entity_spans(ids, lengths, self.labels)
        return {
            names.tags_key(self.name): tf.where(real, tags, ""),
            names.probs_key(self.name): probs,
            names.entity_start_key(self.name): starts,
            names.entity_end_key(self.name): ends,
            names.entity_type_key(self.name): types,
            names.entity_count_key(self.name): counts,
        }
