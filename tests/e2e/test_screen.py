"""The light commands (help, version, a config error) answer without loading TensorFlow; a Python warning
is one line. What `mtkeras train` shows on a terminal is tested on tests/e2e/test_cli.py's run."""

import os
import re
import subprocess
import sys


MTKERAS = os.path.join(os.path.dirname(sys.executable), "mtkeras")


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
