"""The notebooks in notebooks/ run top to bottom and show what they promise.

Each notebook runs in a fresh `python3` kernel (this virtualenv's Python) with
`MTKERAS_NOTEBOOK_QUICK=1` (a small corpus, a tiny model) and writes under
`MTKERAS_NOTEBOOK_DIR`, a temporary folder; the assertions read the outputs
a reader relies on.
"""

import importlib.util
import pathlib
import re
import sys

import nbclient
import nbformat
import pytest

from helpers.processes import REPO_ROOT

ROOT = pathlib.Path(REPO_ROOT)
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_quickstart.ipynb", "02_heterogeneous_tasks.ipynb", "03_export_and_serve.ipynb"]
CELL_TIMEOUT = 600  # seconds; a quick notebook takes well under a minute in all


def execute(notebook, work_dir, monkeypatch):
    """Runs `notebook` in place in a new kernel started in the repository root."""
    # The kernel inherits this process' environment.
    monkeypatch.setenv("MTKERAS_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MTKERAS_NOTEBOOK_DIR", str(work_dir))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # CellExecutionError names the cell and its traceback
    return notebook


def run(name, work_dir, monkeypatch):
    return execute(nbformat.read(NOTEBOOKS / name, as_version=4), work_dir, monkeypatch)


def code_cell(notebook, snippet):
    """The one code cell whose source contains `snippet`."""
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and snippet in cell.source]
    assert len(cells) == 1, f"{len(cells)} code cells contain {snippet!r}"
    return cells[0]


def text(cell):
    """A cell's printed and displayed text (stdout, stderr, text/plain)."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def images(cell):
    return [
        output for output in cell.outputs
        if output.output_type in ("execute_result", "display_data") and "image/png" in output.data
    ]


def _build_script():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean_and_matches_its_build_script(name):
    path = NOTEBOOKS / name
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata == {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: cell {cell.id} has outputs"
        assert not cell.metadata, f"{name}: cell {cell.id} has metadata {cell.metadata}"
    assert path.read_text(encoding="utf-8") == _build_script().render(name), (
        f"{name} differs from notebooks/_build.py: edit the cells there and run `python notebooks/_build.py`"
    )


def test_python3_kernel_is_this_virtualenv(tmp_path, monkeypatch):
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
    execute(notebook, tmp_path, monkeypatch)
    assert text(notebook.cells[0]).strip() == sys.prefix


@pytest.mark.slow
def test_quickstart(tmp_path, monkeypatch):
    notebook = run("01_quickstart.ipynb", tmp_path, monkeypatch)
    assert "QUICK=True" in text(code_cell(notebook, "QUICK = "))
    assert (tmp_path / "01_quickstart" / "demo_data" / "assistant" / "train" / "seq.in").is_file()
    fit = text(code_cell(notebook, "model.fit("))
    assert "Epoch 4/4" in fit and "val_intent_accuracy" in fit
    assert len(images(code_cell(notebook, "plot_history("))) == 1
    table = text(code_cell(notebook, "mtkeras.evaluate("))
    for row in ("intent", "slots", "sentiment", "macro_f1", "f1", "sentence_accuracy"):
        assert re.search(rf"^{row}\b", table, re.M) or f" {row} " in table, (row, table)
    assert len(images(code_cell(notebook, "plot_confusion_matrix("))) == 1
    answers = text(code_cell(notebook, "mtkeras.predict("))
    assert "'intent': (4, " in answers and "'slots': (4, " in answers  # probabilities
    assert "> book a table for two at 8 pm in paris\n    intent" in answers
    assert re.search(r"^    slots +\S", answers, re.M)


@pytest.mark.slow
def test_heterogeneous_tasks(tmp_path, monkeypatch):
    from mtkeras.data import sampling_weights

    notebook = run("02_heterogeneous_tasks.ipynb", tmp_path, monkeypatch)
    batch = text(code_cell(notebook, 'print(f"{\'text\':<46}"'))
    assert batch.count("w=1") == 6 + 2  # each text labelled for its source's tasks, assistant for two
    assert batch.count("- w=0") == 6 * 4 - 8

    # Observed shares of a mixed epoch follow sampling_weights (binomial sd < 0.008 at n=4000).
    sizes = [400, 200, 100]  # training texts of the quick settings: assistant, feedback, notes
    expected = {
        "proportional": sampling_weights(sizes, "proportional"),
        "uniform": sampling_weights(sizes, "uniform"),
        "temperature T=2": sampling_weights(sizes, "temperature", 2.0),
        "temperature T=5": sampling_weights(sizes, "temperature", 5.0),
    }
    shares = text(code_cell(notebook, "def source_counts("))
    for strategy, want in expected.items():
        row = re.search(rf"^{strategy} +([\d.]+)% +([\d.]+)% +([\d.]+)% +4000$", shares, re.M)
        assert row, (strategy, shares)
        assert [float(v) / 100 for v in row.groups()] == pytest.approx(want, abs=0.04), (strategy, shares)

    losses = text(code_cell(notebook, "feedback_batch = "))
    for task in ("intent", "slots", "entities"):
        assert re.search(rf"^{task} +labelled items +0 +loss 0\.0000$", losses, re.M), losses
    sentiment = re.search(r"^sentiment +labelled items +16 +loss (\S+)$", losses, re.M)
    assert sentiment and float(sentiment.group(1)) > 0, losses
    assert text(code_cell(notebook, "tf.GradientTape()")).strip().endswith("largest |gradient| of the intent loss: 0.0")

    same = text(code_cell(notebook, "alone_logs = "))
    for key in ("intent_loss", "intent_accuracy", "slots_loss", "slots_accuracy"):
        alone, together = re.search(rf"^{key} +(\S+) +(\S+)$", same, re.M).groups()
        assert float(alone) == pytest.approx(float(together), rel=1e-5), same

    table = text(code_cell(notebook, "mtkeras.evaluate("))
    for task in ("intent", "slots", "sentiment", "entities"):
        assert re.search(rf"^{task} +examples", table, re.M), table


@pytest.mark.slow
def test_export_and_serve(tmp_path, monkeypatch):
    from mtkeras.demo import DEMO_QUERIES, INTENTS

    notebook = run("03_export_and_serve.ipynb", tmp_path, monkeypatch)
    version = tmp_path / "03_export_and_serve" / "saved_models" / "demo" / "1"
    assert f"\n{version}\n" in "\n" + text(code_cell(notebook, "export_saved_model("))
    assert (version / "saved_model.pb").is_file() and (version / "assets.extra" / "mtkeras.json").is_file()

    started = text(code_cell(notebook, "server.start()"))
    assert re.search(r"serving demo version 1: gRPC 127\.0\.0\.1:\d+, REST 127\.0\.0\.1:\d+", started), started
    answers = text(code_cell(notebook, "results = client.predict("))
    for query, _ in DEMO_QUERIES:
        answer = re.search(rf"^> {re.escape(query)}\n    intent +(\w+)  \((\d\.\d\d)\)$", answers, re.M)
        assert answer and answer.group(1) in INTENTS, answers
    assert "same answers as the model in memory (mtkeras.predict): True" in text(code_cell(notebook, "in_memory = "))
    assert "REST gives the same answers as gRPC: True" in text(code_cell(notebook, "rest = RestClient("))
    assert "'intent_label'" in text(code_cell(notebook, "requests.post("))
    assert re.search(r"^server stopped: gRPC on port \d+ answers UNAVAILABLE$", text(code_cell(notebook, "server.stop()")), re.M)
