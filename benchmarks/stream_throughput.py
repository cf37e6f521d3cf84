"""Examples a second through a config's mixed training stream: reshuffled at each read, or seeded per epoch.

`mtkeras train` reads a stream whose epochs are each their seed's
(`mix_datasets(..., epochs=N)`: a resumed run reads what an unbroken one
does, and can start inside an epoch). Its sources are drawn through stateless
permutations, gathered in blocks of rows, instead of a cached, reshuffled
dataset (`epochs=None`). This prints one JSON object with the median
examples a second of each over `--repeats` reads of `--batches` batches
(after a warm-up read), alternating, in one process.

Usage:
    python benchmarks/stream_throughput.py --config configs/multitask_distilled.yaml
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mtkeras import names  # noqa: E402
from mtkeras.data import mix_datasets  # noqa: E402
from mtkeras.runs import load_config  # noqa: E402
from mtkeras.runs.inputs import declare_tasks, read_split  # noqa: E402


def examples_per_second(data, batches):
    count, start = 0, time.perf_counter()
    for i, (features, _, _) in enumerate(data):
        count += int(features[names.TEXT].shape[0])
        if i + 1 == batches:
            break
    return count / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="a config with several training sources")
    parser.add_argument("--batches", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = load_config(args.config)
    sources = read_split(config, "train")
    if len(sources) < 2:
        parser.error(f"{args.config}: one training source; the mixed stream needs several")
    if config.mixing.sampling == "annealed":
        parser.error(f"{args.config}: annealed sampling has no stream reshuffled at each read to compare with")
    tasks = declare_tasks(config, [ex for examples in sources.values() for ex in examples])
    mixing, training = config.mixing, config.training
    rates = {"reshuffled_each_read": [], "seeded_per_epoch": []}
    for _ in range(args.repeats):
        for kind in rates:
            data = mix_datasets(sources, tasks, training.batch_size, sampling=mixing.sampling,
                                temperature=mixing.temperature, seed=training.seed, bucket=mixing.bucket,
                                **({"epochs": 2} if kind == "seeded_per_epoch" else {}))
            examples_per_second(data, 50)  # warm-up
            rates[kind].append(examples_per_second(data, args.batches))
    result = {kind: round(statistics.median(values)) for kind, values in rates.items()}
    result.update(ratio=round(result["seeded_per_epoch"] / result["reshuffled_each_read"], 3),
                  sources={name: len(examples) for name, examples in sources.items()},
                  batch_size=training.batch_size, batches=args.batches, repeats=args.repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
