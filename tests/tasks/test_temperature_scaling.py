"""Calibrated confidence: temperature scaling, expected calibration error, the fallback label, in the answers."""

import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from mtkeras import names
from mtkeras.tasks.calibration import expected_calibration_error, fit_temperature, negative_log_likelihood, with_temperature


def overconfident(seed=0, texts=2000, labels=4, temperature=3.0):
    """Probabilities of a model whose logits are `temperature` times too large, and gold drawn from the true ones."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, size=(texts, labels))
    true = with_temperature(np.exp(logits), 1.0)
    gold = np.array([rng.choice(labels, p=row) for row in true])
    return with_temperature(np.exp(logits * temperature), 1.0), gold


def test_the_fitted_temperature_undoes_overconfidence_and_lowers_the_calibration_error():
    probs, gold = overconfident(temperature=3.0)
    temperature = fit_temperature(probs, gold)
    assert temperature == pytest.approx(3.0, rel=0.12)
    before, after = expected_calibration_error(probs, gold), expected_calibration_error(with_temperature(probs, temperature), gold)
    assert before > 0.1 and after < 0.03
    # What is minimized is the likelihood loss: never above that of T = 1, which lies in the range searched.
    assert negative_log_likelihood(probs, gold, temperature) <= negative_log_likelihood(probs, gold, 1.0)
    # The labels stay the same: only the scores move.
    assert (with_temperature(probs, temperature).argmax(-1) == probs.argmax(-1)).all()


def test_expected_calibration_error_of_a_perfectly_calibrated_and_of_a_sure_wrong_model():
    assert expected_calibration_error(np.array([[1.0, 0.0]] * 4), [0, 0, 0, 0]) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([[1.0, 0.0]] * 4), [1, 1, 1, 1]) == pytest.approx(1.0)
    assert np.isnan(expected_calibration_error(np.zeros([0, 2]), []))


def test_the_answers_use_the_temperature_and_the_fallback_label():
    task = mtkeras.SentenceClassification("intent", ["a", "b", "c"], temperature=2.0, fallback_label="out_of_scope",
                                          fallback_threshold=0.6)
    probs = tf.constant([[0.9, 0.05, 0.05], [0.5, 0.3, 0.2]])
    out = task.export_outputs(probs, tf.constant([1, 1]))
    expected = with_temperature(probs.numpy(), 2.0)
    np.testing.assert_allclose(out[names.probs_key("intent")], expected, rtol=1e-5)
    np.testing.assert_allclose(out[names.score_key("intent")], expected.max(-1), rtol=1e-5)
    assert [label.decode() for label in out[names.label_key("intent")].numpy()] == ["a", "out_of_scope"]
    # Saved with the task, so that the .keras file and the export keep them.
    rebuilt = mtkeras.Task.from_config(task.get_config())
    assert (rebuilt.temperature, rebuilt.fallback_label, rebuilt.fallback_threshold) == (2.0, "out_of_scope", 0.6)
    with pytest.raises(ValueError, match="`temperature` must be a number > 0"):
        mtkeras.SentenceClassification("intent", ["a"], temperature=0)
    with pytest.raises(ValueError, match="`fallback_threshold` must be in \\(0, 1\\)"):
        mtkeras.SentenceClassification("intent", ["a"], fallback_label="x", fallback_threshold=1.5)
