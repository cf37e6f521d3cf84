"""Where the time of one text goes in an export, as TF Serving's session loader runs it.

Loads the export with `mtkeras.export.SavedModelBundle` (TF Serving's way:
restore op, init op, tensors by name), answers `--texts` one at a time, and
prints one JSON object:

- `wall_p50_ms`: the median wall time of one call (`--calls` calls);
- `node_ms`: per part of the model (the Keras layer under the model's scope:
  the preprocessor, the encoder, each task's private layers and head; the rest
  of the serving graph -- label names, word-level tags -- is `serving`), the
  time its graph nodes took per call (TensorFlow's step stats, full trace,
  averaged over `--traces` calls). Nodes run in parallel on several cores,
  so these add up to more than the wall time: they tell which parts cost
  work, not the critical path.

Usage:
    python benchmarks/export_profile.py --export saved_models/nlu/1
"""

import argparse
import collections
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mtkeras import names  # noqa: E402
from mtkeras.export import SavedModelBundle  # noqa: E402

TEXTS = ["play some jazz by miles davis on spotify", "the movie was a waste of time",
         "book a table for two in rome tonight", "@user going to see the new star wars film in london"]
# The signature calls the exported function, which calls the Keras model's: nodes inside it are named
# StatefulPartitionedCall/StatefulPartitionedCall/<model scope>/<layer scope>/...
INNER = "StatefulPartitionedCall/StatefulPartitionedCall/"


def part_of(node_name, model_scope):
    if node_name.startswith(INNER + model_scope + "/"):
        layer = node_name[len(INNER + model_scope + "/"):].split("/")[0]
        return layer[:-2] if layer.endswith("_1") else layer  # the traced copy's suffix
    return "serving"


def profile(export, texts, calls, traces):
    bundle = SavedModelBundle(export)
    signature = bundle.signature_defs[names.SERVING_SIGNATURE]
    fetches = [signature.outputs[alias].name for alias in sorted(signature.outputs)]
    feed = signature.inputs[names.TEXT].name
    inputs = [np.array([text.encode()], dtype=object) for text in texts]
    for x in inputs * 5:  # warm-up
        bundle.session.run(fetches, {feed: x})
    walls = []
    for i in range(calls):
        x = inputs[i % len(inputs)]
        start = time.perf_counter()
        bundle.session.run(fetches, {feed: x})
        walls.append(time.perf_counter() - start)
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    micros, scopes = collections.Counter(), collections.Counter()
    for i in range(traces):
        metadata = tf.compat.v1.RunMetadata()
        bundle.session.run(fetches, {feed: inputs[i % len(inputs)]}, options=options, run_metadata=metadata)
        for device in metadata.step_stats.dev_stats:
            for node in device.node_stats:
                if node.node_name.startswith(INNER):
                    scope = node.node_name[len(INNER):].split("/")[0]
                    scopes[scope] += 1
                micros[node.node_name] += node.all_end_rel_micros
    # The Keras model's scope: the one holding most nodes (the rest of the graph decodes its outputs).
    model_scope = scopes.most_common(1)[0][0] if scopes else ""
    parts = collections.Counter()
    for node, us in micros.items():
        parts[part_of(node, model_scope)] += us
    bundle.close()
    return {
        "export": export,
        "calls": calls,
        "traces": traces,
        "wall_p50_ms": round(1000 * statistics.median(walls), 3),
        "node_ms": {part: round(us / traces / 1000, 3) for part, us in parts.most_common()},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--export", required=True, help="an export's version folder (saved_models/<name>/<version>)")
    parser.add_argument("--texts", nargs="+", default=TEXTS)
    parser.add_argument("--calls", type=int, default=200, help="calls timed for the wall time")
    parser.add_argument("--traces", type=int, default=20, help="calls traced for the per-part node time")
    args = parser.parse_args()
    print(json.dumps(profile(args.export, args.texts, args.calls, args.traces)))


if __name__ == "__main__":
    main()
