"""benchmarks/multitask.py: the shared model against single-task models, run in --quick mode.

The full run reads ../shared/datasets; the test writes tiny files in the same
layout (SNIPS folders, WNUT-17 CoNLL, SST-2 "text<TAB>label") and runs the
whole script on them, then checks the comparison it reports.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from helpers.processes import REPO_ROOT, repository_commit
from helpers.data import TINY_ASSISTANT, TINY_ENTITIES, TINY_FEEDBACK

ROOT = REPO_ROOT
SCRIPT = os.path.join(ROOT, "benchmarks", "multitask.py")
TASKS = ("intent", "slots", "entities", "sentiment")


def load_benchmark():
    spec = importlib.util.spec_from_file_location("multitask_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_data_dir(root, copies=3):
    """The three sources in the layout of ../shared/datasets, every split from the tiny texts."""
    def write(path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    for split in ("train", "valid", "test"):
        n = copies if split == "train" else 1
        assistant = TINY_ASSISTANT * n
        # SNIPS lines end with a space, as in the real files.
        write(f"{root}/snips/{split}/seq.in", "".join(f"{t} \n" for t, _, _ in assistant))
        write(f"{root}/snips/{split}/seq.out", "".join(f"{s} \n" for _, _, s in assistant))
        write(f"{root}/snips/{split}/label", "".join(f"{i}\n" for _, i, _ in assistant))
        sentiment = "".join(f"{t} \t{1 if s == 'positive' else 0}\n" for t, s in TINY_FEEDBACK * n)
        entities = "\n".join(
            "".join(f"{w}\t{g}\n" for w, g in zip(t.split(), tags.split())) for t, tags in TINY_ENTITIES * n
        )
        names = {"train": ("train", "wnut17train.conll", "sentiment-train"),
                 "valid": ("dev", "emerging.dev.conll", "sentiment-dev"),
                 "test": ("test", "emerging.test.annotated", "sentiment-test")}[split]
        write(f"{root}/wnut17/{names[0]}/{names[1]}", entities)
        write(f"{root}/sst2/{names[0]}/{names[2]}", sentiment)


@pytest.mark.slow
def test_quick_run_compares_one_shared_model_with_four_single_task_models(tmp_path, capsys):
    benchmark = load_benchmark()
    data, out, work = tmp_path / "data", tmp_path / "out", tmp_path / "work"
    write_data_dir(data)
    # --ledger (benchmarks/results/*.jsonl): the finished runs are recorded, then seed 0's latency.
    ledger = tmp_path / "results" / "runs.jsonl"
    result = subprocess.run(
        [sys.executable, SCRIPT, "--data-dir", str(data), "--quick", "--output-dir", str(out), "--work-dir", str(work),
         "--ledger", str(ledger)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    report = json.loads(result.stdout)  # stdout is the one JSON object; the runs' tables go to stderr
    assert json.load(open(out / "multitask_bilstm.json")) == report
    assert report["quick"] and report["settings"]["seeds"] == [0]

    # Every model trained through `mtkeras train`'s path: run directory, export per seed.
    runs = report["runs"]
    assert sorted(row["model"] for row in runs) == sorted(("multitask",) + TASKS)
    for row in runs:
        assert row["tasks"] == (list(TASKS) if row["model"] == "multitask" else [row["model"]])
        assert (work / row["export_path"] / "saved_model.pb").exists()
        assert 1 <= row["best_epoch"] <= row["epochs_done"] == 1
        assert row["monitor"] == "val_score"  # the package default picks every model's epoch
        assert all(0.0 <= value <= 100.0 for value in row["test"].values())
        run_state = json.load(open(benchmark.run_dir(str(work), row["model"], row["seed"]) + "/run.json"))
        assert run_state["parameters"] == row["parameters"] and run_state["status"] == "finished"
        assert run_state["trainable_parameters"] == row["trainable_parameters"] <= row["parameters"]
        assert row["train_seconds"] == pytest.approx(run_state["train_seconds"] - row["paused_seconds"], abs=0.11)
    # Each row names the code that trained it (run.json's sittings), and the report the code that wrote it.
    commit, dirty = repository_commit()
    code = commit[:7] + ("+dirty" if dirty else "")
    assert report["commit"] == code and all(row["commits"] == [code] for row in runs)
    assert sorted(row["export_path"] for row in runs) == sorted(
        os.path.join("saved_models", model, "1") for model in ("multitask",) + TASKS
    )
    # Each test split is scored whole: 9 SNIPS texts, 4 tweets, 4 SST-2 sentences.
    assert report["tasks"]["intent"]["test_examples"] == 9 and report["tasks"]["entities"]["test_examples"] == 4
    assert report["tasks"]["sentiment"]["test_examples"] == 4

    # One encoder instead of four.
    parameters = report["cost"]["parameters"]
    assert parameters["single_task_total"] == sum(parameters["single_task"].values())
    assert parameters["multitask"] < parameters["single_task_total"]
    # Without pretrained vectors every weight trains.
    assert parameters["trainable"] == {"multitask": parameters["multitask"], "single_task_total":
                                       parameters["single_task_total"], "ratio": parameters["ratio"]}
    assert 0 < report["cost"]["export_bytes"]["multitask"] < report["cost"]["export_bytes"]["single_task_total"]
    latency = report["latency"]
    assert latency["calls_each"] == latency["texts"] == 12  # 9 + 4 + 4 test texts, taken in turn up to the shortest
    assert 0 < latency["multitask"]["p50_ms"] <= latency["multitask"]["p90_ms"]
    assert 0 < latency["single_task_in_turn"]["p50_ms"]
    # The models timed answer through one serving graph, this code's: each run's own export, written by this
    # very process (a run exported by another sitting is exported again, below).
    assert latency["exported_at"] == code and not list(work.glob("latency_exports-*"))
    lines = [json.loads(line) for line in open(ledger)]
    assert [line["run"] for line in lines[:-1]] == runs
    # One loop, timed as the shared row finished: recorded with its runs' settings, the report's latency.
    assert lines[-1]["keys"] == {row["model"]: row["key"] for row in runs}
    assert lines[-1]["latency"] == {k: v for k, v in latency.items() if k != "loops"} and latency["loops"] == 1

    markdown = open(out / "RESULTS.md").read()
    assert "quick run: small slices, not a result" in markdown
    assert f"Code: models trained at {code}; report written at {code}.\n" in markdown
    for task in TASKS:
        shared = report["tasks"][task]["multitask"]
        assert f"| {task} (" in markdown and f"{shared['mean']:.2f} ± {shared['std']:.2f}" in markdown
    assert "Stack-Propagation 2019: 94.2" in markdown and "CrossWeigh + Flair: 50.03" in markdown

    def benchmark_run(work_dir, out, *more):  # in this process: the runs from here on train nothing
        capsys.readouterr()
        benchmark.main(["--data-dir", str(data), "--quick", "--work-dir", str(work_dir), "--output-dir", str(out),
                        *more])
        return capsys.readouterr()

    # --resume on the same work dir (a long run spread over several sittings): every run there is
    # finished, so none trains again, and the report holds the same rows. A run whose run.json does
    # not name its export (written before it did) is exported again, as the next version, once.
    state_path = work / "runs" / "single-seed0" / "intent" / "run.json"
    state = json.load(open(state_path))
    assert state.pop("export_path") == str(work / "saved_models" / "intent" / "1")
    state.pop("trainable_parameters")  # nor its trainable weights: counted on its saved model
    json.dump(state, open(state_path, "w"))
    # A run trained before run.json kept its calibration (the token tasks' outside weights) is calibrated again,
    # once, and exported again.
    entities_path = work / "runs" / "single-seed0" / "entities" / "run.json"
    state = json.load(open(entities_path))
    state.pop("calibration")
    json.dump(state, open(entities_path, "w"))
    again = benchmark_run(work, tmp_path / "out2", "--resume")
    assert again.err.count("[multitask] reusing the finished run") == 5 and "epoch 1/1" not in again.err
    # Timed again: the two runs exported here as they are, the three exported by the first process anew.
    (exports,) = work.glob("latency_exports-*")
    assert sorted(os.listdir(exports)) == ["multitask", "sentiment", "slots"]
    assert json.loads(again.out)["latency"]["calls_each"] == 12
    assert again.err.count("[multitask] calibrating the finished run") == 1
    assert "calibration" in json.load(open(entities_path))
    rows = json.loads(again.out)["runs"]
    assert [row["export_path"] for row in rows if row["model"] in ("intent", "entities")] == [
        os.path.join("saved_models", task, "2") for task in ("intent", "entities")]
    assert json.load(open(state_path))["export_path"] == str(work / "saved_models" / "intent" / "2")
    exported = ("export_path", "export_bytes")
    assert json.dumps([{k: v for k, v in row.items() if k not in exported} for row in rows]) == json.dumps(
        [{k: v for k, v in row.items() if k not in exported} for row in runs])

    # benchmarks/score_checkpoint.py scores a run's checkpoint as the run scored its best epoch.
    spec = importlib.util.spec_from_file_location("score_checkpoint", os.path.join(ROOT, "benchmarks",
                                                                                   "score_checkpoint.py"))
    score_checkpoint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score_checkpoint)
    shared = benchmark.run_dir(str(work), "multitask", 0)
    score_checkpoint.main([shared, "--weights", "best", "--no-record"])
    scores = json.loads(capsys.readouterr().out)
    for split in ("valid", "test"):
        reported = json.load(open(os.path.join(shared, f"metrics_{split}.json")))
        assert scores[split] == {task: round(100 * reported[task]["f1" if task in ("slots", "entities") else "accuracy"], 2)
                                 for task in TASKS}

    # benchmarks/paired.py puts an interval around each shared − single-task gap of a seed, from the same runs.
    spec = importlib.util.spec_from_file_location("paired", os.path.join(ROOT, "benchmarks", "paired.py"))
    paired = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(paired)
    paired_ledger = tmp_path / "results" / "paired.jsonl"
    paired.main(["--work-dir", str(work), "--seed", "0", "--samples", "200", "--ledger", str(paired_ledger)])
    gaps = json.loads(capsys.readouterr().out)
    assert list(gaps["rows"]) == ["multitask"] and gaps["samples"] == 200
    test_scores = {row["model"]: row["test"] for row in rows}
    for task, gap in gaps["rows"]["multitask"].items():
        assert gap["single"] == round(test_scores[task][task], 2) and gap["shared"] == round(test_scores["multitask"][task], 2)
        assert gap["interval"][0] <= gap["interval"][1] and 0.0 <= gap["share_below_zero"] <= 1.0
    (line,) = [json.loads(text) for text in open(paired_ledger)]
    assert line["rows"] == gaps["rows"] and line["command"].startswith("python benchmarks/paired.py --work-dir ")
    # Against another shared row instead (here itself): nothing between them on any draw.
    paired.main(["--work-dir", str(work), "--samples", "50", "--baseline", "multitask", "--rows", "multitask"])
    itself = json.loads(capsys.readouterr().out)
    assert itself["baseline"] == "multitask" and len(itself["rows"]["multitask"]) == 4
    assert all((gap["difference"], gap["interval"]) == (0.0, [0.0, 0.0]) for gap in itself["rows"]["multitask"].values())
    with pytest.raises(SystemExit):
        paired.main(["--work-dir", str(work), "--baseline", "multitask_distill"])
    assert "no finished run multitask_distill-seed0" in capsys.readouterr().err

    # The end of a sitting records the finished runs (--no-train, beside a training process: it measures
    # no latency). On a machine without the work folder nothing trains again and the report is the same,
    # latency included.
    sitting = tmp_path / "results" / "sitting.jsonl"
    recorded = benchmark_run(work, tmp_path / "out3", "--ledger", str(sitting), "--no-train")
    assert "latency of multitask seed 0 not measured: --no-train measures nothing" in recorded.err
    assert [json.loads(line)["run"] for line in open(sitting)] == rows  # as the resumed report gave them, in order
    elsewhere = benchmark_run(tmp_path / "new-machine", tmp_path / "out5", "--ledger", str(ledger), "--resume")
    assert elsewhere.err.count("from the ledger") == 5 and "epoch 1/1" not in elsewhere.err
    assert "latency" not in elsewhere.err  # the ledger's loop timed the plain row: nothing to time again
    moved = json.loads(elsewhere.out)
    assert moved["runs"] == report["runs"] and moved["latency"] == report["latency"] and moved["tasks"] == report["tasks"]
    assert len(open(ledger).read().splitlines()) == 6  # nothing new to record
    # A machine with neither the runs nor their lines says what is still to train, and trains nothing.
    ledger = tmp_path / "other.jsonl"
    bare = benchmark_run(tmp_path / "bare", tmp_path / "out6", "--ledger", str(ledger), "--no-train")
    missing = json.loads(bare.out)
    assert missing == {"finished": 0, "still_to_train": [f"{model} seed 0" for model in TASKS + ("multitask",)]}
    assert not ledger.exists()


def test_summary_means_deltas_and_goals():
    benchmark = load_benchmark()

    def row(model, seed, scores, seconds, parameters):
        tasks = list(TASKS) if model.startswith("multitask") else [model]
        return {"model": model, "seed": seed, "tasks": tasks, "test": dict(zip(tasks, scores)),
                "test_examples": {t: 10 for t in tasks}, "train_seconds": seconds, "epochs_done": 3,
                "best_epoch": 2, "monitor": "val_score", "parameters": parameters, "export_bytes": parameters * 4}

    rows = []
    for seed, shift in ((0, 0.0), (1, 1.0)):
        rows.append(row("multitask", seed, [98.0 + shift, 93.0 + shift, 40.0 + shift, 80.0 + shift], 100.0, 1000))
        rows.append(row("multitask_distill", seed, [97.0 + shift, 94.5 + shift, 40.0 + shift, 79.6 + shift], 120.0, 1000))
        rows[-1]["teacher_seconds"] = 6.0  # the teachers labelling its texts
        rows += [row("intent", seed, [97.0 + shift], 50.0, 900), row("slots", seed, [94.0 + shift], 50.0, 900),
                 row("entities", seed, [40.2 + shift], 50.0, 700), row("sentiment", seed, [80.0 + shift], 50.0, 800)]
    latency = {"texts": 3, "calls_each": 3, "multitask": {"p50_ms": 2.0, "p90_ms": 3.0},
               "single_task_in_turn": {"p50_ms": 8.0, "p90_ms": 9.0}, "ratio_p50": 0.25,
               "variants": {"distill": {"p50_ms": 2.4, "p90_ms": 3.1, "ratio_p50": 0.3}}}

    class Args:
        encoder, quick, argv, epochs, patience, max_examples, batch_size = None, False, ["--data-dir", "d"], 3, 2, None, None
        monitor, monitor_window, vectors, keep_case, variant_seeds = None, None, None, False, {}

    summary = benchmark.summarize(rows, latency, Args)
    intent, slots, entities = (summary["tasks"][t] for t in ("intent", "slots", "entities"))
    assert intent["multitask"] == {"mean": 98.5, "std": 0.71, "runs": [98.0, 99.0]}
    assert intent["delta"] == 1.0 and intent["goal_met"]
    assert slots["delta"] == -1.0 and not slots["goal_met"]  # more than 0.5 points worse
    assert entities["delta"] == -0.2 and entities["goal_met"]  # within 0.5 points
    assert summary["cost"]["parameters"]["ratio"] == round(1000 / 3300, 3)
    assert summary["cost"]["train_seconds"]["ratio"] == 0.5
    assert summary["goals"] == {
        "every_task_within_0.5_points": False,
        "parameters_at_most_40_percent": True,
        "train_time_at_most_50_percent": True,
        "one_call_faster_than_four": True,
    }
    # The distilled rows: each task against its single-task model, teachers' time counted.
    distill = summary["variants"]["distill"]
    assert distill["tasks"]["slots"]["delta"] == 0.5 and distill["tasks"]["intent"]["delta"] == 0.0
    assert distill["tasks"]["sentiment"]["delta"] == -0.4 and distill["every_task_within_0.5_points"]
    # Its cost counts its teachers: their training and their labelling of its texts.
    assert distill["train_seconds_with_teachers"]["mean"] == 120.0 + 4 * 50.0 + 6.0
    assert distill["seeds"] == [0, 1] and distill["latency"]["ratio_p50"] == 0.3
    assert set(summary["variants"]) == {"distill"}
    # A row with fewer seeds (--variant-seeds) is set against the single-task models of its own seeds.
    rows.append(row("multitask_private", 1, [98.0, 95.0, 41.2, 81.0], 110.0, 1100))
    private = benchmark.summarize(rows, latency, Args)["variants"]["private"]
    assert private["seeds"] == [1] and private["tasks"]["intent"]["delta"] == 0.0
    assert private["tasks"]["entities"]["delta"] == 0.0 and private["tasks"]["sentiment"]["delta"] == 0.0
    assert private["latency"] is None and private["train_seconds_with_teachers"]["mean"] == 110.0
    rows.pop()
    markdown = benchmark.results_markdown([summary])
    assert "| distill (2) | 97.50 ± 0.71 (+0.00) |" in markdown and "| 120 (326) | 2.40 ms (30.0%) | yes |" in markdown
    assert "## Encoder: bilstm (package default), best epoch by val_score, all data\n" in markdown
    assert "| slots (snips, entity F1 (exact span)) | 93.50 ± 0.71 | 94.50 ± 0.71 | -1.00 | **no** |" in markdown
    assert "| 30.3% | ≤ 40 %: met |" in markdown
    assert "trainable parameters" not in markdown  # rows from before they were counted
    assert "models trained at" not in markdown and "Code: report written at" in markdown  # nor their code


def test_rows_name_the_commits_that_trained_them(tmp_path):
    benchmark = load_benchmark()

    def run_with(sittings):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        state = {"status": "finished"} if sittings is None else {"status": "finished", "sittings": sittings}
        (folder / "run.json").write_text(json.dumps(state))
        return benchmark.trained_at(str(folder))

    sha, other = "a" * 40, "b" * 40
    assert run_with(None) == []  # trained before run.json kept its code
    assert run_with([{"from_epoch": 0, "commit": sha, "dirty": False},
                     {"from_epoch": 3, "commit": sha, "dirty": False},
                     {"from_epoch": 5, "commit": other, "dirty": True}]) == ["aaaaaaa", "bbbbbbb+dirty"]
    # Resumed by code that records sittings: the epochs before its first record ran on code nobody wrote down.
    assert run_with([{"from_epoch": 16, "commit": sha, "dirty": False}]) == ["unknown", "aaaaaaa"]
    assert run_with([{"from_epoch": 0, "commit": None, "dirty": None}]) == ["unknown"]  # not a checkout


def test_variant_configs_add_private_layers_and_single_task_teachers(tmp_path):
    import yaml

    from mtkeras.runs import parse_config
    from mtkeras.runs.single_task import single_task_config
    from mtkeras.runs.teachers import teacher_path

    benchmark = load_benchmark()

    class Args:
        data_dir, max_examples, epochs, patience, encoder, batch_size, monitor = str(tmp_path), None, None, None, None, None, None
        monitor_window = None
        vectors, keep_case = "glove-6b-50d", True

    work = str(tmp_path / "W")
    both = benchmark.model_config("multitask_private_distill", list(TASKS), Args, work, 2, "private_distill")
    assert both["tasks"]["slots"]["private"] == {"sequence": "bilstm", "units": 64}
    assert both["tasks"]["intent"]["private"] == {"dense": [128]}
    assert both["distillation"] == {"other_sources": True}
    assert both["encoder"] == {"vectors": {"source": "glove-6b-50d"}, "lowercase": False}
    blocks = parse_config(yaml.safe_dump(benchmark.model_config(
        "multitask_private-transformer_distill", list(TASKS), Args, work, 2, "private-transformer_distill")))
    assert blocks.tasks["entities"].private == {"sequence": "transformer", "units": 128, "heads": 4}
    assert blocks.tasks["intent"].private == {"dense": [128]} and blocks.distillation.other_sources
    cheap = parse_config(yaml.safe_dump(benchmark.model_config(
        "multitask_private-feedforward_distill", list(TASKS), Args, work, 2, "private-feedforward_distill")))
    assert cheap.tasks["slots"].private == {"sequence": "feedforward", "units": 256}
    assert cheap.tasks["sentiment"].private == {"dense": [128]} and cheap.distillation.other_sources
    attention = parse_config(yaml.safe_dump(benchmark.model_config(
        "m", list(TASKS), Args, work, 0, "private-transformer-attention_distill")))
    assert attention.tasks["sentiment"].private == {"dense": [128], "pooling": "attention"}
    assert attention.tasks["slots"].private == blocks.tasks["slots"].private and attention.distillation.other_sources
    wide = parse_config(yaml.safe_dump(benchmark.model_config("multitask_wide_distill", list(TASKS), Args, work, 0,
                                                              "wide_distill")))
    assert wide.encoder.config == {"hidden_dim": 256} and wide.distillation.other_sources
    assert wide.encoder.vectors.source == "glove-6b-50d" and all(task.private is None for task in wide.tasks.values())
    # The shared rows' single-task models are the benchmark's single-task rows of the same seed: they are the
    # teachers, and they pick the best epoch (relative scores).
    config = parse_config(yaml.safe_dump(both))
    entities = benchmark.model_config("entities", ["entities"], Args, work, 2)
    assert single_task_config(config, "entities").run_dir == entities["run_dir"] == benchmark.run_dir(work, "entities", 2)
    model_file = os.path.join(entities["run_dir"], "model.keras")
    os.makedirs(entities["run_dir"])
    open(model_file, "w").close()
    assert teacher_path(config, "entities") == model_file
    assert "single_task_dir" not in entities
    assert "mixing" not in both  # the package default: temperature 2
    every = benchmark.model_config("multitask_private_distill_annealed", list(TASKS), Args, work, 0,
                                   "private_distill_annealed")
    assert every["mixing"] == {"sampling": "annealed"} and every["distillation"] and every["tasks"]["slots"]["private"]
    annealed = parse_config(yaml.safe_dump(benchmark.model_config("multitask_annealed", list(TASKS), Args, work, 0,
                                                                  "annealed")))
    assert annealed.mixing.sampling == "annealed" and annealed.distillation is None
    plain = benchmark.model_config("multitask", list(TASKS), Args, work, 0)
    assert "distillation" not in plain and all("private" not in task for task in plain["tasks"].values())
    assert plain["training"]["epochs"] is None and "monitor_window" not in plain["training"]  # the package's
    # Other private parts (benchmarks/private_latency.py): a kind left out gets none.
    sentence_only = benchmark.model_config("m", list(TASKS), Args, work, 0, "private",
                                           private_layers={"sentence_classification": {"dense": [64]}})
    assert sentence_only["tasks"]["sentiment"]["private"] == {"dense": [64]}
    assert "private" not in sentence_only["tasks"]["slots"] and "private" not in sentence_only["tasks"]["entities"]
    parse_config(yaml.safe_dump(sentence_only))
    Args.monitor_window = 3  # --monitor-window: every model picks its epoch by the window's mean
    assert parse_config(yaml.safe_dump(benchmark.model_config("m", list(TASKS), Args, work, 0))).selection == (
        "val_score_mean3", "max")



def test_the_shipped_recipe_is_the_proofs_best_row(tmp_path):
    """configs/multitask_distilled.yaml, the README's recipe, trains the model the full-data proof measured
    as its best shared row (`private-transformer_distill` with the proof's flags, a row of the ledger): every
    setting but the paths, names, seed and export."""
    import yaml

    from mtkeras.runs import config_to_dict, load_config, parse_config
    from mtkeras.runs.trainer import run_epochs, run_patience

    benchmark = load_benchmark()
    write_data_dir(tmp_path / "data", copies=1)
    args = benchmark.parse_args(["--data-dir", str(tmp_path / "data"), "--vectors", "glove-6b-50d", "--keep-case",
                                 "--monitor-window", "3"])
    model, variant = "multitask_private-transformer_distill", "private-transformer_distill"
    # These flags are the measured row's: its settings are a key of the repository's ledger.
    key = benchmark.settings_key(model, list(TASKS), args, 0, variant)
    with open(os.path.join(ROOT, "benchmarks", "results", "multitask_full_runs.jsonl"), encoding="utf-8") as f:
        assert key in {json.loads(line)["run"]["key"] for line in f if '"run"' in line}
    proof = config_to_dict(parse_config(yaml.safe_dump(benchmark.model_config(
        model, list(TASKS), args, str(tmp_path / "W"), 0, variant))))
    shipped_config = load_config(os.path.join(ROOT, "configs", "multitask_distilled.yaml"))
    shipped = config_to_dict(shipped_config)
    # The proof writes the encoder's recipe out (epochs, patience); the shipped config leaves it to the package.
    assert (run_epochs(shipped_config), run_patience(shipped_config)) == (
        proof["training"]["epochs"], proof["training"]["patience"])
    paths = {}
    for config, root in ((shipped, "data"), (proof, str(tmp_path / "data"))):
        for field in ("name", "run_dir", "single_task_dir", "export"):
            config.pop(field)
        for field in ("seed", "epochs", "patience"):
            config["training"].pop(field)
        paths[root] = {name: {split: os.path.relpath(dataset.pop(split), root) for split in ("train", "valid", "test")}
                       for name, dataset in config["datasets"].items()}
    assert shipped == proof
    assert paths["data"] == paths[str(tmp_path / "data")]


def ledger_row(model, seed, key, started, **fields):
    """A run line of the ledger, with every field a report reads."""
    tasks = list(TASKS) if model.startswith("multitask") else [model]
    return {"model": model, "seed": seed, "key": key, "started": started, "tasks": tasks,
            "test": {task: 90.0 for task in tasks}, "test_examples": {task: 10 for task in tasks},
            "train_seconds": 100.0, "epochs_done": 5, "best_epoch": 3, "parameters": 1000,
            "export_path": f"saved_models/{model}/1", "export_bytes": 4000, "commits": ["abc1234"], **fields}


def test_the_ledger_keeps_finished_runs_by_their_settings(tmp_path):
    benchmark = load_benchmark()

    class Args:
        data_dir, max_examples, epochs, patience, encoder, batch_size, monitor = "/a/data", None, 30, 5, None, None, None
        monitor_window, vectors, keep_case = 3, "glove-6b-50d", True

    # The same run on another machine (other data and work folders) has the same settings; a seed, a row or a
    # setting of its own makes another run.
    key = benchmark.settings_key("multitask_distill", list(TASKS), Args, 0, "distill")
    Args.data_dir = "/b/elsewhere"
    assert benchmark.settings_key("multitask_distill", list(TASKS), Args, 0, "distill") == key
    assert benchmark.settings_key("multitask_distill", list(TASKS), Args, 1, "distill") != key
    assert benchmark.settings_key("multitask_private", list(TASKS), Args, 0, "private") != key
    Args.monitor_window = 1
    assert benchmark.settings_key("multitask_distill", list(TASKS), Args, 0, "distill") != key

    path = str(tmp_path / "results" / "runs.jsonl")
    ledger = benchmark.Ledger(path)  # no file yet: empty
    assert ledger.find(key) is None
    first = ledger_row("multitask_distill", 0, key, "2026-12-06T21:51:48+00:00")
    assert ledger.add(first) and not ledger.add(dict(first))  # the same training, found again: recorded once
    again = ledger_row("multitask_distill", 0, key, "2026-12-07T08:00:00+00:00", best_epoch=4)  # trained again
    assert ledger.add(again)
    keys = {"multitask_distill": key}
    ledger.add_latency({"ratio_p50": 0.31}, keys)
    # Read back (another sitting): the latest training of each settings counts, and the latency of those runs.
    read = benchmark.Ledger(path)
    assert read.find(key) == again and read.latencies == [{"latency": {"ratio_p50": 0.31}, "keys": keys}]
    assert len(open(path).read().splitlines()) == 3
    # Lines merged from another machine's copy may come in any order: the training started last counts.
    with open(path, "a") as f:
        f.write("\n" + json.dumps({"run": {**first, "started": "2026-12-01T00:00:00+00:00"}}) + "\n")
    assert benchmark.Ledger(path).find(key) == again
    # A line that is no run of the report's fields, nor a latency, is named by file and line.
    with open(path, "a") as f:
        f.write('{"run": {"model": "intent"}}\n')
    with pytest.raises(SystemExit, match=r"runs.jsonl, line 6: a run without best_epoch, commits, .*'\{\"run\": "
                                         r"\{\"model\": \"intent\"\}\}'"):
        benchmark.Ledger(path)


def test_a_new_machine_trains_only_what_the_ledger_lacks_and_the_teachers_of_it(tmp_path):
    benchmark = load_benchmark()

    class Args:
        data_dir, max_examples, epochs, patience, encoder, batch_size, monitor = "/data", None, 30, 5, None, None, None
        monitor_window, vectors, keep_case = 3, None, False
        seeds, variants, variant_seeds = 2, ["distill", "private"], {"private": 1}

    # Each seed: the single-task models, then the shared rows in --variants' order, the plain one first unless
    # listed; --variant-seeds leaves a row out of the later seeds.
    assert [name for name, _, _ in benchmark.seed_plan(Args, 0)] == list(TASKS) + [
        "multitask", "multitask_distill", "multitask_private"]
    assert [name for name, _, _ in benchmark.seed_plan(Args, 1)] == list(TASKS) + ["multitask", "multitask_distill"]
    Args.variants = ["distill", "shared"]
    assert [name for name, _, _ in benchmark.seed_plan(Args, 1)][4:] == ["multitask_distill", "multitask"]

    ledger = benchmark.Ledger(str(tmp_path / "runs.jsonl"))
    plan = benchmark.seed_plan(Args, 0)
    assert benchmark.must_train_here(plan, Args, 0, None) == {name for name, _, _ in plan}  # no ledger
    for name, tasks, variant in plan[:5]:  # the single-task models and the distilled row are recorded
        ledger.add(ledger_row(name, 0, benchmark.settings_key(name, tasks, Args, 0, variant), "2026-12-06T22:00"))
    # The plain row is still to train: it needs its seed's single-task models on disk (its epoch is picked
    # against theirs), so they train again; the distilled row is taken as recorded.
    assert benchmark.must_train_here(plan, Args, 0, ledger) == set(TASKS) | {"multitask"}
    name, tasks, variant = plan[5]
    plain_key = benchmark.settings_key(name, tasks, Args, 0, variant)
    ledger.add(ledger_row(name, 0, plain_key, "2026-12-06T23:00"))
    assert benchmark.must_train_here(plan, Args, 0, ledger) == set()  # the whole seed is recorded
    assert benchmark.must_train_here(benchmark.seed_plan(Args, 1), Args, 1, ledger) == {
        name for name, _, _ in benchmark.seed_plan(Args, 1)}
    # A recorded run under settings that changed since is reported, not taken.
    Args.monitor_window = 1
    key = benchmark.settings_key("multitask", list(TASKS), Args, 0, "shared")
    assert ledger.find(key) is None and ledger.others("multitask", 0, key) == [plain_key]


def test_a_row_is_timed_once_beside_its_seeds_single_task_models_when_its_run_is_here(tmp_path, capsys):
    benchmark = load_benchmark()

    class Args:
        latency_texts, no_train = 10, True
        data_dir, max_examples, epochs, patience, encoder, batch_size, monitor = str(tmp_path), None, 1, 1, None, None, None
        monitor_window, vectors, keep_case = None, None, False

    work = str(tmp_path / "work")
    models = ["multitask"] + list(TASKS)
    rows = [ledger_row(model, 0, f"key-{model}", "2026-12-06T22:00:00+00:00") for model in models]
    for row in rows:  # each run's directory and model on this machine
        run = benchmark.run_dir(work, row["model"], 0)
        os.makedirs(run)
        json.dump({"sittings": [{"started": row["started"]}]}, open(os.path.join(run, "run.json"), "w"))
        open(os.path.join(run, "model.keras"), "w").close()
    ledger = benchmark.Ledger(str(tmp_path / "runs.jsonl"))
    plain = rows[0]
    # --no-train: not measured (a training process may share the machine).
    assert benchmark.row_latency(plain, rows, Args, work, ledger, [], measure=False) is None
    assert "latency of multitask seed 0 not measured: --no-train measures nothing" in capsys.readouterr().err
    # A run of the same settings trained again here (its run started later) holds the run directory the
    # recorded run had on another machine: that model is not the recorded run's.
    json.dump({"sittings": [{"started": "2026-12-07T09:00:00+00:00"}]},
              open(os.path.join(benchmark.run_dir(work, "slots", 0), "run.json"), "w"))
    assert benchmark.row_latency(plain, rows, Args, work, ledger, []) is None
    assert "latency of multitask seed 0 not measured: no model here of slots" in capsys.readouterr().err
    # The runs are here but a model does not load (here: an empty file): the timing fails, the benchmark goes on
    # (the row is timed by a later sitting: nothing was recorded).
    json.dump({"sittings": [{"started": rows[1]["started"]}]},
              open(os.path.join(benchmark.run_dir(work, "slots", 0), "run.json"), "w"))
    assert benchmark.row_latency(plain, rows, Args, work, ledger, []) is None
    err = capsys.readouterr().err
    assert "latency of multitask seed 0 not measured: ValueError" in err and "multitask-seed0/model.keras" in err
    assert ledger.latencies == [] and not os.path.exists(ledger.path)
    # A loop that timed a run of the row's settings, on any machine: the row is not timed again.
    ledger.add_latency({"ratio_p50": 0.3}, {model: f"key-{model}" for model in models})
    assert benchmark.row_latency(plain, rows, Args, work, ledger, []) is None
    assert capsys.readouterr().err == ""
    # Without a ledger, the loops this process timed say the same.
    loops = [{"latency": {"ratio_p50": 0.3}, "keys": {"multitask": "key-multitask"}}]
    assert benchmark.row_latency(plain, rows, Args, work, None, loops) is None
    assert capsys.readouterr().err == ""  # not timed (the empty model files would have failed, and said so)


def test_the_report_takes_each_rows_latency_from_the_last_loop_that_timed_it():
    benchmark = load_benchmark()

    def loop(seed, keys, single_ms, **timed):
        lat = {"texts": 5, "calls_each": 5, "seed": seed, "single_task_in_turn": {"p50_ms": single_ms, "p90_ms": 20.0},
               "variants": {}}
        for variant, ms in timed.items():
            timing = {"p50_ms": ms, "p90_ms": ms + 1, "ratio_p50": round(ms / single_ms, 3)}
            if variant == "shared":
                lat.update(multitask={"p50_ms": ms, "p90_ms": ms + 1}, ratio_p50=timing["ratio_p50"])
            else:
                lat["variants"][variant] = timing
        return {"latency": lat, "keys": keys}

    rows = [ledger_row(model, seed, f"{model}-{seed}", "2026-12-07T10:00")
            for seed in (0, 1) for model in ("multitask", "multitask_distill", *TASKS)]
    singles = {task: f"{task}-0" for task in TASKS}
    loops = [
        loop(0, {"multitask": "multitask-0", **singles}, 10.0, shared=3.0),  # a sitting: the plain row only
        # Another machine: the distilled row of seed 1, beside the single-task models trained there.
        loop(1, {"multitask_distill": "multitask_distill-1", **{t: f"{t}-1" for t in TASKS}}, 12.0, distill=4.8),
        # A loop of runs under other settings (an older recipe): not this report's.
        loop(0, {"multitask": "old-key", **singles}, 10.0, shared=9.0),
    ]
    assert benchmark.report_latency(rows, []) is None
    lat = benchmark.report_latency(rows, loops)
    assert lat["multitask"] == {"p50_ms": 3.0, "p90_ms": 4.0} and lat["ratio_p50"] == 0.3 and lat["seed"] == 0
    assert lat["variants"] == {"distill": {"p50_ms": 4.8, "p90_ms": 5.8, "ratio_p50": 0.4, "seed": 1,
                                           "single_task_in_turn_p50_ms": 12.0}}
    assert lat["loops"] == 2
    # A later loop timing a row again (here: with the plain row beside it) is the one reported.
    loops.append(loop(1, {"multitask": "multitask-1", "multitask_distill": "multitask_distill-1",
                          **{t: f"{t}-1" for t in TASKS}}, 11.0, shared=3.3, distill=4.4))
    lat = benchmark.report_latency(rows, loops)
    assert lat["multitask"]["p50_ms"] == 3.3 and lat["seed"] == 1 and lat["variants"]["distill"]["p50_ms"] == 4.4
    assert lat["variants"]["distill"]["single_task_in_turn_p50_ms"] == 11.0 and lat["loops"] == 3
    # A loop that also timed a model this report does not hold (fewer --variants, or settings changed since)
    # still gives the rows it timed that the report holds.
    loops.append(loop(0, {"multitask": "multitask-0", "multitask_old": "old", **singles}, 9.0, shared=2.7,
                      old=5.0))
    lat = benchmark.report_latency(rows, loops)
    assert lat["multitask"]["p50_ms"] == 2.7 and lat["seed"] == 0 and "old" not in lat["variants"]
    assert lat["variants"]["distill"]["p50_ms"] == 4.4 and lat["loops"] == 4
    # Single-task models of other settings: not a ratio to the report's four.
    assert benchmark.report_latency(rows, [loop(0, {"multitask": "multitask-0", **singles, "slots": "old"}, 9.0,
                                                    shared=2.7)]) is None
    # Only variants timed: no plain row's line in RESULTS.md, nor the goal it decides.
    only = benchmark.report_latency([row for row in rows if row["model"] != "multitask" or row["seed"] > 1], loops[1:2])
    assert "multitask" not in only and only["variants"]["distill"]["ratio_p50"] == 0.4


def test_a_stopped_benchmark_takes_the_stop_out_of_its_epoch_times(tmp_path):
    import signal
    import time

    # A process stopped (SIGSTOP) for about a second is seen as one stop of about that long.
    stops = tmp_path / "stops.json"
    child = subprocess.Popen([sys.executable, "-c", (
        "import importlib.util, time\n"
        f"spec = importlib.util.spec_from_file_location('b', {SCRIPT!r}); b = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(b)\n"
        f"with b.PauseWatch({str(stops)!r}, fresh=True, tick=0.05, threshold=0.3):\n"
        "    print('watching', flush=True); time.sleep(2.5)\n")], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout.readline() == "watching\n"
    time.sleep(0.3)
    os.kill(child.pid, signal.SIGSTOP)
    time.sleep(1.0)
    os.kill(child.pid, signal.SIGCONT)
    assert child.wait(timeout=60) == 0
    # The longest stop is the SIGSTOP (a loaded machine may add short ones of its own).
    start, end = max(json.load(open(stops))["stops"], key=lambda stop: stop[1] - stop[0])
    assert 0.8 < end - start < 1.6

    # The stops come out of the epochs they overlap, and only of those (a resumed watch keeps earlier ones).
    benchmark = load_benchmark()
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    # Epochs over [100, 110], [110, 130], [130, 135]; stops over [105, 112] and [140, 150] (after training).
    json.dump({"epoch_seconds": [10.0, 20.0, 5.0], "epoch_ends": [110.0, 130.0, 135.0]},
              open(run / "checkpoints" / "clock.json", "w"))
    json.dump({"stops": [[105.0, 112.0], [140.0, 150.0]]}, open(stops, "w"))
    watch = benchmark.PauseWatch(str(stops), fresh=False)
    assert watch.epoch_seconds(str(run), 35.0) == (28.0, 7.0)
    assert benchmark.PauseWatch(str(stops), fresh=True).epoch_seconds(str(run), 35.0) == (35.0, 0.0)
    # A clock written before it kept when epochs ended: nothing taken out.
    json.dump({"epoch_seconds": [10.0, 20.0, 5.0]}, open(run / "checkpoints" / "clock.json", "w"))
    assert watch.epoch_seconds(str(run), 35.0) == (35.0, 0.0)


def test_a_run_trained_with_one_vocabulary_cap_over_all_sources_is_trained_again(tmp_path):
    """A work folder from before each source kept its own words: its shared runs are not taken as they are."""
    import h5py
    import yaml

    from mtkeras.runs import RunDirectory, parse_config

    benchmark = load_benchmark()

    class Args:
        data_dir, max_examples, epochs, patience, encoder, batch_size, monitor = str(tmp_path), None, None, None, None, None, None
        monitor_window, vectors, keep_case = None, None, False

    def run(name, tasks, words, state):
        config = parse_config(yaml.safe_dump(benchmark.model_config(name, tasks, Args, str(tmp_path), 0)))
        directory = RunDirectory(config.run_dir)
        os.makedirs(directory.backup)
        directory.write_state(state)
        with h5py.File(os.path.join(directory.backup, "latest.weights.h5"), "w") as weights:  # Keras' layout
            weights.create_dataset("layers/bi_lstm_encoder/embedding/vars/0", shape=(words + 2, 4), dtype="f4")
        return config

    cap = 20000  # encoder.max_vocabulary_size
    assert benchmark.one_cap_vocabulary(run("multitask", list(TASKS), cap, {"status": "running"}))
    # More words than the cap: the per-source rule; a vocabulary in run.json: recorded by mtkeras since then.
    assert not benchmark.one_cap_vocabulary(run("multitask_distill", list(TASKS), cap + 13749, {"status": "running"}))
    recorded = {"status": "finished", "vocabulary": {"words": cap, "rule": "per dataset"}}
    assert not benchmark.one_cap_vocabulary(run("multitask_private", list(TASKS), cap, recorded))
    # One source: both rules give the same words.
    assert not benchmark.one_cap_vocabulary(run("slots", ["slots"], cap, {"status": "running"}))


def test_a_seeds_distilled_rows_share_their_teachers_labels(tmp_path):
    """The second distilled row of a seed links the first one's teacher caches instead of labelling again (the
    trainer uses a cache only if its fingerprint is this run's), and its labelling time still counts them, less
    the stops a watch of the work dir saw while they were computed."""
    import numpy as np

    from mtkeras.runs.teachers import _write_cache

    benchmark = load_benchmark()
    work = tmp_path / "W"
    first = work / "runs" / "multitask_distill-seed0" / "teachers"
    other_seed = work / "runs" / "multitask_distill-seed1" / "teachers"
    own = work / "runs" / "multitask_private-feedforward_distill-seed0"
    for folder, names in ((first, ("intent", "slots")), (other_seed, ("entities",)), (own / "teachers", ("slots",))):
        for name in names:
            _write_cache(str(folder / f"{name}.npz"), f"{folder.parent.name}-{name}", [np.ones([2], np.float32)], 10.0)
    (first / "sentiment.npz.partial.npz").write_text("being written")
    assert benchmark.share_teacher_labels(str(own), str(work), 0) == ["intent.npz"]
    assert os.path.samefile(own / "teachers" / "intent.npz", first / "intent.npz")
    assert not (own / "teachers" / "entities.npz").exists()  # another seed's teachers
    assert str(np.load(own / "teachers" / "slots.npz")["fingerprint"]).startswith(own.name)  # its own, kept
    assert benchmark.share_teacher_labels(str(own), str(work), 0) == []

    # Each cache took 10 s and ended when written (just now); a stop of 4 s inside them, seen by the first row's
    # watch, and one of 1 s seen by this row's own (overlapping it, counted once) come out of each.
    ended = float(np.load(own / "teachers" / "intent.npz")["ended"])
    paused = work / "paused" / "runs"
    paused.mkdir(parents=True)
    json.dump({"stops": [[ended - 6.0, ended - 2.0]]}, open(paused / "multitask_distill-seed0.json", "w"))
    mine = paused / "multitask_private-feedforward_distill-seed0.json"
    json.dump({"stops": [[ended - 2.5, ended - 1.5]]}, open(mine, "w"))
    watch = benchmark.PauseWatch(str(mine), fresh=False, others=str(work / "paused"))
    assert watch.every_stop() == [[ended - 6.0, ended - 1.5]]
    assert watch.labelling_seconds(str(own)) == pytest.approx(2 * (10.0 - 4.5), abs=0.2)
    assert benchmark.PauseWatch(str(mine), fresh=False).labelling_seconds(str(own)) == pytest.approx(18.0, abs=0.2)
