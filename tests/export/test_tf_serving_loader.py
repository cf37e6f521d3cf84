"""Exports answer through TF Serving's own loader (session, restore op, init op, tensors by name).

No `tensorflow_model_server` binary runs here; TF Serving's `SavedModelBundle`
loads a version with TensorFlow's session loader, which these tests run: the
Python one (`mtkeras.export.SavedModelBundle`) and `saved_model_cli run`.
"""

import json
import os
import stat
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import every_kind_examples, every_kind_tasks
from helpers.processes import run_python
from helpers.serving import assert_answers_through_tf_serving_loader, keras_model_held_by_a_module
from mtkeras import names
from mtkeras.export import (
    PYTHON_OPS,
    ExportError,
    SavedModelBundle,
    export_saved_model,
    graph_op_types,
    read_meta_graph,
    verify_export,
    warmup_requests,
)

TINY_ENCODERS = {
    "bilstm": {"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "char_filters": 8, "char_dim": 8},
    "cnn": {"embedding_dim": 8, "hidden_dim": 8, "num_layers": 2, "char_filters": 8, "char_dim": 8},
    "transformer": {"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16,
                    "char_filters": 8, "char_dim": 8},
}


def every_kind_model(encoder):
    examples = every_kind_examples()
    keras.utils.set_random_seed(0)
    return mtkeras.build_model(
        every_kind_tasks(examples), encoder, texts=[ex.text for ex in examples], encoder_config=TINY_ENCODERS[encoder]
    )


@pytest.mark.parametrize("encoder", sorted(TINY_ENCODERS))
def test_every_task_kind_answers_through_the_session_loader(encoder, tmp_path):
    model = every_kind_model(encoder)
    # The sentence task is calibrated and has a fallback label, a token task an outside weight: all are part of
    # the graph TF Serving runs.
    intent = model.tasks[0]
    intent.temperature, intent.fallback_label, intent.fallback_threshold = 0.7, "unsure", 0.99
    {task.name: task for task in model.tasks}["entities"].outside_weight = 0.3
    path = export_saved_model(model, str(tmp_path / encoder))  # warm-up records replayed on the way
    answers = assert_answers_through_tf_serving_loader(path)  # and again here, with every signature
    assert set(answers) == {names.SERVING_SIGNATURE, names.PAIR_SIGNATURE}
    pair = answers[names.PAIR_SIGNATURE]
    for key in (names.label_key("intent"), names.labels_key("topics"), names.tags_key("slots"),
                names.tags_key("entities"), names.value_key("rating"), names.label_key("nli")):
        assert key in pair, key
    # What the session loader answers is what the model answers in memory.
    texts = ["Book a table for two in Rome, please!", "", "play some jazz", "zzz unknown"]
    for served, pairs in ((answers[names.SERVING_SIGNATURE], None), (pair, texts[::-1])):
        got = mtkeras.serving.results_from_outputs(served, len(texts))
        expected = mtkeras.predict(model, texts, pairs=pairs)
        assert mtkeras.serving.same_answers(got, expected), (got, expected)
        # The untrained model is never 99% sure: every intent answer is the fallback, with its calibrated score.
        assert {answer["intent"]["label"] for answer in got} == {"unsure"}
        assert all(0 < answer["intent"]["score"] < 0.99 for answer in got)


def test_saved_model_cli_run_answers(exported_model):
    """The command a new user tries first; it loads the export with the session loader."""
    _, path = exported_model
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run(
        [cli, "run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
         "--input_exprs", 'text=["play some jazz"]'],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Result for output key intent_label:" in result.stdout
    assert "Result for output key words:\n[[b'play' b'some' b'jazz']]" in result.stdout


def test_the_export_graph_holds_only_ops_the_official_server_links(exported_model, tmp_path):
    """Core TensorFlow ops plus tensorflow-text's (the server links `@org_tensorflow_text//tensorflow_text:ops_lib`)."""
    registries = json.loads(run_python("""
        import json
        from tensorflow.core.framework import op_def_pb2
        from tensorflow.python.client import pywrap_tf_session

        def registered():
            ops = op_def_pb2.OpList.FromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
            return {op.name for op in ops.op}

        core = registered()
        import tensorflow_text  # noqa: F401
        print(json.dumps({"core": sorted(core), "text": sorted(registered() - core)}))
    """).strip().splitlines()[-1])
    allowed = (set(registries["core"]) | set(registries["text"])) - PYTHON_OPS
    assert {"FastWordpieceTokenizeWithOffsets", "RegexSplitWithOffsets", "CaseFoldUTF8"} <= set(registries["text"])

    _, scratch = exported_model
    ops = graph_op_types(read_meta_graph(scratch))
    assert {"VarHandleOp", "RestoreV2", "StaticRegexReplace"} <= ops
    assert sorted(ops - allowed) == []
    assert not ops & set(registries["text"])  # from-scratch exports need core TensorFlow only

    # A signature that calls Python is refused, naming the op.
    module = tf.Module()
    module.f = tf.function(
        lambda text: {"n": tf.py_function(lambda t: t.shape[0], [text], tf.int32)},
        input_signature=[tf.TensorSpec([None], tf.string, name="text")],
    )
    path = str(tmp_path / "py")
    tf.saved_model.save(module, path, signatures={"serving_default": module.f.get_concrete_function()})
    assert "EagerPyFunc" in graph_op_types(read_meta_graph(path)) - allowed
    with pytest.raises(ExportError, match=r"\['EagerPyFunc'\], which call back into Python"):
        verify_export(path, [])


def test_a_version_tf_serving_would_refuse_is_caught(trained_model, tmp_path):
    """tensorflow/tensorflow#72963: it answers through tf.saved_model.load, not through the session loader."""
    path = keras_model_held_by_a_module(trained_model, str(tmp_path / "old"))
    loaded = tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]
    assert loaded(text=tf.constant(["play jazz"]))[names.probs_key("intent")].shape == (1, 3)
    with SavedModelBundle(path) as bundle, pytest.raises(tf.errors.FailedPreconditionError, match="Could not find variable"):
        bundle.run(names.SERVING_SIGNATURE, {names.TEXT: np.array([b"play jazz"], dtype=object)})
    with pytest.raises(ExportError, match="(?s)fails through TF Serving.s loader.*Could not find variable"):
        verify_export(path, warmup_requests(trained_model, ["play jazz"]))


def test_an_export_that_answers_otherwise_than_the_model_is_refused(exported_model, trained_model):
    _, path = exported_model
    requests = warmup_requests(trained_model, ["play jazz", "book a table for two"])
    with SavedModelBundle(path) as bundle:
        answers = bundle.run(names.SERVING_SIGNATURE, {names.TEXT: np.array([b"play jazz", b"book a table for two"], dtype=object)})
    verify_export(path, requests, lambda signature, inputs: answers)  # the same answers pass
    shifted = {**answers, names.probs_key("intent"): answers[names.probs_key("intent")] + 1e-3}
    with pytest.raises(ExportError, match="output 'intent_probs' of warmup request 2 .* differs .* largest difference 0.001"):
        verify_export(path, requests, lambda signature, inputs: shifted)
    relabelled = {**answers, names.label_key("intent"): answers[names.label_key("intent")][::-1]}
    with pytest.raises(ExportError, match="output 'intent_label'"):
        verify_export(path, requests, lambda signature, inputs: relabelled)


def test_the_session_loader_runs_only_the_outputs_asked_for(exported_model):
    _, path = exported_model
    texts = {names.TEXT: np.array([b"play some jazz"], dtype=object)}
    with SavedModelBundle(path) as bundle:
        every = bundle.run(names.SERVING_SIGNATURE, texts)
        some = bundle.run(names.SERVING_SIGNATURE, texts, [names.tags_key("slots"), names.LENGTHS])
        assert list(some) == [names.tags_key("slots"), names.LENGTHS]
        np.testing.assert_array_equal(some[names.tags_key("slots")], every[names.tags_key("slots")])
        with pytest.raises(KeyError, match="has no outputs \\['nope'\\]"):
            bundle.run(names.SERVING_SIGNATURE, texts, ["nope"])
        with pytest.raises(KeyError, match="takes the inputs \\['text'\\]; received \\['texts'\\]"):
            bundle.run(names.SERVING_SIGNATURE, {"texts": texts[names.TEXT]})


def test_exporting_inside_a_strategy_scope_says_where_to_export(trained_model, tmp_path):
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        with pytest.raises(ExportError, match="Export outside `strategy.scope\\(\\)`"):
            export_saved_model(trained_model, str(tmp_path / "nlu"))
    assert not (tmp_path / "nlu").exists()


def test_a_signature_reading_a_resource_the_model_does_not_own_is_named(trained_model):
    from mtkeras.export.saved_model import _captured_resources

    stray = tf.Variable(1.0, name="stray")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(text):
        return {"n": tf.cast(tf.size(text), tf.float32) * stray}

    with pytest.raises(ValueError, match="Signature 'serving_default' reads a resource that is neither a weight nor a table"):
        _captured_resources(trained_model, {names.SERVING_SIGNATURE: serve.get_concrete_function()})


def test_keras_model_export_writes_the_raw_text_export(trained_model, tmp_path):
    path = str(tmp_path / "keras_export")
    trained_model.export(path, verbose=False)
    answers = assert_answers_through_tf_serving_loader(path)
    assert names.label_key("intent") in answers[names.SERVING_SIGNATURE]
    assert os.path.isfile(os.path.join(path, "assets.extra", "mtkeras.json"))
    with pytest.raises(FileExistsError, match="already exists"):
        trained_model.export(path)
    with pytest.raises(ValueError, match="input_signature"):
        trained_model.export(str(tmp_path / "other"), input_signature=[tf.TensorSpec([None], tf.string)])


def test_versions_get_the_permissions_the_umask_gives(trained_model, tmp_path):
    """A TF Serving container running as another user must be able to read the version."""
    umask = 0o022
    previous = os.umask(umask)
    try:
        path = export_saved_model(trained_model, str(tmp_path / "nlu"), warmup_texts=["hi"])
    finally:
        os.umask(previous)
    for folder, dirs, files in os.walk(path):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o777 & ~umask, folder
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) == 0o666 & ~umask, name


def test_tensorflows_notices_to_its_developers_are_filtered_and_nothing_else():
    """TensorFlow calls its session loader deprecated; TF Serving uses it, and so does mtkeras, without the noise."""
    import logging

    import mtkeras.export  # noqa: F401  (installs the filter)

    def record(message, *args):
        return logging.LogRecord("tensorflow", logging.WARNING, "x.py", 1, message, args, None)

    tf_logger = tf.get_logger()
    deprecation = record("From %s: %s (from %s) is deprecated and will be removed %s.", "bundle.py:97", "load",
                         "tensorflow.python.saved_model.loader_impl", "in a future version")
    renamed = record("Function `%s` contains input name(s) %s with unsupported characters which will be renamed to %s "
                     "in the SavedModel.", "serve", "table_handle", "x_table_handle")
    assert not tf_logger.filter(deprecation) and not tf_logger.filter(renamed)
    other = record("From %s: %s (from %s) is deprecated and will be removed %s.", "x.py:1", "f", "tensorflow.python.ops", "soon")
    assert tf_logger.filter(other) and tf_logger.filter(record("Something else happened"))
