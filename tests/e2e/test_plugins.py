"""A task kind, a reader and an encoder registered from outside mtkeras, used from YAML, exported and served."""

import json
import os
import subprocess
import sys

import pytest

from helpers.processes import free_port
from mtkeras.cli import import_code
from mtkeras.errors import ConfigError

pytestmark = pytest.mark.slow

PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "toy_plugin.py")
LINES = [
    ("book a table for two", "BookRestaurant"),
    ("book a table in rome tonight please", "BookRestaurant"),
    ("reserve a table", "BookRestaurant"),
    ("play some jazz", "PlayMusic"),
    ("play miles davis on the radio now", "PlayMusic"),
    ("play rock", "PlayMusic"),
    ("what is the weather in paris", "GetWeather"),
    ("will it rain", "GetWeather"),
    ("weather today", "GetWeather"),
]


def write_run(tmp_path):
    data = tmp_path / "lines.txt"
    data.write_text("".join(f"{text}|{intent}|{len(text.split())}\n" for text, intent in LINES * 2))
    config = tmp_path / "toy.yaml"
    config.write_text(f"""\
name: toy
tasks:
  intent: {{kind: sentence_classification, dropout: 0.0}}
  length: {{kind: word_count, scale: 4.0, dropout: 0.0}}   # a kind from toy_plugin.py
datasets:
  lines:
    reader: pipe                                          # a reader from toy_plugin.py
    train: {data}
    valid: {data}
    tasks: {{intent: 1, length: 2}}
encoder:
  name: bag                                               # an encoder from toy_plugin.py
  config: {{embedding_dim: 16, char_dim: 8, char_filters: 8, dropout: 0.0, word_dropout: 0.0, singleton_dropout: 0.0}}
training:
  epochs: 25
  batch_size: 6
  optimizer: {{learning_rate: 0.03}}
  schedule: {{name: constant}}
export:
  base_path: {tmp_path / "saved_models" / "toy"}
""")
    return str(config)


def mtkeras(*args):
    return subprocess.run([sys.executable, "-m", "mtkeras", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def test_a_kind_reader_and_encoder_from_outside_train_export_and_serve(tmp_path):
    config = write_run(tmp_path)
    run_dir = str(tmp_path / "run")

    # Unregistered, the config names what it does not know.
    refused = mtkeras("train", config, "--run-dir", run_dir)
    assert refused.returncode == 1, refused.stderr
    assert "tasks.length.kind: expected one of 'sentence_classification'" in refused.stderr
    assert "got 'word_count'" in refused.stderr and "datasets.lines.reader: expected one of" in refused.stderr

    trained = mtkeras("train", config, "--run-dir", run_dir, "--code", PLUGIN)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    metrics = json.load(open(os.path.join(run_dir, "metrics_valid.json")))
    assert metrics["intent"]["accuracy"] == 1.0
    assert metrics["length"]["mae"] < 1.0, metrics["length"]  # the toy kind scores itself
    from mtkeras.cli import main

    assert main(["export", config, "--run-dir", run_dir, "--code", PLUGIN]) == 0  # in this process: it loads the code
    version = tmp_path / "saved_models" / "toy" / "1"
    assert (version / "saved_model.pb").exists()

    # Serving needs no plugin: the export holds TensorFlow ops only. The client
    # reads the toy kind's answers with the result format the plugin registers.
    import toy_plugin  # noqa: F401

    from helpers.serving import assert_answers_through_tf_serving_loader
    from mtkeras.serving import Client, ModelServer

    assert_answers_through_tf_serving_loader(str(version))
    with ModelServer("toy", str(tmp_path / "saved_models" / "toy"), port=free_port(), rest_api_port=0) as server:
        with Client(f"127.0.0.1:{server.port}", "toy") as client:
            answers = client.predict(["play some jazz", "book a table in rome tonight please"])
    assert [answer["intent"]["label"] for answer in answers] == ["PlayMusic", "BookRestaurant"]
    # The toy encoder averages its words (a bag), so its count is near, not exact: measured 6.5 to 7.8 for
    # the 7-word text over seeds 0-2, served rounded (an integer, the kind's export output).
    lengths = [answer["length"] for answer in answers]
    assert all(isinstance(n, int) for n in lengths) and abs(lengths[0] - 3) <= 1 and abs(lengths[1] - 7) <= 1, lengths


def test_a_broken_or_misnamed_plugin_file_is_named_with_its_line(tmp_path):
    broken = tmp_path / "my_kinds.py"
    broken.write_text("import math\n\nVALUE = math.sqrt(-1)\n")
    with pytest.raises(ConfigError, match=f"--code {broken}:3: ValueError: math domain error"):
        import_code(str(broken))
    assert "my_kinds" not in sys.modules
    broken.write_text("def oops(:\n")
    with pytest.raises(ConfigError, match=f"--code {broken}:1: SyntaxError"):
        import_code(str(broken))
    # A file named like a standard module would replace it for the whole process.
    shadow = tmp_path / "json.py"
    shadow.write_text("X = 1\n")
    with pytest.raises(ConfigError, match="the module name 'json' is taken"):
        import_code(str(shadow))
    with pytest.raises(ConfigError, match="--code not_a_module_here: No module named 'not_a_module_here'"):
        import_code("not_a_module_here")
