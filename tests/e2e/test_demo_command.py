"""`mtkeras demo`, the job behind `make demo`, end to end in its own process (2 epochs instead of 6)."""

import json
import os
import subprocess
import sys

import pytest

from helpers.processes import free_port

pytestmark = pytest.mark.slow


def test_demo_trains_exports_serves_and_answers(tmp_path):
    port, rest = free_port(), free_port()
    result = subprocess.run(
        [sys.executable, "-m", "mtkeras", "demo", "--epochs", "2", "--data-dir", str(tmp_path / "data"),
         "--export-base", str(tmp_path / "saved_models" / "demo"),
         "--run-dir", str(tmp_path / "runs" / "demo"), "--port", str(port), "--rest-api-port", str(rest)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "[demo] REST at" in out and "gives the same answers" in out
    assert "[demo] 3/3 queries got the expected intent" in out
    assert "> book a table for two at 8 pm in paris\n    intent       BookRestaurant" in out
    assert sorted(os.listdir(tmp_path / "saved_models" / "demo")) == ["1"]
    # Its run directory holds what `mtkeras train configs/demo.yaml` writes.
    assert json.load(open(tmp_path / "runs" / "demo" / "run.json"))["status"] == "finished"
