"""Start-up times of the command line and the clients: what a user waits for before an answer.

Each measurement is a fresh Python process (nothing cached in memory but
the operating system's file cache), repeated `--repeats` times; the JSON
printed holds the median and the spread, in seconds:

- `import_mtkeras`: `python -c "import mtkeras"`;
- `import_client`: `python -c "from mtkeras.serving import Client"`;
- `help`: `mtkeras --help`;
- `config_error`: `mtkeras train` on a config with one bad field (the time
  to the error message);
- `predict_grpc`, `predict_rest`: `mtkeras predict` of one text against a
  warm `mtkeras serve` (started once, before the measurements, from this
  checkout), over gRPC and over REST.

With `--baseline-source DIR` (another checkout, e.g. `git worktree add
/tmp/base <commit>`) every measurement also runs with that checkout's
mtkeras, alternating with this one's, and `ratio` gives this one's median
over the baseline's.

Usage:
    python benchmarks/startup.py --model-base-path saved_models/demo
    python benchmarks/startup.py --model-base-path saved_models/demo --baseline-source /tmp/base
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(command, source, stdin=None):
    """Seconds one run of `command` takes with the mtkeras of `source`; (seconds, exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": source}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, input=stdin, timeout=300)
    return time.perf_counter() - started, result.returncode, result.stderr


def start_server(base_path, model_name):
    port, rest_port = free_port(), free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "mtkeras", "serve", "--model_name", model_name, "--model_base_path",
         os.path.abspath(base_path), "--port", str(port), "--rest_api_port", str(rest_port),
         "--file_system_poll_wait_seconds", "0"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mtkeras serve exited with {process.returncode}; see {log.name}")
        try:
            if requests.get(f"http://127.0.0.1:{rest_port}/v1/models/{model_name}", timeout=2).status_code == 200:
                return process, port, rest_port
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"mtkeras serve did not load {model_name} in 300 s; see {log.name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-base-path", default="saved_models/demo", help="an export to serve (versions folder)")
    parser.add_argument("--model-name", default="demo")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline-source", default=None, help="another checkout to compare with")
    parser.add_argument("--text", default="book a table for two in paris")
    args = parser.parse_args(argv)

    bad_config = os.path.join(tempfile.mkdtemp(), "bad.yaml")
    with open(os.path.join(ROOT, "configs", "demo.yaml"), encoding="utf-8") as handle:
        text = handle.read()
    with open(bad_config, "w", encoding="utf-8") as handle:
        handle.write(text.replace("batch_size: 32", "batch_size: -3"))

    process, port, rest_port = start_server(args.model_base_path, args.model_name)
    python = sys.executable
    cases = {
        "import_mtkeras": ([python, "-c", "import mtkeras"], 0),
        "import_client": ([python, "-c", "from mtkeras.serving import Client"], 0),
        "help": ([python, "-m", "mtkeras", "--help"], 0),
        "config_error": ([python, "-m", "mtkeras", "train", bad_config], 1),
        "predict_grpc": ([python, "-m", "mtkeras", "predict", "--target", f"127.0.0.1:{port}", "--model",
                          args.model_name, args.text], 0),
        "predict_rest": ([python, "-m", "mtkeras", "predict", "--rest", "--target", f"127.0.0.1:{rest_port}",
                          "--model", args.model_name, args.text], 0),
    }
    sources = {"current": ROOT}
    if args.baseline_source:
        sources["baseline"] = os.path.abspath(args.baseline_source)
    times = {name: {tag: [] for tag in sources} for name in cases}
    try:
        for _ in range(args.repeats):
            for name, (command, expected_code) in cases.items():
                for tag, source in sources.items():  # alternating: both see the same machine load
                    seconds, code, stderr = timed(command, source)
                    if code != expected_code:
                        raise RuntimeError(f"{name} ({tag}) exited with {code}, expected {expected_code}:\n{stderr[-2000:]}")
                    times[name][tag].append(seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    report = {"repeats": args.repeats, "seconds": {}}
    for name, by_source in times.items():
        row = {}
        for tag, values in by_source.items():
            row[tag] = {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
                        "max": round(max(values), 3)}
        if "baseline" in row:
            row["ratio"] = round(row["current"]["median"] / row["baseline"]["median"], 3)
        report["seconds"][name] = row
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
