"""One tag per word: named entities, slot filling (BIO tags)."""

import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.heads import TokenClassificationHead
from mtkeras.heads.bio_decoding import decode_bio
from mtkeras.tasks.base import TOKEN, ClassificationTask, register_task


@register_task
class TokenTagging(ClassificationTask):
    """One tag per word: named entities, slot filling (BIO tags).

    Model output `[B, T, C]` probabilities. Data: one tag per word. Exported:
    `<name>_tags` (string `[B, T]`, "" past each text's length), decoded with
    a constrained Viterbi so that they always form valid BIO entities, and
    `<name>_probs`.

    Example:
    >>> slots = TokenTagging.from_examples("slots", train)  # "O" first, every B-x with its I-x
    """

    kind = "token_tagging"
    level = TOKEN

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
        return TokenClassificationHead(self.num_labels, dropout=self.dropout, name=self.name)

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
        tags = tf.gather(tf.constant(self.labels), self.decode(probs, lengths))
        real = tf.sequence_mask(lengths, maxlen=tf.shape(probs)[1])
        return {
            names.tags_key(self.name): tf.where(real, tags, ""),
            names.probs_key(self.name): probs,
        }


def continuation_tag(tag):
    """The tag of a word piece that follows `tag` inside the same data word.

    "B-city" and "I-city" continue as "I-city"; anything else continues as is.
    """
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
        return "I-" + tag[2:]
    return tag


def bio_entities(words, tags):
    """Groups BIO-tagged words into `(type, text)` entities.

    An `I-x` that does not continue an `x` entity starts a new one (the
    conlleval reading), so no tagged word is dropped.

    Example:
    >>> bio_entities(["for", "two", "at", "8", "pm"], ["O", "B-party_size", "O", "B-time", "I-time"])
    [('party_size', 'two'), ('time', '8 pm')]
    """
    entities = []
    current = None
    for word, tag in zip(words, tags):
        prefix, _, kind = tag.partition("-")
        if prefix in ("B", "I") and kind:
            if prefix == "I" and current is not None and current[0] == kind:
                current[1].append(word)
                continue
            current = (kind, [word])
            entities.append(current)
        else:
            current = None
    return [(kind, " ".join(span)) for kind, span in entities]
