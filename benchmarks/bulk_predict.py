"""Predicting many texts at once: `model.predict(texts)` in batches by length against batches as given.

A distillation teacher labels every training text (`mtkeras.runs.teachers`),
and users label files the same way. `model.predict` on raw texts batches them
by length (`mtkeras.models.traced.length_order`) and answers in the order
given. This times it, in one process and on the same texts, against the
texts batched in the order given (the same traced function, one call per
`--batch-size` texts, which is what `model.predict` did before), and checks
that both give the same answers.

The texts are the first `--texts` training texts of each source of the
multi-task proof (SNIPS, WNUT-17, SST-2), in the proof's order. Prints one
JSON object: seconds per pass (median of `--repeats`), texts per second, the
share of the steps the model pads (words, or word pieces) that are padding
in each order, and the largest difference between the two answers.

Usage:
    python benchmarks/bulk_predict.py --model RUN/model.keras --data-dir ../shared/datasets --texts 2000
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import mtkeras  # noqa: E402
from mtkeras.data.readers import read_conll, read_delimited, read_joint_nlu  # noqa: E402
from mtkeras.models.traced import length_order  # noqa: E402


def proof_texts(data_dir, count):
    """The first `count` training texts of SNIPS, WNUT-17 and SST-2, in that order (the proof's)."""
    snips = read_joint_nlu(os.path.join(data_dir, "snips", "train"))
    wnut = read_conll(os.path.join(data_dir, "wnut17", "train", "wnut17train.conll"))
    sst2 = read_delimited(os.path.join(data_dir, "sst2", "train", "sentiment-train"), {"sentiment": 1},
                          text_column=0, delimiter="\t", header=False)
    return [example.text for examples in (snips, wnut, sst2) for example in examples[:count]]


def padding_share(steps, order, batch_size):
    """The share of the batches' steps (words, or word pieces) that are padding, batches taken in `order`."""
    taken = np.asarray(steps)[order]
    slots = sum(int(taken[i : i + batch_size].max()) * len(taken[i : i + batch_size])
                for i in range(0, len(taken), batch_size))
    return round(1.0 - float(taken.sum()) / slots, 4) if slots else 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained model (.keras), e.g. a single-task run's")
    parser.add_argument("--data-dir", required=True, help="folder holding snips/, wnut17/ and sst2/")
    parser.add_argument("--texts", type=int, default=2000, help="training texts taken from each source")
    parser.add_argument("--batch-size", type=int, default=64, help="the teachers' batch size")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    model = mtkeras.load_model(args.model)
    texts = proof_texts(args.data_dir, args.texts)
    steps = model.preprocessor.sequence_lengths(tf.constant(texts)).numpy()  # words, or word pieces

    def by_length():
        return model.predict(texts, batch_size=args.batch_size, verbose=0)

    def as_given():  # one call per batch: each call is one batch, which the length order leaves as it is
        parts = [model.predict(texts[i : i + args.batch_size], batch_size=args.batch_size, verbose=0)
                 for i in range(0, len(texts), args.batch_size)]
        out = {}
        for name in parts[0]:
            values = [part[name] for part in parts]
            if values[0].ndim == 3:
                steps = max(v.shape[1] for v in values)
                values = [np.pad(v, [(0, 0), (0, steps - v.shape[1]), (0, 0)]) for v in values]
            out[name] = np.concatenate(values)
        return out

    by_length(), as_given()  # traced once, outside the timing
    seconds = {"by_length": [], "as_given": []}
    answers = {}
    for _ in range(args.repeats):
        for name, run in (("as_given", as_given), ("by_length", by_length)):
            started = time.perf_counter()
            answers[name] = run()
            seconds[name].append(time.perf_counter() - started)
    difference = max(float(np.abs(answers["by_length"][k] - answers["as_given"][k]).max()) for k in answers["as_given"])
    median = {name: statistics.median(values) for name, values in seconds.items()}
    report = {
        "model": args.model,
        "encoder": type(model.encoder).__name__,
        "texts": len(texts),
        "batch_size": args.batch_size,
        "seconds": {name: [round(v, 2) for v in values] for name, values in seconds.items()},
        "texts_per_second": {name: round(len(texts) / value, 1) for name, value in median.items()},
        "speedup": round(median["as_given"] / median["by_length"], 2),
        "padding_share": {
            "as_given": padding_share(steps, np.arange(len(texts)), args.batch_size),
            "by_length": padding_share(
                steps, length_order(tf.constant(texts), positions=model.preprocessor.sequence_lengths), args.batch_size),
        },
        "largest_difference": difference,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
