"""Latency of one text: shared exports against single-task exports in turn, under both SavedModel loaders.

The full-data proof (`multitask.py`) times exports loaded with
`tf.saved_model.load`, whose every call also pays Python's function-call
work; TF Serving runs the graph in a session (`mtkeras.export.SavedModelBundle`,
its loader's way), where that work is not paid. A text's time through four
models pays it four times, through one model once, so the ratio depends on
the loader. This times both, in one process: each text goes to every shared
model and then to the single-task models in turn, under one loader, then the
other, text after text (a slow spell of the machine hits all), and prints one
JSON object with the median and p90 milliseconds and each shared model's
ratio to the four in turn, per loader.

Usage:
    python benchmarks/loader_latency.py --shared plain=W/saved_models/multitask/1 \\
        --single W/saved_models/intent/1 W/saved_models/slots/1 W/saved_models/entities/1 \\
        W/saved_models/sentiment/1 --data-dir ../shared/datasets
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401  (WordPiece ops of pretrained encoders)

from mtkeras import names  # noqa: E402
from mtkeras.export import SavedModelBundle  # noqa: E402

TEXTS = ["play some jazz by miles davis on spotify", "the movie was a waste of time",
         "book a table for two in rome tonight", "@user going to see the new star wars film in london",
         "what will the weather be like in paris tomorrow", "a gorgeous , witty , seductive movie ."]


def test_texts(data_dir, count):
    """The first `count` test texts of SNIPS, WNUT-17 and SST-2 in turn (the proof's), else `TEXTS`."""
    if not data_dir:
        return TEXTS
    files = [(os.path.join(data_dir, "snips", "test", "seq.in"), lambda line: line),
             (os.path.join(data_dir, "sst2", "test", "sentiment-test"), lambda line: line.split("\t")[0])]
    texts = []
    for path, text_of in files:
        with open(path, encoding="utf-8") as handle:
            texts.append([text_of(line.strip()) for line in handle if line.strip()][:count])
    sentences, words = [], []
    with open(os.path.join(data_dir, "wnut17", "test", "emerging.test.annotated"), encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                words.append(line.split("\t")[0])
            elif words:
                sentences.append(" ".join(words))
                words = []
    texts.append(sentences[:count])
    return [text for group in zip(*texts) for text in group]


def session_caller(path):
    bundle = SavedModelBundle(path)
    signature = bundle.signature_defs[names.SERVING_SIGNATURE]
    run = bundle.session.make_callable([signature.outputs[alias].name for alias in sorted(signature.outputs)],
                                       feed_list=[signature.inputs[names.TEXT].name])
    return lambda text: run(np.array([text.encode()], dtype=object))


def object_caller(path):
    signature = tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]
    return lambda text: signature(**{names.TEXT: tf.constant([text])})


def summary(values):
    return {"p50_ms": round(float(np.median(values)), 3), "p90_ms": round(float(np.percentile(values, 90)), 3)}


def time_loader(make, shared, singles, texts):
    shared_calls = {name: make(path) for name, path in shared.items()}
    single_calls = [make(path) for path in singles]
    for text in texts[:10]:  # warm-up: the first calls trace and allocate
        for call in list(shared_calls.values()) + single_calls:
            call(text)
    shared_ms, singles_ms = {name: [] for name in shared}, []
    for text in texts:
        for name, call in shared_calls.items():
            start = time.perf_counter()
            call(text)
            shared_ms[name].append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        for call in single_calls:
            call(text)
        singles_ms.append(1000 * (time.perf_counter() - start))
    result = {"single_task_in_turn": summary(singles_ms), "shared": {}}
    for name, values in shared_ms.items():
        result["shared"][name] = summary(values)
        result["shared"][name]["ratio_p50"] = round(result["shared"][name]["p50_ms"]
                                                    / result["single_task_in_turn"]["p50_ms"], 3)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", nargs="+", required=True, metavar="NAME=EXPORT",
                        help="shared models' export version folders, each named")
    parser.add_argument("--single", nargs="+", required=True, metavar="EXPORT",
                        help="the single-task models' export version folders, answering in turn")
    parser.add_argument("--data-dir", default=None, help="../shared/datasets: time the proof's test texts")
    parser.add_argument("--texts", type=int, default=100, help="texts per dataset (with --data-dir)")
    args = parser.parse_args()
    shared = dict(item.split("=", 1) for item in args.shared)
    texts = test_texts(args.data_dir, args.texts)
    result = {"texts": len(texts), "shared_exports": shared, "single_exports": args.single}
    result["session"] = time_loader(session_caller, shared, args.single, texts)  # TF Serving's loader
    result["object_graph"] = time_loader(object_caller, shared, args.single, texts)  # tf.saved_model.load
    print(json.dumps(result))


if __name__ == "__main__":
    main()
