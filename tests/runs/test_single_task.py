"""Each task trained alone from the multi-task config, and the multi-task run's epoch picked relative to them."""

import json
import os
import pathlib
import re

import pytest

from helpers.data import TINY_ASSISTANT, TINY_FEEDBACK
from mtkeras.cli import main
from mtkeras.evaluation import history_rows
from mtkeras.runs import load_config, single_task_config
from mtkeras.runs.schema import DistillationConfig

CONFIG = """\
name: two-sources
tasks:
  intent: {{kind: sentence_classification, dropout: 0.0}}
  slots: {{kind: token_tagging, dropout: 0.0}}
  sentiment: {{kind: sentence_classification, dropout: 0.0}}
datasets:
  assistant: {{reader: jsonl, train: {assistant}, valid: {assistant}, test: {assistant}, tasks: {{intent: intent, slots: slots}}}}
  feedback: {{reader: jsonl, train: {feedback}, valid: {feedback}, tasks: {{sentiment: sentiment}}}}
mixing: {{examples_per_epoch: 26}}
encoder:
  config: {{embedding_dim: 8, hidden_dim: 8, num_layers: 1, char_dim: 0, dropout: 0.0, word_dropout: 0.0, singleton_dropout: 0.0}}
training: {{epochs: 8, batch_size: 4, monitor: val_slots_f1, optimizer: {{learning_rate: 0.05}}, schedule: {{name: constant}}}}
"""


def write_config(tmp_path):
    assistant, feedback = tmp_path / "assistant.jsonl", tmp_path / "feedback.jsonl"
    assistant.write_text("".join(json.dumps({"text": t, "intent": i, "slots": s.split()}) + "\n" for t, i, s in TINY_ASSISTANT))
    feedback.write_text("".join(json.dumps({"text": t, "sentiment": s}) + "\n" for t, s in TINY_FEEDBACK))
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(assistant=assistant, feedback=feedback))
    return path


@pytest.fixture
def config_path(tmp_path):
    return write_config(tmp_path)


@pytest.fixture(scope="module")
def single_task_runs(tmp_path_factory):
    """`(config path, multi-task run dir)` with each task trained alone beside it (`--single-task`)."""
    tmp_path = tmp_path_factory.mktemp("single")
    path = write_config(tmp_path)
    run_dir = str(tmp_path / "mt")
    assert main(["train", str(path), "--run-dir", run_dir, "--single-task", "--progress", "none"]) == 0
    return path, run_dir


def test_a_single_task_config_keeps_the_task_its_datasets_and_everything_else(config_path, tmp_path):
    config = load_config(str(config_path))
    slots = single_task_config(config, "slots", run_dir=str(tmp_path / "runs" / "mt"))
    assert list(slots.tasks) == ["slots"] and list(slots.datasets) == ["assistant"]
    assert slots.datasets["assistant"].tasks == {"slots": "slots"}
    assert slots.run_dir == str(tmp_path / "runs" / "mt-single" / "slots")
    assert slots.name == "two-sources-slots" and slots.export_name == "two-sources-slots"
    assert slots.encoder == config.encoder and slots.training == config.training  # its own monitor: val_slots_f1
    distilled = config.model_copy(update={"distillation": DistillationConfig(other_sources=True)})
    assert single_task_config(distilled, "slots").distillation is None  # the teacher learns from gold alone
    sentiment = single_task_config(config, "sentiment")
    assert list(sentiment.datasets) == ["feedback"]
    assert sentiment.training.monitor is None  # val_slots_f1 is not its log: its own score picks its epoch
    assert sentiment.run_dir.endswith("runs/two-sources-single/sentiment")
    with pytest.raises(ValueError, match="no task 'topic'"):
        single_task_config(config, "topic")
    # `single_task_dir` puts them elsewhere (one folder shared by several configs).
    elsewhere = config.model_copy(update={"single_task_dir": str(tmp_path / "alone")})
    assert single_task_config(elsewhere, "slots").run_dir == str(tmp_path / "alone" / "slots")
    assert single_task_config(elsewhere, "slots").single_task_dir is None
    assert single_task_config(elsewhere, "slots", run_dir=str(tmp_path / "other")).run_dir == str(tmp_path / "alone" / "slots")


