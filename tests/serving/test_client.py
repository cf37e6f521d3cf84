"""The gRPC and REST clients: the same errors, retries while a server starts, TLS, `mtkeras predict`."""

import json
import os
import shutil
import subprocess
import sys
import threading

import grpc
import pytest

from helpers.processes import free_port
from helpers.served import MODEL, TEXTS
from mtkeras.results import same_answers
from mtkeras.serving import Client, ModelServer, RestClient, ServingError, TlsOptions


def test_clients_report_errors_alike(server):
    for client in (Client(f"127.0.0.1:{server.port}", "nope"), RestClient(f"127.0.0.1:{server.rest_api_port}", "nope")):
        with client, pytest.raises(ServingError) as info:
            client.predict("hi")
        assert info.value.code == grpc.StatusCode.NOT_FOUND and "Latest(nope)" in info.value.details


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


# Runs `mtkeras predict` with TensorFlow, Keras and keras-hub refused at import.
NO_TENSORFLOW = """
import importlib.abc, sys

import importlib.machinery

class Refuse(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    # Found as usual (their files may be read), but running their package code fails.
    def find_spec(self, name, path=None, target=None):
        if name in ("tensorflow", "keras", "keras_hub", "tensorflow_text", "tf_keras"):
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            spec.loader = self
            return spec

    def create_module(self, spec):
        raise ImportError(f"{spec.name} must not be imported by mtkeras predict")

    def exec_module(self, module):
        raise ImportError(f"{module.__name__} must not be imported by mtkeras predict")

sys.meta_path.insert(0, Refuse())
from mtkeras.cli import main
code = main()
heavy = [name for name in ("tensorflow", "keras", "keras_hub") if sys.modules.get(name) is not None]
assert not heavy, heavy
sys.exit(code)
"""


def predict_without_tensorflow(*args, stdin=None):
    return subprocess.run([sys.executable, "-c", NO_TENSORFLOW, "predict", *args], capture_output=True, text=True,
                          timeout=60, input=stdin)


def test_predict_needs_no_tensorflow_over_grpc_and_rest(server):
    with Client(f"127.0.0.1:{server.port}", MODEL) as client:
        expected = client.predict(TEXTS[:3])
        assert client.metadata()["inputs"] == {"text": {"dtype": "string", "shape": [None]}}
    for transport in (["--target", f"127.0.0.1:{server.port}"], ["--rest", "--target", f"127.0.0.1:{server.rest_api_port}"]):
        result = predict_without_tensorflow(*transport, "--model", MODEL, "--jsonl", *TEXTS[:3])
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [row.pop("text") for row in rows] == TEXTS[:3]
        for row, want in zip(rows, expected):
            assert same_answers([row["slots"]], [want["slots"]]) and row["intent"]["label"] == want["intent"]["label"]
    # Texts from standard input, one per line; JSON keeps non-ASCII text as is.
    result = predict_without_tensorflow("--target", f"127.0.0.1:{server.port}", "--model", MODEL, "--json",
                                        stdin="play jazz 🎷\n\nbook a table\n")
    assert result.returncode == 0, result.stderr
    assert "🎷" in result.stdout and [row["text"] for row in json.loads(result.stdout)] == ["play jazz 🎷", "book a table"]


def test_client_errors_say_what_to_do(server, tmp_path):
    closed = free_port()
    result = predict_without_tensorflow("--target", f"127.0.0.1:{closed}", "--model", MODEL, "hi")
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr and "is `mtkeras serve` (or tensorflow_model_server) running there?" in result.stderr
    # A model the server does not serve: mtkeras serve says which it does.
    for client in (Client(f"127.0.0.1:{server.port}", "nope"), RestClient(f"127.0.0.1:{server.rest_api_port}", "nope")):
        with client, pytest.raises(ServingError) as info:
            client.predict("hi")
        assert info.value.served_models == [f"{MODEL} (version 1)"]
        assert str(info.value).endswith(f"it serves {MODEL} (version 1)")
    # The other API's port.
    with RestClient(f"127.0.0.1:{server.port}", MODEL, retries=0) as rest, pytest.raises(ServingError) as info:
        rest.predict("hi")
    assert "is a gRPC port" in info.value.hint
    with Client(f"127.0.0.1:{server.rest_api_port}", MODEL, retries=0) as grpc_client, pytest.raises(ServingError) as info:
        grpc_client.predict("hi")
    assert "answers HTTP (the REST API)" in info.value.hint
    # Waiting says what it waits for.
    result = predict_without_tensorflow("--target", f"127.0.0.1:{closed}", "--model", MODEL, "--wait", "0.5", "hi")
    assert result.returncode == 1 and f"waiting up to 0.5 s for model '{MODEL}' at 127.0.0.1:{closed}" in result.stderr
    # Input problems.
    bad = tmp_path / "texts.txt"
    bad.write_bytes(b"fine\n\xff\n")
    result = predict_without_tensorflow("--model", MODEL, "--file", str(bad))
    assert result.returncode == 1 and f"{bad}:2: not UTF-8" in result.stderr
    result = predict_without_tensorflow("hi")
    assert result.returncode == 2 and "give --model NAME" in result.stderr


def test_the_served_models_reach_the_client_whatever_their_names(base_path, tmp_path):
    # Metadata and headers carry ASCII only: names are percent-encoded on the way and decoded back.
    named = str(tmp_path / "modèle")
    shutil.copytree(base_path, named)
    with ModelServer("modèle", named, port=0, rest_api_port=0) as running:
        for client in (Client(f"127.0.0.1:{running.port}", "nope"), RestClient(f"127.0.0.1:{running.rest_api_port}", "nope")):
            with client, pytest.raises(ServingError) as info:
                client.predict("hi")
            assert info.value.code == grpc.StatusCode.NOT_FOUND and info.value.served_models == ["modèle (version 1)"]
