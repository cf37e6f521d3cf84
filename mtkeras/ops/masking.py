"""Exact accounting for missing labels: weights, alignment, global counts.

Every task's labels come with a weight per item (a text for sentence tasks, a
word for token tasks): 1 for a label, 0 for a missing label or padding. The
loss of a task is the mean over the labelled items of the *global* batch, with
one replica or many, and a batch with no label for a task costs nothing.
"""

import tensorflow as tf


def align_to_prediction(y_true, y_pred, sample_weight=None, item_rank=None, sparse=True):
    """Makes labels and weights match the prediction's items.

    An item is what carries one weight: a text (`[B]`) for sentence-level
    tasks, a word (`[B, T]`) for token tasks. `item_rank` is 1 or 2 (default:
    the prediction's rank minus 1, right for class probabilities). Sparse
    labels (`sparse=True`) have the item shape (a trailing 1 is squeezed);
    dense targets (multi-hot vectors, regression values) keep theirs.

    For token tasks the label batch is padded to the longest labelled text of
    the *global* batch, while a replica's model pads to the longest text of
    *its* share, and `max_words` may cut long texts: labels and weights are cut
    or zero-padded to the prediction's time axis. Positions that only exist on
    one side carry weight 0, so nothing labelled is lost unless the model
    itself cut the text.

    Returns:
        `(y_true, sample_weight)`; weights have the item shape and are 1 where
        `sample_weight` is None.
    """
    y_true = tf.convert_to_tensor(y_true)
    rank = y_pred.shape.rank - 1 if item_rank is None else item_rank
    if sparse and y_true.shape.rank is not None and y_true.shape.rank == rank + 1:
        y_true = tf.squeeze(y_true, axis=-1)
    if sample_weight is None:
        sample_weight = tf.ones(tf.shape(y_true)[:rank], dtype=tf.float32)
    sample_weight = tf.cast(tf.convert_to_tensor(sample_weight), tf.float32)
    # One weight per item: `[B, 1]` for a sentence task is squeezed, and a
    # per-text `[B]` weight for a token task applies to each of its words.
    if sample_weight.shape.rank == rank + 1:
        sample_weight = tf.squeeze(sample_weight, axis=-1)
    if sample_weight.shape.rank == 1 and rank == 2:
        sample_weight = sample_weight[:, None] * tf.ones(tf.shape(y_true)[:2], tf.float32)
    if sample_weight.shape.rank != rank:
        raise ValueError(
            f"sample_weight of shape {sample_weight.shape} does not fit predictions of shape {y_pred.shape}"
        )
    if rank == 2:
        steps = tf.shape(y_pred)[1]
        y_true = _fit_time_axis(y_true, steps)
        sample_weight = _fit_time_axis(sample_weight, steps)
    return y_true, sample_weight


def flatten_items(y_true, y_pred, sample_weight=None, item_rank=None, sparse=True):
    """Aligned labels, predictions and weights with one row per item.

    Keras' mean metrics first average `[B, T]` values over `T` per text, which
    weights each batch's words by `1 / T`; `T` differs between batches and
    replicas. Flat items make a metric exactly `sum(v * w) / sum(w)`.
    """
    rank = y_pred.shape.rank - 1 if item_rank is None else item_rank
    y_true, sample_weight = align_to_prediction(y_true, y_pred, sample_weight, rank, sparse)

    def flat(x):
        return tf.reshape(x, tf.concat([[-1], tf.shape(x)[rank:]], axis=0))

    return flat(y_true), flat(y_pred), tf.reshape(sample_weight, [-1])


def _fit_time_axis(values, steps):
    values = values[:, :steps]
    missing = steps - tf.shape(values)[1]
    padding = tf.concat([[[0, 0], [0, missing]], tf.zeros([tf.rank(values) - 2, 2], tf.int32)], axis=0)
    return tf.pad(values, padding)


def known_labels(y_true, sample_weight):
    """Labels and weights for a loss: unknown labels (id < 0) get weight 0.

    Their id is clamped to 0 so the loss stays finite; accuracy metrics skip
    this step and count them as errors, since no prediction can match.
    """
    known = tf.cast(y_true >= 0, sample_weight.dtype)
    return tf.maximum(y_true, tf.zeros_like(y_true)), sample_weight * known


def global_sum(value):
    """Sums `value` over all replicas in sync; the identity outside them."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)
