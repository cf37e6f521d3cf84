"""Fixtures shared by the tests: a tiny trained model and its export. Helpers live in `tests/helpers/`."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# One thread per op: the tests' models are tiny and two test processes (plus the
# processes some tests start) share CI's 2 cores. Measured on tests/export,
# training and encoders with `-n 2`: 190 and 193 s against 211 and 224 s with
# TensorFlow's default (one per core). Inherited by the subprocesses.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

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
