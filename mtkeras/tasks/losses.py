"""Losses whose denominator is the global number of labelled items."""

import keras
import tensorflow as tf

from mtkeras.ops.crf import crf_log_likelihood, crf_scores
from mtkeras.ops.masking import align_to_prediction, global_sum, known_labels


class MaskedLoss(keras.losses.Loss):
    """Base of mtkeras losses: the mean over labelled items of the global batch.

    `sample_weight` marks labelled items (1) and missing labels or padding (0).
    Each replica returns its share `sum(loss * w) / global_sum(w)`: gradients
    summed over replicas (what `tf.distribute` does) are exactly those of the
    mean over every labelled item of the global batch, and a batch with no
    label for this task returns 0. Keras' built-in reductions divide by the
    number of items instead, so a missing label would still dilute the mean.

    Subclasses define `call(y_true, y_pred)` giving one loss per item (or
    `item_losses`, for a loss that needs the weights to know which items are
    labelled), and `sparse` (labels are class ids, where an unknown label,
    id < 0, is left out) and `value_rank` (dimensions of `y_pred` past the
    items: 1 for class probabilities, 0 for a regression value).
    """

    sparse = True
    value_rank = 1

    def __init__(self, name=None, **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kwargs)

    def items(self, y_true, y_pred, sample_weight=None):
        """Aligned `(y_true, y_pred, weight)`; unknown sparse labels get weight 0."""
        y_pred = tf.cast(y_pred, tf.float32)
        item_rank = y_pred.shape.rank - self.value_rank
        y_true, weight = align_to_prediction(y_true, y_pred, sample_weight, item_rank, self.sparse)
        if self.sparse:
            y_true, weight = known_labels(y_true, weight)
        return y_true, y_pred, weight

    def item_losses(self, y_true, y_pred, weight):
        """One loss per item of aligned `items()`; weights only say which items are labelled."""
        return self.call(y_true, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        with tf.name_scope(self.name):
            y_true, y_pred, weight = self.items(y_true, y_pred, sample_weight)
            local_sum = tf.reduce_sum(self.item_losses(y_true, y_pred, weight) * weight)
            labelled = tf.stop_gradient(global_sum(tf.reduce_sum(weight)))
            return tf.math.divide_no_nan(local_sum, labelled)

    def get_config(self):
        return {"name": self.name}


def _check_smoothing(label_smoothing):
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(
            "Received an invalid value for `label_smoothing`, expected a "
            f"float in [0, 1). Received: label_smoothing={label_smoothing!r}"
        )


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedSparseCategoricalCrossentropy(MaskedLoss):
    """Cross-entropy over labelled items: sentence (`[B, C]`) or token (`[B, T, C]`) tasks.

    Args:
        label_smoothing: float in [0, 1). Mass spread evenly over all labels.
        name: str. Name of the loss.
    """

    def __init__(self, label_smoothing=0.0, name="masked_sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_smoothing(label_smoothing)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.int32)
        if self.label_smoothing:
            one_hot = tf.one_hot(y_true, tf.shape(y_pred)[-1], dtype=y_pred.dtype)
            return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.label_smoothing)
        return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedCRFLoss(MaskedLoss):
    """Negative log-likelihood of each text's gold tags under a linear-chain CRF.

    `y_pred` must be the output of a CRF token head
    (`TokenClassificationHead(crf=True)`), which carries the emission,
    transition, start and end scores that made its marginals. Each labelled
    text costs `-log p(its gold tags | text)` (`crf_log_likelihood`), spread
    evenly over its labelled words, so the task's loss is still the mean over
    the labelled words of the global batch: the whole-sequence likelihood per
    word. Words without a label (weight 0) are summed over, not guessed, and a
    text without labels costs nothing.

    Args:
        name: str. Name of the loss.
    """

    def __init__(self, name="masked_crf_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def item_losses(self, y_true, y_pred, weight):
        scores = crf_scores(y_pred)
        if scores is None:
            raise ValueError(
                f"{type(self).__name__} reads the scores of a CRF head's output "
                "(TokenClassificationHead(crf=True)); received a tensor without them: "
                f"y_pred={getattr(y_pred, 'name', None) or type(y_pred).__name__} of shape {y_pred.shape}"
            )
        emissions, mask, transitions, start, end, log_norm = scores
        labelled = (weight > 0) & tf.cast(mask, tf.bool)
        nll = -crf_log_likelihood(emissions, y_true, labelled, mask, transitions, start, end, log_norm)
        labelled = tf.cast(labelled, tf.float32)
        return tf.math.divide_no_nan(nll[:, None], tf.reduce_sum(labelled, axis=1, keepdims=True)) * labelled

    def call(self, y_true, y_pred):
        # Every real word labelled.
        return self.item_losses(tf.cast(y_true, tf.int32), y_pred, tf.ones(tf.shape(y_true), tf.float32))


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedBinaryCrossentropy(MaskedLoss):
    """Binary cross-entropy of multi-label targets (`[B, C]` multi-hot), averaged
    over labels per text, then over labelled texts.

    Args:
        label_smoothing: float in [0, 1). Targets move towards 0.5 by half of it.
        name: str. Name of the loss.
    """

    sparse = False

    def __init__(self, label_smoothing=0.0, name="masked_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        _check_smoothing(label_smoothing)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        return keras.losses.binary_crossentropy(
            tf.cast(y_true, y_pred.dtype), y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedMeanSquaredError(MaskedLoss):
    """Squared error of regression values (`[B]`) over labelled texts.

    Args:
        name: str. Name of the loss.
    """

    sparse = False
    value_rank = 0

    def __init__(self, name="masked_mean_squared_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return tf.square(tf.cast(y_true, y_pred.dtype) - y_pred)
