"""Versions: picked up, warmed up and swapped while clients query; broken or unservable versions refused; several models, policies and labels."""

import concurrent.futures
import os
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc

from helpers.models import build_tiny_model
from helpers.processes import TESTS_DIR
from helpers.serving import keras_model_held_by_a_module
from helpers.served import MODEL, TEXTS, copy_version
from mtkeras.export import export_saved_model
from mtkeras.serving import Client, ConfigError, ModelServer, RestClient, ServingError, read_model_config_file
from mtkeras.serving.manager import find_versions


def test_new_version_is_picked_up_while_clients_query(exported_model, tmp_path):
    base = str(tmp_path / MODEL)
    copy_version(exported_model, base)
    # Version 2, an untrained model (answers differ from version 1), exported beside the base path and moved in
    # while clients query: the single rename that ends every export (its staging folder is tested elsewhere).
    staged = export_saved_model(build_tiny_model(seed=3), str(tmp_path / "staging"))
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
            os.rename(staged, os.path.join(base, "2"))
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
        "from helpers.models import build_tiny_model\n"
        "from mtkeras.export import export_saved_model\n"
        "model = build_tiny_model()\n"
        "print('exporting', flush=True)\n"
        "export_saved_model(model, {base!r})\n"
    ).format(tests=TESTS_DIR, base=base)
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
    copy_version(exported_model, base)
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
    copy_version(exported_model, base)
    keras_model_held_by_a_module(trained_model, os.path.join(base, "2"))
    with ModelServer(MODEL, base, port=0) as running, Client(f"127.0.0.1:{running.port}", MODEL) as client:
        assert client.predict(["play jazz"])[0]["intent"]["label"]
        status = client.status()
    assert running.version == 1
    assert [(s["version"], s["state"]) for s in status] == [(2, "END"), (1, "AVAILABLE")]
    assert "Could not find variable" in status[0]["error"]  # the session loader's own words


def test_models_config_with_labels(exported_model, tmp_path):
    for name in ("alpha", "beta"):
        for version in (1, 2):
            copy_version(exported_model, str(tmp_path / "models" / name), version)
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


def test_warmup_records_are_replayed_at_load(base_path, caplog):
    caplog.set_level("INFO", logger="mtkeras.serving.manager")
    warmup = os.path.join(base_path, "1", "assets.extra", "tf_serving_warmup_requests")
    assert os.path.isfile(warmup)
    count = sum(1 for _ in tf.data.TFRecordDataset(warmup))
    with ModelServer(MODEL, base_path, port=0):
        pass
    assert f"loaded {MODEL} version 1 ({count} warmup requests)" in caplog.text
