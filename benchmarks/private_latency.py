"""What task-private layers cost in latency: candidate private parts against the models of a finished run.

A probe for issue 24's latency goal (one text through the shared model in at
most 35 % of the time of the four single-task models in turn). Each
candidate private part is trained for one epoch on a slice of the data
(`--max-examples`), with the full
run's encoder settings, exported, and timed in one loop with the models of a
finished `benchmarks/multitask.py` run (`--work-dir`), each exported again by
this code so that all answer through one serving graph: its four single-task
models and its plain shared model, and any of its other shared rows that are
finished (none of them may be training again meanwhile; `multitask.py
--resume` leaves finished runs alone). Every export answers each text in turn,
so a slow spell of the machine hits all of them. (Their parameter counts are
not reported: a slice's vocabulary is smaller than the full run's.) A
tagger's latency depends on its training (decoding checks the per-word
argmax before it searches, `mtkeras.ops.bio`, and a trained model's fitted
decision differs), and not in one direction: the Transformer candidate timed
39.5 % of the four models where the trained row of the same private part,
in the same loop, timed 44.4 %. Compare candidates with each other; a
finished shared row of the work dir is timed as trained.

Prints one JSON object and appends it to `results/private_latency.jsonl`.

Usage:
    python benchmarks/private_latency.py --data-dir ../shared/datasets --vectors glove-6b-50d --keep-case \
        --work-dir /path/to/full_run
"""

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _results import commit, record  # noqa: E402


def _load_multitask():
    spec = importlib.util.spec_from_file_location("multitask_benchmark", os.path.join(HERE, "multitask.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


multitask = _load_multitask()

# Private parts by task kind; `multitask.PRIVATE_LAYERS` (a BiLSTM of 64 units per token task) is "bilstm64",
# `multitask.PRIVATE_TRANSFORMER` (the "private-transformer" rows) "transformer".
CANDIDATES = {
    "bilstm64": multitask.PRIVATE_LAYERS,
    "bilstm32": {**multitask.PRIVATE_LAYERS, "token_tagging": {"sequence": "bilstm", "units": 32}},
    "transformer": multitask.PRIVATE_TRANSFORMER,
    # A block over a projection of the words to 64 (or 32, with a 64-wide feed-forward) of the encoder's 256
    # dimensions (PALs' projected attention): a quarter or an eighth of the work per word.
    "transformer_w64": {**multitask.PRIVATE_TRANSFORMER,
                        "token_tagging": {**multitask.PRIVATE_TRANSFORMER["token_tagging"], "width": 64}},
    "transformer_w32": {**multitask.PRIVATE_TRANSFORMER,
                        "token_tagging": {"sequence": "transformer", "units": 64, "heads": 4, "width": 32}},
    # Each word through a feed-forward layer of the task's own: no steps, no attention.
    "feedforward": multitask.PRIVATE_FEEDFORWARD,
    "sentence_only": {"sentence_classification": multitask.PRIVATE_TRANSFORMER["sentence_classification"]},
}


def is_finished(work_dir, name, seed=0):
    """Whether a model's run in a `multitask.py` work dir is finished."""
    path = os.path.join(multitask.run_dir(work_dir, name, seed), "run.json")
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("status") == "finished"


def train_candidate(name, private_layers, args, probe_dir):
    import keras

    from mtkeras.runs import parse_config, train

    config = multitask.model_config(f"probe_{name}", list(multitask.TASKS), args, probe_dir, 0, "private",
                                    private_layers=private_layers)
    config.pop("single_task_dir", None)
    config = parse_config(yaml.safe_dump(config), source=name)
    keras.backend.clear_session()
    with contextlib.redirect_stdout(sys.stderr):
        outcome = train(config, overwrite=True, verbose=0)
    return outcome["export_path"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder holding snips/, wnut17/ and sst2/")
    parser.add_argument("--work-dir", required=True, help="a finished benchmarks/multitask.py run (its seed 0)")
    parser.add_argument("--vectors", default=None, help="as in the full run (e.g. glove-6b-50d)")
    parser.add_argument("--keep-case", action="store_true", help="as in the full run")
    parser.add_argument("--candidates", nargs="+", choices=sorted(CANDIDATES), default=list(CANDIDATES))
    parser.add_argument("--max-examples", type=int, default=300, help="training examples per source (1 epoch)")
    parser.add_argument("--latency-texts", type=int, default=300)
    parser.add_argument("--probe-dir", default=None, help="where the candidates train (default: a temporary folder)")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to results/")
    args = parser.parse_args(argv)
    revision = commit()
    args.encoder, args.batch_size, args.monitor, args.monitor_window, args.epochs, args.patience = None, None, None, None, 1, 1

    if not all(is_finished(args.work_dir, task) for task in multitask.TASKS):
        parser.error(f"--work-dir {args.work_dir}: the four single-task runs of seed 0 are not all finished")
    variants = [variant for variant in multitask.VARIANTS
                if is_finished(args.work_dir, multitask.variant_model(variant))]
    if "shared" not in variants:
        parser.error(f"--work-dir {args.work_dir}: the plain shared run of seed 0 is not finished")
    probe_dir = args.probe_dir or tempfile.mkdtemp(prefix="mtkeras-private-latency-")
    # The finished runs exported again by this code, as the candidates are: one serving graph for all.
    again = multitask.fresh_exports([multitask.variant_model(v) for v in variants] + list(multitask.TASKS), args,
                                    args.work_dir, base=os.path.join(probe_dir, "exports"))
    singles = [again[task] for task in multitask.TASKS]
    models = {variant: again[multitask.variant_model(variant)] for variant in variants}
    for name in args.candidates:
        models[f"probe_{name}"] = train_candidate(name, CANDIDATES[name], args, probe_dir)

    texts = multitask.latency_texts(args, args.work_dir, args.latency_texts)
    result = {
        "work_dir": args.work_dir,
        "candidates": {name: CANDIDATES[name] for name in args.candidates},
        "latency": multitask.latency(models, singles, texts),
    }
    print(json.dumps(result, indent=2))
    if not args.no_record:
        record("private_latency.jsonl", __file__, revision, result)


if __name__ == "__main__":
    main()
