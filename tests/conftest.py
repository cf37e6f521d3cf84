"""Fixtures shared by the tests: a tiny trained model and its export. Helpers live in `tests/helpers/`."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402

from helpers.data import tiny_examples  # noqa: E402
from helpers.models import build_tiny_model  # noqa: E402
from mtkeras.data import make_dataset  # noqa: E402
from mtkeras.export import export_saved_model  # noqa: E402


@pytest.fixture(scope="session")
def trained_model():
    """A tiny model trained until it fits the tiny data (a few seconds)."""
    examples = tiny_examples()
    model = build_tiny_model(examples)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = make_dataset(examples, model.tasks, batch_size=8, shuffle=True, seed=1)
    model.fit(data, epochs=30, verbose=0)
    return model


@pytest.fixture(scope="session")
def exported_model(trained_model, tmp_path_factory):
    """`(base_path, version_path)` of the tiny model exported once."""
    base = tmp_path_factory.mktemp("saved_models") / "tiny"
    return str(base), export_saved_model(trained_model, str(base))
