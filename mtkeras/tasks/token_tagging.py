"""One tag per word: named entities, slot filling (BIO tags)."""

import math
import numbers

import numpy as np
from pydantic import Field

from mtkeras import names, results
from mtkeras.ops.bio import bio_entity_spans, continuation_tag, decode_bio, decode_bio_arrays
from mtkeras.lazy import lazy_module
from mtkeras.names import TOKEN
from mtkeras.tasks.base import ClassificationOptions, ClassificationTask
from mtkeras.tasks.calibration import with_outside_weight
from mtkeras.tasks.registry import register_task_kind
from mtkeras.tasks.scores import entity_errors, entity_f1, entity_scores, entity_set

tf = lazy_module("tensorflow")
heads = lazy_module("mtkeras.heads")
losses = lazy_module("mtkeras.tasks.losses")
metrics = lazy_module("mtkeras.tasks.metrics")


class TokenTaggingOptions(ClassificationOptions):
    sentence_context: bool = Field(False, description="the head also reads the pooled text vector")
    crf: bool = Field(
        False, description="linear-chain CRF with learned tag transitions, trained on whole-sequence likelihood"
    )
    fit_outside_weight: bool = Field(
        True, description="after training, fit on the valid split the weight of the \"O\" tag's probability in "
        "decoding that gives the best entity F1 (below 1: more words tagged; helps a cautious tagger's recall)"
    )


