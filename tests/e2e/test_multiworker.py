"""Two workers on 127.0.0.1 train one model under MultiWorkerMirroredStrategy.

Each worker is `mtkeras train CONFIG` with its own TF_CONFIG, as on two hosts.
Both must end with the same weights, equal (within a stated tolerance) to one
process training on the same global batches, and only the chief writes the
run directory's reports, the final model and the export.
"""

import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from helpers.data import write_mixed_jsonl, write_reproducible_config
from helpers.processes import free_port

pytestmark = pytest.mark.slow

# Adam over 9 steps: one process and two workers differ by float rounding of
# the cross-worker sums (measured about 5e-6).
TOLERANCE = 1e-4

def write_project(root):
    data = write_mixed_jsonl(os.path.join(root, "data.jsonl"))
    return write_reproducible_config(
        os.path.join(root, "tiny.yaml"), data, valid=True,
        training="""
            epochs: 3
            batch_size: 4                # global: 2 texts per worker
            optimizer: {learning_rate: 0.02}
            schedule: {name: constant}
        """,
        extra=f"""
            export:
              base_path: {root}/saved_models/tiny
              after_training: true
        """,
    )


def launch(argv, env, cwd):
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def finish(processes, timeout=300):
    """Waits for every process; kills every process group on a timeout (a worker whose peer died blocks)."""
    outputs = []
    try:
        for process in processes:
            out, _ = process.communicate(timeout=timeout)
            outputs.append(out)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return outputs


def weights(path):
    arrays = {}

    def keep(name, item):  # visititems stops at the first non-None return
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(path) as f:
        f["layers"].visititems(keep)
    return arrays


def test_two_workers_train_like_one_process_and_only_the_chief_writes(tmp_path):
    config = write_project(str(tmp_path))
    command = [sys.executable, "-m", "mtkeras", "train", config, "--progress", "none"]
    base_env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    base_env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = [
        launch(command + ["--run-dir", str(tmp_path / "runs" / "multi")],
               {**base_env, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
               tmp_path)
        for i in range(2)
    ]
    single = launch(command + ["--run-dir", str(tmp_path / "runs" / "single"),
                               "--set", f"export.base_path={tmp_path}/saved_models/single"], base_env, tmp_path)
    chief_out, worker_out, single_out = finish(workers + [single])
    for process, out in zip(workers + [single], (chief_out, worker_out, single_out)):
        assert process.returncode == 0, out[-4000:]
    said = [line for out in (chief_out, worker_out, single_out) for line in out.splitlines() if line.startswith("[mtkeras]")]
    assert "2 replica(s) under MultiWorkerMirroredStrategy" in chief_out, said
    assert "worker 1 of 2" in worker_out and "1 replica(s)" in single_out, said

    multi = tmp_path / "runs" / "multi"
    chief = weights(multi / "checkpoints" / "last.weights.h5")
    worker = weights(multi / "checkpoints" / ".worker-1" / "last.weights.h5")
    alone = weights(tmp_path / "runs" / "single" / "checkpoints" / "last.weights.h5")
    assert chief.keys() == worker.keys() == alone.keys() and len(chief) > 10
    for name in chief:
        assert np.array_equal(chief[name], worker[name]), name  # the workers agree exactly
        np.testing.assert_allclose(chief[name], alone[name], atol=TOLERANCE, err_msg=name)

    # 3 epochs of 3 global batches each, on every side.
    for path in (multi / "checkpoints" / "last.weights.h5", tmp_path / "runs" / "single" / "checkpoints" / "last.weights.h5"):
        with h5py.File(path) as f:
            assert int(f["optimizer"]["vars"]["0"][()]) == 9
    # Same per-epoch losses (the masked loss over the global batch, summed across workers).
    history = [line.split(",") for line in open(multi / "history.csv").read().splitlines()]
    reference = [line.split(",") for line in open(tmp_path / "runs" / "single" / "history.csv").read().splitlines()]
    assert history[0] == reference[0]
    column = history[0].index("loss")
    np.testing.assert_allclose([float(r[column]) for r in history[1:]], [float(r[column]) for r in reference[1:]],
                               rtol=1e-4)

    # Only the chief wrote the run's files and exported.
    assert json.load(open(multi / "run.json"))["status"] == "finished"
    assert (multi / "model.keras").exists() and (multi / "metrics_valid.json").exists()
    assert sorted(os.listdir(tmp_path / "saved_models" / "tiny")) == ["1"]
    worker_files = sorted(p.name for p in (multi / "checkpoints" / ".worker-1").iterdir())
    # Early stopping is on by default with a valid split: each worker records the logs it waits on.
    assert worker_files == ["best.weights.h5", "last.weights.h5", "patience.json"]
    assert "exported" in chief_out and "exported" not in worker_out
