"""Training-time metrics agree with `mtkeras.evaluate`'s scoring, and `score` stands for every task."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples
from helpers.models import build_tiny_model
from mtkeras.data import Example, make_dataset
from mtkeras.evaluation import entity_scores, pearson
from helpers.bio_oracles import is_valid_bio
from mtkeras.training import MaskedEntityF1, MaskedMicroF1, MaskedPearson

TAGS = ["O", "B-city", "I-city", "B-date", "I-date", "B-time", "I-time"]


def _random_batches(rng, batches=4, size=6):
    """Random tag ids (any sequence, valid BIO or not) with padding and unlabelled texts."""
    for _ in range(batches):
        steps = int(rng.integers(1, 9))
        lengths = rng.integers(0, steps + 1, size)
        lengths[:2] = steps
        # Mostly entity tags, so that spans are long and often overlap.
        gold = rng.choice(len(TAGS), [size, steps], p=[0.3] + [0.7 / 6] * 6)
        pred = np.where(rng.random([size, steps]) < 0.7, gold, rng.integers(0, len(TAGS), [size, steps]))
        weights = (np.arange(steps)[None, :] < lengths[:, None]).astype(np.float32)
        weights[(rng.random(size) < 0.2) | (np.arange(size) == 1)] = 0.0  # texts without a label for the task
        probs = np.full([size, steps, len(TAGS)], 0.01, np.float32)
        np.put_along_axis(probs, pred[..., None], 0.9, axis=-1)
        yield gold, probs, weights, pred


def test_entity_f1_matches_seqeval_over_batches_of_random_tags():
    rng = np.random.default_rng(7)
    metric = MaskedEntityF1(TAGS)
    gold_texts, pred_texts = [], []
    batches = list(_random_batches(rng))
    assert any(not is_valid_bio([TAGS[i] for i in row]) for *_, pred in batches for row in pred)
    for gold, probs, weights, pred in batches:
        metric.update_state(tf.constant(gold), tf.constant(probs), tf.constant(weights))
        for row in range(len(gold)):
            labelled = weights[row] > 0
            if labelled.any():
                gold_texts.append([TAGS[i] for i in gold[row][labelled]])
                pred_texts.append([TAGS[i] for i in pred[row][labelled]])
    expected = entity_scores(gold_texts, pred_texts)["f1"]
    assert 0.2 < expected < 0.9, "the draw must give both right and wrong entities"
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_entity_f1_counts_unknown_gold_tags_as_evaluate_does_and_aligns_to_the_models_words():
    metric = MaskedEntityF1(TAGS)
    probs = np.full([1, 4, len(TAGS)], 0.01, np.float32)
    probs[0, [0, 1, 2, 3], [1, 2, 0, 0]] = 0.9  # predicted: B-city I-city O O
    # Gold: B-city I-city, then two words with a tag the task does not know
    # (id -1): one entity, as `evaluate` reads them, that nothing can match.
    # A fifth labelled word lies past the four the model read: not scored.
    metric.update_state(tf.constant([[1, 2, -1, -1, 3]]), tf.constant(probs), tf.constant([[1.0] * 5]))
    assert float(metric.result()) == pytest.approx(2 * 1 / (1 + 2))


def test_micro_f1_counts_labelled_texts_at_each_labels_threshold():
    rng = np.random.default_rng(3)
    thresholds = [0.3, 0.5, 0.7]
    metric = MaskedMicroF1(thresholds)
    tp = errors = 0
    for _ in range(3):
        gold = (rng.random([5, 3]) < 0.4).astype(np.float32)
        probs = rng.random([5, 3]).astype(np.float32)
        weights = (rng.random(5) < 0.7).astype(np.float32)
        metric.update_state(tf.constant(gold), tf.constant(probs), tf.constant(weights))
        on, truth = (probs >= np.array(thresholds))[weights > 0], gold[weights > 0] > 0.5
        tp += np.sum(on & truth)
        errors += np.sum(on != truth)
    assert float(metric.result()) == pytest.approx(2 * tp / (2 * tp + errors), abs=1e-6)


def test_pearson_is_exact_over_batches_and_skips_unlabelled_texts():
    rng = np.random.default_rng(5)
    metric = MaskedPearson()
    xs, ys = [], []
    for size in (4, 7, 3):
        x = rng.normal(3.0, 2.0, size).astype(np.float32)
        y = (0.8 * x + rng.normal(0.0, 1.0, size)).astype(np.float32)
        w = (rng.random(size) < 0.75).astype(np.float32)
        metric.update_state(tf.constant(x), tf.constant(y), tf.constant(w))
        xs += list(x[w > 0])
        ys += list(y[w > 0])
    # Per-batch correlations averaged would differ; the exact one is pooled.
    assert float(metric.result()) == pytest.approx(pearson(np.array(xs), np.array(ys)), abs=1e-5)
    # No spread on one side: 0, also where float rounding leaves noise in
    # the sums (5000 copies of 0.7 against 5000 of 0.3).
    for gold, predicted in (([1.0, 1.0], [0.5, 2.0]), ([0.7] * 5000, [0.3] * 5000), ([0.2, 0.9], [0.4] * 2)):
        metric.reset_state()
        metric.update_state(tf.constant(gold), tf.constant(predicted))
        assert float(metric.result()) == 0.0, (gold[:2], predicted[:2])


def test_fit_logs_score_the_mean_of_each_tasks_own_metric_and_evaluate_agrees():
    examples = tiny_examples()
    model = build_tiny_model(examples, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.03))
    data = make_dataset(examples, model.tasks, 4)
    history = model.fit(data, validation_data=data, epochs=8, verbose=0).history
    by_task = {task.name: task.score_metric for task in model.tasks}
    assert by_task == {"intent": "accuracy", "slots": "f1", "sentiment": "accuracy"}
    for prefix in ("", "val_"):
        mean = np.mean([history[f"{prefix}{name}_{metric}"] for name, metric in by_task.items()], axis=0)
        np.testing.assert_allclose(history[prefix + "score"], mean, rtol=1e-6)
    # The logged validation F1 is the entity F1 of the argmax tags over the
    # labelled texts, which `evaluate` gives without the BIO constraint.
    report = mtkeras.evaluate(model, data, decode=False, print_table=False)
    assert 0.0 < history["val_slots_f1"][-1] < 1.0, "some entities right and some wrong, for the check to mean anything"
    assert history["val_slots_f1"][-1] == pytest.approx(report["slots"]["f1"], abs=1e-6)
    assert history["val_intent_accuracy"][-1] == pytest.approx(report["intent"]["accuracy"], abs=1e-6)


def test_score_of_regression_and_multi_label_tasks():
    examples = [
        Example(ex.words, {"rating": float(i % 5), "topics": ["a", "b"][: 1 + i % 2]}, "toy")
        for i, ex in enumerate(tiny_examples())
    ]
    tasks = [mtkeras.Regression("rating"), mtkeras.MultiLabelClassification.from_examples("topics", examples)]
    model = build_tiny_model(examples, tasks)
    model.compile(optimizer="adam")
    history = model.fit(make_dataset(examples, tasks, 4), epochs=2, verbose=0).history
    np.testing.assert_allclose(
        history["score"], (np.array(history["rating_pearson"]) + np.array(history["topics_micro_f1"])) / 2, rtol=1e-6
    )
