"""Input-pipeline throughput and padding: length bucketing against plain padding.

Reads a joint intent/slot training folder (`<data-dir>/train/seq.in, seq.out,
label`), builds the shuffled training stream twice -- padded batches and
length-bucketed batches -- and prints one JSON object:

- `examples_per_second`: examples a second through the tf.data pipeline
  (median of `--repeats` full epochs after a warm-up epoch that fills the cache);
- `padding_fraction`: padded word slots / all word slots in the batches the
  model sees (its time axis is the batch's longest text);
- `train_examples_per_second` (unless `--train-steps 0`): examples a second
  through `model.fit` of the default BiLSTM model for `--train-steps` steps,
  where padding costs compute.

Usage:
    python benchmarks/data_throughput.py --data-dir ../shared/datasets/snips
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import mtkeras  # noqa: E402
from mtkeras import names  # noqa: E402
from mtkeras.data import make_dataset, read_joint_nlu  # noqa: E402


def epoch_stats(dataset):
    examples = real = slots = 0
    start = time.perf_counter()
    for features, labels, _ in dataset:
        batch = int(features[names.TEXT].shape[0])
        examples += batch
        # Token labels are padded like the model's time axis.
        tags = labels["slots"].shape[1]
        lengths = mtkeras.text.pad_words(mtkeras.text.split_words(features[names.TEXT]))[1].numpy()
        real += int(lengths.sum())
        slots += batch * max(int(tags), int(lengths.max()))
    return examples, time.perf_counter() - start, 1.0 - real / slots


def pipeline_only(dataset, repeats):
    """Examples a second of the bare pipeline, median over epochs."""
    next(iter(dataset.take(1)))
    rates = []
    for _ in range(repeats + 1):  # the first epoch fills the cache
        count, start = 0, time.perf_counter()
        for features, _, _ in dataset:
            count += int(features[names.TEXT].shape[0])
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates[1:])


def train_rate(train, tasks, dataset, batch_size, steps, seed):
    if steps == 0:
        return None
    keras.utils.set_random_seed(seed)
    model = mtkeras.build_model(tasks, texts=[ex.text for ex in train])
    model.compile(optimizer="adam")
    data = dataset.repeat()
    model.fit(data, steps_per_epoch=5, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    elapsed = time.perf_counter() - start
    return steps * batch_size / elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with train/seq.in, seq.out, label")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per variant")
    parser.add_argument("--train-steps", type=int, default=60, help="timed fit steps per variant (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    train = read_joint_nlu(os.path.join(args.data_dir, "train"))
    tasks = [
        mtkeras.SentenceClassification.from_examples("intent", train),
        mtkeras.TokenTagging.from_examples("slots", train),
    ]
    result = {"data_dir": args.data_dir, "examples": len(train), "batch_size": args.batch_size}
    for variant, bucket in (("padded", False), ("bucketed", True)):
        dataset = make_dataset(train, tasks, args.batch_size, shuffle=True, seed=args.seed, bucket=bucket)
        _, _, padding = epoch_stats(dataset)
        result[variant] = {
            "examples_per_second": round(pipeline_only(dataset, args.repeats), 1),
            "padding_fraction": round(padding, 4),
            "train_examples_per_second": (
                None if args.train_steps == 0
                else round(train_rate(train, tasks, dataset, args.batch_size, args.train_steps, args.seed), 1)
            ),
        }
    if args.train_steps:
        result["train_speedup"] = round(
            result["bucketed"]["train_examples_per_second"] / result["padded"]["train_examples_per_second"], 2
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