def test_each_task_alone_scores_on_dev_and_test_and_is_kept_once_finished(single_task_runs, capsys):
    config_path, run_dir = single_task_runs
    tmp_path = pathlib.Path(run_dir).parent
    scores = json.loads((tmp_path / "mt-single" / "scores.json").read_text())
    assert set(scores) == {"intent", "slots", "sentiment"}
    for task, metric in (("intent", "accuracy"), ("slots", "f1"), ("sentiment", "accuracy")):
        rows = history_rows(str(tmp_path / "mt-single" / task / "history.csv"))
        best = scores[task]["best_epoch"]
        assert scores[task]["metric"] == metric
        assert scores[task]["valid"] == pytest.approx(rows[best - 1][f"val_{task}_{metric}"])
    assert scores["intent"]["test"] is not None and scores["sentiment"]["test"] is None  # feedback has no test split

    # Finished runs are kept: a second call trains nothing.
    capsys.readouterr()
    main(["train", str(config_path), "--run-dir", run_dir, "--single-task", "--progress", "none"])
    printed = capsys.readouterr().out
    assert printed.count("is finished; kept") == 3 and "note:" not in printed
    # Kept too when the config now says otherwise, with a note of what differs.
    main(["train", str(config_path), "--run-dir", run_dir, "--single-task", "--progress", "none",
          "--set", "training.epochs=9"])
    printed = capsys.readouterr().out
    assert printed.count("is finished; kept") == 3
    assert printed.count("note: it was trained with training.epochs: 8 (now 9)") == 3



def test_a_distilled_run_learns_from_its_single_task_teachers_scores_relative_to_them_and_exports(
        single_task_runs, tmp_path, capsys):
    import keras
    import numpy as np

    import mtkeras
    from helpers.serving import assert_answers_through_tf_serving_loader
    from mtkeras.runs import declare_tasks, read_split
    from mtkeras.runs.teachers import cached_labelling, teacher_targets

    config_path, teachers_of = single_task_runs
    # The same config, with distillation from the single-task runs, which `single_task_dir` points at.
    student_dir = str(tmp_path / "student")
    text = config_path.read_text() + (f"run_dir: {student_dir}\n"
                                      f"single_task_dir: {teachers_of}-single\n"
                                      "distillation: {other_sources: true}\n"
                                      f"export: {{after_training: true, base_path: {tmp_path / 'served'}}}\n")
    config_path = tmp_path / "distilled.yaml"
    config_path.write_text(text)
    config = load_config(str(config_path))
    capsys.readouterr()
    outcome = mtkeras.runs.train(config, verbose=0)
    printed = capsys.readouterr().out
    assert printed.count("training texts (assistant, feedback); cached in") == 3  # every teacher labels every text
    assert len(re.findall(r"teacher labelled (\d+) of \1 texts", printed)) == 3  # how far each is, as it goes
    # The best epoch is picked by each task's dev score relative to its single-task model's.
    assert "relative to its single-task model's" in printed
    scores = json.loads((pathlib.Path(teachers_of + "-single") / "scores.json").read_text())
    # A task whose single-task model scored 0 on dev has no reference (its score counts as it is).
    references = {task: score["valid"] for task, score in scores.items() if score["valid"]}
    assert any(0 < value < 1 for value in references.values())  # dividing by them changes the mean
    for row in history_rows(os.path.join(student_dir, "history.csv")):
        relative = [row[f"val_{task}_{scores[task]['metric']}"] / references.get(task, 1.0) for task in scores]
        assert row["val_score"] == pytest.approx(sum(relative) / 3, rel=1e-5)
    cache = pathlib.Path(student_dir) / "teachers"
    assert sorted(p.name for p in cache.iterdir()) == ["intent.npz", "sentiment.npz", "slots.npz"]

    # Read back on a second call (a resumed run): the same targets, nothing predicted.
    sources = read_split(config, "train")
    tasks = declare_tasks(config, [ex for items in sources.values() for ex in items])
    took = {}
    again = teacher_targets(config, tasks, sources, seconds=took)
    assert capsys.readouterr().out.count("predictions read from") == 3
    # The labelling time is kept with the cache, and counted in the run's outcome.
    assert sorted(took) == ["intent", "sentiment", "slots"] and all(t > 0 for t in took.values())
    assert outcome["teacher_seconds"] == pytest.approx(sum(took.values()), abs=0.1)
    assert {task: seconds for task, (seconds, _) in cached_labelling(student_dir).items()} == took
    teacher = mtkeras.load_model(str(pathlib.Path(teachers_of + "-single") / "intent" / "model.keras"))
    texts = [ex.text for ex in sources["feedback"]]
    np.testing.assert_allclose(np.stack(again["feedback"]["intent"]), teacher.predict(texts)["intent"], atol=1e-5)
    assert again["assistant"]["slots"][0].shape == (len(sources["assistant"][0].words), tasks[1].num_labels)

    # A changed teacher is asked again.
    kernel = teacher.get_layer("intent").dense.kernel
    changed_kernel = kernel.numpy()
    changed_kernel[:, 0] += 1.0  # the first label's logit moves (a shift of every logit would not show)
    kernel.assign(changed_kernel)
    teacher.save(str(pathlib.Path(teachers_of + "-single") / "intent" / "model.keras"))
    changed = teacher_targets(config, tasks, sources)
    printed = capsys.readouterr().out
    assert "intent's teacher" in printed and "labels 13 training texts" in printed
    assert printed.count("predictions read from") == 2
    assert not np.allclose(np.stack(changed["feedback"]["intent"]), np.stack(again["feedback"]["intent"]))

    # The student exports and answers through TF Serving's loader; it was saved compiled as any model.
    assert outcome["epochs_done"] >= 1 and os.path.exists(outcome["export_path"])
    assert_answers_through_tf_serving_loader(outcome["export_path"], ["book a table in rome", "that was great"])
    student = keras.models.load_model(outcome["model_path"])
    assert student.compiled and "intent" in student.predict(["play jazz"])


