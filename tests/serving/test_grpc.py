"""The embedded TF Serving compatible server and the client, over real gRPC sockets.

The served model is a tiny SavedModel built here with plain TensorFlow that
follows the mtkeras export contract (see `mtkeras.names`): one sentence task
(`intent`) and one token task (`slots`).
"""

import concurrent.futures
import functools
import os
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc


from mtkeras import names
from mtkeras.serving import Client, ModelServer, ServingError
from mtkeras.serving import servable as servable_module

MODEL = "demo"
INTENTS = ["book", "greet", "other"]
SLOT_TAGS = ["O", "B-party_size", "I-party_size"]
FAIL_TEXT = "__fail__"  # the toy model raises on this text, to test runtime errors
TEXTS = ["book a table for two", "hi", "what is the weather like in paris today"]
INTENT, SLOTS = "intent", "slots"


class _ToyNlu(tf.Module):
    """Deterministic stand-in for an mtkeras export: words hashed into logits."""

    def __init__(self, offset):
        super().__init__()
        self.offset = tf.Variable(offset, dtype=tf.float32)  # differs between versions
        self.intents = tf.constant(INTENTS)
        self.slot_tags = tf.constant(SLOT_TAGS)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=names.TEXT)])
    def serve(self, text):
        tf.debugging.Assert(tf.reduce_all(text != FAIL_TEXT), ["model failure requested"])
        ragged = tf.strings.split(text)
        words = ragged.to_tensor(default_value="")
        lengths = tf.cast(ragged.row_lengths(), tf.int32)
        mask = tf.cast(words != "", tf.float32)
        hashes = tf.cast(tf.strings.to_hash_bucket_fast(words, 101), tf.float32)
        classes = tf.range(len(INTENTS), dtype=tf.float32)
        # Token task: [B, T, C] logits from each word's hash.
        token_logits = tf.math.floormod(hashes[..., None] * (classes + 1.0), 7.0) + self.offset * classes
        token_probs = tf.nn.softmax(token_logits)
        tags = tf.gather(self.slot_tags, tf.argmax(token_probs, axis=-1))
        tags = tf.where(words != "", tags, "")
        # Sentence task: [B, C] logits from the masked mean of token logits.
        pooled = tf.reduce_sum(token_logits * mask[..., None], axis=1)
        pooled /= tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)
        sentence_probs = tf.nn.softmax(pooled / 3.0)
        return {
            names.WORDS: words,
            names.LENGTHS: lengths,
            names.label_key(INTENT): tf.gather(self.intents, tf.argmax(sentence_probs, axis=-1)),
            names.score_key(INTENT): tf.reduce_max(sentence_probs, axis=-1),
            names.probs_key(INTENT): sentence_probs,
            names.tags_key(SLOTS): tags,
            names.probs_key(SLOTS): token_probs,
        }


def _save_version(base_path, version, offset):
    module = _ToyNlu(offset)
    path = os.path.join(base_path, str(version))
    tf.saved_model.save(module, path, signatures={names.SERVING_SIGNATURE: module.serve.get_concrete_function()})
    return path


@functools.lru_cache(maxsize=None)
def _load_signature(path):
    return tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]


def _call_in_process(path, texts):
    outputs = _load_signature(path)(text=tf.constant(texts))
    return {key: value.numpy() for key, value in outputs.items()}


def _assert_outputs_equal(served, expected):
    assert sorted(served) == sorted(expected)
    for key, value in expected.items():
        if value.dtype == object:
            decoded = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(value)
            np.testing.assert_array_equal(served[key], decoded, err_msg=key)
        else:
            assert served[key].dtype == value.dtype, key
            np.testing.assert_allclose(served[key], value, rtol=1e-6, err_msg=key)


@pytest.fixture(scope="module")
def base_path(tmp_path_factory):
    """Versions 1 and 2, plus an in-progress export and a stray file that must be ignored."""
    base = tmp_path_factory.mktemp("models") / MODEL
    _save_version(str(base), 1, offset=0.0)
    _save_version(str(base), 2, offset=1.5)
    (base / ".tmp-foo").mkdir()
    (base / ".tmp-foo" / "saved_model.pb").write_bytes(b"not a SavedModel")
    (base / "notes.txt").write_text("not a version")
    return str(base)


@pytest.fixture(scope="module")
def server(base_path):
    with ModelServer(MODEL, base_path, port=0) as server:
        yield server


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield channel


