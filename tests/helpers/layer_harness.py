"""The contract every public mtkeras layer keeps, checked the same way for each (keras-hub's `run_layer_test` idea).

`run_layer_test(make, inputs, tmp_path)`:
1. builds and calls the layer on real inputs;
2. calls it on symbolic inputs of any batch size: the output spec it
   declares (`compute_output_spec`) matches the real outputs' ranks and dtypes;
3. round-trips `get_config` through JSON: `from_config` gives the same config;
4. saves the weights to a `.weights.h5` file and loads them into the layer
   rebuilt from the JSON config, which then answers as the original does.
"""

import json

import keras
import numpy as np
import tensorflow as tf


class _Holder(keras.Model):
    """Just enough of a model to save and load one layer's weights with Keras' own file format."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def call(self, inputs):
        return self.layer(*inputs) if isinstance(inputs, tuple) else self.layer(inputs)


def _symbolic(value):
    if isinstance(value, dict):
        return {key: _symbolic(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_symbolic(item) for item in value)
    value = tf.convert_to_tensor(value)
    return keras.KerasTensor((None,) + tuple(value.shape[1:]), dtype=value.dtype.name)  # any batch size


def run_layer_test(make, inputs, tmp_path, atol=1e-6):
    """Runs the four checks above on `make()` called with `inputs` (a value, or a tuple of positional inputs)."""
    layer = make()
    holder = _Holder(layer)
    expected = holder(inputs)

    spec = make()(*_symbolic(inputs)) if isinstance(inputs, tuple) else make()(_symbolic(inputs))
    for declared, real in zip(tf.nest.flatten(spec), tf.nest.flatten(expected)):
        assert len(declared.shape) == len(real.shape), (declared.shape, real.shape)
        # Every size the symbolic call knows (widths, not the batch or the number of words) is the real one.
        assert all(d is None or d == r for d, r in zip(declared.shape, real.shape)), (declared.shape, real.shape)
        assert keras.backend.standardize_dtype(declared.dtype) == keras.backend.standardize_dtype(real.dtype)

    config = json.loads(json.dumps(layer.get_config()))  # plain data only
    clone = type(layer).from_config(config)
    assert clone.get_config() == layer.get_config()

    path = str(tmp_path / f"{type(layer).__name__}.weights.h5")
    holder.save_weights(path)
    reloaded = _Holder(clone)
    reloaded(inputs)  # builds it
    reloaded.load_weights(path)
    got = reloaded(inputs)
    for a, b in zip(tf.nest.flatten(expected), tf.nest.flatten(got)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol)
    return expected
