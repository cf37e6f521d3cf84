"""Scores of predictions against gold labels, in numpy: what `mtkeras.evaluate` reports.

Each task kind picks the ones that fit it (see its `score_items`):
accuracy, macro-F1 and confusion matrices for labels, entity-level scores and
errors for BIO tags (seqeval's conlleval reading), Pearson and Spearman for
values.
"""

import collections
import math
import warnings

import numpy as np

from mtkeras.lazy import lazy_module
from mtkeras.names import UNKNOWN_LABEL, UNKNOWN_LABEL_ID
from mtkeras.ops.bio import bio_entity_part

# seqeval imports scikit-learn (1.4 s here): only evaluation pays it.
seqeval = lazy_module("seqeval.metrics")
seqeval_labeling = lazy_module("seqeval.metrics.sequence_labeling")


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
    gold_tags = [list(tags) for tags in gold_tags]
    pred_tags = [list(tags) for tags in pred_tags]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Without any entity seqeval's averages take the mean of nothing.
        warnings.simplefilter("ignore", RuntimeWarning)
        report = seqeval.classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0)
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
        "precision": float(seqeval.precision_score(gold_tags, pred_tags, zero_division=0)),
        "recall": float(seqeval.recall_score(gold_tags, pred_tags, zero_division=0)),
        "f1": float(seqeval.f1_score(gold_tags, pred_tags, zero_division=0)),
        "per_type": dict(sorted(per_type.items())),
    }


def entity_set(tag_sequences):
    """Every entity of `tag_sequences` (lists of tag strings) as `(text index, type, first word, last word)`,
    read as `entity_scores` reads them (seqeval's default)."""
    return {(i, *entity) for i, tags in enumerate(tag_sequences) for entity in seqeval_labeling.get_entities(list(tags))}


def entity_f1(gold, predicted):
    """Micro entity F1 of two `entity_set`s: `entity_scores(...)["f1"]` without the rest of its report."""
    right = len(gold & predicted)
    return 2 * right / (len(gold) + len(predicted)) if right else 0.0


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
        gold_entities = seqeval.sequence_labeling.get_entities([tag if bio_entity_part(tag) else "O" for tag in gold])
        pred_entities = seqeval.sequence_labeling.get_entities([tag if bio_entity_part(tag) else "O" for tag in pred])
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