@pytest.fixture(scope="module")
def stub(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def client(server):
    with Client(f"127.0.0.1:{server.port}", MODEL, timeout=20) as client:
        yield client


def _request(texts=("book a table",), model=MODEL, **model_spec):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    for field, value in model_spec.items():
        if field == "version":
            request.model_spec.version.value = value
        else:
            setattr(request.model_spec, field, value)
    if texts is not None:
        request.inputs[names.TEXT].CopyFrom(tf.make_tensor_proto(list(texts), dtype=tf.string))
    return request


def _assert_still_serving(stub):
    response = stub.Predict(_request(["still serving"]), timeout=20)
    assert tf.make_ndarray(response.outputs[names.LENGTHS]).tolist() == [2]


# === Predict ===


def test_serves_latest_version_ignoring_other_entries(server, stub):
    assert server.version == 2
    response = stub.Predict(_request(), timeout=20)
    assert response.model_spec.name == MODEL
    assert response.model_spec.version.value == 2
    assert response.model_spec.signature_name == names.SERVING_SIGNATURE


@pytest.mark.parametrize("texts", [TEXTS, TEXTS[:1]])
def test_predict_raw_matches_saved_model_in_process(client, base_path, texts):
    served = client.predict_raw(texts)
    _assert_outputs_equal(served, _call_in_process(os.path.join(base_path, "2"), texts))
    # And version 1, which is on disk but not served, gives other numbers.
    version_1 = _call_in_process(os.path.join(base_path, "1"), texts)
    assert not np.allclose(served[names.probs_key(SLOTS)], version_1[names.probs_key(SLOTS)])


def test_predict_result_format(client, base_path):
    results = client.predict(TEXTS)
    expected = _call_in_process(os.path.join(base_path, "2"), TEXTS)
    assert len(results) == len(TEXTS)
    for i, (text, result) in enumerate(zip(TEXTS, results)):
        assert sorted(result) == [INTENT, SLOTS]
        intent = result[INTENT]
        assert sorted(intent) == ["label", "score"]
        assert type(intent["label"]) is str and intent["label"] in INTENTS
        assert type(intent["score"]) is float
        assert intent["label"] == expected[names.label_key(INTENT)][i].decode()
        assert intent["score"] == pytest.approx(float(expected[names.score_key(INTENT)][i]))
        slots = result[SLOTS]["tags"]
        assert [word for word, _ in slots] == text.split()
        assert all(type(word) is str and type(tag) is str and tag in SLOT_TAGS for word, tag in slots)
        assert [tag for _, tag in slots] == [tag.decode() for tag in expected[names.tags_key(SLOTS)][i][: len(slots)]]


def test_predict_accepts_a_single_string(client):
    assert client.predict("book a table for two") == client.predict(["book a table for two"])
    assert client.predict([]) == []


def test_empty_string_is_answered(client, stub):
    result = client.predict(["", "hi"])
    assert result[0][SLOTS] == {"tags": []} and result[0][INTENT]["label"] in INTENTS
    assert result[1][SLOTS]["tags"][0][0] == "hi"
    raw = client.predict_raw([""])
    assert raw[names.LENGTHS].tolist() == [0]
    _assert_still_serving(stub)


def test_non_utf8_bytes_are_answered_or_rejected(stub, client):
    request = _request([b"caf\xe9 \xff\xfe ok"])
    try:
        response = stub.Predict(request, timeout=20)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    else:
        assert tf.make_ndarray(response.outputs[names.LENGTHS]).tolist() == [3]
        # The client decodes what it can and replaces the rest.
        assert client.predict([b"caf\xe9 ok"])[0][SLOTS]["tags"][0][0] == "caf\ufffd"
    _assert_still_serving(stub)


def test_output_filter(client, stub):
    wanted = [names.label_key(INTENT), names.LENGTHS]
    assert sorted(client.predict_raw(TEXTS, output_filter=wanted)) == sorted(wanted)

    request = _request()
    request.output_filter.extend([names.LENGTHS, names.LENGTHS])
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, timeout=20)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"duplicate output tensor alias: {names.LENGTHS}" in info.value.details()

    with pytest.raises(ServingError) as info:
        client.predict_raw(TEXTS, output_filter=["nope"])
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "output tensor alias not found in signature: nope" in info.value.details
    _assert_still_serving(stub)


