"""Joint intent detection and slot filling on a train/valid/test folder.

Trains the joint intent + slot model with the package defaults on `train`,
picks the epoch on `valid` (sentence accuracy; never on `test`), and prints one
JSON object with `encoder`, `intent_accuracy`, `slot_f1` (entity-level exact
span, conlleval semantics), `sentence_accuracy` (test split, in %),
`train_seconds` and `epochs`. To show where the remaining points are, it
also gives the test slot errors by kind (`mtkeras.evaluation.entity_errors`)
and the slot recall of test entities with a word never seen in training
against the others.

Usage:
    python benchmarks/joint_nlu.py --data-dir ../shared/datasets/snips --encoder bilstm
    python benchmarks/joint_nlu.py --data-dir ../shared/datasets/snips --vectors glove-6b-50d --seeds 0 1 2
    python benchmarks/joint_nlu.py --data-dir ../shared/datasets/snips --encoder minilm
    python benchmarks/joint_nlu.py --data-dir ../shared/datasets/snips --save-model /tmp/snips.keras
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from seqeval.metrics.sequence_labeling import get_entities  # noqa: E402

import mtkeras  # noqa: E402
from mtkeras.data import align_tags, make_dataset, read_joint_nlu  # noqa: E402
from mtkeras.text import split_words  # noqa: E402
from mtkeras.evaluation import evaluate  # noqa: E402
from mtkeras.training.callbacks import BestEpoch, TimeBudget  # noqa: E402
from mtkeras.training.recipes import recipe_for  # noqa: E402
from mtkeras.training.schedules import recipe_optimizer  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchmarks/_results.py, also when imported
from _results import RESULTS, append_run, commit  # noqa: E402


def scores(report):
    return {
        "intent_accuracy": 100 * report["intent"]["accuracy"],
        "slot_f1": 100 * report["slots"]["f1"],
        "sentence_accuracy": 100 * report["sentence_accuracy"],
    }


def recall_by_seen_words(model, train, test, tasks):
    """Slot recall of test entities with a word absent from the training texts, and of the rest.

    Words are the model's words, lower-cased; the tags are decoded as served
    (`mtkeras.predict`). Entities past the model's `max_words` are left out.
    """
    seen = {word.decode().lower() for word in split_words([ex.text for ex in train]).flat_values.numpy()}
    counts = {"unseen": [0, 0], "seen": [0, 0]}  # [entities, found]
    answers = mtkeras.predict(model, [ex.text for ex in test])
    for (_, gold), answer in zip(align_tags(test, tasks), answers):
        if "slots" not in gold:
            continue
        words = [word for word, _ in answer["slots"]["tags"]]
        predicted = set(get_entities([tag for _, tag in answer["slots"]["tags"]]))
        for entity in get_entities(gold["slots"]):
            _, first, last = entity
            if last >= len(words):
                continue
            key = "seen" if all(word.lower() in seen for word in words[first : last + 1]) else "unseen"
            counts[key][0] += 1
            counts[key][1] += entity in predicted
    return {
        key: {"entities": total, "recall": round(100 * found / total, 2) if total else None}
        for key, (total, found) in counts.items()
    }


def build(encoder, tasks, train, sequence_length, encoder_config, vectors=None, vector_words=100000):
    if not mtkeras.encoders.is_pretrained(encoder):
        return mtkeras.build_model(
            tasks, encoder=encoder, texts=[ex.text for ex in train], encoder_config=encoder_config,
            vectors=vectors, vector_words=vector_words,
        )
    return mtkeras.build_model(tasks, encoder=encoder, sequence_length=sequence_length, encoder_config=encoder_config)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--encoder", default="bilstm", help="bilstm, minilm, or a keras-hub/HF preset directory")
    parser.add_argument("--epochs", type=int, default=None, help="default: the encoder's recipe (mtkeras.training.recipes)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the encoder's recipe (3e-3 from scratch, 1e-4 pretrained)")
    parser.add_argument("--layer-decay", type=float, default=None, help="layer-wise rate decay of a pretrained transformer; default: the recipe's")
    parser.add_argument("--patience", type=int, default=None, help="default: the encoder's recipe")
    parser.add_argument("--max-train-seconds", type=float, default=900)
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training texts")
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--seeds", "--seed", type=int, nargs="+", default=[0], help="one run per seed")
    parser.add_argument("--results", default=os.path.join(RESULTS, "joint_nlu.jsonl"), help="runs are appended here")
    parser.add_argument(
        "--encoder-config", type=json.loads, default=None, help='JSON encoder arguments, e.g. \'{"num_layers": 2}\''
    )
    parser.add_argument("--vectors", default=None, help="pretrained word vectors: a file or glove-6b-50d (from scratch only)")
    parser.add_argument("--vector-words", type=int, default=100000, help="vector words added beyond the training words")
    parser.add_argument("--crf", action="store_true", help="slots: TokenTagging(crf=True), a CRF trained on sequence likelihood")
    parser.add_argument("--save-model", default=None, help="also save the trained model to this .keras file")
    args = parser.parse_args(argv)
    recipe = recipe_for(args.encoder)
    args.epochs = args.epochs or recipe.epochs
    args.patience = args.patience if args.patience is not None else recipe.patience
    command = "python benchmarks/joint_nlu.py " + " ".join(sys.argv[1:] if argv is None else argv)
    revision = commit()
    runs = []
    for seed in args.seeds:
        result = run(args, seed)
        runs.append(result)
        append_run(args.results, command, revision, seed=seed, **result)
    summary = {"runs": runs}
    if len(runs) > 1:
        for key in ("intent_accuracy", "slot_f1", "sentence_accuracy"):
            values = [r[key] for r in runs]
            summary[key] = {"mean": round(statistics.mean(values), 2), "std": round(statistics.stdev(values), 2)}
    print(json.dumps(summary))


def run(args, seed):

    train, valid, test = (
        read_joint_nlu(os.path.join(args.data_dir, split)) for split in ("train", "valid", "test")
    )
    train = train[: args.train_limit] if args.train_limit else train
    tasks = [
        mtkeras.SentenceClassification.from_examples("intent", train),
        mtkeras.TokenTagging.from_examples("slots", train, crf=args.crf),
    ]
    keras.utils.set_random_seed(seed)
    strategy = mtkeras.get_strategy()
    replicas = strategy.num_replicas_in_sync
    steps = math.ceil(len(train) / args.batch_size)
    with strategy.scope():
        model = build(args.encoder, tasks, train, args.sequence_length, args.encoder_config, args.vectors,
                      args.vector_words)
        recipe = recipe_for(model.encoder)
        learning_rate = args.learning_rate or recipe.learning_rate
        layer_decay = recipe.layer_decay if args.layer_decay is None else args.layer_decay
        model.compile(optimizer=recipe_optimizer(model, args.epochs * steps, learning_rate, layer_decay))
    train_data = make_dataset(
        train, tasks, args.batch_size, shuffle=True, seed=seed, bucket=True, drop_remainder=replicas > 1
    )
    valid_data = make_dataset(valid, tasks, 64)
    best = BestEpoch(lambda m: scores(evaluate(m, valid_data, print_table=False)), "sentence_accuracy", args.patience)
    budget = TimeBudget(args.max_train_seconds)
    start = time.perf_counter()
    model.fit(train_data, epochs=args.epochs, callbacks=[best, budget], verbose=2)
    train_seconds = time.perf_counter() - start
    report = evaluate(model, make_dataset(test, tasks, 64), print_table=False)
    result = {
        "encoder": args.encoder,
        "encoder_config": args.encoder_config or {},
        "vectors": args.vectors,
        "crf": args.crf,
        "learning_rate": learning_rate,
        "layer_decay": layer_decay,
        **{key: round(value, 2) for key, value in scores(report).items()},
        "train_seconds": round(train_seconds, 1),
        "epochs": len(best.history),
        "best_epoch": best.best_epoch + 1,
        "valid_at_best_epoch": {k: round(v, 2) for k, v in best.history[best.best_epoch].items()},
        "parameters": model.count_params(),
        "slot_errors": {**report["slots"]["errors"], "confusions": report["slots"]["errors"]["confusions"][:5]},
        "slot_recall_by_training_words": recall_by_seen_words(model, train, test, tasks),
    }
    if args.save_model:
        model.save(args.save_model if len(args.seeds) == 1 else f"{args.save_model}.seed{seed}.keras")
    return result


if __name__ == "__main__":
    main()
