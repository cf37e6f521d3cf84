"""REST: the row and columnar formats, status and metadata, TF Serving's error answers (each pinned one citing
TF Serving's source), keep-alive, Prometheus metrics on the REST port."""

import base64
import json

import pytest
import requests

from helpers.served import MODEL, TEXTS, assert_still_serving, copy_version, hammer, rest_url, same_results
from mtkeras import names
from mtkeras.serving import Client, ModelServer, RestClient


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


def test_rest_row_and_columnar_formats(server, in_process):
    expected = in_process(TEXTS[:2])
    row = requests.post(
        rest_url(server, f"/v1/models/{MODEL}:predict"), json={"instances": TEXTS[:2]}, timeout=30
    ).json()["predictions"]
    assert len(row) == 2 and row[0][names.label_key("intent")] == expected[names.label_key("intent")][0].decode()
    assert row[1][names.LENGTHS] == int(expected[names.LENGTHS][1])
    named = requests.post(
        rest_url(server, f"/v1/models/{MODEL}/versions/1:predict"),
        json={"signature_name": "serving_default", "instances": [{"text": t} for t in TEXTS[:2]]},
        timeout=30,
    ).json()["predictions"]
    assert named == row
    columnar = requests.post(
        rest_url(server, f"/v1/models/{MODEL}:predict"), json={"inputs": {"text": TEXTS[:2]}}, timeout=30
    ).json()["outputs"]
    assert columnar[names.WORDS] == [[w.decode() for w in words] for words in expected[names.WORDS]]
    # Strings may come base64 encoded, as TF Serving accepts them.
    encoded = [{"b64": base64.b64encode(t.encode()).decode()} for t in TEXTS[:2]]
    from_b64 = requests.post(
        rest_url(server, f"/v1/models/{MODEL}:predict"), json={"instances": encoded}, timeout=30
    ).json()["predictions"]
    assert from_b64 == row


def test_rest_status_and_metadata(server):
    status = requests.get(rest_url(server, f"/v1/models/{MODEL}"), timeout=30)
    assert status.status_code == 200
    assert status.json() == {
        "model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]
    }
    assert requests.get(rest_url(server, f"/v1/models/{MODEL}/versions/1"), timeout=30).json() == status.json()
    metadata = requests.get(rest_url(server, f"/v1/models/{MODEL}/metadata"), timeout=30).json()
    assert metadata["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
    signature = metadata["metadata"]["signature_def"]["signature_def"][names.SERVING_SIGNATURE]
    assert signature["inputs"][names.TEXT]["dtype"] == "DT_STRING"
    assert names.entity_count_key("slots") in signature["outputs"]
    with Client(f"127.0.0.1:{server.port}", MODEL) as client, RestClient(
        f"127.0.0.1:{server.rest_api_port}", MODEL
    ) as rest:
        assert rest.metadata() == client.metadata()
        assert rest.status() == client.status() == [{"version": 1, "state": "AVAILABLE", "error": ""}]


@pytest.mark.parametrize("case", list(REST_CASES))
def test_rest_bad_input(server, case):
    path, body, status, fragment = REST_CASES[case]
    if isinstance(body, bytes):
        answer = requests.post(rest_url(server, path), data=body, timeout=30)
    else:
        answer = requests.post(rest_url(server, path), json=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["error"]
    assert_still_serving(server)


def test_rest_bodies_may_start_with_a_byte_order_mark(server, in_process):
    """rapidjson (TF Serving's parser) skips a UTF-8 byte-order mark; so does mtkeras serve."""
    body = "\ufeff".encode() + json.dumps({"instances": ["play miles davis"]}).encode()
    answer = requests.post(rest_url(server, f"/v1/models/{MODEL}:predict"), data=body, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["intent_label"] == in_process(["play miles davis"])["intent_label"][0].decode()


def test_rest_keep_alive_survives_errors(server):
    with requests.Session() as session:
        for path, body in [(f"/v1/models/{MODEL}:frobnicate", "x" * 100), ("/v1/nope", "{}"),
                           (f"/v1/models/{MODEL}/versions/99999999999999999999:predict", "{}")]:
            answer = session.post(rest_url(server, path), data=body, timeout=30)
            assert answer.status_code in (400, 501), answer.text
            # The next request on the same connection is read as itself.
            good = session.post(rest_url(server, f"/v1/models/{MODEL}:predict"), json={"instances": ["hi"]}, timeout=30)
            assert good.status_code == 200, good.text
        assert "Failed to convert version" in session.get(
            rest_url(server, f"/v1/models/{MODEL}/versions/99999999999999999999"), timeout=30
        ).json()["error"]


def test_stop_closes_kept_alive_rest_connections(exported_model, tmp_path):
    base = str(tmp_path / MODEL)
    copy_version(exported_model, base)
    running = ModelServer(MODEL, base, port=0, rest_api_port=0).start()
    url = f"http://127.0.0.1:{running.rest_api_port}/v1/models/{MODEL}"
    with requests.Session() as session:
        assert session.get(url, timeout=30).status_code == 200
        running.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=30)


def test_model_names_needing_url_escapes_work_over_rest(exported_model, tmp_path):
    from mtkeras.serving import ModelConfig

    base = str(tmp_path / "m")
    copy_version(exported_model, base)
    name = "intents & slots/v2"
    with ModelServer(models=[ModelConfig(name, base)], port=0, rest_api_port=0) as running:
        with RestClient(f"127.0.0.1:{running.rest_api_port}", name) as rest, Client(
            f"127.0.0.1:{running.port}", name
        ) as client:
            assert rest.status() == [{"version": 1, "state": "AVAILABLE", "error": ""}]
            same_results(rest.predict(TEXTS[:2]), client.predict(TEXTS[:2]))


def test_eight_concurrent_rest_clients(server):
    errors, answers = hammer(f"127.0.0.1:{server.rest_api_port}", clients=8, requests_each=200, make_client=RestClient)
    assert errors == [] and len(answers) == 1600


def test_prometheus_metrics(server):
    assert_still_serving(server)
    text = requests.get(rest_url(server, "/monitoring/prometheus/metrics"), timeout=30).text
    assert f':tensorflow:serving:request_count{{model_name="{MODEL}",api="grpc",status="OK"}}' in text
    assert f':tensorflow:serving:request_count{{model_name="{MODEL}",api="rest",status="OK"}}' in text