def test_concurrent_requests(client, base_path):
    batches = [[f"{text} {i}" for text in TEXTS[: 1 + i % 3]] for i in range(24)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        served = list(pool.map(client.predict_raw, batches))
    for batch, outputs in zip(batches, served):
        _assert_outputs_equal(outputs, _call_in_process(os.path.join(base_path, "2"), batch))


# === Versions ===


def test_explicit_version(server, stub):
    response = stub.Predict(_request(version=2), timeout=20)
    assert response.model_spec.version.value == 2
    with Client(f"127.0.0.1:{server.port}", MODEL, version=2) as client:
        assert client.predict("hi")[0][SLOTS]["tags"][0][0] == "hi"
    # Version 1 is on disk but, as with TF Serving's default policy, not loaded.
    with Client(f"127.0.0.1:{server.port}", MODEL, version=1) as client:
        with pytest.raises(ServingError) as info:
            client.predict("hi")
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert info.value.details == f"Servable not found for request: Specific({MODEL}, 1)"


def test_no_version_in_base_path(tmp_path):
    (tmp_path / ".tmp-1-abc").mkdir()
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        ModelServer(MODEL, str(tmp_path), port=0).start()
    with pytest.raises(FileNotFoundError, match="missing"):
        ModelServer(MODEL, str(tmp_path / "missing"), port=0).start()


def test_port_in_use_is_an_error(server, base_path):
    with pytest.raises(OSError, match=f"127.0.0.1:{server.port}"):
        ModelServer(MODEL, base_path, port=server.port).start()


# === Errors: code and message as TF Serving reports them, then a good request ===


def _int32_input():
    request = _request(texts=None)
    request.inputs[names.TEXT].CopyFrom(tf.make_tensor_proto([1, 2], dtype=tf.int32))
    return request


def _matrix_input():
    request = _request(texts=None)
    request.inputs[names.TEXT].CopyFrom(tf.make_tensor_proto([["book", "a"]], dtype=tf.string))
    return request


def _extra_input():
    request = _request()
    request.inputs["extra"].CopyFrom(tf.make_tensor_proto(["x"], dtype=tf.string))
    return request


def _renamed_input():
    request = _request(texts=None)
    request.inputs["texts"].CopyFrom(tf.make_tensor_proto(["x"], dtype=tf.string))
    return request


def _undecodable_input():
    request = _request(texts=None)
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING)
    tensor.tensor_shape.dim.add(size=2)
    tensor.tensor_content = b"\x01\x02\x03"  # not a valid encoding for strings
    request.inputs[names.TEXT].CopyFrom(tensor)
    return request


def _unknown_dtype_input():
    request = _request(texts=None)
    request.inputs[names.TEXT].CopyFrom(tensor_pb2.TensorProto(dtype=999))
    return request


def _version_label():
    request = _request()
    request.model_spec.version_label = "stable"
    return request


