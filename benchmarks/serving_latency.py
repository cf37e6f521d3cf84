"""Serving latency and throughput: gRPC and REST against calling the SavedModel in-process.

Serves one export with `mtkeras serve` in a subprocess (so client and server do
not share a GIL) and prints one JSON object:

- `in_process`: p50/p99 latency (ms) of the `serving_default` signature run in
  this process through TF Serving's loader (`mtkeras.export.SavedModelBundle`:
  a session, tensors fed and fetched by name), which is what `mtkeras serve`
  runs, for requests of 1 and of 32 texts; `in_process_object_graph`: the same
  signature called through `tf.saved_model.load` (what `mtkeras serve` ran
  before it served through the session loader), timed in the same loop, one
  call of each per request in turn, and `p50_ratio`/`p99_ratio` of the session
  loader over it;
- `grpc`, `rest`: p50/p99 latency of `Client.predict_raw` and
  `RestClient.predict_raw` (one client, one request at a time, every output)
  on the same texts, and `p50_ratio`/`p99_ratio`: each over the in-process
  figure, i.e. what the server, the wire and the client's encoding cost;
- `throughput`: requests/s and texts/s with `--concurrency` client threads,
  each with its own gRPC `Client`, against a server without and with
  server-side batching (`--enable_batching`, or `--batching-parameters-file`),
  with the mean requests per merged batch read from the server's metrics;
- `errors`: failed requests over every measurement; must be 0 (exit status 1
  otherwise).

Texts are short queries sampled from the bundled demo corpus
(`mtkeras.demo`). Without `--model-base-path`, a small model is first
trained on that corpus and exported to a temporary directory. Client and
server share the machine's cores: on a small machine the client's own work
(protobuf and JSON encoding, numpy conversion) is part of every figure, so
compare runs made on the same machine.

Usage:
    python benchmarks/serving_latency.py
    python benchmarks/serving_latency.py --model-base-path saved_models/demo --requests 1000
    python benchmarks/serving_latency.py --batching-parameters-file serving/batching_parameters.txt
"""

import argparse
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mtkeras import names  # noqa: E402
from mtkeras.demo import DEMO_QUERIES, generate_demo_corpus  # noqa: E402
from mtkeras.serving import Client, RestClient, ServingError  # noqa: E402
from mtkeras.serving.manager import latest_version  # noqa: E402

_METRICS_PATH = "/monitoring/prometheus/metrics"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def corpus_texts(data_dir):
    """Every text of the demo corpus' test splits, plus the demo queries."""
    texts = [text for text, _ in DEMO_QUERIES]
    for source in ("assistant", "feedback"):
        with open(os.path.join(data_dir, source, "test", "seq.in"), encoding="utf-8") as handle:
            texts.extend(line.strip() for line in handle if line.strip())
    return texts


def request_batches(texts, batch_size, count, seed):
    """`count` requests of `batch_size` texts each, drawn with a fixed seed."""
    rng = random.Random(seed + batch_size)
    return [rng.sample(texts, batch_size) for _ in range(count)]


def train_and_export(data_dir, base_path, epochs, seed):
    from mtkeras.demo import train_demo_model
    from mtkeras.export import export_saved_model

    # stdout carries only the result: training's progress lines go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        model, _ = train_demo_model(data_dir, epochs=epochs, seed=seed, verbose=0)
        return export_saved_model(model, base_path)


def latency_stats(seconds):
    p50, p99 = np.percentile(np.asarray(seconds) * 1000.0, [50, 99])
    return {"p50_ms": round(float(p50), 3), "p99_ms": round(float(p99), 3)}


def in_process_latency(export_path, batches_by_size, warmup):
    """Both loaders' latency on the same requests, interleaved so that machine noise hits both alike."""
    from mtkeras.export import SavedModelBundle

    bundle = SavedModelBundle(export_path)
    signature = tf.saved_model.load(export_path).signatures[names.SERVING_SIGNATURE]

    def session_call(texts):
        return bundle.run(names.SERVING_SIGNATURE, {names.TEXT: np.array([t.encode() for t in texts], dtype=object)})

    def function_call(texts):
        outputs = signature(**{names.TEXT: tf.constant(texts)})
        return {key: value.numpy() for key, value in outputs.items()}

    session, object_graph = {}, {}
    for size, batches in batches_by_size.items():
        for i in range(warmup):
            session_call(batches[i % len(batches)])
            function_call(batches[i % len(batches)])
        times = {session_call: [], function_call: []}
        for index, batch in enumerate(batches):
            order = (session_call, function_call) if index % 2 else (function_call, session_call)
            for call in order:
                start = time.perf_counter()
                call(batch)
                times[call].append(time.perf_counter() - start)
        session[f"batch_{size}"] = latency_stats(times[session_call])
        object_graph[f"batch_{size}"] = latency_stats(times[function_call])
        for stat in ("p50", "p99"):
            session[f"batch_{size}"][f"{stat}_ratio"] = round(
                session[f"batch_{size}"][f"{stat}_ms"] / object_graph[f"batch_{size}"][f"{stat}_ms"], 2
            )
    bundle.close()
    return session, object_graph


