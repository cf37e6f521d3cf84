"""Evaluation of a multi-task model on labelled data: one table, every task.

`evaluate(model, data)` runs the model on every text of `data` and scores each
task over the items labelled for it (texts, or words for token tasks; an item
with weight 0 counts in nothing). A label outside the task's vocabulary (id
-1, see `mtkeras.tasks.UNKNOWN_LABEL_ID`) counts as an error.

| task kind | metrics |
|---|---|
| `SentenceClassification` | `accuracy`, `macro_f1` (over the labels seen in gold or predictions), `confusion` |
| `TokenTagging` | `accuracy` (per word), entity-level `precision`, `recall`, `f1` and `per_type` (seqeval, conlleval reading); `errors`: gold entities of the wrong type, with wrong boundaries or missed, spurious ones, and the most confused types (`entity_errors`) |

Every task also reports `examples`, the number of texts labelled for it. The
result's `sentence_accuracy` is the fraction of the texts with at least one
label whose every labelled task is right (a token task is right when all its
labelled words are; a kind without a right answer, such as a regression
score, takes no part).

Token tags are decoded with the constrained Viterbi of
`mtkeras.ops.bio` (`decode=True`, only valid BIO sequences) or
by per-word argmax (`decode=False`).

A task kind maps to its scoring by `KIND_EVALUATORS`; a new kind (say a
regression task scored with `pearson` and `spearman`) adds one entry.

Example:
>>> results = mtkeras.evaluate(model, make_dataset(test, model.tasks, batch_size=64))
>>> results["slots"]["f1"], results["intent"]["accuracy"], results["sentence_accuracy"]
"""

import collections
import dataclasses
import logging
import math
import warnings
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from mtkeras.data import align_tags, make_dataset
from mtkeras.ops.bio import bio_entity_part, bio_start_mask, bio_transition_mask, viterbi_decode
from mtkeras.names import TEXT, TEXT_PAIR
from mtkeras.tasks import (
    TOKEN,
    UNKNOWN_LABEL_ID,
    MultiLabelClassification,
    Regression,
    SentenceClassification,
    TokenTagging,
)

logger = logging.getLogger("mtkeras")

# How an unknown label (id -1) reads when only its id is known (a dataset
# rather than examples): one class for sentence tasks, one entity type for
# token tasks (a run of unknown tags is one entity).
UNKNOWN_LABEL = "<unknown>"

# Texts run through the model per `model.predict` call.
_CHUNK_TEXTS = 1024


# === Metric helpers ===
def accuracy(gold, pred):
    """Fraction of equal items (`nan` when there are none)."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    if gold.size == 0:
        return float("nan")
    return float(np.mean(gold == pred))


def macro_f1(gold, pred):
    """Unweighted mean over the labels present in `gold` or `pred` of each label's F1.

    A label's F1 is `2 tp / (2 tp + fp + fn)` (the harmonic mean of precision
    and recall, 0 when either is 0); the same as scikit-learn's
    `f1_score(average="macro", labels=<those labels>)`. Labels are any
    hashable values (ids or strings). `nan` when there are no items.
    """
    gold, pred = list(gold), list(pred)
    if len(gold) != len(pred):
        raise ValueError(f"macro_f1: {len(gold)} gold labels for {len(pred)} predictions")
    if not gold:
        return float("nan")
    scores = []
    for label in sorted(set(gold) | set(pred), key=str):  # a fixed order: the same float sum
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        fp = sum(g != label and p == label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def confusion_matrix(labels, gold, pred):
    """Counts of (gold, predicted) label id pairs, rows gold, columns predicted.

    Args:
        labels: list of str. The task's labels; id `i` is `labels[i]`.
        gold: sequence of int. Gold label ids; -1 is a label outside `labels`.
        pred: sequence of int. Predicted label ids (never -1).

    Returns:
        `{"labels": [str, ...], "matrix": [[int, ...], ...]}` in plain Python
        types (`json.dumps` takes it). The order is `labels`, plus a trailing
        `"<unknown>"` row and column (all its gold ids -1, whatever their
        names) only when a gold label is unknown.

    Example:
    >>> confusion_matrix(["a", "b"], [0, 1, 1, -1], [0, 1, 0, 1])
    {'labels': ['a', 'b', '<unknown>'], 'matrix': [[1, 0, 0], [1, 1, 0], [0, 1, 0]]}
    """
    gold = [int(g) for g in gold]
    pred = [int(p) for p in pred]
    if len(gold) != len(pred):
        raise ValueError(f"confusion_matrix: {len(gold)} gold labels for {len(pred)} predictions")
    names = [str(label) for label in labels]
    if any(g == UNKNOWN_LABEL_ID for g in gold):
        names.append(UNKNOWN_LABEL)
    size = len(names)
    matrix = [[0] * size for _ in range(size)]
    for g, p in zip(gold, pred):
        if not (-1 <= g < len(labels) and 0 <= p < len(labels)):
            raise ValueError(
                f"confusion_matrix: label ids must lie in [0, {len(labels)}) (gold also -1). "
                f"Received: gold={g}, pred={p}"
            )
        matrix[g if g >= 0 else size - 1][p] += 1
    return {"labels": names, "matrix": matrix}


def rank(values):
    """Ranks from 1, ties sharing their average rank (the rank transform of Spearman)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    _, groups = np.unique(values, return_inverse=True)
    sums = np.bincount(groups, weights=ranks)
    counts = np.bincount(groups)
    return sums[groups] / counts[groups]


