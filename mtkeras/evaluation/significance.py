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
    labelled texts in the same order. Each of `samples` draws takes as many
    texts as there are, with replacement, and scores both models on that
    draw with the task's `score_metric`; the interval holds the middle
    `level` of the differences. Sums over texts (accuracy, entity F1) are
    drawn from `task.text_counts`; other scores are scored draw by draw.

    Returns:
        dict: `metric`, `texts`, `before`, `after`, `difference` (after −
        before, on all texts), `low` and `high` (the interval), `level`,
        `samples`, and `share_below_zero`: the share of draws where `after`
        scored below `before`.
    """
    metric = task.score_metric
    count = _same_texts(task, before, after)
    if count == 0:
        raise ValueError(f"paired_bootstrap: task {task.name!r} has no labelled texts to compare")
    if not 0.0 < level < 1.0:
        raise ValueError(f"Received an invalid value for `level`, expected a number in (0, 1). Received: {level!r}")
    rng = np.random.default_rng(seed)
    # Draw d takes text i weights[d, i] times.
    weights = rng.multinomial(count, np.full(count, 1.0 / count), size=samples)
    scores = {}
    for name, items in (("before", before), ("after", after)):
        counts = task.text_counts(items)
        if counts is not None:
            whole = float(task.score_of_counts(counts.sum(axis=0)))
            drawn = np.asarray(task.score_of_counts(weights @ counts), np.float64)
        else:
            whole = float(task.score_items(items)[metric])
            drawn = np.array([task.score_items(_draw(items, w))[metric] for w in weights], np.float64)
        scores[name] = (whole, drawn)
    differences = scores["after"][1] - scores["before"][1]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(differences, [tail, 1.0 - tail])
    return {
        "metric": metric,
        "texts": count,
        "before": scores["before"][0],
        "after": scores["after"][0],
        "difference": scores["after"][0] - scores["before"][0],
        "low": float(low),
        "high": float(high),
        "level": level,
        "samples": samples,
        "share_below_zero": float(np.mean(differences < 0)),
    }


def _same_texts(task, before, after):
    """The number of labelled texts, once both items are known to hold the same ones."""
    if len(before.gold) != len(after.gold):
        raise ValueError(f"paired_bootstrap: task {task.name!r} has {len(before.gold)} labelled texts before and "
                         f"{len(after.gold)} after; score both models on the same texts")
    for index, (first, second) in enumerate(zip(before.gold, after.gold)):
        if not np.array_equal(np.asarray(first), np.asarray(second)):
            raise ValueError(f"paired_bootstrap: task {task.name!r}, labelled text {index}: the gold labels differ "
                             f"({first!r} against {second!r}); score both models on the same texts, in one order")
    return len(before.gold)


def _draw(items, weights):
    """`items` with text i taken `weights[i]` times."""
    taken = np.repeat(np.arange(len(weights)), weights)
    return TaskItems(**{field: [values[i] for i in taken] if values else [] for field, values in vars(items).items()})
