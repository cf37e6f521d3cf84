"""Training start-up and memory: the first step's tracing, the steady step time, the peak memory, fit's return.

Trains one task (SNIPS slot tagging, or any joint_nlu folder) with plain
`model.fit` on a `mtkeras.data.make_dataset` stream, as a notebook user
does, and prints one JSON object:

- `first_step_seconds`: from `fit` to the end of its first step (tracing
  and the first batch);
- `step_ms_p50`: the median time of the other steps;
- `return_after_last_step_seconds`: from the end of the last step to `fit`
  returning (the input stream's teardown included);
- `peak_rss_mb`: the process's peak resident memory (`ru_maxrss`), after
  building the model and after training.

Usage:
    python benchmarks/training_step.py --data-dir ../shared/datasets/snips --encoder minilm --steps 100
    python benchmarks/training_step.py --data-dir ../shared/datasets/snips --encoder minilm --mixed-precision mixed_bfloat16
"""

import argparse
import dataclasses
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import mtkeras  # noqa: E402
from mtkeras.data import make_dataset, read_joint_nlu  # noqa: E402


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)  # Linux: kilobytes


class StepClock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="a joint_nlu folder with train/ (e.g. ../shared/datasets/snips)")
    parser.add_argument("--encoder", default="bilstm", help="bilstm, cnn, transformer or minilm")
    parser.add_argument("--steps", type=int, default=100, help="training steps (one epoch of them)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--mixed-precision", default="float32", choices=mtkeras.training.precision.POLICIES,
                        help="Keras dtype policy (as training.mixed_precision)")
    args = parser.parse_args(argv)
    policy = mtkeras.training.set_mixed_precision(args.mixed_precision)

    count = args.steps * args.batch_size
    examples = [dataclasses.replace(example, labels={"slots": example.labels["slots"]})
                for example in read_joint_nlu(os.path.join(args.data_dir, "train"))[:count]]
    tasks = [mtkeras.TokenTagging.from_examples("slots", examples)]
    pretrained = args.encoder == "minilm"
    model = mtkeras.build_model(tasks, encoder=args.encoder, texts=None if pretrained else [e.text for e in examples],
                                **({"sequence_length": 64} if pretrained else {}))
    model.compile(optimizer=keras.optimizers.AdamW(1e-4 if pretrained else 1e-3))
    data = make_dataset(examples, tasks, batch_size=args.batch_size, shuffle=True)
    built_rss = peak_rss_mb()
    clock = StepClock()
    started = time.perf_counter()
    model.fit(data, epochs=1, verbose=0, callbacks=[clock])
    returned = time.perf_counter()
    steps = [b - a for a, b in zip(clock.ends, clock.ends[1:])]
    report = {
        "encoder": args.encoder,
        "mixed_precision": policy,
        "steps": len(clock.ends),
        "batch_size": args.batch_size,
        "first_step_seconds": round(clock.ends[0] - started, 2),
        "step_ms_p50": round(statistics.median(steps) * 1000.0, 1) if steps else None,
        "return_after_last_step_seconds": round(returned - clock.ends[-1], 2),
        "peak_rss_mb": {"after_build": built_rss, "after_training": peak_rss_mb()},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