ERROR_CASES = {
    "unknown model": (
        lambda: _request(model="nope"),
        grpc.StatusCode.NOT_FOUND,
        ["Servable not found for request: Latest(nope)"],
    ),
    "unknown version": (
        lambda: _request(version=7),
        grpc.StatusCode.NOT_FOUND,
        [f"Servable not found for request: Specific({MODEL}, 7)"],
    ),
    "no model name": (lambda: _request(model=""), grpc.StatusCode.INVALID_ARGUMENT, ["ModelSpec has no name"]),
    "version label": (_version_label, grpc.StatusCode.INVALID_ARGUMENT, ["version label: stable"]),
    # TF Serving reports an unknown signature as FAILED_PRECONDITION (predict_util.cc).
    "unknown signature": (
        lambda: _request(signature_name="nope"),
        grpc.StatusCode.FAILED_PRECONDITION,
        ['Serving signature key "nope" not found.'],
    ),
    "int32 tensor": (_int32_input, grpc.StatusCode.INVALID_ARGUMENT, [names.TEXT, "string", "int32"]),
    "2-D input": (_matrix_input, grpc.StatusCode.INVALID_ARGUMENT, [names.TEXT, "[?]", "[1,2]"]),
    "missing input": (
        lambda: _request(texts=None),
        grpc.StatusCode.INVALID_ARGUMENT,
        ["input size does not match signature: 0!=1", "Missing but required: {text}"],
    ),
    "extra input": (_extra_input, grpc.StatusCode.INVALID_ARGUMENT, ["Sent extra: {extra}"]),
    "renamed input": (_renamed_input, grpc.StatusCode.INVALID_ARGUMENT, ["alias not found in signature: texts"]),
    "undecodable tensor": (_undecodable_input, grpc.StatusCode.INVALID_ARGUMENT, ["tensor parsing error: text"]),
    "unknown dtype": (_unknown_dtype_input, grpc.StatusCode.INVALID_ARGUMENT, ["tensor parsing error: text"]),
    "model raises": (
        lambda: _request(["ok", FAIL_TEXT]),
        grpc.StatusCode.INVALID_ARGUMENT,
        ["model failure requested"],
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_predict_errors(stub, case):
    make_request, code, fragments = ERROR_CASES[case]
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(make_request(), timeout=20)
    assert info.value.code() == code, info.value.details()
    for fragment in fragments:
        assert fragment in info.value.details()
    _assert_still_serving(stub)


def test_unexpected_exception_is_internal_and_server_lives_on(stub, monkeypatch):
    def broken_call(self, signature_name, inputs, output_aliases=None):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(servable_module.Servable, "_call", broken_call)
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(_request(), timeout=20)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert info.value.details() == "RuntimeError: simulated crash"
    monkeypatch.undo()
    _assert_still_serving(stub)


def test_client_raises_serving_error(server):
    with Client(f"127.0.0.1:{server.port}", "nope") as client:
        with pytest.raises(ServingError) as info:
            client.predict("hi")
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert "Latest(nope)" in str(info.value)
    assert isinstance(info.value.__cause__, grpc.RpcError)


# === Metadata and status ===


def test_get_model_metadata(stub, base_path):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MODEL
    response = stub.GetModelMetadata(request, timeout=20)
    assert response.model_spec.name == MODEL and response.model_spec.version.value == 2
    signature_def_map = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_def_map)
    on_disk = _load_signature(os.path.join(base_path, "2"))
    signature = signature_def_map.signature_def[names.SERVING_SIGNATURE]
    assert sorted(signature.outputs) == sorted(on_disk.structured_outputs)
    assert signature.inputs[names.TEXT].dtype == types_pb2.DT_STRING

    for fields, message in [([], "at least one metadata_field"), (["nope"], "Metadata field nope is not supported")]:
        del request.metadata_field[:]
        request.metadata_field.extend(fields)
        with pytest.raises(grpc.RpcError) as info:
            stub.GetModelMetadata(request, timeout=20)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in info.value.details()


def test_client_metadata(client):
    metadata = client.metadata()
    assert metadata["model_name"] == MODEL and metadata["version"] == 2
    assert metadata["inputs"] == {names.TEXT: {"dtype": "string", "shape": [None]}}
    outputs = metadata["outputs"]
    assert outputs[names.WORDS] == {"dtype": "string", "shape": [None, None]}
    assert outputs[names.LENGTHS] == {"dtype": "int32", "shape": [None]}
    assert outputs[names.score_key(INTENT)] == {"dtype": "float32", "shape": [None]}
    assert outputs[names.probs_key(INTENT)] == {"dtype": "float32", "shape": [None, len(INTENTS)]}
    assert outputs[names.probs_key(SLOTS)] == {"dtype": "float32", "shape": [None, None, len(SLOT_TAGS)]}


def _status(channel, name=MODEL, version=None):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    if version is not None:
        request.model_spec.version.value = version
    return model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, timeout=20)


def test_get_model_status(channel):
    for version in (None, 2):
        (status,) = _status(channel, version=version).model_version_status
        assert status.version == 2
        assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
        assert status.status.error_code == 0 and not status.status.error_message
    for name, version, message in [
        ("nope", None, "Could not find any versions of model nope"),
        (MODEL, 1, f"Could not find version 1 of model {MODEL}"),
    ]:
        with pytest.raises(grpc.RpcError) as info:
            _status(channel, name, version)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert info.value.details() == message


@pytest.mark.parametrize("batching", [False, True])
def test_an_unloaded_version_frees_its_session_with_its_last_request(exported_model, batching):
    """Nothing but the requests holding a Servable keeps its TensorFlow session (all the weights) alive."""
    import gc
    import weakref

    from mtkeras.serving import BatchingOptions, ServingLimits
    from mtkeras.serving.servable import Servable

    _, path = exported_model
    servable = Servable("tiny", 1, path, ServingLimits(), BatchingOptions() if batching else None)
    servable.predict("", {names.TEXT: np.array([b"play jazz"], dtype=object)})
    session = weakref.ref(servable._bundle.session)
    servable.close()  # what the manager does once the version is unpublished
    gc.disable()  # freed by reference counting, not by a later cycle collection
    try:
        del servable
        deadline = time.monotonic() + 10  # the batch threads end once their queue is drained
        while session() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session() is None
    finally:
        gc.enable()
