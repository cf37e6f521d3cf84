"""Is one model really better than another on a task? A paired bootstrap over the texts both were scored on.

A test set is a sample: on SST-2's 1,821 test sentences an accuracy near
83 % has a standard error of about 0.9 points, so two models a point apart
may not differ at all. Scoring both models on the same draws of texts (with
replacement, as many as there are) cancels what the texts share and leaves
what the models do differently (Koehn 2004; Berg-Kirkpatrick et al. 2012).

>>> before, _, _ = collect_items(single_task_model, test_examples)
>>> after, _, _ = collect_items(shared_model, test_examples)
>>> result = paired_bootstrap(task, before["sentiment"], after["sentiment"])
>>> result["difference"], (result["low"], result["high"])   # after - before, and its 95 % interval
"""

import numpy as np

from mtkeras.evaluation.evaluator import TaskItems


def paired_bootstrap(task, before, after, samples=1000, level=0.95, seed=0):
    """How much `after` scores above `before` on one task, with a bootstrap interval.

    Both `TaskItems` (`mtkeras.evaluation.collect_items`) must hold the same
    labelled texts in the same order, with `task`'s label ids. Each of
    `samples` draws takes as many texts as there are, with replacement, and
    scores both models on that draw with the task's `score_metric`; the
    interval holds the middle `level` of the differences. Scores that are
    sums over texts (accuracy, entity F1, micro-F1) are drawn from
    `task.text_counts`; others are scored draw by draw. A draw on which a
    score is undefined (a correlation of equal values, no positives) is left
    out and counted.

    Returns:
        dict: `metric`, `texts`, `before`, `after`, `difference` (after −
        before, on all texts), `low` and `high` (the interval), `level`,
        `samples`, `share_below_zero` and `share_tied` (of the draws, those
        where `after` scored below `before`, and equal to it: a description
        of the draws, not a p-value), and `draws_without_score`.
    """
    metric = task.score_metric
    count = _same_texts(task, before, after)
    if count == 0:
        raise ValueError(f"paired_bootstrap: task {task.name!r} has no labelled texts to compare")
    if not 0.0 < level < 1.0:
        raise ValueError(f"Received an invalid value for `level`, expected a number in (0, 1). Received: {level!r}")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"Received an invalid value for `samples`, expected an integer >= 1. Received: {samples!r}")
    rng = np.random.default_rng(seed)
    counts = {name: task.text_counts(items) for name, items in (("before", before), ("after", after))}
    drawn = {"before": [], "after": []}
    for start in range(0, samples, _DRAWS_AT_ONCE):  # [draws, texts] weights, a slice at a time
        # Draw d takes text i weights[d, i] times.
        weights = rng.multinomial(count, np.full(count, 1.0 / count), size=min(_DRAWS_AT_ONCE, samples - start))
        for name, items in (("before", before), ("after", after)):
            if counts[name] is not None:
                drawn[name].append(np.asarray(task.score_of_counts(weights @ counts[name]), np.float64))
            else:
                drawn[name].append(np.array([task.score_items(_draw(items, w))[metric] for w in weights], np.float64))
    whole = {name: float(task.score_of_counts(counts[name].sum(axis=0)) if counts[name] is not None
                         else task.score_items(items)[metric])
             for name, items in (("before", before), ("after", after))}
    differences = np.concatenate(drawn["after"]) - np.concatenate(drawn["before"])
    scored = differences[np.isfinite(differences)]
    if not scored.size:
        raise ValueError(f"paired_bootstrap: task {task.name!r}: no draw of its {count} texts has a {metric} for "
                         "both models")
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(scored, [tail, 1.0 - tail])
    return {
        "metric": metric,
        "texts": count,
        "before": whole["before"],
        "after": whole["after"],
        "difference": whole["after"] - whole["before"],
        "low": float(low),
        "high": float(high),
        "level": level,
        "samples": samples,
        "share_below_zero": float(np.mean(scored < 0)),
        "share_tied": float(np.mean(scored == 0)),
        "draws_without_score": int(samples - scored.size),
    }


# Draws weighed at once: [draws, texts] int64, about 50 MB for 67,000 texts.
_DRAWS_AT_ONCE = 100


def _same_texts(task, before, after):
    """The number of labelled texts, once both items are known to hold the same ones."""
    if len(before.gold) != len(after.gold):
        raise ValueError(f"paired_bootstrap: task {task.name!r} has {len(before.gold)} labelled texts before and "
                         f"{len(after.gold)} after; score both models on the same texts")
    for field in ("gold", "mask", "gold_names"):
        for index, (first, second) in enumerate(zip(getattr(before, field), getattr(after, field))):
            if not np.array_equal(np.asarray(first, dtype=object), np.asarray(second, dtype=object)):
                raise ValueError(f"paired_bootstrap: task {task.name!r}, labelled text {index}: the {field} differ "
                                 f"({first!r} against {second!r}); score both models on the same texts, in one order")
    return len(before.gold)


def _draw(items, weights):
    """`items` with text i taken `weights[i]` times."""
    taken = np.repeat(np.arange(len(weights)), weights)
    return TaskItems(**{field: [values[i] for i in taken] if len(values) else []
                        for field, values in vars(items).items()})
