"""Several sources into one stream: sampling strategies, bucketing, unknown labels."""

import collections
import logging

import numpy as np
import pytest

import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from mtkeras import names
from mtkeras.data import Example, make_dataset, mix_datasets, sampling_weights

SIZES = {"big": 90, "mid": 30, "small": 10}


def sources():
    """Three sources, each labelling only its own task, texts 1..12 words long."""
    rng = np.random.default_rng(0)
    out = {}
    for name, size in SIZES.items():
        out[name] = [
            Example(tuple(f"w{j}" for j in range(rng.integers(1, 13))), {name: "yes" if i % 2 else "no"}, f"{name}:{i}")
            for i in range(size)
        ]
    return out


def source_tasks():
    return [mtkeras.SentenceClassification(name, ["no", "yes"]) for name in SIZES]


def observed_fractions(dataset):
    counts = collections.Counter()
    for _, _, weights in dataset:
        for name in SIZES:
            counts[name] += int(weights[name].numpy().sum())
    total = sum(counts.values())
    return {name: counts[name] / total for name in SIZES}, total


@pytest.mark.parametrize(
    "sampling, expected",
    [
        ("proportional", [90 / 130, 30 / 130, 10 / 130]),
        ("uniform", [1 / 3, 1 / 3, 1 / 3]),
        ("temperature", list(np.sqrt([90, 30, 10]) / np.sqrt([90, 30, 10]).sum())),
    ],
)
def test_sampling_strategies_give_the_expected_mix(sampling, expected):
    assert sampling_weights(list(SIZES.values()), sampling, temperature=2.0) == pytest.approx(expected)
    data = mix_datasets(sources(), source_tasks(), batch_size=50, sampling=sampling, temperature=2.0,
                        examples_per_epoch=4000, seed=1)
    fractions, total = observed_fractions(data)
    assert total == 4000
    # Binomial standard deviation at n=4000 is below 0.008; allow 4 sigma.
    for name, want in zip(SIZES, expected):
        assert fractions[name] == pytest.approx(want, abs=0.03), (name, fractions)


def test_mixing_is_seeded_and_each_epoch_draws_a_new_mix():
    def texts(dataset):
        return [t for features, _, _ in dataset for t in features[names.TEXT].numpy().tolist()]

    data = mix_datasets(sources(), source_tasks(), batch_size=8, examples_per_epoch=64, seed=3, bucket=False)
    again = mix_datasets(sources(), source_tasks(), batch_size=8, examples_per_epoch=64, seed=3, bucket=False)
    first_epoch, second_epoch = texts(data), texts(data)
    assert first_epoch == texts(again)
    assert first_epoch != second_epoch
    other = mix_datasets(sources(), source_tasks(), batch_size=8, examples_per_epoch=64, seed=4, bucket=False)
    assert texts(other) != first_epoch


def test_every_task_is_in_every_batch_with_zero_weight_when_missing():
    data = mix_datasets(sources(), source_tasks(), batch_size=16, examples_per_epoch=160, seed=0)
    for features, labels, weights in data:
        assert set(labels) == set(weights) == set(SIZES)
        assert set(features) == {names.TEXT}
        # Each text is labelled by exactly one source's task.
        assert np.array_equal(sum(weights[n].numpy() for n in SIZES), np.ones(len(features[names.TEXT])))


def padding_fraction(dataset):
    real = padded = 0
    for features, _, _ in dataset:
        lengths = mtkeras.text.pad_words(mtkeras.text.split_words(features[names.TEXT]))[1].numpy()
        real += lengths.sum()
        padded += len(lengths) * lengths.max()
    return 1 - real / padded


