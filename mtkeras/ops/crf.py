"""Linear-chain CRF marginals: each word's tag distribution given the whole text.

A linear-chain CRF scores a tag sequence `y` of a text of `L` words as

    start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{L-1}]

and gives it probability `exp(score) / Z`. `crf_marginals` computes, with the
forward-backward algorithm in log space, the marginal `p(y_t = c | text)` of
every word and tag: the probability mass of all sequences that put tag `c` at
word `t`. Unlike a per-word softmax, a word's distribution then depends on the
tags its neighbours are likely to take (an `I-city` is likely only where the
previous word is likely a `B-city` or `I-city`, once the transitions learn it).

`crf_log_likelihood` is the training objective: the log-probability of a
text's gold tags, `score(gold) - log Z`, with `log Z` from the forward
algorithm (`crf_log_norm`). Words without a gold tag are summed over, so a
partly labelled text is scored on what it is labelled with, and a text
without labels scores 0 (Tsuboi et al. 2008, "Training Conditional Random
Fields Using Incomplete Annotations").

Core TensorFlow ops only (`tf.scan` over the time axis), so it is
differentiable, runs inside `fit` (also under `tf.distribute`), and is
exported into a SavedModel as is.
"""

import keras
import tensorflow as tf

# Emission score of the tags a labelled word does not have, when the forward
# algorithm sums over the sequences that agree with the labels: exp() of it
# is 0 in float32, and it stays finite, so no NaN reaches the gradients.
_EXCLUDED = -1e9

# Attribute of a CRF head's output tensor that carries its scores to the
# loss (as Keras' softmax output carries `_keras_logits` to cross-entropy).
_SCORES_ATTRIBUTE = "_mtkeras_crf_scores"


def crf_marginals(emissions, mask, transitions, start, end):
    """Per-word tag marginals `[B, T, C]` of a linear-chain CRF.

    See `crf_marginals_and_log_norm` for the arguments and `log Z` too.
    """
    return crf_marginals_and_log_norm(emissions, mask, transitions, start, end)[0]


def crf_marginals_and_log_norm(emissions, mask, transitions, start, end):
    """Per-word tag marginals `[B, T, C]` and `log Z` `[B]` from one forward-backward pass.

    Args:
        emissions: float `[B, T, C]` unnormalised tag scores of each word.
        mask: bool `[B, T]`, the real words; each text's real words come first
            (a prefix of its row, as every mtkeras encoder's padding mask).
        transitions: float `[C, C]`, score of tag `j` following tag `i`.
        start: float `[C]`, score of a text's first tag.
        end: float `[C]`, score of a text's last tag.

    Returns:
        `(marginals, log_norm)`: float32 `[B, T, C]` marginals, rows summing
        to 1 (past a text's end, and for a text without words, the softmax of
        the emissions, so every row stays a distribution), and float32 `[B]`
        `log Z` as `crf_log_norm` gives it.
    """
    emissions, mask, transitions, start, end = _as_scores(emissions, mask, transitions, start, end)
    steps = tf.shape(emissions)[1]
    time_major, real_t = _time_major(emissions, mask)
    alpha_0, alphas = _forward(time_major, real_t, transitions, start)
    log_norm = _log_norm(alphas, mask, end)

    def backward(beta, inputs):
        next_emission, next_is_real = inputs
        step = tf.reduce_logsumexp(transitions[None] + (next_emission + beta)[:, None, :], axis=2)
        return tf.where(next_is_real, step, tf.broadcast_to(end[None], tf.shape(step)))

    # beta[t, b, c]: log-sum of the scores of the tag suffixes after word t,
    # given tag c at word t (just `end` at the text's last word).
    betas = tf.scan(
        backward, (time_major[1:], real_t[1:]), initializer=tf.broadcast_to(end[None], tf.shape(alpha_0)), reverse=True
    )  # steps 0..T
    alphas = tf.concat([alpha_0[None], alphas], axis=0)
    log_marginals = tf.transpose((alphas[:steps] + betas[:steps]), [1, 0, 2])  # [B, T, C]
    # One softmax over both: Keras' cross-entropy then reads its input as
    # logits (as for a softmax head), so a gold tag whose marginal underflows
    # still gets a gradient.
    return keras.activations.softmax(tf.where(mask[:, :, None], log_marginals, emissions)), log_norm


