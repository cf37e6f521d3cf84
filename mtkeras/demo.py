"""The demo job behind `make demo`: generate, train, export, serve, query.

Everything runs offline on the bundled synthetic corpus
(`mtkeras.data.demo`): an assistant source labelled with intents and slots and
a feedback source labelled only with sentiment train one model with three
heads; the model is exported under `saved_models/demo/<version>/`, served by
`mtkeras serve` in a subprocess and queried over gRPC with the TF Serving
client.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

SOURCES = {
    # source folder: (label file task, seq.out task)
    "assistant": ("intent", "slots"),
    "feedback": ("sentiment", None),
}


def read_demo_split(data_dir, split):
    """`{source: examples}` of one split of the demo corpus."""
    from mtkeras.data import read_joint_nlu

    return {
        source: read_joint_nlu(os.path.join(data_dir, source, split), label_task=label_task, tags_task=tags_task)
        for source, (label_task, tags_task) in SOURCES.items()
    }


def train_demo_model(data_dir, epochs=6, batch_size=32, seed=0, verbose=2):
    """Trains the three-task demo model; returns `(model, test_metrics)`."""
    import keras

    import mtkeras
    from mtkeras.data import make_dataset, mix_datasets

    sources, valid, test = (read_demo_split(data_dir, split) for split in ("train", "valid", "test"))
    train = [ex for examples in sources.values() for ex in examples]
    valid = [ex for examples in valid.values() for ex in examples]
    test = [ex for examples in test.values() for ex in examples]
    tasks = [
        mtkeras.SentenceClassification.from_examples("intent", train),
        mtkeras.TokenTagging.from_examples("slots", train),
        mtkeras.SentenceClassification.from_examples("sentiment", train),
    ]
    strategy = mtkeras.get_strategy()
    replicas = strategy.num_replicas_in_sync
    print(f"[demo] {len(train)} training texts from {len(SOURCES)} sources; "
          f"{replicas} replica(s) under {type(strategy).__name__}", flush=True)
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = mtkeras.build_model(tasks, texts=[ex.text for ex in train])
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
    # Temperature sampling keeps the smaller feedback source from being
    # drowned out; bucketing batches texts of similar length together.
    model.fit(
        mix_datasets(sources, tasks, batch_size, sampling="temperature", temperature=2.0, seed=seed, bucket=True),
        validation_data=make_dataset(valid, tasks, batch_size),
        epochs=epochs,
        verbose=verbose,
    )
    metrics = model.evaluate(make_dataset(test, tasks, batch_size), return_dict=True, verbose=0)
    return model, metrics


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
):
    """Runs the whole demo; returns 0 when every query got its expected intent."""
    from mtkeras.data.demo import DEMO_QUERIES, generate_demo_corpus
    from mtkeras.export import export_saved_model
    from mtkeras.serving import Client, RestClient, format_result

    started = time.monotonic()
    generate_demo_corpus(data_dir, seed=seed)
    print(f"[demo] generated the demo corpus in {data_dir}", flush=True)

    model, metrics = train_demo_model(data_dir, epochs=epochs, batch_size=batch_size, seed=seed)
    print("[demo] test split: " + ", ".join(
        f"{name} {metrics[name + '_accuracy']:.3f}" for name in ("intent", "slots", "sentiment")
    ) + " accuracy (slots: per word)", flush=True)

    training = {"data": data_dir, "epochs": epochs, "batch_size": batch_size, "seed": seed, "test_metrics": metrics}
    path = export_saved_model(model, export_base, extra_metadata={"training": json.loads(json.dumps(training, default=float))})
    print(f"[demo] exported {path}", flush=True)

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
