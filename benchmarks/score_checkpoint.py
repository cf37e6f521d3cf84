"""Scores one checkpoint of a finished run on its valid and test splits.

A run keeps its best epoch (`model.keras`, by the config's monitor) and its
last one (`checkpoints/last.weights.h5`). When another selection rule picks
the last epoch, for example `training.monitor_window` on a run that ended on
the best window, this scores that epoch without training the run again: the
run's `model.keras` (architecture, vocabularies) with the checkpoint's
weights, through `mtkeras.evaluate`, on the splits of the run's config.
The calibration (temperatures, the token tasks' outside weights) is fitted
again for these weights on the valid split, as training fits it for the
epoch it keeps (`--no-calibrate`: keep the kept epoch's).
Decide which epoch to score from the history (dev), never from these test
scores.

Prints one JSON object (each task's headline metric in %, per split) and
appends it to `results/checkpoint_scores.jsonl`.

Usage:
    python benchmarks/score_checkpoint.py RUN_DIR [--weights last] [--note "..."]
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _results import commit, record  # noqa: E402


def headline(metrics):
    """Entity F1 for token tasks, accuracy for sentence tasks, Pearson for regression, in %."""
    for key in ("f1", "accuracy", "pearson"):
        if key in metrics:
            return round(100 * metrics[key], 2)
    raise KeyError(f"no headline metric among {sorted(metrics)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a finished run directory (config.yaml, model.keras, checkpoints/)")
    parser.add_argument("--weights", default="last", help="checkpoints/<weights>.weights.h5 (default: last)")
    parser.add_argument("--note", default=None, help="why this checkpoint (recorded with the scores)")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to results/")
    parser.add_argument("--no-calibrate", action="store_true",
                        help="score with the calibration fitted for the run's kept epoch, not for these weights")
    args = parser.parse_args(argv)
    revision = commit()

    import keras

    import mtkeras
    from mtkeras.runs import RunDirectory, load_config, read_split

    directory = RunDirectory(args.run_dir)
    weights = directory.checkpoint(f"{args.weights}.weights.h5")
    state = directory.read_state() or {}
    if state.get("status") != "finished" or not os.path.exists(weights):
        parser.error(f"{args.run_dir}: not a finished run with {weights}")
    config = load_config(directory.file("config.yaml"))
    model = keras.models.load_model(directory.model_path)
    model.load_weights(weights)
    history = directory.history()
    splits = {split: [example for items in read_split(config, split).values() for example in items]
              for split in ("valid", "test")}
    fitted = None if args.no_calibrate else mtkeras.evaluation.calibrate(model, splits["valid"])
    scores = {}
    for split, examples in splits.items():
        results = mtkeras.evaluate(model, examples, print_table=False)
        scores[split] = {task: headline(results[task]) for task in config.tasks}
    result = {
        "run_dir": directory.path,
        "weights": args.weights,
        "epoch": len(history) if args.weights == "last" else None,
        "best_epoch": state.get("best_epoch"),
        "monitor": state.get("monitor"),
        "trained_at": [sitting.get("commit") for sitting in state.get("sittings", [])],
        "calibration": fitted if fitted is not None else "the kept epoch's",
        **scores,
    }
    if args.note:
        result["note"] = args.note
    print(json.dumps(result, indent=1))
    if not args.no_record:
        record("checkpoint_scores.jsonl", __file__, revision, result)


if __name__ == "__main__":
    main()
