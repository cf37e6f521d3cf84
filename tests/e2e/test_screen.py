"""What `mtkeras train` shows on a terminal, read through a pseudo-terminal, and how fast light commands answer."""

import os
import pty
import re
import subprocess
import sys
import time

from helpers.data import write_mixed_jsonl, write_reproducible_config

MTKERAS = os.path.join(os.path.dirname(sys.executable), "mtkeras")


def run_in_terminal(args, timeout=300):
    """Runs a command with a pseudo-terminal as its standard output and error; returns all it wrote."""
    main, secondary = pty.openpty()
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    process = subprocess.Popen(args, stdout=secondary, stderr=secondary, stdin=subprocess.DEVNULL, env=env)
    os.close(secondary)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(main)
    return process.returncode, b"".join(chunks).decode("utf-8", errors="replace")


def screen_lines(text):
    """The lines a terminal shows once carriage returns and colours are applied."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    return [line.split("\r")[-1].rstrip() for line in text.replace("\r\n", "\n").split("\n")]


def test_the_training_screen_shows_each_epoch_once_and_no_tensorflow_log_lines(tmp_path):
    data = write_mixed_jsonl(tmp_path / "data.jsonl")
    config = write_reproducible_config(tmp_path / "c.yaml", data, training="epochs: 2\nbatch_size: 4", valid=True)
    code, raw = run_in_terminal([MTKERAS, "train", config, "--run-dir", str(tmp_path / "run")])
    assert code == 0, raw[-3000:]
    lines = screen_lines(raw)
    # Not one of TensorFlow's native log lines, which it writes at import and when it lists devices.
    assert not [line for line in lines if re.match(r"^[IWEF]\d{4} |^WARNING: All log messages before absl", line)], lines
    for epoch in (1, 2):
        heads = [line for line in lines if line.startswith(f"epoch {epoch}/2 ")]
        assert len(heads) == 1, lines  # one table per epoch
        assert "val_score" in heads[0] and ("improved, saved checkpoints/best.weights.h5" in heads[0] or "no improvement" in heads[0])
    assert "improved, saved" in [line for line in lines if line.startswith("epoch 1/2 ")][0]
    # Each task's metrics appear in the tables only: once per epoch, never as Keras' "name: value" list.
    assert sum(line.startswith("intent ") and " | " in line for line in lines) == 2, lines
    assert "intent_accuracy:" not in raw and "val_intent_loss:" not in raw
    # A Python warning is one line, never followed by the source line that raised it.
    assert not [line for line in lines if line.strip() == "warnings.warn("], lines
    # The progress bar ends before its epoch's table.
    bars = [i for i, line in enumerate(lines) if re.search(r"\d+/\d+ .*step - loss: ", line)]
    first_table = next(i for i, line in enumerate(lines) if line.startswith("epoch 1/2 "))
    assert bars and bars[0] < first_table


def test_the_light_commands_answer_without_loading_tensorflow(tmp_path):
    probe = ("import sys, runpy; sys.argv = ['mtkeras'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('mtkeras', run_name='__main__')\n"
             "except SystemExit as stop:\n    print('tensorflow' in sys.modules, stop.code, file=sys.stderr)\n")
    for args, code in ((["--help"], 0), (["--version"], 0), (["predict", "--help"], 0)):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
        assert result.stderr.strip().splitlines()[-1] == f"False {code}", (args, result.stderr)
    version = subprocess.run([MTKERAS, "--version"], capture_output=True, text=True, timeout=60)
    assert re.fullmatch(r"mtkeras \d+\.\d+\.\d+\S*\n", version.stdout)
    # A config error is answered before TensorFlow is imported, by every command that reads a config.
    data = tmp_path / "train.tsv"
    data.write_text("text\tintent\nplay jazz\tmusic\n")
    bad = {
        "kind.yaml": ("name: x\ntasks: {intent: {kind: sentence_clasification}}\n"
                      f"datasets: {{a: {{reader: delimited, train: {data}, tasks: {{intent: intent}}}}}}\n",
                      "kind.yaml:2: tasks.intent.kind:", "did you mean 'sentence_classification'?"),
        "dropout.yaml": ("name: x\ntasks: {intent: {kind: sentence_classification, dropout: 2}}\n"
                         f"datasets: {{a: {{reader: delimited, train: {data}, tasks: {{intent: intent}}}}}}\n",
                         "dropout.yaml:2: tasks.intent.dropout:", "got 2.0"),
        "path.yaml": ("name: x\ntasks: {intent: {kind: sentence_classification}}\n"
                      f"datasets: {{a: {{reader: delimited, train: {tmp_path}/none.tsv, tasks: {{intent: intent}}}}}}\n",
                      "path.yaml:3: datasets.a.train: no such file or folder:", "none.tsv"),
    }
    for command, name in [(command, name) for command in ("train", "validate", "evaluate", "export")
                          for name in ("kind.yaml", "dropout.yaml")] + [("train", "path.yaml")]:
            text, where, what = bad[name]
            (tmp_path / name).write_text(text)
            result = subprocess.run([sys.executable, "-c", probe, command, str(tmp_path / name)], capture_output=True,
                                    text=True, timeout=60)
            *message, status = result.stderr.strip().splitlines()
            assert status == "False 1", (command, name, result.stderr)
            assert where in "\n".join(message) and what in "\n".join(message), (command, name, result.stderr)


def test_a_python_warning_is_one_line():
    from mtkeras.cli import _one_line_warning

    text = _one_line_warning(UserWarning("Gradients do not exist for variables ['pooled_dense/kernel']"), UserWarning,
                             "/x/keras/src/optimizers/base_optimizer.py", 862, "  warnings.warn(")
    assert text == ("warning: Gradients do not exist for variables ['pooled_dense/kernel'] "
                    "(UserWarning, base_optimizer.py:862)\n")
