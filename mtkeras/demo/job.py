"""The demo job behind `make demo`: generate, train, export, serve, query.

It trains through the same run path as `mtkeras train configs/demo.yaml`
(the config ships in this package as `demo.yaml`; `configs/demo.yaml` links
to it): an assistant source labelled with intents and slots and a feedback
source labelled only with sentiment train one model with three heads; the
model is exported under `saved_models/demo/<version>/`, served by `mtkeras
serve` in a subprocess and queried over gRPC and REST.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import keras

from mtkeras.demo.corpus import DEMO_QUERIES, generate_demo_corpus
from mtkeras.results import format_result
from mtkeras.runs import RunDirectory, export_model, load_config, read_split, train
from mtkeras.serving import Client, RestClient

DEMO_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.yaml")
SPLITS = ("train", "valid", "test")
# Source folder: (the task its `label` file labels, the task its `seq.out` labels).
SOURCES = {"assistant": ("intent", "slots"), "feedback": ("sentiment", None)}


def demo_config(data_dir="build/demo_data", epochs=None, batch_size=None, seed=None, export_base=None):
    """The demo's training config (`demo.yaml`), reading the corpus under `data_dir`; None keeps the config's value."""
    overrides = [f"datasets.{source}.{split}={os.path.join(data_dir, source, split)}" for source in SOURCES for split in SPLITS]
    for field, value in (("training.epochs", epochs), ("training.batch_size", batch_size), ("training.seed", seed),
                         ("export.base_path", export_base)):
        if value is not None:
            overrides.append(f"{field}={value}")
    return load_config(DEMO_CONFIG, overrides)


def read_demo_split(data_dir, split):
    """`{source: examples}` of one split of the demo corpus, read as the demo config reads it."""
    return read_split(demo_config(data_dir), split)


def train_demo_model(data_dir, epochs=6, batch_size=32, seed=0, run_dir=None, verbose=None):
    """Trains the three-task demo model as `mtkeras train` does; returns `(model, test results of mtkeras.evaluate)`.

    `run_dir` None trains in a temporary folder, removed once the model is
    loaded; a given `run_dir` starts afresh (`overwrite`) and is kept.
    """
    config = demo_config(data_dir, epochs=epochs, batch_size=batch_size, seed=seed)
    if run_dir is None:
        with tempfile.TemporaryDirectory(prefix="mtkeras-demo-run-") as scratch:
            return train_demo_model(data_dir, epochs, batch_size, seed, os.path.join(scratch, "run"), verbose)
    outcome = train(config, run_dir=run_dir, overwrite=True, verbose=verbose)
    return keras.models.load_model(outcome["model_path"]), outcome["metrics"]["test"]


def _port_is_free(host, port):
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def run_demo(
    data_dir="build/demo_data",
    export_base="saved_models/demo",
    epochs=6,
    batch_size=32,
    host="127.0.0.1",
    port=8500,
    rest_api_port=8501,
    seed=0,
    run_dir="runs/demo",
):
    """Runs the whole demo; returns 0 when every query got its expected intent and REST agrees with gRPC."""
    started = time.monotonic()
    generate_demo_corpus(data_dir, seed=seed)
    print(f"[demo] generated the demo corpus in {data_dir}", flush=True)

    config = demo_config(data_dir, epochs=epochs, batch_size=batch_size, seed=seed, export_base=export_base)
    outcome = train(config, run_dir=run_dir, overwrite=True)
    test = outcome["metrics"]["test"]
    print(f"[demo] test split: intent accuracy {test['intent']['accuracy']:.3f}, slots entity F1 "
          f"{test['slots']['f1']:.3f}, sentiment accuracy {test['sentiment']['accuracy']:.3f}", flush=True)
    model = keras.models.load_model(outcome["model_path"])
    export_model(config, model, RunDirectory(outcome["run_dir"]))

    if not _port_is_free(host, port):
        busy, port = port, _free_port(host)
        print(f"[demo] port {busy} is busy; serving gRPC on {port} instead", flush=True)
    if not _port_is_free(host, rest_api_port) or rest_api_port == port:
        busy, rest_api_port = rest_api_port, _free_port(host)
        print(f"[demo] port {busy} is busy; serving REST on {rest_api_port} instead", flush=True)
    name = os.path.basename(os.path.normpath(export_base))
    command = [sys.executable, "-m", "mtkeras", "serve", "--model_name", name,
               "--model_base_path", export_base, "--host", host, "--port", str(port),
               "--rest_api_port", str(rest_api_port)]
    print("[demo] $ mtkeras " + " ".join(command[3:]), flush=True)
    server = subprocess.Popen(command)
    try:
        with Client(f"{host}:{port}", name) as client:
            served = client.wait_until_ready(timeout=120)
            print(f"[demo] querying {name} version {served['version']} over gRPC at {host}:{port}", flush=True)
            texts = [text for text, _ in DEMO_QUERIES]
            results = client.predict(texts)
        with RestClient(f"{host}:{rest_api_port}", name) as rest:
            same = rest.predict(texts) == results
            print(f"[demo] REST at {host}:{rest_api_port} gives {'the same' if same else 'DIFFERENT'} answers", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    wrong = 0
    for (text, expected), result in zip(DEMO_QUERIES, results):
        print(format_result(text, result))
        got = result["intent"]["label"]
        if got != expected:
            wrong += 1
            print(f"    !! expected intent {expected}, got {got}")
    print(f"[demo] {len(results) - wrong}/{len(results)} queries got the expected intent; "
          f"server stopped; {time.monotonic() - started:.0f} s in all", flush=True)
    return 0 if wrong == 0 and same else 1