def crf_log_norm(emissions, mask, transitions, start, end):
    """`log Z` `[B]`: the log-sum of the scores of every tag sequence of each text.

    Arguments as `crf_marginals`; a text without words has one (empty)
    sequence, so its `log Z` is 0.
    """
    emissions, mask, transitions, start, end = _as_scores(emissions, mask, transitions, start, end)
    time_major, real_t = _time_major(emissions, mask)
    _, alphas = _forward(time_major, real_t, transitions, start)
    return _log_norm(alphas, mask, end)


def crf_log_likelihood(emissions, tags, labelled, mask, transitions, start, end, log_norm=None):
    """`log p(gold tags | text)` `[B]` under a linear-chain CRF.

    The probability of all tag sequences that agree with `tags` where
    `labelled` is True: a fully labelled text gets the log-probability of its
    one gold sequence, `score(tags) - log Z`; words without a label are summed
    over; a text without any labelled word gets 0.

    Args:
        emissions, mask, transitions, start, end: as `crf_marginals`.
        tags: int `[B, T]` gold tag ids (read where `labelled` is True).
        labelled: bool `[B, T]`, the words whose tag is known.
        log_norm: float `[B]` or None. `log Z` of these scores when already
            computed (`crf_marginals_and_log_norm`); None computes it.

    Returns:
        float32 `[B]`, at most 0.
    """
    emissions, mask, transitions, start, end = _as_scores(emissions, mask, transitions, start, end)
    known = tf.cast(labelled, tf.bool) & mask
    gold = tf.one_hot(tf.cast(tags, tf.int32), tf.shape(emissions)[-1], on_value=True, off_value=False)
    agreeing = tf.where(known[:, :, None] & ~gold, tf.constant(_EXCLUDED, tf.float32), emissions)
    if log_norm is None:
        # One forward pass over both: the sequences that agree with the labels, and all of them.
        both = crf_log_norm(tf.concat([agreeing, emissions], 0), tf.concat([mask, mask], 0), transitions, start, end)
        agreeing_norm, log_norm = tf.split(both, 2)
    else:
        agreeing_norm = crf_log_norm(agreeing, mask, transitions, start, end)
    return agreeing_norm - tf.cast(log_norm, tf.float32)


def with_crf_scores(output, emissions, mask, transitions, start, end, log_norm):
    """Attaches a CRF's scores and `log Z` to `output` (its marginals) for `crf_scores`."""
    setattr(output, _SCORES_ATTRIBUTE, (emissions, mask, transitions, start, end, log_norm))
    return output


def crf_scores(output):
    """`(emissions, mask, transitions, start, end, log_norm)` that made a CRF head's `output`, or None."""
    return getattr(output, _SCORES_ATTRIBUTE, None)


def _as_scores(emissions, mask, transitions, start, end):
    cast = lambda x: tf.cast(x, tf.float32)  # noqa: E731
    return cast(emissions), tf.cast(mask, tf.bool), cast(transitions), cast(start), cast(end)


def _time_major(emissions, mask):
    """`[T+2, B, C]` scores and `[T+2, B, 1]` real-word marks.

    Two steps of padding, so scans over them have elements even when T is 0;
    padded steps are never real.
    """
    padded = tf.pad(emissions, [[0, 0], [0, 2], [0, 0]])
    real = tf.pad(mask, [[0, 0], [0, 2]])
    return tf.transpose(padded, [1, 0, 2]), tf.transpose(real, [1, 0])[:, :, None]


def _log_norm(alphas, mask, end):
    """`log Z` `[B]` from `_forward`'s `alphas`; 0 for a text without words."""
    # The forward scores are carried past each text's end, so the last step
    # holds every text's final scores.
    log_norm = tf.reduce_logsumexp(alphas[-1] + end[None], axis=-1)
    return tf.where(tf.reduce_any(mask, axis=1), log_norm, tf.zeros_like(log_norm))


def _forward(time_major, real_t, transitions, start):
    """The forward algorithm: `alpha_0` `[B, C]` and `alphas` `[T+1, B, C]` (steps 1..T+1).

    `alpha[t, b, c]`: log-sum of the scores of the tag prefixes that end at
    word t with tag c (carried unchanged past the text's end).
    """

    def step(alpha, inputs):
        emission, is_real = inputs
        following = tf.reduce_logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emission
        return tf.where(is_real, following, alpha)

    alpha_0 = start[None] + time_major[0]
    return alpha_0, tf.scan(step, (time_major[1:], real_t[1:]), initializer=alpha_0)


__all__ = [
    "crf_log_likelihood",
    "crf_log_norm",
    "crf_marginals",
    "crf_marginals_and_log_norm",
    "crf_scores",
    "with_crf_scores",
]
