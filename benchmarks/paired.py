"""Which gaps between a shared model and its single-task models are real: paired bootstrap on the test texts.

Reads the finished runs of one seed of `benchmarks/multitask.py` (its
`--work-dir`): the four single-task models (`runs/single-seed<S>/<task>`)
and each shared row (`runs/<model>-seed<S>`). Every model answers its own
config's test split again (`mtkeras.evaluation.collect_items`; its score
must equal the run's `metrics_test.json`), and for each row and task
`mtkeras.evaluation.paired_bootstrap` draws the test texts again and again
to put an interval around shared − single-task. A gap whose interval holds
0 is within what the test set's own sampling moves.

With `--baseline ROW` the rows are compared with that shared row instead:
what one mechanism buys over another, on the same texts. Prints one JSON
object (differences in points; "single" is the baseline's score); with
`--ledger FILE`, also appends it with the command and commit.

Usage:
    python benchmarks/paired.py --work-dir W --seed 0
    python benchmarks/paired.py --work-dir W --seed 0 --rows multitask multitask_private-transformer_distill
    python benchmarks/paired.py --work-dir W --seed 0 --baseline multitask   # each row against plain sharing
"""

import argparse
import datetime
import glob
import json
import os
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import mtkeras  # noqa: E402
from mtkeras.evaluation import collect_items, paired_bootstrap  # noqa: E402
from mtkeras.runs import load_config, read_split  # noqa: E402

TASKS = ("intent", "slots", "entities", "sentiment")


def test_items(run_dir):
    """`({task: TaskItems}, {task: Task}, {task: score in metrics_test.json})` of a finished run's model."""
    config = load_config(os.path.join(run_dir, "config.yaml"))
    model = mtkeras.load_model(os.path.join(run_dir, "model.keras"))
    examples = [ex for items in read_split(config, "test").values() for ex in items]
    items, _, _ = collect_items(model, examples)
    with open(os.path.join(run_dir, "metrics_test.json"), encoding="utf-8") as f:
        reported = json.load(f)
    tasks = {task.name: task for task in model.tasks}
    del model
    keras.backend.clear_session()  # one model in memory at a time, however many rows
    return items, tasks, {name: reported.get(name, {}).get(task.score_metric) for name, task in tasks.items()}


def finished(run_dir):
    """Whether a run got as far as its test report (a run killed while reporting has its model only)."""
    return all(os.path.exists(os.path.join(run_dir, name)) for name in ("model.keras", "metrics_test.json"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", required=True, help="a --work-dir of benchmarks/multitask.py")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", nargs="+", default=None,
                        help="shared models by name (default: every finished one of the seed)")
    parser.add_argument("--baseline", default=None, metavar="ROW",
                        help="compare the rows with this shared row instead of the single-task models (what one "
                             "mechanism buys over another, e.g. multitask: over plain sharing)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--ledger", default=None, metavar="FILE", help="append the result to this JSON-lines file")
    args = parser.parse_args(argv)

    runs = os.path.join(args.work_dir, "runs")
    found = sorted(os.path.basename(path)[: -len(f"-seed{args.seed}")]
                   for path in glob.glob(os.path.join(runs, f"multitask*-seed{args.seed}")) if finished(path))
    for name in (args.rows or []) + ([args.baseline] if args.baseline else []):
        if name not in found:
            parser.error(f"no finished run {name}-seed{args.seed} in {runs} (finished: {', '.join(found) or 'none'})")
    single = {}  # what each row is compared with: {task: (items, reported score)}
    if args.baseline:
        items, _, reported = test_items(os.path.join(runs, f"{args.baseline}-seed{args.seed}"))
        single = {task: (items[task], reported[task]) for task in TASKS if task in items}
    else:
        for task in TASKS:
            run_dir = os.path.join(runs, f"single-seed{args.seed}", task)
            if not finished(run_dir):
                parser.error(f"--work-dir {args.work_dir}: no finished single-task run of {task} at {run_dir}")
            items, _, reported = test_items(run_dir)
            single[task] = (items[task], reported[task])
    result = {"work_dir": args.work_dir, "seed": args.seed, "samples": args.samples,
              "baseline": args.baseline or "single-task models", "rows": {}}
    for name in args.rows or [name for name in found if name != args.baseline]:
        items, tasks, reported = test_items(os.path.join(runs, f"{name}-seed{args.seed}"))
        row = {}
        for task in TASKS:
            if task not in tasks or task not in single:  # a row or baseline without the task: nothing to compare
                continue
            alone, alone_reported = single[task]
            compared = paired_bootstrap(tasks[task], alone, items[task], samples=args.samples)
            # The scores drawn from must be the ones the runs reported.
            for value, expected, who in ((compared["before"], alone_reported, args.baseline or f"{task} alone"),
                                         (compared["after"], reported[task], name)):
                if expected is None or abs(value - expected) > 1e-9:
                    raise SystemExit(f"{who}: scored {value} on test now, {expected} in its metrics_test.json")
            row[task] = {
                "metric": compared["metric"],
                "texts": compared["texts"],
                "single": round(100 * compared["before"], 2),
                "shared": round(100 * compared["after"], 2),
                "difference": round(100 * compared["difference"], 2),
                "interval": [round(100 * compared["low"], 2), round(100 * compared["high"], 2)],
                "share_below_zero": round(compared["share_below_zero"], 3),
                "share_tied": round(compared["share_tied"], 3),
            }
        result["rows"][name] = row
    print(json.dumps(result, indent=1))
    if args.ledger:
        from mtkeras.runs.provenance import source_commit

        commit, dirty = source_commit()
        entry = {"date": datetime.date.today().isoformat(),
                 "commit": (commit[:7] + ("+dirty" if dirty else "")) if commit else None,
                 "command": "python benchmarks/paired.py " + shlex.join(sys.argv[1:] if argv is None else argv),
                 **result}
        with open(args.ledger, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