def test_bucketing_cuts_padding_and_keeps_every_example_once():
    examples = [ex for group in sources().values() for ex in group]
    tasks = source_tasks()
    plain = make_dataset(examples, tasks, batch_size=16, shuffle=True, seed=0)
    bucketed = make_dataset(examples, tasks, batch_size=16, shuffle=True, seed=0, bucket=True)
    seen = sorted(t for f, _, _ in bucketed for t in f[names.TEXT].numpy().tolist())
    assert seen == sorted(ex.text.encode() for ex in examples)
    assert all(len(f[names.TEXT]) <= 16 for f, _, _ in bucketed)
    assert padding_fraction(bucketed) < padding_fraction(plain) / 2
    dropped = make_dataset(examples, tasks, batch_size=16, shuffle=True, bucket=True, drop_remainder=True)
    assert all(len(f[names.TEXT]) == 16 for f, _, _ in dropped)
    # Keras sees the epoch length up front (no "ran out of data" on epoch 1);
    # iterating checks that it is the true one.
    for data, expected in ((bucketed, -(-len(examples) // 16)), (dropped, len(examples) // 16)):
        assert int(data.cardinality()) == expected == sum(1 for _ in data)


def test_an_epoch_is_whole_full_batches_with_bucketing():
    data = mix_datasets(sources(), source_tasks(), batch_size=8, examples_per_epoch=100, seed=0, bucket=True)
    for _ in range(2):  # every epoch, not just the first
        sizes = [len(f[names.TEXT]) for f, _, _ in data]
        assert sizes == [8] * 13  # 100 examples, rounded up to whole batches


def test_buckets_follow_the_model_words_not_the_file_words():
    """Raw text: punctuation splits into extra model words, which bucketing must count."""
    rng = np.random.default_rng(1)
    examples = [
        Example(tuple("w," for _ in range(rng.integers(1, 9))), {"big": "yes"}, f"raw:{i}") for i in range(200)
    ]
    tasks = source_tasks()
    plain = make_dataset(examples, tasks, batch_size=16, shuffle=True, seed=0)
    bucketed = make_dataset(examples, tasks, batch_size=16, shuffle=True, seed=0, bucket=True)
    assert padding_fraction(bucketed) < padding_fraction(plain) / 2


def test_bad_mixing_arguments_are_named():
    with pytest.raises(ValueError, match="Unknown sampling 'random'"):
        sampling_weights([1, 2], "random")
    with pytest.raises(ValueError, match=r"source\(s\) \['empty'\] have no examples"):
        mix_datasets({"empty": [], **sources()}, source_tasks())
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(tiny_examples(), tiny_tasks(), batch_size=0)


def test_label_never_seen_in_training_counts_as_an_error_and_never_crashes(caplog):
    examples = tiny_examples()
    model = build_tiny_model(examples)
    model.compile(optimizer="sgd")
    test = [
        Example(("book", "a", "table"), {"intent": "BookRestaurant"}, "test/label:1"),
        Example(("find", "a", "flight"), {"intent": "FindFlight"}, "test/label:2"),  # not in training
        Example(("play", "jazz", "tonight"), {"slots": ("O", "B-genre", "B-airline")}, "test/seq.out:3"),
    ]
    with caplog.at_level(logging.WARNING, logger="mtkeras"):
        data = make_dataset(test, model.tasks, batch_size=3)
    assert "task 'intent': 1 example(s) carry labels outside its vocabulary (first: test/label:2)" in caplog.text
    result = model.evaluate(data, return_dict=True, verbose=0)
    probs = model.predict([ex.text for ex in test], verbose=0)
    intent = model.tasks[0]
    right = int(np.argmax(probs["intent"][0]) == intent.labels.index("BookRestaurant"))
    assert result["intent_accuracy"] == pytest.approx(right / 2)  # the unknown label is a miss
    expected_loss = -np.log(probs["intent"][0][intent.labels.index("BookRestaurant")])
    assert result["intent_loss"] == pytest.approx(expected_loss, rel=1e-5)  # ... and not in the loss
    assert np.isfinite(result["slots_loss"])
    assert "task 'slots': 1 example(s)" in caplog.text
    slots = model.tasks[1]
    predicted = np.argmax(probs["slots"][2][:3], axis=-1)
    right = int(predicted[0] == slots.labels.index("O")) + int(predicted[1] == slots.labels.index("B-genre"))
    assert result["slots_accuracy"] == pytest.approx(right / 3)  # B-airline: a miss
    with pytest.raises(ValueError, match=r"test/label:2: label 'FindFlight' of task 'intent'"):
        make_dataset(test, model.tasks, unknown_labels="raise")
