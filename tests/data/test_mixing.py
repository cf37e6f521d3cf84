"""Several sources into one stream: sampling strategies, bucketing, unknown labels."""

import collections
import json
import logging

import numpy as np
import pytest

import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from mtkeras import names
from mtkeras.data import (Example, annealed_weights, epoch_steps, make_dataset, mix_datasets, mixed_steps_per_epoch,
                          sampling_weights)

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


def batch_texts(dataset):
    """Each batch's texts, in order."""
    return [features[names.TEXT].numpy().tolist() for features, _, _ in dataset]


@pytest.mark.parametrize("kind", ["one source", "temperature", "annealed"])
def test_a_stream_resumed_at_an_epoch_reads_what_the_unbroken_stream_reads_there(kind):
    """Streams made with `epochs` (what `mtkeras train` reads): each epoch's batches are its seed's, whatever
    the process read before, so a run resumed at epoch k in a new process trains on what an unbroken one
    does; reading the stream again (Keras peeks at the first batch, then starts over) gives the same."""
    def stream(initial_epoch=0, seed=5):
        if kind == "one source":
            return make_dataset(sources()["big"], source_tasks(), batch_size=8, shuffle=True, bucket=True, seed=seed,
                                epochs=3, initial_epoch=initial_epoch)
        return mix_datasets(sources(), source_tasks(), batch_size=8, sampling=kind, examples_per_epoch=64, seed=seed,
                            epochs=3, initial_epoch=initial_epoch)

    data = stream()
    steps = epoch_steps(data, epochs=3)
    assert steps == (12 if kind == "one source" else 8) and int(data.cardinality()) == 3 * steps
    unbroken = batch_texts(data)
    assert batch_texts(data) == unbroken  # read again: the same batches
    epochs = [unbroken[i * steps:(i + 1) * steps] for i in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]  # each epoch its own order (and mix)
    for initial_epoch in (1, 2):
        resumed = stream(initial_epoch)
        assert int(resumed.cardinality()) == (3 - initial_epoch) * steps
        assert batch_texts(resumed) == unbroken[initial_epoch * steps:]
    assert batch_texts(stream(seed=6)) != unbroken
    if kind == "one source":  # every example once an epoch
        assert all(sorted(t for batch in epoch for t in batch) == sorted(ex.text.encode() if isinstance(ex.text, str)
                   else " ".join(ex.text).encode() for ex in sources()["big"]) for epoch in epochs)
    with pytest.raises(ValueError, match=r"initial_epoch must be in \[0, epochs\). Received: initial_epoch=3"):
        stream(3)


def test_annealed_weights_move_from_proportional_to_the_temperature():
    sizes = list(SIZES.values())
    first, middle, last = (annealed_weights(sizes, epoch, 5, temperature=5.0) for epoch in (0, 2, 4))
    assert first == pytest.approx(sampling_weights(sizes, "proportional"))
    assert last == pytest.approx(sampling_weights(sizes, "temperature", temperature=5.0))
    # Half-way: alpha = 1 - 0.8 / 2 = 0.6 (Stickland & Murray's schedule).
    assert middle == pytest.approx(list(np.power(sizes, 0.6) / np.power(sizes, 0.6).sum()))
    assert first[2] < middle[2] < last[2]  # the small source gains at every step
    assert annealed_weights(sizes, 0, 1) == pytest.approx(first)
    with pytest.raises(ValueError, match="0 <= epoch < epochs. Received: epoch=5, epochs=5"):
        annealed_weights(sizes, 5, 5)


def per_epoch_fractions(data, steps):
    epochs, batches = [], list(data)
    for start in range(0, len(batches), steps):
        counts = collections.Counter()
        for _, _, weights in batches[start : start + steps]:
            for name in SIZES:
                counts[name] += int(weights[name].numpy().sum())
        epochs.append([counts[name] / sum(counts.values()) for name in SIZES])
    return epochs


def test_an_annealed_stream_holds_every_epoch_each_with_its_own_mix():
    data = mix_datasets(sources(), source_tasks(), batch_size=100, sampling="annealed", temperature=5.0,
                        examples_per_epoch=8000, seed=1, epochs=3)
    steps = mixed_steps_per_epoch(data, "annealed", epochs=3)
    assert steps == 80 and int(data.cardinality()) == 240
    observed = per_epoch_fractions(data, steps)
    assert len(observed) == 3
    for epoch, fractions in enumerate(observed):
        # Over 6 binomial standard deviations (0.0053 at n=8000): the stream's seeds follow the global seed,
        # which earlier tests in the same process may have set.
        assert fractions == pytest.approx(annealed_weights(list(SIZES.values()), epoch, 3, 5.0), abs=0.035), epoch
    # The mix moves: the small source is drawn about 2.5 times as often in the last epoch as in the first.
    assert observed[2][2] > 2 * observed[0][2]
    # A resumed run's stream starts at its epoch, with that epoch's mix.
    resumed = mix_datasets(sources(), source_tasks(), batch_size=100, sampling="annealed", temperature=5.0,
                           examples_per_epoch=8000, seed=1, epochs=3, initial_epoch=2)
    assert int(resumed.cardinality()) == 80
    assert per_epoch_fractions(resumed, 80)[0] == pytest.approx(annealed_weights(list(SIZES.values()), 2, 3, 5.0),
                                                                abs=0.035)
    with pytest.raises(ValueError, match="sampling='annealed' needs `epochs`"):
        mix_datasets(sources(), source_tasks(), sampling="annealed")


