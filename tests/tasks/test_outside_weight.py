"""A token task's outside weight: the "O" tag's probability scaled before decoding, fitted on dev by entity F1."""

import math

import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from mtkeras import names
from mtkeras.evaluation import TaskItems
from mtkeras.evaluation.calibration import MIN_TEXTS, _fit_outside
from mtkeras.tasks.calibration import OUTSIDE_WEIGHTS, fit_outside_weight, with_outside_weight

LABELS = ["O", "B-city", "I-city"]


def test_the_weight_scales_the_outside_tag_and_renormalizes():
    probs = np.array([[[0.6, 0.3, 0.1], [0.0, 0.0, 0.0]]], np.float32)  # a word, then padding
    # By hand: O 0.6 * 0.5 = 0.3, then each divided by 0.3 + 0.3 + 0.1 = 0.7.
    np.testing.assert_allclose(with_outside_weight(probs, 0, 0.5), [[[0.3 / 0.7, 0.3 / 0.7, 0.1 / 0.7], [0, 0, 0]]],
                               rtol=1e-6)
    np.testing.assert_array_equal(with_outside_weight(probs, 0, 1.0), probs)
    np.testing.assert_array_equal(with_outside_weight(probs, None, 0.5), probs)  # no "O" tag: nothing to weigh


def test_the_answers_use_the_weight():
    task = mtkeras.TokenTagging("slots", LABELS, outside_weight=0.5)
    # Word 1 is "O" at weight 1 (0.55 against 0.45) and "B-city" at 0.5 (0.275 against 0.45).
    probs = tf.constant([[[0.9, 0.05, 0.05], [0.55, 0.45, 0.0], [0.8, 0.1, 0.1]]])
    out = task.export_outputs(probs, tf.constant([3]))
    expected = with_outside_weight(probs.numpy(), 0, 0.5)
    np.testing.assert_allclose(out[names.probs_key("slots")], expected, rtol=1e-6)
    assert [tag.decode() for tag in out[names.tags_key("slots")].numpy()[0]] == ["O", "B-city", "O"]
    assert out[names.entity_start_key("slots")].numpy().tolist() == [[1]]
    assert out[names.entity_score_key("slots")].numpy()[0, 0] == pytest.approx(expected[0, 1, 1], rel=1e-6)
    # Evaluation decodes the same way.
    assert [ids.tolist() for ids in task.predict_items(probs.numpy(), [3])] == [[0, 1, 0]]
    unweighted = mtkeras.TokenTagging("slots", LABELS)
    assert [ids.tolist() for ids in unweighted.predict_items(probs.numpy(), [3])] == [[0, 0, 0]]
    # Saved with the task, so that the .keras file and the export keep it.
    rebuilt = mtkeras.Task.from_config(task.get_config())
    assert (rebuilt.outside_weight, rebuilt.fit_outside_weight) == (0.5, True)
    with pytest.raises(ValueError, match="`outside_weight` must be a finite number > 0. Received: outside_weight=0"):
        mtkeras.TokenTagging("slots", LABELS, outside_weight=0)
    with pytest.raises(ValueError, match="Received: outside_weight=inf"):
        mtkeras.TokenTagging("slots", LABELS, outside_weight=float("inf"))
    assert mtkeras.TokenTagging("slots", LABELS, outside_weight=np.float32(0.5)).outside_weight == 0.5


def test_the_fit_takes_the_best_score_and_among_equals_the_nearest_to_1():
    assert OUTSIDE_WEIGHTS[0] == pytest.approx(1 / 64) and OUTSIDE_WEIGHTS[-1] == pytest.approx(4.0)
    assert 1.0 in OUTSIDE_WEIGHTS
    weight, scores = fit_outside_weight(lambda w: -abs(math.log(w / 0.25)))  # peaks at 0.25
    assert weight == pytest.approx(0.25) and len(scores) == len(OUTSIDE_WEIGHTS)
    assert fit_outside_weight(lambda w: 0.5 if w < 0.6 else 0.4)[0] == pytest.approx(2 ** -1)  # 0.5 beats 0.35, ...
    assert fit_outside_weight(lambda w: 0.7)[0] == 1.0  # nothing better than as trained
    assert fit_outside_weight(lambda w: float("nan") if w != 2.0 else 0.1)[0] == 2.0  # NaN never wins
    assert fit_outside_weight(lambda w: float("nan"))[0] == 1.0


def test_fitting_on_dev_items_by_hand():
    """25 two-word texts, gold "B-city O": the first word's "O" has 0.6 against 0.4 for "B-city"."""
    task = mtkeras.TokenTagging("slots", LABELS)
    items = TaskItems()
    for _ in range(25):
        items.gold.append(np.array([1, 0], np.int32))
        items.mask.append(np.array([True, True]))
        items.gold_names.append(None)
        items.probs.append(np.array([[0.6, 0.4, 0.0], [0.9, 0.05, 0.05]], np.float32))
    fitted = _fit_outside(task, items)
    # At weight 1 no city is found (F1 0). "B-city" wins the first word once 0.6 w < 0.4, w < 2/3: 2 ** -1 = 0.5
    # is the nearest to 1 of the grid's weights below it, and finds every city (F1 1); the second word stays "O"
    # (0.9 * 0.5 against 0.05).
    assert fitted == {"outside_weight": 0.5, "f1_before": 0.0, "f1_after": 1.0, "texts": 25}
    assert task.outside_weight == 0.5
    assert MIN_TEXTS == 20


def test_the_fit_s_entity_f1_is_the_report_s():
    """Scoring many weights reads the gold entities once; the F1 must be `score_items`' (seqeval) to the bit."""
    labels = ["O", "B-city", "I-city", "B-date", "I-date"]
    task = mtkeras.TokenTagging("slots", labels)
    rng = np.random.default_rng(0)
    items = TaskItems()
    for _ in range(200):  # gold and predictions of any shape: I- without B-, unlabelled words, cut predictions
        size = int(rng.integers(1, 9))
        items.gold.append(rng.integers(0, len(labels), size).astype(np.int32))
        items.mask.append(rng.random(size) > 0.1)
        items.gold_names.append(None)
        items.pred.append(rng.integers(0, len(labels), int(rng.integers(0, size + 1))).astype(np.int32))
    assert task.entity_f1_of(items)(items.pred) == pytest.approx(task.score_items(items)["f1"], abs=1e-12)
    nothing = [np.zeros(len(gold), np.int32) for gold in items.gold]
    assert task.entity_f1_of(items)(nothing) == 0.0


def test_an_exported_teacher_s_weight_is_undone_for_its_students(tmp_path):
    """A student learns the teacher model's distribution, not the weighted answers its export gives."""
    import json
    import os

    from mtkeras.runs.teachers import _without_outside_weight

    task = mtkeras.TokenTagging("slots", LABELS)
    os.makedirs(tmp_path / "assets.extra")
    raw = np.array([[[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]], [[0.9, 0.1, 0.0], [0.0, 0.0, 0.0]]], np.float32)
    answered = with_outside_weight(raw, 0, 0.25)
    for weight, expected in ((0.25, raw), (1.0, answered)):
        config = mtkeras.TokenTagging("slots", LABELS, outside_weight=weight).get_config()
        (tmp_path / "assets.extra" / "mtkeras.json").write_text(json.dumps({"tasks": [config]}))
        np.testing.assert_allclose(_without_outside_weight(str(tmp_path), task, answered), expected, atol=1e-6)
