"""In-process prediction latency: what a notebook user calls, against the exported SavedModel.

Loads one trained model (`.keras`) and its export, and times, one call after
another on the same texts, for requests of 1 and of 32 texts:

- `export_session`: the export's `serving_default` run through TF Serving's
  loader (`mtkeras.export.SavedModelBundle`), the reference;
- `mtkeras_predict`: `mtkeras.predict(model, texts)`, every task's answer;
- `model_predict`: `model.predict(texts)`, every task's probabilities.

It prints one JSON object: p50/p99 in milliseconds per path and size, and
`p50_ratio` of each path over the export's. The first call of each path (its
tracing) is reported apart as `first_call_ms`.

Usage:
    python benchmarks/in_process.py --model runs/demo/model.keras --export saved_models/demo/1
"""

import argparse
import json
import os
import random
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import mtkeras  # noqa: E402
from mtkeras import names  # noqa: E402
from mtkeras.demo import DEMO_QUERIES  # noqa: E402
from mtkeras.export import SavedModelBundle  # noqa: E402


def percentile_ms(seconds, q):
    return round(float(np.percentile(np.array(seconds) * 1000.0, q)), 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/demo/model.keras", help="a trained model (.keras)")
    parser.add_argument("--export", default="saved_models/demo/1", help="its export (a version folder)")
    parser.add_argument("--requests", type=int, default=200, help="timed calls per path and size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    model = mtkeras.load_model(args.model)
    bundle = SavedModelBundle(args.export)
    queries = [query for query, *_ in DEMO_QUERIES] if isinstance(DEMO_QUERIES[0], tuple) else list(DEMO_QUERIES)
    rng = random.Random(args.seed)

    paths = {
        "export_session": lambda texts: bundle.run(names.SERVING_SIGNATURE, {names.TEXT: np.array(texts, dtype=object)}),
        "mtkeras_predict": lambda texts: mtkeras.predict(model, texts),
        "model_predict": lambda texts: model.predict(texts, verbose=0),
    }
    report = {"requests": args.requests, "model": args.model, "export": args.export, "first_call_ms": {}, "sizes": {}}
    for name, call in paths.items():
        started = time.perf_counter()
        call([queries[0]])
        report["first_call_ms"][name] = round((time.perf_counter() - started) * 1000.0, 1)
    for size in (1, 32):
        batches = [[rng.choice(queries) for _ in range(size)] for _ in range(args.requests)]
        for name, call in paths.items():  # warm each path at this size
            call(batches[0])
        seconds = {name: [] for name in paths}
        for batch in batches:  # interleaved: the paths see the same machine load
            for name, call in paths.items():
                started = time.perf_counter()
                call(batch)
                seconds[name].append(time.perf_counter() - started)
        rows = {name: {"p50": percentile_ms(values, 50), "p99": percentile_ms(values, 99)} for name, values in seconds.items()}
        for name, row in rows.items():
            row["p50_ratio"] = round(row["p50"] / rows["export_session"]["p50"], 2)
        report["sizes"][str(size)] = rows
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
