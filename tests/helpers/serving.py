"""Checks of exports as TF Serving loads them (session loader) against `tf.saved_model.load`."""

import os

import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.export import SavedModelBundle, read_warmup_records, request_inputs, warmup_requests
from mtkeras.export.bundle import ASSETS_EXTRA
from mtkeras.export.warmup import WARMUP_FILE


def assert_answers_through_tf_serving_loader(path, texts=None, atol=1e-5):
    """Loads the export at `path` as TF Serving does and as `tf.saved_model.load` does; both answer the same.

    TF Serving's loader (`mtkeras.export.SavedModelBundle`: restore op, init
    op, tensors by name) runs every signature on `texts` (and, for
    `serving_pair`, the same texts reversed as second texts) and every warmup
    record of the export; each output must equal what the object-graph
    loader's signature returns for the same inputs: strings and integers
    exactly, floats within `atol`.

    Returns:
        `{signature: {alias: np.ndarray}}`, the session loader's answers to `texts`.
    """
    texts = texts or ["Book a table for two in Rome, please!", "", "play some jazz", "zzz unknown"]
    loaded = tf.saved_model.load(path)
    requests = []
    for name in loaded.signatures:
        inputs = {"text": np.array([t.encode() for t in texts], dtype=object)}
        if name == "serving_pair":
            inputs["text_pair"] = inputs["text"][::-1].copy()
        requests.append((name, inputs))
    requests += [request_inputs(log.predict_log.request) for log in read_warmup_records(path)]
    answers = {}
    with SavedModelBundle(path) as bundle:
        served_names = {name for name in bundle.signature_defs if not name.startswith("__")}
        assert served_names == set(loaded.signatures), (served_names, set(loaded.signatures))
        for index, (name, inputs) in enumerate(requests):
            served = bundle.run(name, inputs)
            expected = loaded.signatures[name](**{alias: tf.constant(value) for alias, value in inputs.items()})
            assert set(served) == set(expected), (name, sorted(served), sorted(expected))
            for alias, want in expected.items():
                want = want.numpy()
                assert served[alias].shape == want.shape, (name, alias, served[alias].shape, want.shape)
                if want.dtype.kind == "f":
                    np.testing.assert_allclose(served[alias], want, atol=atol, err_msg=f"{name} {alias}")
                else:
                    np.testing.assert_array_equal(served[alias], want, err_msg=f"{name} {alias}")
            answers.setdefault(name, served)
    return answers


def keras_model_held_by_a_module(model, path):
    """The SavedModel of a Keras model held as a `tf.Module` attribute (what mtkeras exported before),
    with warmup records: it answers through `tf.saved_model.load`, and TF Serving refuses it."""

    class Holder(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=names.TEXT)])
        def serve(self, text):
            return {names.probs_key("intent"): self.model({names.TEXT: text})["intent"]}

    holder = Holder()
    tf.saved_model.save(holder, path, signatures={names.SERVING_SIGNATURE: holder.serve.get_concrete_function()})
    os.makedirs(os.path.join(path, ASSETS_EXTRA))
    with tf.io.TFRecordWriter(os.path.join(path, ASSETS_EXTRA, WARMUP_FILE)) as writer:
        for record in warmup_requests(model, ["play jazz"]):
            writer.write(record.SerializeToString())
    return path
