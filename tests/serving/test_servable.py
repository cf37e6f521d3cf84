"""One loaded version answering Predict: what it takes and refuses, limits, and the same answers over gRPC and REST as in process."""


import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from helpers.served import MODEL, TEXTS, assert_still_serving, copy_version, grpc_request, rest_url, same_results
from mtkeras import names
from mtkeras.serving import Client, ModelServer, RestClient, ServingLimits
from mtkeras.results import same_answers


def test_grpc_and_rest_give_the_in_process_answers(server, in_process):
    expected = in_process(TEXTS)
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        raw = client.predict_raw(TEXTS)
        results = client.predict(TEXTS)
    with RestClient(f"127.0.0.1:{server.rest_api_port}", MODEL) as rest:
        same_results(rest.predict(TEXTS), results)
    assert sorted(raw) == sorted(expected)
    for key, value in expected.items():
        if value.dtype == object:
            assert raw[key].tolist() == [[v.decode() for v in row] if value.ndim > 1 else row.decode() for row in value]
        else:
            np.testing.assert_allclose(raw[key], value, atol=1e-6)
    # Entities in the answer are the spans of the tags.
    for result in results:
        for entity in result["slots"]["entities"]:
            tags = [tag for _, tag in result["slots"]["tags"][entity["start"] : entity["end"]]]
            assert tags[0] in (f"B-{entity['type']}", f"I-{entity['type']}")
            assert all(tag == f"I-{entity['type']}" for tag in tags[1:])


ONE_MB = "word " * (1024 * 1024 // 5)


GRPC_CASES = {
    "1 MB text": (lambda: grpc_request([ONE_MB]), grpc.StatusCode.INVALID_ARGUMENT, "max_text_bytes"),
    "int tensor": (lambda: grpc_request([1, 2], dtype=tf.int32), grpc.StatusCode.INVALID_ARGUMENT, "to be string but got int32"),
    "2-D input": (lambda: grpc_request([["a", "b"]]), grpc.StatusCode.INVALID_ARGUMENT, "to have shape [?] but got shape [1,2]"),
    "unknown model": (lambda: grpc_request(name="nope"), grpc.StatusCode.NOT_FOUND, "Latest(nope)"),
    "unknown version": (lambda: grpc_request(version=7), grpc.StatusCode.NOT_FOUND, f"Specific({MODEL}, 7)"),
    "10 000 texts": (lambda: grpc_request(["hi"] * 10_000), grpc.StatusCode.INVALID_ARGUMENT, "max_texts_per_request"),
}


@pytest.mark.parametrize("case", list(GRPC_CASES))
def test_grpc_bad_input(server, stub, case):
    make_request, code, fragment = GRPC_CASES[case]
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(make_request(), timeout=60)
    assert info.value.code() == code, info.value.details()
    assert fragment in info.value.details()
    assert_still_serving(server)


def test_grpc_missing_input_and_unknown_signature(server, stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Missing but required: {text}" in info.value.details()
    request = grpc_request()
    request.model_spec.signature_name = "nope"
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, timeout=30)
    # TF Serving's own code for an unknown signature (predict_util.cc).
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert 'Serving signature key "nope" not found.' == info.value.details()
    assert_still_serving(server)


def test_texts_that_are_answered(server, in_process):
    """Empty, non-UTF-8 and whitespace-only texts get an answer, not an error."""
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        raw = client.predict_raw(["", b"caf\xe9 \xff\xfe ok", "   ", "play jazz"])
        assert raw[names.LENGTHS].tolist()[:3] == [0, 3, 0]
        assert raw[names.WORDS][1][:3].tolist() == ["caf\ufffd", "\ufffd\ufffd", "ok"]
        assert client.predict([""])[0]["slots"] == {"tags": [], "entities": []}
    assert_still_serving(server)


def test_message_size_limit(server, stub):
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(grpc_request(["x" * 9000] * 600), timeout=60)  # 5.4 MB > 4 MB
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    answer = requests.post(
        rest_url(server, f"/v1/models/{MODEL}:predict"), json={"instances": ["x" * 9000] * 600}, timeout=60
    )
    assert answer.status_code == 429 and "max_message_bytes" in answer.json()["error"]
    assert_still_serving(server)


def test_a_tiny_message_declaring_a_huge_tensor_is_refused(server, stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    proto = request.inputs[names.TEXT]
    proto.dtype = tf.string.as_datatype_enum
    proto.tensor_shape.dim.add().size = 2_000_000_000
    proto.string_val.append(b"a")
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "2000000000 texts" in info.value.details()
    assert_still_serving(server)


def test_ten_thousand_texts_are_answered_when_the_limit_allows(exported_model, tmp_path):
    base = str(tmp_path / MODEL)
    copy_version(exported_model, base)
    texts = [TEXTS[i % len(TEXTS)] for i in range(10_000)]
    limits = ServingLimits(max_texts_per_request=10_000)
    with ModelServer(MODEL, base, port=0, limits=limits) as running:
        with Client(f"127.0.0.1:{running.port}", MODEL, timeout=120) as client:
            results = client.predict(texts)
            first = client.predict(TEXTS)
    assert len(results) == 10_000
    assert [r["intent"]["label"] for r in results[:4]] == [r["intent"]["label"] for r in first]
    assert same_answers([results[9_999]["slots"]], [first[9_999 % 4]["slots"]])
