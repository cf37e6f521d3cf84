"""`mtkeras.evaluation` reports: history forms, per-task curves, PNG plots, confusion matrices, the metrics JSON."""

import json
import math
import sys
import threading

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

import mtkeras
from helpers.data import tiny_examples
from helpers.models import build_tiny_model
from mtkeras.data import Example, make_dataset
from mtkeras.evaluation import format_table
from mtkeras.evaluation import (
    history_rows,
    plot_confusion_matrix,
    plot_history,
    plot_task_curves,
    task_curves,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# What a multi-task fit logs: `topic` and `topic_labels` share a prefix; an
# uncertainty-weighted `intent_weight`; keys of no task (`loss`, `learning_rate`).
HISTORY = {
    "loss": [2.0, 1.5, 1.2],
    "intent_loss": [0.9, 0.6, 0.4],
    "intent_accuracy": [0.5, 0.7, 0.9],
    "intent_weight": [0.5, 0.55, 0.6],
    "topic_loss": [0.8, 0.7, 0.6],
    "topic_labels_loss": [0.3, 0.2, 0.1],
    "topic_labels_exact_match": [0.1, 0.4, 0.8],
    "learning_rate": [0.01, 0.01, 0.005],
    "val_loss": [2.2, 1.8, 1.6],
    "val_intent_loss": [1.0, 0.8, 0.7],
    "val_intent_accuracy": [0.4, 0.6, 0.8],
    "val_topic_loss": [0.9, 0.85, 0.8],
    "val_topic_labels_loss": [0.35, 0.3, 0.25],
    "val_topic_labels_exact_match": [0.0, 0.3, 0.6],
}
TASKS = ["intent", "topic", "topic_labels"]


def assert_png(path):
    with open(path, "rb") as file:
        assert file.read(8) == PNG_MAGIC
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100 and image.shape[2] in (3, 4)
    return image


def keras_history(logs, epochs):
    history = keras.callbacks.History()
    history.history, history.epoch = {key: list(values) for key, values in logs.items()}, list(epochs)
    return history


# === A real tiny run: History, CSVLogger file, evaluate ===
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny model fit for 3 epochs with validation and a CSVLogger; evaluated on data with an unknown intent."""
    examples = tiny_examples()
    model = build_tiny_model(examples)
    # Eager: three epochs of two steps cost less than tracing the train and test functions.
    model.compile(optimizer=keras.optimizers.Adam(0.02), run_eagerly=True)
    csv_path = str(tmp_path_factory.mktemp("run") / "history.csv")
    history = model.fit(
        make_dataset(examples, model.tasks, batch_size=8, shuffle=True, seed=1),
        validation_data=make_dataset(examples, model.tasks, batch_size=8),
        epochs=3,
        callbacks=[keras.callbacks.CSVLogger(csv_path)],
        verbose=0,
    )
    # Intent texts only (sentiment gets no labels: its scores are nan), one intent outside the labels.
    test = [ex for ex in examples if "intent" in ex.labels]
    test.append(Example(("cancel", "my", "table"), {"intent": "CancelBooking"}, "extra:1"))
    results = mtkeras.evaluate(model, test, print_table=False)
    return model, history, csv_path, test, results


# === history_rows ===
def test_every_history_form_gives_the_same_rows():
    expected = [{"epoch": i + 1, **{key: values[i] for key, values in HISTORY.items()}} for i in range(3)]
    assert history_rows(HISTORY) == expected
    assert history_rows(keras_history(HISTORY, [0, 1, 2])) == expected
    assert history_rows([{key: values[i] for key, values in HISTORY.items()} for i in range(3)]) == expected
    assert history_rows(expected) == expected  # the rows themselves: unchanged
    # A run resumed with initial_epoch=4 numbers its epochs from 5.
    assert [row["epoch"] for row in history_rows(keras_history(HISTORY, [4, 5, 6]))] == [5, 6, 7]


def test_csv_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    path = tmp_path / "history.csv"
    # Epochs 0-2, then a resumed run re-ran epoch 2 and went on to 3; `NA` for a missing value.
    path.write_text(
        "epoch,intent_loss,loss,val_intent_loss\n"
        "0,0.9,1.9,1.0\n"
        "1,0.6,1.4,0.8\n"
        "2,0.5,1.3,NA\n"
        "2,0.45,1.25,0.7\n"
        "3,0.4,1.2,0.65\n"
    )
    rows = history_rows(str(path))
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4]
    assert rows[2] == {"epoch": 3, "intent_loss": 0.45, "loss": 1.25, "val_intent_loss": 0.7}
    assert history_rows(path) == rows  # a pathlib.Path as well
    path.write_text("epoch,loss\n0,1.0\n1,NA\n")
    assert math.isnan(history_rows(path)[1]["loss"])
    # CSVLogger opens its file as training begins and writes the header with the first epoch's row: a run
    # stopped during its first epoch leaves it empty, no epoch yet (its resumption reads it).
    path.write_text("")
    assert history_rows(path) == []


def test_a_real_csvlogger_file_matches_the_history(run):
    _, history, csv_path, _, _ = run
    from_history, from_csv = history_rows(history), history_rows(csv_path)
    assert [row["epoch"] for row in from_history] == [1, 2, 3]
    assert len(from_csv) == 3
    for a, b in zip(from_history, from_csv):
        assert set(a) == set(b)
        assert a == pytest.approx(b, rel=1e-6)


def test_bad_histories_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"one value per epoch.*'val_loss': 1"):
        history_rows({"loss": [1.0, 0.5], "val_loss": [1.1]})
    with pytest.raises(ValueError, match="no CSVLogger file.*missing.csv"):
        history_rows(str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match="`history` must be"):
        history_rows(42)
    with pytest.raises(ValueError, match=r"epoch 2: metric 'loss' must be a number. Received: 'high'"):
        history_rows([{"loss": 1.0}, {"loss": "high"}])
    (tmp_path / "other.csv").write_text("step,loss\n0,1.0\n")
    with pytest.raises(ValueError, match="needs an `epoch` column"):
        history_rows(str(tmp_path / "other.csv"))


# === task_curves ===
def test_task_curves_split_keys_by_task_name_prefix():
    curves = task_curves(HISTORY, TASKS)
    assert list(curves) == TASKS
    assert list(curves["intent"]) == ["loss", "accuracy", "weight"]
    assert curves["intent"]["accuracy"] == {"train": HISTORY["intent_accuracy"], "val": HISTORY["val_intent_accuracy"]}
    assert curves["intent"]["weight"] == {"train": HISTORY["intent_weight"], "val": None}
    # `topic_labels_loss` belongs to topic_labels, not to topic as a metric "labels_loss".
    assert list(curves["topic"]) == ["loss"]
    assert curves["topic"]["loss"] == {"train": HISTORY["topic_loss"], "val": HISTORY["val_topic_loss"]}
    assert curves["topic_labels"]["exact_match"]["val"] == HISTORY["val_topic_labels_exact_match"]
    # Task objects work as well as names.
    assert task_curves(HISTORY, [mtkeras.SentenceClassification("intent", ["a", "b"])]) == {"intent": curves["intent"]}


def test_a_task_absent_from_the_history_is_named_with_the_keys():
    with pytest.raises(ValueError, match=r"no metric of task\(s\) \['intnet'\].*'intent_loss'"):
        task_curves(HISTORY, ["intent", "intnet"])
    with pytest.raises(ValueError, match=r"no metric of task\(s\) \['slots'\]"):
        plot_history(HISTORY, ["slots"])
    with pytest.raises(ValueError, match="`tasks` must be a list of task names. Received: tasks='intent'"):
        task_curves(HISTORY, "intent")


# === Plots ===
def test_plot_history_draws_the_history_numbers(tmp_path):
    path = tmp_path / "figs" / "history.png"
    figure = plot_history(HISTORY, TASKS, path=str(path))
    assert isinstance(figure, Figure)
    assert_png(path)
    panels = {ax.get_title(): ax for ax in figure.axes if ax.get_title()}
    expected = ["intent: loss", "intent: accuracy", "intent: weight", "topic: loss",
                "topic_labels: loss", "topic_labels: exact_match"]
    assert sorted(panels) == sorted(expected)
    for title, ax in panels.items():
        task, metric = title.split(": ")
        lines = {line.get_label(): line for line in ax.get_lines()}
        np.testing.assert_array_equal(lines["train"].get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(lines["train"].get_ydata(), HISTORY[f"{task}_{metric}"])
        if f"val_{task}_{metric}" in HISTORY:
            np.testing.assert_allclose(lines["validation"].get_ydata(), HISTORY[f"val_{task}_{metric}"])
        else:
            assert "validation" not in lines
        assert ax.get_legend() is not None
        assert ax.get_xlabel() == "epoch"
        assert all(float(tick).is_integer() for tick in ax.get_xticks())
    # One row per task, in order: intent's panels sit above topic's.
    assert panels["intent: loss"].get_position().y0 > panels["topic: loss"].get_position().y0


def test_plot_task_curves_writes_one_png_per_task(tmp_path, run):
    _, history, _, _, _ = run
    paths = plot_task_curves(history, ["intent", "slots", "sentiment"], tmp_path / "plots")
    assert paths == [str(tmp_path / "plots" / f"{task}_curves.png") for task in ("intent", "slots", "sentiment")]
    for path in paths:
        assert_png(path)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(p.rsplit("/", 1)[1] for p in paths)


def test_plots_in_threads_without_pyplot(tmp_path):
    had_pyplot = "matplotlib.pyplot" in sys.modules
    errors = []

    def work(i):
        try:
            plot_history(HISTORY, ["topic"], path=str(tmp_path / f"h{i}.png"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for i in range(2):
        assert_png(tmp_path / f"h{i}.png")
    if not had_pyplot:
        assert "matplotlib.pyplot" not in sys.modules


def test_plot_confusion_matrix_counts_and_colours(tmp_path):
    labels = ["a", "b", "c"]
    matrix = [[5, 1, 0], [2, 2, 0], [0, 0, 0]]
    figure = plot_confusion_matrix(labels, matrix, title="intent (test)", path=str(tmp_path / "c.png"))
    assert_png(tmp_path / "c.png")
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted", "gold", "intent (test)")
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(r, c): str(matrix[r][c]) for r in range(3) for c in range(3)}
    # Colours: each row's share of its gold label (an empty row stays 0).
    shades = ax.get_images()[0].get_array()
    np.testing.assert_allclose(shades, [[5 / 6, 1 / 6, 0], [0.5, 0.5, 0], [0, 0, 0]])
    raw = plot_confusion_matrix(labels, np.array(matrix), normalize=False).axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(raw, matrix)


def test_a_large_confusion_matrix_still_plots(tmp_path):
    size = 32
    matrix = np.diag(np.arange(1, size + 1))
    matrix[0, 1] = 3
    figure = plot_confusion_matrix([f"label_{i}" for i in range(size)], matrix, path=str(tmp_path / "big.png"))
    assert_png(tmp_path / "big.png")
    ax = figure.axes[0]
    assert len(ax.texts) == size + 1  # past 12 labels, only non-zero counts are written
    assert all(t.get_fontsize() >= 6 for t in ax.get_xticklabels())


def test_bad_confusion_arguments_are_refused():
    with pytest.raises(ValueError, match=r"`matrix` must be 2 x 2.*\(2, 3\)"):
        plot_confusion_matrix(["a", "b"], [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="non-negative integer counts"):
        plot_confusion_matrix(["a", "b"], [[1, -2], [0, 1]])
    with pytest.raises(ValueError, match="`normalize` must be True or False. Received: normalize='rows'"):
        plot_confusion_matrix(["a", "b"], [[1, 0], [0, 1]], normalize="rows")


# === evaluate's confusion matrix ===
def test_the_confusion_matrix_of_evaluate_agrees_with_its_accuracy(run):
    model, _, _, test, results = run
    intent = results["intent"]
    task = model.tasks[0]
    assert intent["confusion"]["labels"] == list(task.labels) + ["<unknown>"]
    matrix = np.array(intent["confusion"]["matrix"])
    labelled = sum("intent" in ex.labels for ex in test)
    assert matrix.sum() == labelled == intent["examples"]
    assert np.trace(matrix) == pytest.approx(intent["accuracy"] * labelled)
    # Rows are gold labels: each row holds that label's examples.
    gold = [ex.labels["intent"] for ex in test]
    assert matrix.sum(axis=1).tolist() == [gold.count(label) for label in task.labels] + [1]
    assert matrix[:, -1].sum() == 0  # nothing predicts <unknown>
    # Plain Python types, no nested table, and only sentence classification tasks carry one.
    json.dumps(intent["confusion"])
    assert all(type(count) is int for row in intent["confusion"]["matrix"] for count in row)
    assert "confusion" not in results["slots"]
    assert results["sentiment"]["confusion"] == {"labels": ["negative", "positive"], "matrix": [[0, 0], [0, 0]]}
    assert "confusion" not in format_table(results) and "<unknown>" not in format_table(results)


# === write_report ===
def test_write_report_files_and_json(tmp_path, run, capsys):
    model, history, _, _, results = run
    paths = write_report(str(tmp_path / "run"), results, history=history, tasks=model.tasks, split="valid")
    assert capsys.readouterr().out == ""
    plots = tmp_path / "run" / "plots"
    assert paths == {
        "metrics": str(tmp_path / "run" / "metrics_valid.json"),
        "intent_curves": str(plots / "intent_curves.png"),
        "slots_curves": str(plots / "slots_curves.png"),
        "sentiment_curves": str(plots / "sentiment_curves.png"),
        "intent_confusion": str(plots / "intent_confusion_valid.png"),
        "sentiment_confusion": str(plots / "sentiment_confusion_valid.png"),
    }
    for key, path in paths.items():
        if key != "metrics":
            assert_png(path)
    assert sorted(p.name for p in plots.iterdir()) == sorted(p.rsplit("/", 1)[1] for k, p in paths.items() if k != "metrics")

    text = (tmp_path / "run" / "metrics_valid.json").read_text()

    def refuse(constant):
        raise AssertionError(f"not valid JSON: {constant}")

    loaded = json.loads(text, parse_constant=refuse)
    assert math.isnan(results["sentiment"]["accuracy"])  # nan -> null
    assert loaded["sentiment"]["accuracy"] is None and loaded["sentiment"]["macro_f1"] is None
    assert loaded["intent"]["confusion"] == results["intent"]["confusion"]
    assert loaded["intent"]["accuracy"] == results["intent"]["accuracy"]
    assert loaded["slots"]["per_type"] == results["slots"]["per_type"]
    assert loaded["sentence_accuracy"] == pytest.approx(results["sentence_accuracy"])


def test_write_report_without_history_and_its_errors(tmp_path):
    results = {
        "intent": {"examples": np.int64(2), "accuracy": np.float32(0.5), "macro_f1": float("inf"),
                   "confusion": {"labels": ["a", "b"], "matrix": [[1, 0], [1, 0]]}},
        "sentence_accuracy": float("nan"),
    }
    paths = write_report(tmp_path, results)
    assert set(paths) == {"metrics", "intent_confusion"}
    assert paths["intent_confusion"].endswith("plots/intent_confusion_test.png")
    loaded = json.loads((tmp_path / "metrics_test.json").read_text())
    assert loaded == {"intent": {"examples": 2, "accuracy": 0.5, "macro_f1": None,
                                 "confusion": {"labels": ["a", "b"], "matrix": [[1, 0], [1, 0]]}},
                      "sentence_accuracy": None}
    with pytest.raises(ValueError, match=r"no metric of task\(s\) \['intent'\]"):
        write_report(tmp_path / "other", results, history={"loss": [1.0]})
    assert not (tmp_path / "other").exists()  # nothing written before the check
    with pytest.raises(ValueError, match="`split` must be.*Received: split='../test'"):
        write_report(tmp_path, results, split="../test")