# === The server subprocess ===


class ServerProcess:
    """`mtkeras serve` in a subprocess on free ports, ready once `start()` returns."""

    def __init__(self, model_name, base_path, work_dir, batching_args=(), tag="server", source=None):
        self.model_name = model_name
        # `python -m` puts the working directory first on sys.path: a server
        # of another checkout (e.g. a worktree of an earlier commit) runs in it.
        self.cwd = os.path.abspath(source) if source else None
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [self.cwd, os.environ.get("PYTHONPATH")]))}
        base_path = os.path.abspath(base_path)
        self.port, self.rest_api_port = free_port(), free_port()
        self.log_path = os.path.join(work_dir, f"{tag}.log")
        monitoring = os.path.join(work_dir, "monitoring.config")
        with open(monitoring, "w", encoding="utf-8") as handle:
            handle.write(f'prometheus_config {{ enable: true path: "{_METRICS_PATH}" }}\n')
        self.command = [
            sys.executable, "-m", "mtkeras", "serve",
            "--model_name", model_name, "--model_base_path", base_path,
            "--port", str(self.port), "--rest_api_port", str(self.rest_api_port),
            "--file_system_poll_wait_seconds", "0",  # load once: no polling during the measurement
            "--monitoring_config_file", monitoring,
            *batching_args,
        ]
        self.process = None
        self._log = None

    def start(self, timeout=300.0):
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd
        )
        deadline = time.monotonic() + timeout
        with Client(f"127.0.0.1:{self.port}", self.model_name, retries=0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mtkeras serve exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    return client.wait_until_ready(timeout=2.0)
                except ServingError:
                    if time.monotonic() > deadline:
                        raise

    def mtkeras_source(self):
        """The mtkeras package folder this server's Python imports."""
        code = "import os, mtkeras; print(os.path.dirname(mtkeras.__file__))"
        return subprocess.run(
            [sys.executable, "-c", code], env=self.env, cwd=self.cwd, capture_output=True, text=True, check=True
        ).stdout.strip().splitlines()[-1]

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()

    def log_tail(self, lines=30):
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])

    def batch_counts(self):
        """`(merged batches, requests in them)` of `serving_default` so far, from the metrics endpoint."""
        import requests

        text = requests.get(f"http://127.0.0.1:{self.rest_api_port}{_METRICS_PATH}", timeout=10).text
        counts = []
        for metric in ("batches", "batched_requests"):
            pattern = rf':mtkeras:serving:{metric}\{{[^}}]*signature="{names.SERVING_SIGNATURE}"\}} (\d+)'
            counts.append(sum(int(value) for value in re.findall(pattern, text)))
        return tuple(counts)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()


def served_latency(server, batches_by_size, warmup, in_process, baseline=None):
    """gRPC and REST latency of `server`; with a `baseline` server, both timed in one loop, one call each in turn."""
    result, errors = {}, 0
    for api, kind in (("grpc", Client), ("rest", RestClient)):
        result[api] = {}
        servers = [server] + ([baseline] if baseline else [])
        # No retries: every refused or failed request counts as an error.
        clients = [kind(f"127.0.0.1:{s.port if api == 'grpc' else s.rest_api_port}", s.model_name, retries=0)
                   for s in servers]
        try:
            for size, batches in batches_by_size.items():
                for i in range(warmup):
                    for client in clients:
                        client.predict_raw(batches[i % len(batches)])
                latencies, failed = [[] for _ in clients], [0] * len(clients)
                for index, batch in enumerate(batches):
                    order = range(len(clients)) if index % 2 == 0 else reversed(range(len(clients)))
                    for k in order:
                        start = time.perf_counter()
                        try:
                            clients[k].predict_raw(batch)
                        except ServingError:
                            failed[k] += 1
                            continue
                        latencies[k].append(time.perf_counter() - start)
                errors += sum(failed)
                stats = [latency_stats(times) if times else {"p50_ms": None, "p99_ms": None} for times in latencies]
                base = in_process[f"batch_{size}"]
                if latencies[0]:
                    stats[0]["p50_ratio"] = round(stats[0]["p50_ms"] / base["p50_ms"], 2)
                    stats[0]["p99_ratio"] = round(stats[0]["p99_ms"] / base["p99_ms"], 2)
                entry = {**stats[0], "errors": failed[0]}
                if baseline:
                    entry["baseline"] = {**stats[1], "errors": failed[1]}
                    if latencies[0] and latencies[1]:
                        entry["p50_over_baseline"] = round(stats[0]["p50_ms"] / stats[1]["p50_ms"], 2)
                        entry["p99_over_baseline"] = round(stats[0]["p99_ms"] / stats[1]["p99_ms"], 2)
                result[api][f"batch_{size}"] = entry
        finally:
            for client in clients:
                client.close()
    return result, errors


