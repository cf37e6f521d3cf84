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