@register_task_kind
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
        outside_weight: float > 0. Multiplies the probability of the "O" tag
            (the others renormalized) in every answer: tags, entities, their
            scores and `<name>_probs`. The model's own outputs stay as
            trained. Fitted after training on the valid split by entity F1
            when `fit_outside_weight` (`mtkeras.evaluation.calibrate`).
        fit_outside_weight: bool. Whether training fits `outside_weight`.

    Example:
    >>> slots = TokenTagging.from_examples("slots", train)  # "O" first, every B-x with its I-x
    """

    kind = "token_tagging"
    level = TOKEN
    logged_metrics = ("accuracy", "f1", "loss")  # f1: entities of the argmax tags
    score_metric = "f1"
    result_format = results.TAGS
    Options = TokenTaggingOptions

    def __init__(self, name, labels, sentence_context=False, crf=False, outside_weight=1.0, fit_outside_weight=True,
                 **kwargs):
        super().__init__(name, labels, **kwargs)
        self.sentence_context = bool(sentence_context)
        self.crf = bool(crf)
        if (not isinstance(outside_weight, numbers.Real) or isinstance(outside_weight, bool)
                or not 0 < outside_weight < math.inf):
            raise ValueError(f"Task {name!r}: `outside_weight` must be a finite number > 0. "
                             f"Received: outside_weight={outside_weight!r}")
        self.outside_weight = float(outside_weight)
        self.fit_outside_weight = bool(fit_outside_weight)
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
        return heads.TokenClassificationHead(
            self.num_labels,
            dropout=self.dropout,
            sentence_context=self.sentence_context,
            crf=self.crf,
            name=self.name,
        )

    def loss(self):
        if self.crf:
            return losses.MaskedCRFLoss(name=f"{self.name}_loss")
        return super().loss()

    def metrics(self):
        return [metrics.MaskedEntityF1(self.labels, name="f1"), *super().metrics()]

    def get_config(self):
        return {**super().get_config(), "sentence_context": self.sentence_context, "crf": self.crf,
                "outside_weight": self.outside_weight, "fit_outside_weight": self.fit_outside_weight}

    @property
    def outside(self):
        """The index of the "O" tag, or None."""
        return self.labels.index("O") if "O" in self.labels else None

    def weighted(self, probs):
        """`probs` (`[B, T, C]` tensor) with the outside weight: the "O" column scaled, each word renormalized."""
        if self.outside_weight == 1.0 or self.outside is None:
            return probs
        probs = tf.cast(probs, tf.float32)
        scale = tf.constant([self.outside_weight if i == self.outside else 1.0 for i in range(self.num_labels)],
                            tf.float32)
        probs = probs * scale
        return probs / tf.maximum(tf.reduce_sum(probs, axis=-1, keepdims=True), 1e-30)

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
        probs = self.weighted(probs)
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
            names.entity_score_key(self.name): _span_scores(probs, ids, real, starts, ends),
        }

    # === Evaluation ===
    def predict_items(self, outputs, lengths, decode=True):
        """Tag ids over each text's model words (with the outside weight): constrained BIO Viterbi (`decode`)
        or per-word argmax."""
        outputs = with_outside_weight(outputs, self.outside, self.outside_weight)
        lengths = np.minimum(np.asarray(lengths, dtype=np.int32), outputs.shape[1])
        ids = decode_bio_arrays(outputs, lengths, self.labels) if decode else np.argmax(outputs, axis=-1).astype(np.int32)
        return [ids[i, : lengths[i]] for i in range(len(lengths))]

    def score_items(self, items):
        """Per-word `accuracy`, entity `precision`/`recall`/`f1`/`per_type` (seqeval) and `errors`.

        A word past the model's `max_words` has no prediction: it is an error
        and predicts no entity.
        """
        gold_sequences, pred_sequences = [], []
        right = total = 0
        for gold, pred, mask, given in zip(items.gold, items.pred, items.mask, items.gold_names):
            pred = _over_words(pred, len(gold))
            right += int(np.sum(_right_words(gold, pred) & mask))
            total += int(np.sum(mask))
            gold_sequences.append(self._gold_tags(gold, mask, given))
            pred_sequences.append(self._pred_tags(pred))
        if not gold_sequences:
            nan = float("nan")
            return {
                "examples": 0, "accuracy": nan, "precision": nan, "recall": nan, "f1": nan, "per_type": {},
                "errors": entity_errors([], []),
            }
        return {
            "examples": len(gold_sequences),
            "accuracy": right / total if total else float("nan"),
            **entity_scores(gold_sequences, pred_sequences),
            "errors": entity_errors(gold_sequences, pred_sequences),
        }

    def entity_f1_of(self, items):
        """A function of predicted ids (as `predict_items` gives them) to their entity F1 on `items`' gold.

        The F1 of `score_items`, without the rest of its report: for scoring
        many decisions over one set of texts (the outside weights of
        `mtkeras.evaluation.calibrate`), the gold entities read once.
        """
        gold = entity_set(self._gold_tags(*row) for row in zip(items.gold, items.mask, items.gold_names))

        def f1(pred_items):
            return entity_f1(gold, entity_set(self._pred_tags(_over_words(pred, len(ids)))
                                              for ids, pred in zip(items.gold, pred_items)))

        return f1

    def item_is_right(self, gold, pred, mask):
        return bool(np.all(_right_words(gold, _over_words(pred, len(gold)))[mask]))

    def text_counts(self, items):
        """Per text: entities right, gold entities, predicted entities (exact span and type): micro `f1`."""
        rows = []
        for gold, pred, mask, given in zip(items.gold, items.pred, items.mask, items.gold_names):
            gold_entities = entity_set([self._gold_tags(gold, mask, given)])
            pred_entities = entity_set([self._pred_tags(_over_words(pred, len(gold)))])
            rows.append((len(gold_entities & pred_entities), len(gold_entities), len(pred_entities)))
        return np.asarray(rows, np.float64).reshape(-1, 3)

    def score_of_counts(self, sums):
        sums = np.asarray(sums, np.float64)
        right, found = sums[..., 0], sums[..., 1] + sums[..., 2]
        return np.where(right > 0, 2.0 * right / np.maximum(found, 1.0), 0.0)

    def _pred_tags(self, pred):
        """Tag strings of predicted ids; no prediction (-1) reads as "O"."""
        return [self.labels[p] if p >= 0 else "O" for p in pred]

    def _gold_tags(self, gold, mask, given):
        """Gold tag strings of one text; unlabelled words read as "O", a run of unknown ids as one entity."""
        if given is not None:
            tags = list(given) + ["O"] * (len(gold) - len(given))
            return [tag if labelled else "O" for tag, labelled in zip(tags, mask)]
        tags = []
        for position, (label_id, labelled) in enumerate(zip(gold, mask)):
            if not labelled:
                tags.append("O")
            elif label_id >= 0:
                tags.append(self.labels[label_id])
            else:
                continues = position > 0 and mask[position - 1] and gold[position - 1] < 0
                tags.append(("I-" if continues else "B-") + names.UNKNOWN_LABEL)
        return tags


def _over_words(pred, size):
    """Predicted ids over `size` words: -1 (no prediction) past the model's words."""
    out = np.full([size], -1, dtype=np.int32)
    out[: min(size, len(pred))] = pred[:size]
    return out


def _right_words(gold, pred):
    """Per word: the prediction equals a known gold label (unknown -1 never right)."""
    return (gold == pred) & (gold != names.UNKNOWN_LABEL_ID)


def _span_scores(probs, ids, real, starts, ends):
    """Each entity's confidence: the mean probability of its words' chosen tags (`[B, E]`, 0 where padded)."""
    chosen = tf.gather(tf.cast(probs, tf.float32), ids, batch_dims=2) * tf.cast(real, tf.float32)  # [B, T]
    totals = tf.concat([tf.zeros_like(chosen[:, :1]), tf.cumsum(chosen, axis=1)], axis=1)  # [B, T + 1]
    first, last = tf.maximum(starts, 0), tf.maximum(ends, 0)
    summed = tf.gather(totals, last, batch_dims=1) - tf.gather(totals, first, batch_dims=1)
    mean = summed / tf.cast(tf.maximum(last - first, 1), tf.float32)
    return tf.where(starts >= 0, mean, tf.zeros_like(mean))