def test_a_teacher_says_how_far_it_is_at_each_tenth_of_its_texts(capsys):
    from mtkeras.runs.teachers import _progress

    done = _progress("slots", 100, 7)
    for batch in range(15):  # 15 batches of 7: 105 texts' worth, the last one short
        done(batch)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("labelled ")[1].split(" texts")[0] for line in lines] == [
        "14 of 100", "21 of 100", "35 of 100", "42 of 100", "56 of 100", "63 of 100", "70 of 100", "84 of 100",
        "91 of 100", "100 of 100"]
    assert all(line.startswith("[mtkeras] distillation: slots's teacher labelled ") for line in lines)


def test_exported_teachers_label_every_text_as_their_models_do_in_the_order_given(single_task_runs, tmp_path):
    """A teacher given as an export version labels as the model it was exported from; batched by length,
    each text's distribution still lands on that text (the token task's trimmed to its words)."""
    import numpy as np
    import tensorflow as tf

    import mtkeras
    from mtkeras.models.traced import length_order
    from mtkeras.runs import declare_tasks, read_split
    from mtkeras.runs.teachers import _predict, teacher_targets

    config_path, teachers_of = single_task_runs
    models, exports = {}, {}
    for name in ("intent", "slots"):
        models[name] = mtkeras.load_model(str(pathlib.Path(teachers_of + "-single") / name / "model.keras"))
        exports[name] = str(tmp_path / name / "1")
        models[name].export(exports[name])
    distilled = tmp_path / "exported-teachers.yaml"
    distilled.write_text(config_path.read_text() + f"run_dir: {tmp_path / 'student'}\n"
                         "distillation: {other_sources: true, tasks: [intent, slots], "
                         f"teachers: {{intent: {exports['intent']}, slots: {exports['slots']}}}}}\n")
    config = load_config(str(distilled))
    sources = read_split(config, "train")
    tasks = {task.name: task for task in declare_tasks(config, [ex for items in sources.values() for ex in items])}
    examples = [ex for items in sources.values() for ex in items]
    texts = [ex.text for ex in examples]
    assert list(length_order(tf.constant(texts))) != list(range(len(texts)))  # the order does move texts
    # One batch: the reference does not depend on batching by length.
    expected = {name: models[name].predict(texts, batch_size=len(texts), verbose=0)[name] for name in exports}

    targets = teacher_targets(config, list(tasks.values()), sources)
    for name in exports:
        given = [row for source in sources for row in targets[source][name]]
        alone = _predict(exports[name], tasks[name], texts, batch_size=2)  # several batches of the length order
        for i, example in enumerate(examples):
            want = expected[name][i, : len(example.words)] if name == "slots" else expected[name][i]
            for got in (given[i], alone[i]):
                assert got.shape == want.shape
                np.testing.assert_allclose(got, want, atol=1e-5)
    assert all(set(by_task) == {"intent", "slots"} for by_task in targets.values())  # sentiment: gold alone
