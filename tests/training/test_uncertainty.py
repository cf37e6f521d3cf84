"""Opt-in uncertainty weighting: learned task weights, logged and saved."""

import keras
import numpy as np
import pytest

import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from mtkeras.data import make_dataset


def build(uncertainty_weighting=True):
    examples = tiny_examples()
    keras.utils.set_random_seed(0)
    model = mtkeras.build_model(
        tiny_tasks(examples), texts=[ex.text for ex in examples], uncertainty_weighting=uncertainty_weighting,
        encoder_config={"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "dropout": 0.0},
    )
    return model, examples


def test_total_loss_is_the_uncertainty_weighted_sum():
    model, examples = build()
    model.compile(optimizer="sgd")
    model.uncertainty.log_variances.assign([0.5, -1.0, 2.0])
    x, y, w = next(iter(make_dataset(examples, model.tasks, batch_size=len(examples))))
    pred = model(x)
    total = float(model.compute_loss(x, y, pred, w))
    by_hand = 0.0
    for task, s in zip(model.tasks, [0.5, -1.0, 2.0]):
        loss = float(task.loss()(y[task.name], pred[task.name], w[task.name]))
        by_hand += 0.5 * np.exp(-s) * loss + 0.5 * s
    assert total == pytest.approx(by_hand, rel=1e-5)


def test_weights_are_learned_logged_and_saved(tmp_path):
    model, examples = build()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(make_dataset(examples, model.tasks, batch_size=4, shuffle=True), epochs=5, verbose=0).history
    for task in model.tasks:
        assert len(history[f"{task.name}_weight"]) == 5
    assert not np.allclose(model.uncertainty.log_variances.numpy(), 0.0)
    logged = [history[f"{t.name}_weight"][-1] for t in model.tasks]
    np.testing.assert_allclose(logged, 0.5 * np.exp(-model.uncertainty.log_variances.numpy()), rtol=1e-5)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.uncertainty.log_variances.numpy(), model.uncertainty.log_variances.numpy())


def test_off_by_default():
    model, _ = build(uncertainty_weighting=False)
    assert model.uncertainty is None
