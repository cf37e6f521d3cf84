"""The files in serving/ that run the official TF Serving: they parse, and the compose file uses them."""

import os
import posixpath
import subprocess

import pytest
import tensorflow as tf
import yaml

from helpers.processes import REPO_ROOT, free_port
from mtkeras.serving import (
    BatchingOptions,
    ModelServer,
    VersionPolicy,
    read_batching_parameters_file,
    read_model_config_file,
    read_monitoring_config_file,
)

SERVING_DIR = os.path.join(REPO_ROOT, "serving")
CONFIG_FILES = ("models.config", "batching_parameters.txt", "monitoring.config")


def serving_file(name):
    return os.path.join(SERVING_DIR, name)


@pytest.fixture(scope="module")
def compose_service():
    with open(serving_file("docker-compose.yml"), encoding="utf-8") as handle:
        compose = yaml.safe_load(handle)
    (service,) = compose["services"].values()
    return service


def flags(service):
    """`{--flag: value}` of the service's command line (`True` for bare flags)."""
    parsed = {}
    for argument in service["command"]:
        name, _, value = argument.partition("=")
        parsed[name] = value if value else True
    return parsed


def mounts(service):
    """`{container path: (host path relative to serving/, options)}`."""
    parsed = {}
    for volume in service["volumes"]:
        source, target, *options = volume.split(":")
        parsed[target] = (source, options)
    return parsed


def test_models_config_serves_demo_from_the_container_path():
    (model,) = read_model_config_file(serving_file("models.config"))
    assert model.name == "demo"
    assert model.base_path == "/models/demo"
    assert model.version_policy == VersionPolicy("latest", num_versions=2)
    # Labels stay commented out: TF Serving refuses labels of versions it has not loaded.
    assert model.version_labels == ()


def test_local_models_config_points_at_the_checkouts_saved_models():
    (model,) = read_model_config_file(serving_file("models.local.config"))
    assert model.name == "demo"
    expected = os.path.join(os.path.dirname(SERVING_DIR), "saved_models", "demo")
    assert os.path.normpath(model.base_path) == os.path.normpath(expected)


def test_batching_parameters_parse():
    options = read_batching_parameters_file(serving_file("batching_parameters.txt"))
    assert options == BatchingOptions(
        max_batch_size=64, batch_timeout_micros=2000, num_batch_threads=2, max_enqueued_batches=100
    )
    with open(serving_file("batching_parameters.txt"), encoding="utf-8") as handle:
        assert "pad_variable_length_inputs: true" in [line.strip() for line in handle]


def test_monitoring_config_enables_prometheus():
    assert read_monitoring_config_file(serving_file("monitoring.config")) == "/monitoring/prometheus/metrics"


def test_compose_pins_the_official_image_matching_our_tensorflow(compose_service):
    image, _, tag = compose_service["image"].partition(":")
    assert image == "tensorflow/serving"
    assert tag and "latest" not in tag
    major_minor = ".".join(tf.__version__.split(".")[:2])
    assert tag == major_minor or tag.startswith(major_minor + ".")


def test_compose_maps_grpc_and_rest_ports(compose_service):
    ports = {str(port).split(":")[-1]: str(port) for port in compose_service["ports"]}
    assert ports["8500"] == "8500:8500"
    assert ports["8501"] == "8501:8501"
    assert flags(compose_service)["--port"] == "8500"
    assert flags(compose_service)["--rest_api_port"] == "8501"


def test_compose_mounts_the_models_read_only_and_passes_every_config_file(compose_service):
    volumes = mounts(compose_service)
    assert volumes["/models"] == ("../saved_models", ["ro"])
    (model,) = read_model_config_file(serving_file("models.config"))
    assert model.base_path.startswith("/models/")

    command = flags(compose_service)
    for flag, name in zip(
        ("--model_config_file", "--batching_parameters_file", "--monitoring_config_file"), CONFIG_FILES
    ):
        target = command[flag]
        source, options = volumes[target]
        assert options == ["ro"]
        assert posixpath.normpath(source) == name, f"{flag}={target} is mounted from {source}"
        assert os.path.isfile(serving_file(source))
    assert command["--enable_batching"] in (True, "true")
    for flag in ("--model_config_file_poll_wait_seconds", "--file_system_poll_wait_seconds"):
        assert int(command[flag]) > 0


@pytest.mark.slow
def test_shipped_configs_and_healthcheck_work_on_the_embedded_server(exported_model, compose_service):
    """The compose healthcheck's shell command passes once `demo` is AVAILABLE."""
    import requests

    base, _ = exported_model
    metrics_path = read_monitoring_config_file(serving_file("monitoring.config"))
    server = ModelServer(
        "demo",
        base,
        port=0,
        rest_api_port=free_port(),
        poll_seconds=0,
        batching=read_batching_parameters_file(serving_file("batching_parameters.txt")),
        metrics_path=metrics_path,
    )
    test = compose_service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    with server:
        script = test[3].replace("/8501", f"/{server.rest_api_port}")
        assert "/8501" in test[3] and script != test[3]
        check = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        metrics = requests.get(f"http://127.0.0.1:{server.rest_api_port}{metrics_path}", timeout=10)
        assert metrics.status_code == 200
    # With the server gone, the same check fails.
    assert subprocess.run(["bash", "-c", script], capture_output=True, timeout=30).returncode != 0