def write_sources_config(folder, name, mixing, rest, examples=None):
    """A config training each of `sources()` (its first `examples`) as a JSON Lines file labelling its own
    task, mixed by `mixing` (a YAML mapping); `rest` holds further sections. Returns its path."""
    for source in SIZES:
        with open(folder / f"{source}.jsonl", "w") as f:
            for ex in sources()[source][:examples]:
                f.write(json.dumps({"text": " ".join(ex.text), source: ex.labels[source]}) + "\n")
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        + "tasks: {" + ", ".join(f"{source}: {{kind: sentence_classification}}" for source in SIZES) + "}\n"
        + "datasets:\n"
        + "".join(f"  {source}: {{reader: jsonl, train: {folder / source}.jsonl, tasks: {{{source}: {source}}}}}\n"
                  for source in SIZES)
        + f"mixing: {mixing}\n" + rest
    )
    return path


def test_a_config_with_annealed_sampling_trains_through_its_epochs(tmp_path):
    from mtkeras.runs import load_config, train

    config = write_sources_config(
        tmp_path, "annealed", "{sampling: annealed, temperature: 5, examples_per_epoch: 64}",
        "training: {epochs: 3, batch_size: 16}\nencoder: {config: {embedding_dim: 4, hidden_dim: 4, num_layers: 1, "
        "char_dim: 0}}\n", examples=20)
    outcome = train(load_config(str(config)), run_dir=str(tmp_path / "run"), verbose=0)
    assert outcome["epochs_done"] == 3
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 4  # a header and one row per epoch
    # 64 draws a epoch are 4 batches of 16: fit read on through the 3-epoch stream, 4 steps at a time.
    model = mtkeras.load_model(outcome["model_path"])
    model.load_weights(str(tmp_path / "run" / "checkpoints" / "last.weights.h5"))  # the last epoch's, with its optimizer
    assert int(model.optimizer.iterations) == 12


@pytest.mark.parametrize("sampling", ["annealed", "temperature"])
def test_a_run_resumed_inside_an_epoch_reads_the_rest_of_that_epoch_of_the_whole_stream(tmp_path, sampling):
    """`training_stream(initial_batch=b)`, what `mtkeras train` reads after a kill inside epoch k: the whole
    run's batches of epoch k from batch b on, under that epoch's own mix (annealed: not the last epoch's)."""
    from mtkeras.runs import load_config
    from mtkeras.runs.inputs import declare_tasks, read_split, training_stream

    path = write_sources_config(tmp_path, "mixed", f"{{sampling: {sampling}, temperature: 5, examples_per_epoch: 400}}",
                                "training: {epochs: 3, batch_size: 8}\n")
    config = load_config(str(path))
    train = read_split(config, "train")
    tasks = declare_tasks(config, [ex for examples in train.values() for ex in examples])
    whole, steps = training_stream(config, train, tasks, 1, 3, 0)
    assert steps == 50
    unbroken = batch_texts(whole)
    for epoch in (0, 1, 2):
        rest, rest_steps = training_stream(config, train, tasks, 1, 3, epoch, initial_batch=17)
        assert rest_steps == steps and int(rest.cardinality()) == steps - 17
        assert batch_texts(rest) == unbroken[epoch * steps + 17:(epoch + 1) * steps], epoch
    with pytest.raises(ValueError, match=r"initial_batch must be in \[0, 50\)"):
        training_stream(config, train, tasks, 1, 3, 1, initial_batch=50)


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


def test_a_source_drawn_beyond_its_size_gives_every_example_once_a_pass_each_pass_in_its_own_order():
    from mtkeras.data.pipeline import _example_columns, _passes, epoch_key

    small = sources()["small"]  # 10 examples
    key = epoch_key(7, "source small", 0)
    texts = [t for (features, _, _) in _passes(_example_columns(small, source_tasks()), len(small), key).take(40)
             for t in [features[names.TEXT].numpy()]]
    passes = [texts[i:i + 10] for i in range(0, 40, 10)]
    every = sorted(" ".join(ex.text).encode() if not isinstance(ex.text, str) else ex.text.encode() for ex in small)
    assert all(sorted(p) == every for p in passes)
    assert len({tuple(p) for p in passes}) == 4  # four orders
    again = [features[names.TEXT].numpy() for features, _, _ in _passes(
        _example_columns(small, source_tasks()), len(small), key).take(40)]
    assert again == texts


def test_a_stream_of_many_epochs_holds_its_examples_once():
    """The epochs are one loop of the stream's graph, not one pipeline each: serialized (what multi-worker
    sharding does), 20 epochs are about as large as 2, where one pipeline per epoch held the examples 20
    times (50 bytes an example an epoch)."""
    many = {name: examples * 50 for name, examples in sources().items()}  # 6,500 examples

    def serialized(**kwargs):
        return len(mix_datasets(many, source_tasks(), batch_size=8, examples_per_epoch=400, seed=1, **kwargs)
                   ._as_serialized_graph().numpy())

    assert serialized(epochs=20) < 1.1 * serialized(epochs=2)
    one_source = [len(make_dataset(many["big"], source_tasks(), batch_size=8, shuffle=True, bucket=True, epochs=epochs)
                      ._as_serialized_graph().numpy()) for epochs in (2, 20)]
    assert one_source[1] < 1.1 * one_source[0]
