"""Mixed precision: the model trains and exports with float32 outputs."""

import keras
import numpy as np
import pytest

from helpers.data import tiny_examples
from helpers.models import build_tiny_model
from helpers.serving import assert_answers_through_tf_serving_loader
from mtkeras import names
from mtkeras.data import make_dataset
from mtkeras.export import export_saved_model
from mtkeras.training.precision import set_mixed_precision


@pytest.fixture
def mixed():
    yield set_mixed_precision("mixed_float16")
    set_mixed_precision("float32")


def test_auto_is_float32_without_a_gpu():
    try:
        assert set_mixed_precision("auto") == "float32"
    finally:
        set_mixed_precision("float32")
    with pytest.raises(ValueError, match="Unknown precision policy 'half'"):
        set_mixed_precision("half")


def test_mixed_float16_trains_and_exports(mixed, tmp_path):
    assert mixed == "mixed_float16"
    examples = tiny_examples()
    model = build_tiny_model(examples)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.encoder.compute_dtype == "float16"
    history = model.fit(make_dataset(examples, model.tasks, batch_size=4), epochs=2, verbose=0).history
    assert all(np.isfinite(v) for v in history["loss"])
    out = model.predict(["book a table in paris"], verbose=0)
    assert all(value.dtype == np.float32 for value in out.values())
    path = export_saved_model(model, str(tmp_path / "mixed"))
    # float16 inside, float32 out; TF Serving's loader answers as tf.saved_model.load does.
    served = assert_answers_through_tf_serving_loader(path, atol=1e-3)[names.SERVING_SIGNATURE]
    assert served[names.probs_key("intent")].dtype == np.float32
