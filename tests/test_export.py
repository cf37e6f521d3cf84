"""The exported SavedModel: signature, versions, and fidelity to the model."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_python
from mtkeras import names
from mtkeras.export import METADATA_FILE, export_saved_model, next_version

TEXTS = ["book a table for two in rome", "Play some JAZZ, please!", "", "that was great thanks", "zzz unknown words"]


def test_signature_inputs_and_outputs(exported_model, trained_model):
    _, path = exported_model
    serve = tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]
    inputs = serve.structured_input_signature[1]
    assert list(inputs) == [names.TEXT]
    assert inputs[names.TEXT].dtype == tf.string and inputs[names.TEXT].shape.as_list() == [None]
    expected = {names.WORDS, names.LENGTHS}
    for task in ("intent", "sentiment"):
        expected |= {names.label_key(task), names.score_key(task), names.probs_key(task)}
    expected |= {names.tags_key("slots"), names.probs_key("slots")}
    expected |= {
        names.entity_start_key("slots"), names.entity_end_key("slots"),
        names.entity_type_key("slots"), names.entity_count_key("slots"),
    }
    assert set(serve.structured_outputs) == expected

    out = serve(text=tf.constant(TEXTS))
    assert out[names.LENGTHS].numpy().tolist() == [7, 6, 0, 4, 3]
    assert out[names.WORDS].numpy()[1].tolist() == [b"Play", b"some", b"JAZZ", b",", b"please", b"!", b""]
    tags = out[names.tags_key("slots")].numpy()
    assert tags.shape == (5, 7)
    assert all(tag == b"" for tag in tags[2])  # no words, no tags
    assert all(tag != b"" for tag in tags[0])
    labels = trained_model.tasks[0].labels
    assert {label.decode() for label in out[names.label_key("intent")].numpy()} <= set(labels)


def test_exported_predictions_equal_the_model_in_a_fresh_process(exported_model, trained_model):
    _, path = exported_model
    expected = trained_model.predict(tf.constant(TEXTS), verbose=0)
    code = f"""
        import json, tensorflow as tf
        serve = tf.saved_model.load({path!r}).signatures["serving_default"]
        result = {{}}
        for size in (1, {len(TEXTS)}):
            for start in range(0, {len(TEXTS)}, size):
                out = serve(text=tf.constant({TEXTS!r}[start:start + size]))
                for task in ("intent", "sentiment", "slots"):
                    result.setdefault(f"{{size}}/{{task}}", []).append(out[task + "_probs"].numpy().tolist())
        print(json.dumps(result))
    """
    result = json.loads(run_python(code).strip().splitlines()[-1])
    for task in ("intent", "sentiment"):
        for size in (1, len(TEXTS)):
            got = np.concatenate([np.array(chunk) for chunk in result[f"{size}/{task}"]])
            np.testing.assert_allclose(got, expected[task], atol=1e-6)
    # Token probabilities: compare each text's real words (batches pad differently).
    got = np.array(result[f"{len(TEXTS)}/slots"][0])
    for i, n in enumerate([7, 6, 0, 4, 3]):
        np.testing.assert_allclose(got[i, :n], expected["slots"][i, :n], atol=1e-6)
        single = np.array(result[f"1/slots"][i])[0]
        np.testing.assert_allclose(single[:n], expected["slots"][i, :n], atol=1e-6)


def test_versions_count_up_and_are_never_overwritten(trained_model, tmp_path):
    base = str(tmp_path / "nlu")
    assert next_version(base) == 1
    first = export_saved_model(trained_model, base)
    second = export_saved_model(trained_model, base)
    assert [os.path.basename(first), os.path.basename(second)] == ["1", "2"]
    assert sorted(os.listdir(base)) == ["1", "2"]  # no staging folder left behind
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(trained_model, base, version=2)
    meta = json.load(open(os.path.join(second, "assets.extra", METADATA_FILE)))
    assert [t["name"] for t in meta["tasks"]] == ["intent", "slots", "sentiment"]
    assert meta["tasks"][1]["labels"] == trained_model.tasks[1].labels
    assert meta["tensorflow_version"] == tf.__version__


def test_weights_are_stored_once(exported_model, trained_model):
    """keras-team/keras#23553: Keras' own export writes every weight twice."""
    _, path = exported_model
    assert not os.path.exists(os.path.join(path, "_all_variables"))
    reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    stored = {
        name: shape for name, shape in reader.get_variable_to_shape_map().items()
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }
    assert trained_model.optimizer.iterations.numpy() > 0  # trained: optimizer state exists
    assert not [name for name in stored if "OPTIMIZER" in name]
    stored_params = sum(int(np.prod(shape)) for shape in stored.values())
    assert stored_params == trained_model.count_params()
