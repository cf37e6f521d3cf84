"""Linear-chain CRF marginals: each word's tag distribution given the whole text.

A linear-chain CRF scores a tag sequence `y` of a text of `L` words as

    start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{L-1}]

and gives it probability `exp(score) / Z`. `crf_marginals` computes, with the
forward-backward algorithm in log space, the marginal `p(y_t = c | text)` of
every word and tag: the probability mass of all sequences that put tag `c` at
word `t`. Unlike a per-word softmax, a word's distribution then depends on the
tags its neighbours are likely to take (an `I-city` is likely only where the
previous word is likely a `B-city` or `I-city`, once the transitions learn it).

Core TensorFlow ops only (`tf.scan` over the time axis), so it is
differentiable, runs inside `fit` (also under `tf.distribute`), and is
exported into a SavedModel as is.
"""

import keras
import tensorflow as tf


def crf_marginals(emissions, mask, transitions, start, end):
    """Per-word tag marginals `[B, T, C]` of a linear-chain CRF.

    Args:
        emissions: float `[B, T, C]` unnormalised tag scores of each word.
        mask: bool `[B, T]`, the real words; each text's real words come first
            (a prefix of its row, as every mtkeras encoder's padding mask).
        transitions: float `[C, C]`, score of tag `j` following tag `i`.
        start: float `[C]`, score of a text's first tag.
        end: float `[C]`, score of a text's last tag.

    Returns:
        float32 `[B, T, C]`: rows sum to 1. Past a text's end (and for a text
        without words), the softmax of the emissions, so every row stays a
        distribution.
    """
    emissions = tf.cast(emissions, tf.float32)
    transitions = tf.cast(transitions, tf.float32)
    start = tf.cast(start, tf.float32)
    end = tf.cast(end, tf.float32)
    mask = tf.cast(mask, tf.bool)
    steps = tf.shape(emissions)[1]
    # Two steps of padding, so both scans have elements even when T is 0;
    # padded steps are never real and are cut off at the end.
    padded = tf.pad(emissions, [[0, 0], [0, 2], [0, 0]])
    real = tf.pad(mask, [[0, 0], [0, 2]])
    time_major = tf.transpose(padded, [1, 0, 2])  # [T+2, B, C]
    real_t = tf.transpose(real, [1, 0])[:, :, None]  # [T+2, B, 1]

    def forward(alpha, inputs):
        emission, is_real = inputs
        step = tf.reduce_logsumexp(alpha[:, :, None] + transitions[None], axis=1) + emission
        return tf.where(is_real, step, alpha)

    # alpha[t, b, c]: log-sum of the scores of the tag prefixes that end at
    # word t with tag c (carried unchanged past the text's end).
    alpha_0 = start[None] + time_major[0]
    alphas = tf.scan(forward, (time_major[1:], real_t[1:]), initializer=alpha_0)  # steps 1..T+1

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
    return keras.activations.softmax(tf.where(mask[:, :, None], log_marginals, emissions))


__all__ = ["crf_marginals"]
