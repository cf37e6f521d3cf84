"""The embedded server under what production throws at it, over real sockets.

A real mtkeras export (the tiny trained model) is served with gRPC and REST:
every endpoint, bad inputs, load, version updates while clients query, several
models from a models.config, batching, limits, TLS and metrics.
"""

import base64
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from conftest import build_tiny_model, free_port, keras_model_held_by_a_module
from mtkeras import names
from mtkeras.export import export_saved_model
from mtkeras.serving import (
    BatchingOptions,
    Client,
    ConfigError,
    ModelServer,
    RestClient,
    ServingError,
    ServingLimits,
    TlsOptions,
    read_model_config_file,
)
from mtkeras.serving.manager import find_versions

MODEL = "nlu"
TEXTS = ["book a table for four in paris", "will it rain in rome tomorrow", "play miles davis", "you are very helpful"]


def _copy_version(exported_model, base, version=1):
    _, version_path = exported_model
    shutil.copytree(version_path, os.path.join(base, str(version)))


@pytest.fixture(scope="module")
def base_path(exported_model, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("served") / MODEL)
    _copy_version(exported_model, base)
    return base


@pytest.fixture(scope="module")
def server(base_path):
    limits = ServingLimits(max_texts_per_request=1000, max_text_bytes=10_000, max_message_bytes=4 * 1024 * 1024)
    with ModelServer(
        MODEL,
        base_path,
        port=0,
        rest_api_port=0,
        limits=limits,
        metrics_path="/monitoring/prometheus/metrics",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def in_process(base_path):
    signature = tf.saved_model.load(os.path.join(base_path, "1")).signatures[names.SERVING_SIGNATURE]
    return lambda texts: {k: v.numpy() for k, v in signature(text=tf.constant(texts, tf.string)).items()}


@pytest.fixture
def stub(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


def _rest(server, path):
    return f"http://127.0.0.1:{server.rest_api_port}{path}"


def _request(texts=TEXTS, name=MODEL, version=None, dtype=tf.string, shape=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    if version is not None:
        request.model_spec.version.value = version
    request.inputs[names.TEXT].CopyFrom(tf.make_tensor_proto(texts, dtype=dtype, shape=shape))
    return request


def _assert_still_serving(server):
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        assert client.predict(["play jazz"])[0]["intent"]["label"]
    answer = requests.post(_rest(server, f"/v1/models/{MODEL}:predict"), json={"instances": ["play jazz"]}, timeout=30)
    assert answer.status_code == 200, answer.text


# === Every endpoint ===


def test_grpc_and_rest_give_the_in_process_answers(server, in_process):
    expected = in_process(TEXTS)
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        raw = client.predict_raw(TEXTS)
        results = client.predict(TEXTS)
    with RestClient(f"127.0.0.1:{server.rest_api_port}", MODEL) as rest:
        _same_results(rest.predict(TEXTS), results)
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


def _same_results(got, want):
    for a, b in zip(got, want):
        assert a["slots"] == b["slots"]
        assert a["intent"]["label"] == b["intent"]["label"]
        assert a["intent"]["score"] == pytest.approx(b["intent"]["score"], abs=1e-6)


def test_rest_row_and_columnar_formats(server, in_process):
    expected = in_process(TEXTS[:2])
    row = requests.post(
        _rest(server, f"/v1/models/{MODEL}:predict"), json={"instances": TEXTS[:2]}, timeout=30
    ).json()["predictions"]
    assert len(row) == 2 and row[0][names.label_key("intent")] == expected[names.label_key("intent")][0].decode()
    assert row[1][names.LENGTHS] == int(expected[names.LENGTHS][1])
    named = requests.post(
        _rest(server, f"/v1/models/{MODEL}/versions/1:predict"),
        json={"signature_name": "serving_default", "instances": [{"text": t} for t in TEXTS[:2]]},
        timeout=30,
    ).json()["predictions"]
    assert named == row
    columnar = requests.post(
        _rest(server, f"/v1/models/{MODEL}:predict"), json={"inputs": {"text": TEXTS[:2]}}, timeout=30
    ).json()["outputs"]
    assert columnar[names.WORDS] == [[w.decode() for w in words] for words in expected[names.WORDS]]
    # Strings may come base64 encoded, as TF Serving accepts them.
    encoded = [{"b64": base64.b64encode(t.encode()).decode()} for t in TEXTS[:2]]
    from_b64 = requests.post(
        _rest(server, f"/v1/models/{MODEL}:predict"), json={"instances": encoded}, timeout=30
    ).json()["predictions"]
    assert from_b64 == row


def test_rest_status_and_metadata(server):
    status = requests.get(_rest(server, f"/v1/models/{MODEL}"), timeout=30)
    assert status.status_code == 200
    assert status.json() == {
        "model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]
    }
    assert requests.get(_rest(server, f"/v1/models/{MODEL}/versions/1"), timeout=30).json() == status.json()
    metadata = requests.get(_rest(server, f"/v1/models/{MODEL}/metadata"), timeout=30).json()
    assert metadata["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
    signature = metadata["metadata"]["signature_def"]["signature_def"][names.SERVING_SIGNATURE]
    assert signature["inputs"][names.TEXT]["dtype"] == "DT_STRING"
    assert names.entity_count_key("slots") in signature["outputs"]
    with Client(f"127.0.0.1:{server.port}", MODEL) as client, RestClient(
        f"127.0.0.1:{server.rest_api_port}", MODEL
    ) as rest:
        assert rest.metadata() == client.metadata()
        assert rest.status() == client.status() == [{"version": 1, "state": "AVAILABLE", "error": ""}]


# === Bad input: the right code, then the next good request is answered ===

ONE_MB = "word " * (1024 * 1024 // 5)

GRPC_CASES = {
    "1 MB text": (lambda: _request([ONE_MB]), grpc.StatusCode.INVALID_ARGUMENT, "max_text_bytes"),
    "int tensor": (lambda: _request([1, 2], dtype=tf.int32), grpc.StatusCode.INVALID_ARGUMENT, "to be string but got int32"),
    "2-D input": (lambda: _request([["a", "b"]]), grpc.StatusCode.INVALID_ARGUMENT, "to have shape [?] but got shape [1,2]"),
    "unknown model": (lambda: _request(name="nope"), grpc.StatusCode.NOT_FOUND, "Latest(nope)"),
    "unknown version": (lambda: _request(version=7), grpc.StatusCode.NOT_FOUND, f"Specific({MODEL}, 7)"),
    "10 000 texts": (lambda: _request(["hi"] * 10_000), grpc.StatusCode.INVALID_ARGUMENT, "max_texts_per_request"),
}


@pytest.mark.parametrize("case", list(GRPC_CASES))
def test_grpc_bad_input(server, stub, case):
    make_request, code, fragment = GRPC_CASES[case]
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(make_request(), timeout=60)
    assert info.value.code() == code, info.value.details()
    assert fragment in info.value.details()
    _assert_still_serving(server)


def test_grpc_missing_input_and_unknown_signature(server, stub):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Missing but required: {text}" in info.value.details()
    request = _request()
    request.model_spec.signature_name = "nope"
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(request, timeout=30)
    # TF Serving's own code for an unknown signature (predict_util.cc).
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert 'Serving signature key "nope" not found.' == info.value.details()
    _assert_still_serving(server)


def test_texts_that_are_answered(server, in_process):
    """Empty, non-UTF-8 and whitespace-only texts get an answer, not an error."""
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        raw = client.predict_raw(["", b"caf\xe9 \xff\xfe ok", "   ", "play jazz"])
        assert raw[names.LENGTHS].tolist()[:3] == [0, 3, 0]
        assert raw[names.WORDS][1][:3].tolist() == ["caf\ufffd", "\ufffd\ufffd", "ok"]
        assert client.predict([""])[0]["slots"] == {"tags": [], "entities": []}
    _assert_still_serving(server)


def test_message_size_limit(server, stub):
    with pytest.raises(grpc.RpcError) as info:
        stub.Predict(_request(["x" * 9000] * 600), timeout=60)  # 5.4 MB > 4 MB
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    answer = requests.post(
        _rest(server, f"/v1/models/{MODEL}:predict"), json={"instances": ["x" * 9000] * 600}, timeout=60
    )
    assert answer.status_code == 429 and "max_message_bytes" in answer.json()["error"]
    _assert_still_serving(server)


# Each answer TF Serving gives, with the line of its source that writes it
# (tensorflow/serving at 9d981c5, the mirror read for this table).
REST_CASES = {
    # util/json_tensor.cc:487, ParseJson: "JSON Parse error: <rapidjson's reason> at offset: N".
    "bad JSON": (f"/v1/models/{MODEL}:predict", b"{not json", 400, "JSON Parse error: "),
    # util/json_tensor.cc:704, FillPredictRequestFromJson: other keys are ignored.
    "no instances": (f"/v1/models/{MODEL}:predict", {"text": ["a"]}, 400, "Missing 'inputs' or 'instances' key"),
    # util/json_tensor.cc:585 wraps :263-266 (TypeError) for a plain 'instances' list.
    "number for text": (
        f"/v1/models/{MODEL}:predict",
        {"instances": [1, 2]},
        400,
        "Failed to process element: 0 of 'instances' list. Error: "
        "INVALID_ARGUMENT: JSON Value: 1 Type: Number is not of expected type: string",
    ),
    # util/json_tensor.cc:688, FillPredictRequestFromJson.
    "no instances at all": (f"/v1/models/{MODEL}:predict", {"instances": []}, 400, "No values in 'instances' array"),
    # mtkeras' own (TF Serving would fail in Session::Run with the placeholder's shape).
    "2-D input": (f"/v1/models/{MODEL}:predict", {"instances": [["a", "b"]]}, 400, "to have shape [?] but got shape [1,2]"),
    "ragged input": (f"/v1/models/{MODEL}:predict", {"inputs": {"text": [["a"], "b"]}}, 400, "ragged"),
    "ragged after a value": (f"/v1/models/{MODEL}:predict", {"inputs": {"text": ["a", []]}}, 400, "ragged"),
    # util/json_tensor.cc:635, FillTensorMapFromInputsMap: extra names are ignored.
    "wrong input key": (
        f"/v1/models/{MODEL}:predict", {"inputs": {"texts": ["a"]}}, 400, "Missing named input: text in 'inputs' object."
    ),
    # model_servers/http_rest_api_handler.cc:237, GetInfoMap (gRPC's Predict says
    # 'Serving signature key "nope" not found.', predict_util.cc:92).
    "unknown signature": (
        f"/v1/models/{MODEL}:predict",
        {"signature_name": "nope", "instances": ["a"]},
        400,
        'Serving signature name: "nope" not found in signature def',
    ),
    "unknown model": ("/v1/models/nope:predict", {"instances": ["a"]}, 404, "Latest(nope)"),
    "unknown version": (f"/v1/models/{MODEL}/versions/9:predict", {"instances": ["a"]}, 404, f"Specific({MODEL}, 9)"),
    "unknown label": (f"/v1/models/{MODEL}/labels/canary:predict", {"instances": ["a"]}, 400, "label: canary"),
    # model_servers/http_rest_api_handler.cc:74, ProcessRequest: a path that
    # kPredictionApiGegex (http_rest_api_util.cc:31) does not match.
    "bad path": (
        f"/v1/models/{MODEL}:frobnicate", {"instances": ["a"]}, 400, f"Malformed request: POST /v1/models/{MODEL}:frobnicate"
    ),
}


@pytest.mark.parametrize("case", list(REST_CASES))
def test_rest_bad_input(server, case):
    path, body, status, fragment = REST_CASES[case]
    if isinstance(body, bytes):
        answer = requests.post(_rest(server, path), data=body, timeout=30)
    else:
        answer = requests.post(_rest(server, path), json=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["error"]
    _assert_still_serving(server)


def test_rest_bodies_may_start_with_a_byte_order_mark(server, in_process):
    """rapidjson (TF Serving's parser) skips a UTF-8 byte-order mark; so does mtkeras serve."""
    body = "\ufeff".encode() + json.dumps({"instances": ["play miles davis"]}).encode()
    answer = requests.post(_rest(server, f"/v1/models/{MODEL}:predict"), data=body, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["intent_label"] == in_process(["play miles davis"])["intent_label"][0].decode()


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
    _assert_still_serving(server)


def test_rest_keep_alive_survives_errors(server):
    with requests.Session() as session:
        for path, body in [(f"/v1/models/{MODEL}:frobnicate", "x" * 100), ("/v1/nope", "{}"),
                           (f"/v1/models/{MODEL}/versions/99999999999999999999:predict", "{}")]:
            answer = session.post(_rest(server, path), data=body, timeout=30)
            assert answer.status_code in (400, 501), answer.text
            # The next request on the same connection is read as itself.
            good = session.post(_rest(server, f"/v1/models/{MODEL}:predict"), json={"instances": ["hi"]}, timeout=30)
            assert good.status_code == 200, good.text
        assert "Failed to convert version" in session.get(
            _rest(server, f"/v1/models/{MODEL}/versions/99999999999999999999"), timeout=30
        ).json()["error"]


def test_stop_closes_kept_alive_rest_connections(exported_model, tmp_path):
    base = str(tmp_path / MODEL)
    _copy_version(exported_model, base)
    running = ModelServer(MODEL, base, port=0, rest_api_port=0).start()
    url = f"http://127.0.0.1:{running.rest_api_port}/v1/models/{MODEL}"
    with requests.Session() as session:
        assert session.get(url, timeout=30).status_code == 200
        running.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=30)


def test_clients_report_errors_alike(server):
    for client in (Client(f"127.0.0.1:{server.port}", "nope"), RestClient(f"127.0.0.1:{server.rest_api_port}", "nope")):
        with client, pytest.raises(ServingError) as info:
            client.predict("hi")
        assert info.value.code == grpc.StatusCode.NOT_FOUND and "Latest(nope)" in info.value.details


def test_ten_thousand_texts_are_answered_when_the_limit_allows(exported_model, tmp_path):
    base = str(tmp_path / MODEL)
    _copy_version(exported_model, base)
    texts = [TEXTS[i % len(TEXTS)] for i in range(10_000)]
    limits = ServingLimits(max_texts_per_request=10_000)
    with ModelServer(MODEL, base, port=0, limits=limits) as running:
        with Client(f"127.0.0.1:{running.port}", MODEL, timeout=120) as client:
            results = client.predict(texts)
            first = client.predict(TEXTS)
    assert len(results) == 10_000
    assert [r["intent"]["label"] for r in results[:4]] == [r["intent"]["label"] for r in first]
    assert results[9_999]["slots"] == first[9_999 % 4]["slots"]


# === Load ===


def _hammer(target, clients, requests_each, make_client=Client, texts_for=lambda c, i: [TEXTS[(c + i) % 4]]):
    errors, answers = [], {}

    def run(c):
        with make_client(target, MODEL, timeout=60) as client:
            for i in range(requests_each):
                texts = texts_for(c, i)
                try:
                    answers[(c, i)] = (texts, client.predict(texts))
                except Exception as error:  # counted, not raised: the test reports them all
                    errors.append(repr(error))

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return errors, answers


def test_eight_concurrent_clients_with_batching(exported_model, tmp_path, in_process):
    base = str(tmp_path / MODEL)
    _copy_version(exported_model, base)
    batching = BatchingOptions(max_batch_size=16, batch_timeout_micros=5000, num_batch_threads=2)
    with ModelServer(MODEL, base, port=0, batching=batching) as running:
        (servable,) = running.manager.servables()
        batches_before, batched_before = servable.batch_counts()[names.SERVING_SIGNATURE]  # warmup
        errors, answers = _hammer(f"127.0.0.1:{running.port}", clients=8, requests_each=200)
        batches, batched = servable.batch_counts()[names.SERVING_SIGNATURE]
    assert errors == []
    assert len(answers) == 1600
    # Requests were merged, and a merged batch answers each text as alone.
    assert batched - batched_before == 1600 and batches - batches_before < 1600
    expected = {text: in_process([text]) for text in TEXTS}
    for texts, (result,) in answers.values():
        want = expected[texts[0]]
        assert result["intent"]["label"] == want[names.label_key("intent")][0].decode()
        n = int(want[names.LENGTHS][0])
        assert [tag for _, tag in result["slots"]["tags"]] == [t.decode() for t in want[names.tags_key("slots")][0][:n]]


def test_eight_concurrent_rest_clients(server):
    errors, answers = _hammer(f"127.0.0.1:{server.rest_api_port}", clients=8, requests_each=200, make_client=RestClient)
    assert errors == [] and len(answers) == 1600


# === Versions ===


def test_new_version_is_picked_up_while_clients_query(exported_model, tmp_path):
    base = str(tmp_path / MODEL)
    _copy_version(exported_model, base)
    other = build_tiny_model(seed=3)  # untrained: answers differ from version 1
    stop = threading.Event()
    seen, errors = [], []

    def query():
        with Client(f"127.0.0.1:{running.port}", MODEL, timeout=60) as client:
            while not stop.is_set():
                try:
                    seen.append(client.metadata()["version"])
                    client.predict(TEXTS[:2])
                except Exception as error:  # counted: the test demands none
                    errors.append(repr(error))

    with ModelServer(MODEL, base, port=0, rest_api_port=0, poll_seconds=0.2) as running:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(query) for _ in range(4)]
            time.sleep(0.5)
            export_saved_model(other, base)  # version 2, written while clients query
            deadline = time.monotonic() + 120
            while running.version != 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # keep querying on the new version
            stop.set()
            for future in futures:
                future.result()
        with Client(f"127.0.0.1:{running.port}", MODEL) as client:
            status = client.status()
    assert errors == []
    assert running.version == 2
    assert 1 in seen and seen[-1] == 2
    # The old version was unloaded after the new one was serving.
    assert status == [
        {"version": 2, "state": "AVAILABLE", "error": ""},
        {"version": 1, "state": "END", "error": ""},
    ]


def test_export_killed_midway_leaves_no_version(tmp_path):
    base = str(tmp_path / MODEL)
    code = (
        "import sys; sys.path.insert(0, {tests!r})\n"
        "from conftest import build_tiny_model\n"
        "from mtkeras.export import export_saved_model\n"
        "model = build_tiny_model()\n"
        "print('exporting', flush=True)\n"
        "export_saved_model(model, {base!r})\n"
    ).format(tests=os.path.dirname(__file__), base=base)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout.readline().strip() == b"exporting"
        deadline = time.monotonic() + 120
        # Kill it as soon as its staging folder exists: the SavedModel is being written.
        while time.monotonic() < deadline:
            if os.path.isdir(base) and any(entry.startswith(".tmp-") for entry in os.listdir(base)):
                break
            assert process.poll() is None, "the export finished before it could be killed"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert [e for e in os.listdir(base) if e.startswith(".tmp-")], "nothing was being written when killed"
    assert find_versions(base) == []
    with pytest.raises(FileNotFoundError, match="No servable version"):
        ModelServer(MODEL, base, port=0).start()
    # The next export is version 1, complete, and served.
    path = export_saved_model(build_tiny_model(), base)
    assert path == os.path.join(base, "1")
    with ModelServer(MODEL, base, port=0) as running, Client(f"127.0.0.1:{running.port}", MODEL) as client:
        assert client.predict(["play jazz"])[0]["slots"]["tags"][0][0] == "play"


def test_a_broken_version_leaves_the_previous_one_serving(exported_model, tmp_path):
    base = str(tmp_path / MODEL)
    _copy_version(exported_model, base)
    broken = os.path.join(base, "2")
    os.makedirs(broken)
    with open(os.path.join(broken, "saved_model.pb"), "wb") as handle:
        handle.write(b"not a SavedModel")
    with ModelServer(MODEL, base, port=0) as running, Client(f"127.0.0.1:{running.port}", MODEL) as client:
        assert client.predict(["play jazz"])[0]["intent"]["label"]
        status = client.status()
    assert running.version == 1
    assert [(s["version"], s["state"]) for s in status] == [(2, "END"), (1, "AVAILABLE")]
    assert status[0]["error"]  # why version 2 is not served


def test_a_version_tf_serving_would_refuse_is_refused_with_the_loaders_error(exported_model, trained_model, tmp_path):
    """Served through TF Serving's loader, not tf.saved_model.load: what it cannot load is not served."""
    base = str(tmp_path / MODEL)
    _copy_version(exported_model, base)
    keras_model_held_by_a_module(trained_model, os.path.join(base, "2"))
    with ModelServer(MODEL, base, port=0) as running, Client(f"127.0.0.1:{running.port}", MODEL) as client:
        assert client.predict(["play jazz"])[0]["intent"]["label"]
        status = client.status()
    assert running.version == 1
    assert [(s["version"], s["state"]) for s in status] == [(2, "END"), (1, "AVAILABLE")]
    assert "Could not find variable" in status[0]["error"]  # the session loader's own words


# === Several models, version policies and labels ===


def test_models_config_with_labels(exported_model, tmp_path):
    for name in ("alpha", "beta"):
        for version in (1, 2):
            _copy_version(exported_model, str(tmp_path / "models" / name), version)
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list {\n"
        '  config { name: "alpha" base_path: "models/alpha" model_platform: "tensorflow"\n'
        "    model_version_policy { all {} }\n"
        '    version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 2 } }\n'
        '  config { name: "beta" base_path: "models/beta" model_platform: "tensorflow" }\n'
        "}\n"
    )
    with ModelServer(model_config_file=str(config), port=0, rest_api_port=0) as running:
        target, rest_target = f"127.0.0.1:{running.port}", f"127.0.0.1:{running.rest_api_port}"
        assert running.manager.loaded_versions("alpha") == [1, 2]
        assert running.manager.loaded_versions("beta") == [2]  # default policy: latest
        for label, version in (("stable", 1), ("canary", 2)):
            with Client(target, "alpha", version_label=label) as client:
                assert client.metadata()["version"] == version
                assert client.predict(["play jazz"])
            with RestClient(rest_target, "alpha", version_label=label) as rest:
                assert rest.metadata()["version"] == version
        with Client(target, "alpha", version_label="nope") as client, pytest.raises(ServingError) as info:
            client.predict("hi")
        assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "Unrecognized servable version label: nope" in info.value.details
        with Client(target, "beta", version=1) as client, pytest.raises(ServingError) as info:
            client.predict("hi")
        assert info.value.code == grpc.StatusCode.NOT_FOUND
        with grpc.insecure_channel(target) as channel:
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = "alpha"
            response = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, timeout=30)
        assert [(s.version, s.state) for s in response.model_version_status] == [
            (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
            (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
        ]


def test_model_names_needing_url_escapes_work_over_rest(exported_model, tmp_path):
    from mtkeras.serving import ModelConfig

    base = str(tmp_path / "m")
    _copy_version(exported_model, base)
    name = "intents & slots/v2"
    with ModelServer(models=[ModelConfig(name, base)], port=0, rest_api_port=0) as running:
        with RestClient(f"127.0.0.1:{running.rest_api_port}", name) as rest, Client(
            f"127.0.0.1:{running.port}", name
        ) as client:
            assert rest.status() == [{"version": 1, "state": "AVAILABLE", "error": ""}]
            _same_results(rest.predict(TEXTS[:2]), client.predict(TEXTS[:2]))


def test_models_config_errors_name_the_field(tmp_path):
    config = tmp_path / "models.config"
    config.write_text('model_config_list { config { name: "a" base_path: "x" } config { name: "a" base_path: "y" } }')
    with pytest.raises(ConfigError, match=r"config\[1\]\.name: model 'a' is configured twice"):
        read_model_config_file(str(config))
    config.write_text('model_config_list { config { name: "a" basepath: "x" } }')
    with pytest.raises(ConfigError, match=r"models.config:1:.*basepath"):
        read_model_config_file(str(config))
    config.write_text('model_config_list { config { name: "a" base_path: "x" model_version_policy { latest { num_versions: 0 } } } }')
    with pytest.raises(ConfigError, match="num_versions: expected a positive integer, got 0"):
        read_model_config_file(str(config))


# === Metrics, warmup, TLS ===


def test_prometheus_metrics(server):
    _assert_still_serving(server)
    text = requests.get(_rest(server, "/monitoring/prometheus/metrics"), timeout=30).text
    assert f':tensorflow:serving:request_count{{model_name="{MODEL}",api="grpc",status="OK"}}' in text
    assert f':tensorflow:serving:request_count{{model_name="{MODEL}",api="rest",status="OK"}}' in text


def test_warmup_records_are_replayed_at_load(base_path, caplog):
    caplog.set_level("INFO", logger="mtkeras.serving.manager")
    warmup = os.path.join(base_path, "1", "assets.extra", "tf_serving_warmup_requests")
    assert os.path.isfile(warmup)
    count = sum(1 for _ in tf.data.TFRecordDataset(warmup))
    with ModelServer(MODEL, base_path, port=0):
        pass
    assert f"loaded {MODEL} version 1 ({count} warmup requests)" in caplog.text


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = str(folder / "server.key"), str(folder / "server.crt")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return key, cert


def test_tls(base_path, certificates):
    key, cert = certificates
    with ModelServer(MODEL, base_path, port=0, tls=TlsOptions(cert, key)) as running:
        target = f"localhost:{running.port}"
        with Client(target, MODEL, root_certificates=cert) as client:
            assert client.predict(["play jazz"])[0]["intent"]["label"]
        with Client(target, MODEL, retries=0, timeout=5) as plain, pytest.raises(ServingError) as info:
            plain.predict("play jazz")
        assert info.value.code == grpc.StatusCode.UNAVAILABLE


def test_client_retries_until_the_server_is_up(base_path):
    port = free_port()
    started = threading.Timer(1.0, lambda: holder.append(ModelServer(MODEL, base_path, port=port).start()))
    holder = []
    started.start()
    try:
        with Client(f"127.0.0.1:{port}", MODEL, retries=8, backoff=0.2) as client:
            assert client.predict(["play jazz"])[0]["intent"]["label"]
    finally:
        started.join()
        for running in holder:
            running.stop()


def test_cli_predict_over_rest(server):
    command = [os.path.join(os.path.dirname(sys.executable), "mtkeras"), "predict", "--rest", "--target",
               f"127.0.0.1:{server.rest_api_port}", "--model", MODEL, "--json", *TEXTS[:2]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        expected = client.predict(TEXTS[:2])
    assert [a["slots"] for a in answers] == [e["slots"] for e in expected]
    table = subprocess.run(command[:-3] + TEXTS[:1], capture_output=True, text=True, timeout=120)
    assert table.returncode == 0 and table.stdout.startswith(f"> {TEXTS[0]}\n    intent")
