"""Fixtures of the serving tests: the tiny model's export, served over real gRPC and REST sockets."""

import os

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_service_pb2_grpc

from helpers.served import MODEL, copy_version
from mtkeras import names
from mtkeras.serving import ModelServer, ServingLimits


@pytest.fixture(scope="module")
def base_path(exported_model, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("served") / MODEL)
    copy_version(exported_model, base)
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
