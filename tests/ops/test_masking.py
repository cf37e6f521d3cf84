"""A missing label costs nothing and counts nowhere (loss and metrics)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers.data import tiny_examples
from helpers.models import build_tiny_model
from mtkeras.data import make_dataset
from mtkeras.training import MaskedAccuracy, MaskedSparseCategoricalCrossentropy
from mtkeras.tasks.metrics import MaskedLossMean


def test_loss_is_the_mean_over_labelled_items_only():
    loss = MaskedSparseCategoricalCrossentropy()
    probs = tf.constant([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.3, 0.7]])
    y = tf.constant([0, 0, 1, 1])
    w = tf.constant([1.0, 1.0, 0.0, 0.0])
    expected = -(np.log(0.9) + np.log(0.2)) / 2
    np.testing.assert_allclose(loss(y, probs, w), expected, rtol=1e-6)
    assert float(loss(y, probs, tf.zeros([4]))) == 0.0


def test_token_loss_ignores_padding_and_aligns_time_axes():
    loss = MaskedSparseCategoricalCrossentropy()
    probs = tf.constant([[[0.6, 0.4], [0.1, 0.9], [0.5, 0.5]]])  # model saw 3 words
    y = tf.constant([[0, 1]])  # labels padded to 2 in the global batch
    w = tf.constant([[1.0, 1.0]])
    expected = -(np.log(0.6) + np.log(0.9)) / 2
    np.testing.assert_allclose(loss(y, probs, w), expected, rtol=1e-6)
    y_long = tf.constant([[0, 1, 1, 1, 0]])  # model cut the text at 3 words
    w_long = tf.constant([[1.0, 1.0, 1.0, 1.0, 1.0]])
    expected = -(np.log(0.6) + np.log(0.9) + np.log(0.5)) / 3
    np.testing.assert_allclose(loss(y_long, probs, w_long), expected, rtol=1e-6)


def test_weights_of_other_shapes_fit_or_fail_clearly():
    loss = MaskedSparseCategoricalCrossentropy()
    probs = tf.constant([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    y = tf.constant([0, 0, 1])
    expected = -(np.log(0.9) + np.log(0.2)) / 2
    np.testing.assert_allclose(loss(y, probs, tf.constant([[1.0], [1.0], [0.0]])), expected, rtol=1e-6)
    token_probs = tf.constant([[[0.6, 0.4], [0.1, 0.9]], [[0.5, 0.5], [0.5, 0.5]]])
    per_text = tf.constant([1.0, 0.0])  # a per-text weight applies to each word
    np.testing.assert_allclose(
        loss(tf.constant([[0, 1], [1, 1]]), token_probs, per_text), -(np.log(0.6) + np.log(0.9)) / 2, rtol=1e-6
    )
    with pytest.raises(ValueError, match="does not fit"):
        loss(y, probs, tf.ones([3, 2, 2]))


def test_metric_counts_only_labelled_items():
    metric = MaskedAccuracy()
    probs = tf.constant([[[0.6, 0.4], [0.1, 0.9], [0.5, 0.5]]])
    metric.update_state(tf.constant([[0, 0, 1]]), probs, tf.constant([[1.0, 1.0, 0.0]]))
    assert float(metric.result()) == pytest.approx(0.5)


def test_token_metrics_count_each_word_once_across_batches_of_different_lengths():
    metric, loss_mean = MaskedAccuracy(), MaskedLossMean(MaskedSparseCategoricalCrossentropy())
    # Batch 1: T=1, one word, right. Batch 2: T=4, four words, all wrong.
    batches = [
        (tf.constant([[0]]), tf.constant([[[0.9, 0.1]]]), tf.constant([[1.0]])),
        (tf.constant([[1, 1, 1, 1]]), tf.constant([[[0.8, 0.2]] * 4]), tf.constant([[1.0] * 4])),
    ]
    for y, p, w in batches:
        metric.update_state(y, p, w)
        loss_mean.update_state(y, p, w)
    assert float(metric.result()) == pytest.approx(1 / 5)
    assert float(loss_mean.result()) == pytest.approx(-(np.log(0.9) + 4 * np.log(0.2)) / 5, rel=1e-6)


def test_half_unlabelled_task_loss_equals_loss_on_labelled_half():
    examples = tiny_examples()
    model = build_tiny_model(examples)
    model.compile(optimizer="sgd")
    tasks = model.tasks
    labelled = [ex for ex in examples if "intent" in ex.labels]
    # Same labelled texts, plus copies with the intent label removed.
    mixed = labelled + [type(ex)(ex.words, {"slots": ex.labels["slots"]}, ex.source) for ex in labelled]

    def evaluate(exs):
        data = make_dataset(exs, tasks, batch_size=len(exs))
        return model.evaluate(data, return_dict=True, verbose=0)

    alone, together = evaluate(labelled), evaluate(mixed)
    assert together["intent_loss"] == pytest.approx(alone["intent_loss"], rel=1e-5)
    assert together["intent_accuracy"] == pytest.approx(alone["intent_accuracy"])
    # Slots stay labelled in both halves: the duplicated half leaves its mean unchanged.
    assert together["slots_loss"] == pytest.approx(alone["slots_loss"], rel=1e-5)
    # A task with no label in the batch contributes exactly zero.
    assert alone["sentiment_loss"] == 0.0


def test_logged_task_loss_ignores_batches_without_its_labels():
    """Keras logs a mean of per-batch losses; mtkeras logs the labelled-item mean."""
    examples = tiny_examples()
    model = build_tiny_model(examples)
    model.compile(optimizer="sgd")
    labelled = [ex for ex in examples if "intent" in ex.labels]
    unlabelled = [type(ex)(ex.words, {}, ex.source) for ex in labelled]

    def evaluate(exs, batch_size):
        data = make_dataset(exs, model.tasks, batch_size=batch_size)
        return model.evaluate(data, return_dict=True, verbose=0)

    alone = evaluate(labelled, batch_size=len(labelled))
    # Two batches: the second has no intent label at all.
    split = evaluate(labelled + unlabelled, batch_size=len(labelled))
    assert split["intent_loss"] == pytest.approx(alone["intent_loss"], rel=1e-5)
    assert split["intent_accuracy"] == pytest.approx(alone["intent_accuracy"])
    assert "intent_labelled_loss" not in split
    # Unequal batches that mix labelled and unlabelled texts: still the labelled mean.
    mixed = evaluate(labelled[:2] + unlabelled + labelled[2:], batch_size=4)
    assert mixed["intent_loss"] == pytest.approx(alone["intent_loss"], rel=1e-5)


def test_unlabelled_samples_leave_gradients_untouched():
    """Adding unlabelled samples for a task changes nothing in training."""
    examples = tiny_examples()
    labelled = [ex for ex in examples if "sentiment" in ex.labels]
    unlabelled = [type(ex)(ex.words, {}, ex.source) for ex in examples if "intent" in ex.labels]

    def train(exs):
        model = build_tiny_model(examples, seed=7)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        model.fit(make_dataset(exs, model.tasks, batch_size=len(exs)), epochs=3, verbose=0)
        return model.get_weights()

    for a, b in zip(train(labelled), train(labelled + unlabelled)):
        np.testing.assert_allclose(a, b, atol=1e-6)
