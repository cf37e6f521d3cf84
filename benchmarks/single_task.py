"""One task on its own: WNUT-17 named entities (CoNLL columns) or SST-2 sentiment (all 67,349 phrases).

Trains the task with the package defaults on the training file, picks the
epoch on the dev file (entity F1, or accuracy; never on test), and prints one
JSON object: the test score (WNUT-17: entity precision / recall / F1, exact
span, conlleval semantics; SST-2: accuracy; in %), the epoch, training
seconds and parameters; for WNUT-17 also the recall of test entities with a
word never seen in training against the others. With `--seeds 0 1 2` it
trains once per seed and adds the mean and standard deviation. Each run is
appended, with its command, commit and seed, to `--results` (default
`benchmarks/results/single_task.jsonl`).

Usage:
    python benchmarks/single_task.py --dataset wnut17 --data-dir ../shared/datasets/wnut17 --vectors glove-6b-50d --keep-case
    python benchmarks/single_task.py --dataset sst2 --data-dir ../shared/datasets/sst2 --vectors glove-6b-50d --seeds 0 1 2
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from seqeval.metrics.sequence_labeling import get_entities  # noqa: E402

import mtkeras  # noqa: E402
from mtkeras.data import make_dataset, read_conll, read_delimited  # noqa: E402
from mtkeras.evaluation import evaluate  # noqa: E402
from mtkeras.training.callbacks import BestEpoch, TimeBudget  # noqa: E402
from mtkeras.training.recipes import recipe_for  # noqa: E402
from mtkeras.training.schedules import recipe_optimizer  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchmarks/_results.py, also when imported
from _results import RESULTS, append_run, commit  # noqa: E402

# dataset -> the task's name and kind, its files, the headline score of its evaluation report.
DATASETS = {
    "wnut17": ("entities", mtkeras.TokenTagging, "f1",
               {"train": "train/wnut17train.conll", "valid": "dev/emerging.dev.conll",
                "test": "test/emerging.test.annotated"}),
    "sst2": ("sentiment", mtkeras.SentenceClassification, "accuracy",
             {"train": "train/sentiment-train", "valid": "dev/sentiment-dev", "test": "test/sentiment-test"}),
}


def read(dataset, path):
    name = DATASETS[dataset][0]
    if dataset == "wnut17":
        return read_conll(path, task=name)
    return read_delimited(path, text_column=0, columns={name: 1}, delimiter="\t", header=False)


def entity_recall_by_training_words(model, train, test, task):
    """Test entity recall, for entities with a word unseen in training and for the others."""
    seen = {word.lower() for ex in train for word in ex.words}
    answers = mtkeras.predict(model, [ex.text for ex in test])
    counts = {"seen": [0, 0], "unseen": [0, 0]}
    for ex, answer in zip(test, answers):
        gold = set(get_entities(list(ex.labels[task.name])))
        found = {(entity["type"], entity["start"], entity["end"] - 1) for entity in answer[task.name]["entities"]}
        for kind, first, last in gold:
            key = "seen" if all(word.lower() in seen for word in ex.words[first : last + 1]) else "unseen"
            counts[key][0] += 1
            counts[key][1] += (kind, first, last) in found
    return {key: {"entities": total, "recall": round(100 * hit / total, 2) if total else None}
            for key, (total, hit) in counts.items()}


def run(args, seed):
    name, kind, score, files = DATASETS[args.dataset]
    data = {split: read(args.dataset, os.path.join(args.data_dir, path)) for split, path in files.items()}
    task = kind.from_examples(name, data["train"])
    keras.utils.set_random_seed(seed)
    strategy = mtkeras.get_strategy()
    steps = -(-len(data["train"]) // args.batch_size)
    with strategy.scope():
        if mtkeras.encoders.is_pretrained(args.encoder):  # brings its own vocabulary (and case handling)
            model = mtkeras.build_model([task], encoder=args.encoder, encoder_config=args.encoder_config)
        else:
            model = mtkeras.build_model([task], encoder=args.encoder, texts=[ex.text for ex in data["train"]],
                                        vectors=args.vectors, lowercase=not args.keep_case,
                                        encoder_config=args.encoder_config)
        recipe = recipe_for(model.encoder)
        learning_rate = args.learning_rate or recipe.learning_rate
        layer_decay = recipe.layer_decay if args.layer_decay is None else args.layer_decay
        model.compile(optimizer=recipe_optimizer(model, args.epochs * steps, learning_rate, layer_decay))
    train_data = make_dataset(data["train"], [task], args.batch_size, shuffle=True, seed=seed, bucket=True)
    valid_data = make_dataset(data["valid"], [task], 64)
    best = BestEpoch(lambda m: {score: 100 * evaluate(m, valid_data, print_table=False)[name][score]}, score,
                     args.patience)
    start = time.perf_counter()
    model.fit(train_data, epochs=args.epochs, callbacks=[best, TimeBudget(args.max_train_seconds)], verbose=2)
    seconds = time.perf_counter() - start
    report = evaluate(model, make_dataset(data["test"], [task], 64), print_table=False)[name]
    result = {
        "seed": seed,
        "learning_rate": learning_rate,
        "layer_decay": layer_decay,
        **{key: round(100 * report[key], 2) for key in ("precision", "recall", "f1", "accuracy") if key in report},
        "score": round(100 * report[score], 2),
        "train_seconds": round(seconds, 1),
        "epochs": len(best.history),
        "best_epoch": best.best_epoch + 1,
        "valid_score_at_best_epoch": round(best.history[best.best_epoch][score], 2),
        "parameters": model.count_params(),
    }
    if args.dataset == "wnut17":
        result["recall_by_training_words"] = entity_recall_by_training_words(model, data["train"], data["test"], task)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="wnut17")
    parser.add_argument("--data-dir", required=True, help="the dataset's folder, with train/, dev/ and test/")
    parser.add_argument("--encoder", default="bilstm")
    parser.add_argument("--encoder-config", type=json.loads, default=None)
    parser.add_argument("--vectors", default=None, help="pretrained word vectors: a file or glove-6b-50d")
    parser.add_argument("--keep-case", action="store_true", help="case-sensitive word lookup (falls back to lower case)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the encoder's recipe (mtkeras.training.recipes)")
    parser.add_argument("--patience", type=int, default=None, help="default: the encoder's recipe")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--layer-decay", type=float, default=None, help="layer-wise rate decay of a pretrained transformer; default: the recipe's")
    parser.add_argument("--max-train-seconds", type=float, default=900)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--results", default=os.path.join(RESULTS, "single_task.jsonl"))
    args = parser.parse_args(argv)
    recipe = recipe_for(args.encoder)
    args.epochs = args.epochs or recipe.epochs
    args.patience = args.patience if args.patience is not None else recipe.patience
    command = "python benchmarks/single_task.py " + " ".join(sys.argv[1:] if argv is None else argv)
    revision = commit()  # the code that runs: read before training, while HEAD is still it
    runs = []
    for seed in args.seeds:
        result = run(args, seed)
        runs.append(result)
        append_run(args.results, command, revision, dataset=args.dataset, encoder=args.encoder, vectors=args.vectors,
                   keep_case=args.keep_case, **result)
    summary = {"runs": runs}
    if len(runs) > 1:
        scores = [r["score"] for r in runs]
        summary["score_mean"] = round(statistics.mean(scores), 2)
        summary["score_std"] = round(statistics.stdev(scores), 2)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
