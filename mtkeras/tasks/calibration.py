"""Fitted on the dev split after training: sentence tasks' temperatures, token tasks' outside weights.

A classifier trained to convergence is over-confident: a score of 0.99 is
right less often than 99% of the time. Temperature scaling (Guo et al.,
"On Calibration of Modern Neural Networks", ICML 2017) divides the logits by
one number T per task, fitted on held-out data by minimizing the negative
log-likelihood; the predicted labels do not change, the scores become
honest. Here the logits are the log-probabilities the head outputs
(softmax(log p / T) is the same as dividing the logits by T).

`mtkeras.evaluation.calibrate(model, examples)` fits T for every sentence
classification task that asks for it (`calibrate: true`, the default) and
stores it in the task, so the saved model and its export answer with
calibrated scores. `expected_calibration_error` measures the gap between confidence and
accuracy (15 equal-width bins, weighted by their share of the texts).

A token tagger can be too cautious instead: on emerging entities (WNUT-17)
the words it tags are mostly right and most entities go untagged, and a
multi-task model that learnt from teachers' soft targets is more so. The
outside weight multiplies the probability of the "O" tag (the others are
renormalized) before decoding; below 1 more words become entity words.
`mtkeras.evaluation.calibrate` picks it on the dev split by entity F1, the
task's own score, from a fixed grid (`OUTSIDE_WEIGHTS`, `fit_outside_weight`):
1 unless another weight scores higher; among equals the nearest to 1 (w and
1/w: the larger).
"""

import math

import numpy as np

_BINS = 15


def with_temperature(probs, temperature):
    """`softmax(log(probs) / temperature)` over the last axis (numpy)."""
    logits = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)) / float(temperature)
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


# The outside weights tried: 1/64 to 4 in steps of sqrt(2).
OUTSIDE_WEIGHTS = tuple(float(2.0 ** (k / 2)) for k in range(-12, 5))


def with_outside_weight(probs, outside, weight):
    """`probs` (numpy `[..., C]`) with column `outside` multiplied by `weight`, each row renormalized.

    Rows of zeros (padding) stay zeros.
    """
    probs = np.asarray(probs, dtype=np.float32)
    if weight == 1.0 or outside is None:
        return probs  # no copy: evaluation decodes most tasks at weight 1
    probs = probs.copy()
    probs[..., outside] *= weight
    return probs / np.maximum(probs.sum(axis=-1, keepdims=True), np.float32(1e-30))


def fit_outside_weight(score, weights=OUTSIDE_WEIGHTS):
    """The weight of `weights` whose `score(weight)` is highest (ties: the nearest to 1, in ratio).

    Returns `(weight, {weight: score})`; NaN scores never win.
    """
    scores = {weight: score(weight) for weight in weights}
    ranked = [(value, -abs(math.log(weight)), weight) for weight, value in scores.items() if not math.isnan(value)]
    if not ranked:
        return 1.0, scores
    return max(ranked)[2], scores


def negative_log_likelihood(probs, gold, temperature=1.0):
    scaled = with_temperature(probs, temperature)
    return float(-np.mean(np.log(np.clip(scaled[np.arange(len(gold)), gold], 1e-12, 1.0))))


def fit_temperature(probs, gold, low=0.5, high=10.0):
    """The T in [low, high] that minimizes the negative log-likelihood of `gold` (label ids).

    Bounded: on a dev split the model gets (almost) all right, the likelihood
    keeps rising as T falls to 0, and scores would become 1.0 everywhere,
    out-of-domain texts included; below 0.5 is refused for that reason.
    """
    probs, gold = np.asarray(probs), np.asarray(gold, np.int64)
    grid = np.exp(np.linspace(math.log(low), math.log(high), 61))
    losses = [negative_log_likelihood(probs, gold, t) for t in grid]
    best = int(np.argmin(losses))
    # Golden-section search between the grid points around the best one (the loss is unimodal in log T).
    a, b = math.log(grid[max(best - 1, 0)]), math.log(grid[min(best + 1, len(grid) - 1)])
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(40):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if negative_log_likelihood(probs, gold, math.exp(c)) < negative_log_likelihood(probs, gold, math.exp(d)):
            b = d
        else:
            a = c
    return float(math.exp((a + b) / 2))


def expected_calibration_error(probs, gold, bins=_BINS):
    """Σ over confidence bins of |accuracy − mean confidence| × the bin's share of the texts."""
    probs, gold = np.asarray(probs), np.asarray(gold, np.int64)
    if len(gold) == 0:
        return float("nan")
    confidence, predicted = probs.max(axis=-1), probs.argmax(axis=-1)
    correct = (predicted == gold).astype(np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += abs(correct[members].mean() - confidence[members].mean()) * members.mean()
    return float(error)