def pearson(x, y):
    """Pearson correlation of two equally long sequences.

    `nan` with fewer than two items or when either side is constant.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"pearson: {x.size} values against {y.size}")
    if x.size < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    norm = math.sqrt(float(np.dot(dx, dx)) * float(np.dot(dy, dy)))
    if norm == 0.0:
        return float("nan")
    return float(np.clip(np.dot(dx, dy) / norm, -1.0, 1.0))


def spearman(x, y):
    """Spearman rank correlation: `pearson` of the average ranks (ties handled)."""
    x, y = np.asarray(x).ravel(), np.asarray(y).ravel()
    if x.shape != y.shape:
        raise ValueError(f"spearman: {x.size} values against {y.size}")
    return pearson(rank(x), rank(y))


def entity_scores(gold_tags, pred_tags):
    """Entity-level scores of tag sequences with seqeval's default (conlleval) reading.

    Args:
        gold_tags, pred_tags: lists of lists of tag strings, one list per text.

    Returns:
        `{"precision", "recall", "f1", "per_type": {type: {"precision",
        "recall", "f1", "support"}}}`; a score without any entity is 0.
    """
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    gold_tags = [list(tags) for tags in gold_tags]
    pred_tags = [list(tags) for tags in pred_tags]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Without any entity seqeval's averages take the mean of nothing.
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0)
    per_type = {
        kind: {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        for kind, row in report.items()
        if not kind.endswith(" avg")
    }
    return {
        "precision": float(precision_score(gold_tags, pred_tags, zero_division=0)),
        "recall": float(recall_score(gold_tags, pred_tags, zero_division=0)),
        "f1": float(f1_score(gold_tags, pred_tags, zero_division=0)),
        "per_type": dict(sorted(per_type.items())),
    }


def entity_errors(gold_tags, pred_tags, top=10):
    """Where an entity tagger goes wrong: each gold entity by outcome, plus spurious ones.

    Tags are read as mtkeras reads BIO tags everywhere (`bio_entity_marks`):
    `B-x` begins an `x` entity, `I-x` continues one or else begins one (the
    conlleval reading), and any other tag, such as `O` or a POS tag, is
    outside every entity. Each gold entity counts once, under the first
    outcome that applies: `correct` (a predicted entity with the same words
    and type), `wrong_type` (same words, another type), `wrong_span` (no
    prediction with the same words, but one overlapping them) or `missed` (no
    predicted entity overlaps it). `spurious` counts predicted entities that
    overlap no gold entity. So `correct + wrong_type + wrong_span + missed` is
    the number of gold entities and, for BIO tag sets, `correct` is the true
    positives of `entity_scores`.

    Args:
        gold_tags, pred_tags: lists of lists of tag strings, one list per
            text, each predicted list as long as its gold list.
        top: int >= 0. How many of the most frequent type confusions to keep.

    Returns:
        `{"correct", "wrong_type", "wrong_span", "missed", "spurious": int,
        "confusions": [[gold_type, predicted_type, count], ...]}`, confusions
        (the `wrong_type` entities) most frequent first, then by name.

    Example:
    >>> entity_errors([["B-city", "O", "B-state"]], [["B-state", "O", "O"]])
    {'correct': 0, 'wrong_type': 1, 'wrong_span': 0, 'missed': 1, 'spurious': 0, 'confusions': [['city', 'state', 1]]}
    """
    from seqeval.metrics.sequence_labeling import get_entities

    if len(gold_tags) != len(pred_tags):
        raise ValueError(f"entity_errors: {len(gold_tags)} gold tag sequences against {len(pred_tags)} predicted")
    if not isinstance(top, int) or top < 0:
        raise ValueError(f"entity_errors: `top` must be an integer >= 0. Received: top={top!r}")
    counts = dict.fromkeys(("correct", "wrong_type", "wrong_span", "missed", "spurious"), 0)
    confusions = collections.Counter()
    for index, (gold, pred) in enumerate(zip(gold_tags, pred_tags)):
        if len(gold) != len(pred):
            raise ValueError(f"entity_errors: text {index} has {len(gold)} gold tags and {len(pred)} predicted")
        # (type, first, last), last inclusive; only B-x / I-x tags are in entities.
        gold_entities = get_entities([tag if bio_entity_part(tag) else "O" for tag in gold])
        pred_entities = get_entities([tag if bio_entity_part(tag) else "O" for tag in pred])
        by_span = {(first, last): kind for kind, first, last in pred_entities}
        for kind, first, last in gold_entities:
            predicted = by_span.get((first, last))
            if predicted == kind:
                counts["correct"] += 1
            elif predicted is not None:
                counts["wrong_type"] += 1
                confusions[(kind, predicted)] += 1
            elif _overlaps(first, last, pred_entities):
                counts["wrong_span"] += 1
            else:
                counts["missed"] += 1
        counts["spurious"] += sum(not _overlaps(first, last, gold_entities) for _, first, last in pred_entities)
    ranked = sorted(confusions.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {**counts, "confusions": [[gold, predicted, count] for (gold, predicted), count in ranked]}


def _overlaps(first, last, entities):
    """Whether words `first..last` (inclusive) share a word with any `(type, first, last)` entity."""
    return any(first <= other_last and other_first <= last for _, other_first, other_last in entities)


# === Task kinds ===
@dataclasses.dataclass
class TaskItems:
    """One task's labelled texts, gathered over the whole evaluation.

    `gold` / `pred` hold one entry per labelled text: a label id (sentence
    tasks; -1 unknown), or for token tasks an int array of ids over the
    text's words (gold -1 unknown; pred -1 for a word the model cut off at
    `max_words`). `mask` holds, for token tasks, which words are labelled.
    `gold_names` holds label strings when the data gave them (examples).
    """

    gold: list = dataclasses.field(default_factory=list)
    pred: list = dataclasses.field(default_factory=list)
    mask: list = dataclasses.field(default_factory=list)
    gold_names: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class KindEvaluator:
    """How one task kind is evaluated.

    Attributes:
        predict: `(task, outputs [n, ...], lengths [n], decode) -> list` of
            per-text predictions (a label id, or an int array over the
            text's model words).
        metrics: `(task, items: TaskItems) -> dict` of metric values.
        correct: `(task, gold, pred, mask) -> bool` for `sentence_accuracy`,
            or None when the kind has no notion of a right answer (regression).
    """

    predict: Callable
    metrics: Callable
    correct: Optional[Callable] = None


def _predict_labels(task, outputs, lengths, decode):
    return list(np.argmax(outputs, axis=-1).astype(np.int32))


def _sentence_metrics(task, items):
    names = [_label_name(task, gold, given) for gold, given in zip(items.gold, items.gold_names)]
    predicted = [task.labels[p] for p in items.pred]
    return {
        "examples": len(items.gold),
        "accuracy": accuracy(items.gold, items.pred),
        "macro_f1": macro_f1(names, predicted),
        "confusion": confusion_matrix(task.labels, items.gold, items.pred),
    }


def _sentence_correct(task, gold, pred, mask):
    return gold != UNKNOWN_LABEL_ID and gold == pred


_DECODER = None


def _viterbi(probs, lengths, allowed, start_allowed):
    """`viterbi_decode` traced once for any batch, length and tag count."""
    global _DECODER
    if _DECODER is None:
        _DECODER = tf.function(
            viterbi_decode,
            input_signature=[
                tf.TensorSpec([None, None, None], tf.float32),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None, None], tf.bool),
                tf.TensorSpec([None], tf.bool),
            ],
        )
    return _DECODER(probs, lengths, allowed, start_allowed).numpy()


def _predict_tags(task, outputs, lengths, decode):
    outputs = np.asarray(outputs, dtype=np.float32)
    lengths = np.minimum(np.asarray(lengths, dtype=np.int32), outputs.shape[1])
    if decode:
        ids = _viterbi(outputs, lengths, bio_transition_mask(task.labels), bio_start_mask(task.labels))
    else:
        ids = np.argmax(outputs, axis=-1).astype(np.int32)
    return [ids[i, : lengths[i]] for i in range(len(lengths))]


def _fit(pred, size):
    """Predicted ids over `size` words: -1 (no prediction) past the model's words."""
    out = np.full([size], -1, dtype=np.int32)
    out[: min(size, len(pred))] = pred[:size]
    return out


def _token_metrics(task, items):
    gold_sequences, pred_sequences = [], []
    right = total = 0
    for gold, pred, mask, given in zip(items.gold, items.pred, items.mask, items.gold_names):
        pred = _fit(pred, len(gold))
        right += int(np.sum(_right_words(gold, pred) & mask))
        total += int(np.sum(mask))
        gold_sequences.append(_gold_tags(task, gold, mask, given))
        pred_sequences.append([task.labels[p] if p >= 0 else "O" for p in pred])
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


def _right_words(gold, pred):
    """Per word: the prediction equals a known gold label (unknown -1 never right)."""
    return (gold == pred) & (gold != UNKNOWN_LABEL_ID)


def _token_correct(task, gold, pred, mask):
    return bool(np.all(_right_words(gold, _fit(pred, len(gold)))[mask]))


# Task kind -> evaluator; the first kind `task` is an instance of applies.
def _predict_label_sets(task, outputs, lengths, decode):
    return list(np.asarray(outputs) >= np.asarray(task._threshold_values))


def _multilabel_metrics(task, items):
    gold = np.array(items.gold, dtype=bool).reshape(-1, task.num_labels)
    pred = np.array(items.pred, dtype=bool).reshape(-1, task.num_labels)
    tp = np.sum(gold & pred)
    fp, fn = np.sum(~gold & pred), np.sum(gold & ~pred)
    per_label = [
        2 * np.sum(gold[:, j] & pred[:, j]) / max(2 * np.sum(gold[:, j] & pred[:, j])
                                                  + np.sum(~gold[:, j] & pred[:, j]) + np.sum(gold[:, j] & ~pred[:, j]), 1)
        for j in range(task.num_labels)
        if gold[:, j].any() or pred[:, j].any()
    ]
    return {
        "examples": len(gold),
        "exact_match": float(np.mean(np.all(gold == pred, axis=1))) if len(gold) else float("nan"),
        "micro_f1": float(2 * tp / (2 * tp + fp + fn)) if (tp + fp + fn) else float("nan"),
        "macro_f1": float(np.mean(per_label)) if per_label else float("nan"),
    }


def _multilabel_correct(task, gold, pred, mask):
    return bool(np.array_equal(np.asarray(gold) > 0.5, np.asarray(pred)))


def _predict_values(task, outputs, lengths, decode):
    return list(np.asarray(outputs, dtype=np.float64))


def _regression_metrics(task, items):
    gold, pred = np.asarray(items.gold, np.float64), np.asarray(items.pred, np.float64)
    return {
        "examples": len(gold),
        "pearson": pearson(gold, pred),
        "spearman": spearman(gold, pred),
        "mae": float(np.mean(np.abs(gold - pred))) if len(gold) else float("nan"),
        "mse": float(np.mean((gold - pred) ** 2)) if len(gold) else float("nan"),
    }


KIND_EVALUATORS = {
    MultiLabelClassification: KindEvaluator(_predict_label_sets, _multilabel_metrics, _multilabel_correct),
    Regression: KindEvaluator(_predict_values, _regression_metrics),
    TokenTagging: KindEvaluator(_predict_tags, _token_metrics, _token_correct),
    SentenceClassification: KindEvaluator(_predict_labels, _sentence_metrics, _sentence_correct),
}


def evaluator_for(task):
    for kind, evaluator in KIND_EVALUATORS.items():
        if isinstance(task, kind):
            return evaluator
    raise ValueError(
        f"evaluate: no evaluator for task {task.name!r} of kind {type(task).__name__}; "
        f"known kinds: {[kind.__name__ for kind in KIND_EVALUATORS]}"
    )


def _label_name(task, label_id, given=None):
    if given is not None:
        return given
    return task.labels[label_id] if label_id >= 0 else UNKNOWN_LABEL


def _gold_tags(task, gold, mask, given):
    """Gold tag strings of one text; unlabelled words read as "O"."""
    if given is not None:
        tags = list(given) + ["O"] * (len(gold) - len(given))
        return [tag if labelled else "O" for tag, labelled in zip(tags, mask)]
    tags = []
    for position, (label_id, labelled) in enumerate(zip(gold, mask)):
        if not labelled:
            tags.append("O")
        elif label_id >= 0:
            tags.append(task.labels[label_id])
        else:
            continues = position > 0 and mask[position - 1] and gold[position - 1] < 0
            tags.append(("I-" if continues else "B-") + UNKNOWN_LABEL)
    return tags


# === Data ===
def _as_dataset(data, tasks, batch_size):
    """`(dataset, gold label strings per example or None)`."""
    if isinstance(data, tf.data.Dataset):
        if data.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise ValueError("evaluate: the dataset repeats forever; build it with repeat=False")
        return data, None
    examples = list(data)
    if not examples:
        raise ValueError("evaluate: no examples")
    aligned = align_tags(examples, tasks)
    given = []
    for ex, (_, tags) in zip(examples, aligned):
        names = {}
        for task in tasks:
            if task.name in tags:
                names[task.name] = tags[task.name]
            elif task.name in ex.labels and not isinstance(task, TokenTagging):
                names[task.name] = ex.labels[task.name]
        given.append(names)
    return make_dataset(examples, tasks, batch_size=batch_size, shuffle=False), given


def _rows(data, tasks):
    """Yields `({"text": str[, "text_pair": str]}, {task: (gold, weight)})` per example of `data`."""
    for element in data.as_numpy_iterator():
        if not (isinstance(element, tuple) and len(element) == 3):
            raise ValueError(
                "evaluate: dataset elements must be (features, labels, sample_weights), as "
                "mtkeras.data.make_dataset yields"
            )
        features, labels, weights = element
        missing = sorted(t.name for t in tasks if t.name not in labels or t.name not in weights)
        if missing:
            raise ValueError(f"evaluate: the dataset has no labels or weights for task(s) {missing}")
        inputs = [key for key in (TEXT, TEXT_PAIR) if key in features]
        for i in range(len(features[TEXT])):
            yield (
                {key: _decode(features[key][i]) for key in inputs},
                {t.name: (np.asarray(labels[t.name][i]), np.asarray(weights[t.name][i])) for t in tasks},
            )


def _decode(text):
    return text.decode("utf-8") if isinstance(text, bytes) else str(text)


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# === Evaluation ===
def evaluate(model, data, decode=True, print_table=True, batch_size=32):
    """Scores every task of `model` on `data`, over labelled items only.

    Args:
        model: a `MultiTaskModel`.
        data: a `tf.data.Dataset` from `mtkeras.data.make_dataset` (finite,
            elements `({"text"}, {task: ids}, {task: weights})`), or a list of
            `Example`, turned into one with the model's tasks. Examples keep
            the names of labels outside a task's vocabulary (entity types in
            `per_type`, classes in `macro_f1`); a dataset only has their id
            -1, read as the label `"<unknown>"`.
        decode: bool. Token tags by constrained BIO Viterbi (True) or argmax.
        print_table: bool. Print a table of the results.
        batch_size: int. Batch size of `model.predict` (and of the dataset
            built from examples).

    Returns:
        `{task_name: {metric: value}, "sentence_accuracy": value}`. Sentence
        tasks: `examples`, `accuracy`, `macro_f1` and `confusion`
        `{"labels": [...], "matrix": [[int]]}` (rows gold, columns predicted,
        in the order of `task.labels`, then `"<unknown>"` when a gold label
        is outside them; see `confusion_matrix`). Token tasks: `examples`,
        `accuracy` (per word), `precision`, `recall`, `f1` (entities) and
        `per_type` `{type: {precision, recall, f1, support}}` and `errors`
        (each gold entity as correct, of the wrong type, with wrong
        boundaries or missed, plus spurious entities; see `entity_errors`).
        A word past the
        model's `max_words` has no prediction: it is an error and predicts no
        entity. A value without items to score is `nan`.
    """
    tasks = list(model.tasks)
    evaluators = {task.name: evaluator_for(task) for task in tasks}
    dataset, given = _as_dataset(data, tasks, batch_size)
    items = {task.name: TaskItems() for task in tasks}
    sentence_right = sentence_total = cut_words = 0
    index = 0
    for chunk in _chunks(_rows(dataset, tasks), _CHUNK_TEXTS):
        texts = [row[TEXT] for row, _ in chunk]
        if TEXT_PAIR in chunk[0][0]:
            inputs = {key: [row[key] for row, _ in chunk] for key in (TEXT, TEXT_PAIR)}
        else:
            inputs = texts
        outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
        _, lengths = model.preprocessor.tokenize(tf.constant(texts, tf.string, shape=[len(texts)]))
        lengths = lengths.numpy()
        predictions = {
            task.name: evaluators[task.name].predict(task, outputs[task.name], lengths, decode) for task in tasks
        }
        for row, (_, labels) in enumerate(chunk):
            names = given[index] if given is not None else {}
            index += 1
            all_right, labelled_any = True, False
            for task in tasks:
                gold, weight = labels[task.name]
                mask = weight > 0
                if not mask.any():
                    continue
                pred = predictions[task.name][row]
                task_items = items[task.name]
                if task.level == TOKEN:  # the words up to the last labelled one
                    size = int(np.flatnonzero(mask)[-1]) + 1
                    gold, mask = gold[:size], mask[:size]
                    cut_words += int(np.sum(mask[len(pred) :]))
                elif gold.ndim == 0:
                    gold = gold.item()
                task_items.gold.append(gold)
                task_items.pred.append(pred)
                task_items.mask.append(mask)
                task_items.gold_names.append(names.get(task.name))
                correct = evaluators[task.name].correct
                if correct is not None:  # kinds without a right answer stay out
                    labelled_any = True
                    all_right = all_right and correct(task, gold, pred, mask)
            if labelled_any:
                sentence_total += 1
                sentence_right += int(all_right)
    if cut_words:
        logger.warning(
            "evaluate: %d labelled word(s) lie past the model's max_words; they count as errors", cut_words
        )
    results = {task.name: evaluators[task.name].metrics(task, items[task.name]) for task in tasks}
    results["sentence_accuracy"] = sentence_right / sentence_total if sentence_total else float("nan")
    if print_table:
        print(format_table(results))
    return results


# Nested entries of a task's results the table leaves out (`per_type` comes
# after the task's rows as a table of its own, `errors` as two summary lines).
_NOT_IN_TABLE = ("per_type", "confusion", "errors")


def format_table(results):
    """The results of `evaluate` as a text table (task, metric, value); no confusion matrices.

    A token task's rows are followed by its per-type table and, when it has
    errors, a line of entity error counts and one of its most confused types.
    """
    lines = [f"{'task':<20} {'metric':<18} {'value':>8}"]
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            lines.append(f"{'(all tasks)':<20} {task:<18} {_number(metrics):>8}")
            continue
        first = True
        for metric, value in metrics.items():
            if metric in _NOT_IN_TABLE:
                continue
            lines.append(f"{task if first else '':<20} {metric:<18} {_number(value):>8}")
            first = False
        per_type = metrics.get("per_type")
        if per_type:
            lines.append(f"{'':<20}   {'type':<16} {'precision':>9} {'recall':>8} {'f1':>8} {'support':>8}")
            for kind, row in per_type.items():
                lines.append(
                    f"{'':<20}   {kind:<16} {_number(row['precision']):>9} {_number(row['recall']):>8} "
                    f"{_number(row['f1']):>8} {row['support']:>8}"
                )
        errors = metrics.get("errors")
        if isinstance(errors, dict) and any(errors.get(key) for key in _ERROR_KINDS):
            entities = sum(errors[key] for key in ("correct", *_ERROR_KINDS[:-1]))
            counts = ", ".join(f"{key.replace('_', ' ')} {errors[key]}" for key in _ERROR_KINDS[:-1])
            lines.append(
                f"{'':<20}   entities: {entities} gold, {errors['correct']} right, {counts}; "
                f"{errors['spurious']} predicted where there is none"
            )
            if errors["confusions"]:
                confused = ", ".join(f"{gold} as {pred} {n}" for gold, pred, n in errors["confusions"][:5])
                lines.append(f"{'':<20}   most confused types: {confused}")
    return "\n".join(lines)


_ERROR_KINDS = ("wrong_type", "wrong_span", "missed", "spurious")


def _number(value):
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "nan" if math.isnan(value) else f"{value:.4f}"


__all__ = [
    "KIND_EVALUATORS",
    "KindEvaluator",
    "TaskItems",
    "accuracy",
    "confusion_matrix",
    "entity_errors",
    "entity_scores",
    "evaluate",
    "evaluator_for",
    "format_table",
    "macro_f1",
    "pearson",
    "rank",
    "spearman",
]
