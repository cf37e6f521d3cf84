"""The tiny model's export served for the serving tests (`tests/serving/conftest.py` serves it)."""

import concurrent.futures
import os
import shutil

import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from mtkeras import names
from mtkeras.serving import Client
from mtkeras.results import same_answers

MODEL = "nlu"
TEXTS = ["book a table for four in paris", "will it rain in rome tomorrow", "play miles davis", "you are very helpful"]


def copy_version(exported_model, base, version=1):
    _, version_path = exported_model
    shutil.copytree(version_path, os.path.join(base, str(version)))


def rest_url(server, path):
    return f"http://127.0.0.1:{server.rest_api_port}{path}"


def grpc_request(texts=TEXTS, name=MODEL, version=None, dtype=tf.string, shape=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    if version is not None:
        request.model_spec.version.value = version
    request.inputs[names.TEXT].CopyFrom(tf.make_tensor_proto(texts, dtype=dtype, shape=shape))
    return request


def assert_still_serving(server):
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        assert client.predict(["play jazz"])[0]["intent"]["label"]
    answer = requests.post(rest_url(server, f"/v1/models/{MODEL}:predict"), json={"instances": ["play jazz"]}, timeout=30)
    assert answer.status_code == 200, answer.text


def same_results(got, want):
    for a, b in zip(got, want):
        assert same_answers([a["slots"]], [b["slots"]])  # entity scores: float32 noise allowed
        assert a["intent"]["label"] == b["intent"]["label"]
        assert a["intent"]["score"] == pytest.approx(b["intent"]["score"], abs=1e-6)


def hammer(target, clients, requests_each, make_client=Client, texts_for=lambda c, i: [TEXTS[(c + i) % 4]]):
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