def concurrent_throughput(server, batches, concurrency, warmup):
    """Requests/s and texts/s of `concurrency` threads, each with its own gRPC `Client`, sending `batches`."""
    shares = [batches[i::concurrency] for i in range(concurrency)]
    ready = threading.Barrier(concurrency + 1, timeout=600)
    errors = [0] * concurrency

    def run(index):
        with Client(f"127.0.0.1:{server.port}", server.model_name, retries=0) as client:
            try:
                for i in range(max(1, warmup // concurrency)):  # also connects the channel
                    client.predict_raw(batches[i % len(batches)])
            except BaseException:
                ready.abort()  # the measurement cannot start: fail it instead of waiting
                raise
            ready.wait()
            for batch in shares[index]:
                try:
                    client.predict_raw(batch)
                except ServingError:
                    errors[index] += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    before = server.batch_counts()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    after = server.batch_counts()
    texts = sum(len(batch) for batch in batches)
    merged, merged_requests = after[0] - before[0], after[1] - before[1]
    return {
        "requests_per_second": round(len(batches) / elapsed, 1),
        "texts_per_second": round(texts / elapsed, 1),
        "seconds": round(elapsed, 3),
        # Requests per merged call of the model: None without server-side batching.
        "requests_per_merged_batch": round(merged_requests / merged, 2) if merged else None,
        "errors": sum(errors),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-base-path", default=None,
                        help="folder of integer versions (default: train a small demo model into a temp dir)")
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads for throughput")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests before each measurement")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32], help="texts per request")
    parser.add_argument("--batching-parameters-file", default=None,
                        help="batching_parameters.txt for the batching run (default: --enable_batching)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the model trained without --model-base-path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-source", default=None,
                        help="folder holding another mtkeras checkout (e.g. `git worktree add /tmp/old <commit>`): "
                             "its `mtkeras serve` serves the same export too, and gRPC/REST latencies are timed "
                             "against it in the same loop (`baseline`, `p50_over_baseline`)")
    args = parser.parse_args(argv)
    for name in ("requests", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if not all(0 < size <= 512 for size in args.batch_sizes):
        parser.error(f"--batch-sizes must be in [1, 512], got {args.batch_sizes}")

    with tempfile.TemporaryDirectory(prefix="mtkeras-serving-bench-") as work_dir:
        data_dir = os.path.join(work_dir, "data")
        generate_demo_corpus(data_dir, seed=args.seed)
        texts = corpus_texts(data_dir)
        trained = args.model_base_path is None
        base_path = os.path.join(work_dir, "models", "bench") if trained else args.model_base_path
        if trained:
            train_and_export(data_dir, base_path, args.epochs, args.seed)
        version = latest_version(base_path)
        model_name = os.path.basename(os.path.normpath(base_path))
        batches_by_size = {size: request_batches(texts, size, args.requests, args.seed) for size in args.batch_sizes}

        result = {
            "model_base_path": None if trained else base_path,
            "trained_epochs": args.epochs if trained else None,
            "version": version,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "cpu_count": os.cpu_count(),
            "tensorflow": tf.__version__,
        }
        in_process, object_graph = in_process_latency(os.path.join(base_path, str(version)), batches_by_size, args.warmup)
        result["in_process"] = in_process
        result["in_process_object_graph"] = object_graph

        errors = 0
        throughput = {}
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(ServerProcess(model_name, base_path, work_dir, tag="plain"))
            baseline = None
            result["mtkeras"] = server.mtkeras_source()
            if args.baseline_source:
                baseline = ServerProcess(model_name, base_path, work_dir, tag="baseline", source=args.baseline_source)
                result["baseline_mtkeras"] = baseline.mtkeras_source()
                if result["baseline_mtkeras"] == result["mtkeras"]:
                    parser.error(f"--baseline-source {args.baseline_source} imports this checkout's mtkeras too")
                stack.enter_context(baseline)
            served, failed = served_latency(server, batches_by_size, args.warmup, in_process, baseline)
            result.update(served)
            errors += failed
            throughput["no_batching"] = {
                f"batch_{size}": concurrent_throughput(server, batches, args.concurrency, args.warmup)
                for size, batches in batches_by_size.items()
            }
        batching_args = (
            ["--batching_parameters_file", args.batching_parameters_file]
            if args.batching_parameters_file else ["--enable_batching"]
        )
        with ServerProcess(model_name, base_path, work_dir, batching_args, tag="batching") as server:
            throughput["batching"] = {
                f"batch_{size}": concurrent_throughput(server, batches, args.concurrency, args.warmup)
                for size, batches in batches_by_size.items()
            }
        throughput["batching_speedup"] = {
            key: round(throughput["batching"][key]["texts_per_second"]
                       / throughput["no_batching"][key]["texts_per_second"], 2)
            for key in throughput["batching"]
        }
        for run in ("no_batching", "batching"):
            errors += sum(stats["errors"] for stats in throughput[run].values())
        result["throughput"] = throughput
        result["errors"] = errors
    print(json.dumps(result))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
