"""Examples to `tf.data` streams of `(features, labels, sample_weights)`.

One source: `make_dataset`. Several sources, each labelled for some tasks:
`mix_datasets`, which samples them with a chosen strategy. Both give every
task in every batch (a missing label has weight 0) and can batch texts of
similar length together (`bucket=True`: sorted within shuffled windows of
batches) instead of padding every batch to its longest text.
"""

import collections
import hashlib
import logging

import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.names import TOKEN, UNKNOWN_LABEL_ID
from mtkeras.ops.bio import continuation_tag
from mtkeras.text.tokenizer import split_words
from mtkeras.training.distillation import pack_targets

logger = logging.getLogger("mtkeras")

# Words per text, carried beside `text` until batching (for bucketing).
_NUM_WORDS = "_num_words"
SAMPLING = ("proportional", "uniform", "temperature")
# Sampling whose weights move from one epoch to the next (`annealed_weights`).
ANNEALED = "annealed"
UNKNOWN_LABELS = ("error", "raise")


def align_tags(examples, tasks):
    """Re-expresses each example's word tags on the model's words.

    Data words are split again by `mtkeras.text.split_words`, the rule the
    model applies to raw text (so "two," in a file becomes "two" ","). A data
    word split into several model words keeps its tag on the first and a
    continuation tag (`I-x` after `B-x`) on the rest.

    Returns:
        A list, one entry per example: `(model_word_count, {task: tags})` for
        the token tasks the example labels.
    """
    token_tasks = [t.name for t in tasks if t.level == TOKEN]
    all_words = [word for ex in examples for word in ex.words]
    pieces = split_words(all_words).row_lengths().numpy() if all_words else np.zeros([0], np.int64)
    aligned, start = [], 0
    for ex in examples:
        counts = pieces[start : start + len(ex.words)]
        start += len(ex.words)
        tags = {}
        for name in token_tasks:
            if name not in ex.labels:
                continue
            expanded = []
            for tag, count in zip(ex.labels[name], counts):
                expanded += [tag] + [continuation_tag(tag)] * (int(count) - 1)
            tags[name] = expanded
        aligned.append((int(counts.sum()), tags))
    return aligned


def encode_examples(examples, tasks, unknown_labels="error", soft_targets=None):
    """Encodes examples as arrays: texts, word counts, per task ids and weights.

    Token tasks give one entry per model word. A label outside a task's
    vocabulary raises (`unknown_labels="raise"`) or gets id
    `UNKNOWN_LABEL_ID` (`"error"`, the default): the loss leaves it out and
    metrics count it as an error, as evaluation on ATIS-style test sets
    requires; their number is logged. Labels for tasks the model does not
    have are an error naming the example's source.

    `soft_targets` (`{task: [teacher distribution or None per example]}`)
    makes a task's labels packed distillation targets
    (`mtkeras.training.distillation.pack_targets`): teacher, gold id, has gold.

    Returns:
        `(texts, num_words, ids, weights)`; `ids` and `weights` map task names
        to lists of arrays.
    """
    soft_targets = soft_targets or {}
    for name, targets in soft_targets.items():
        if name not in {t.name for t in tasks} or len(targets) != len(examples):
            raise ValueError(f"soft_targets[{name!r}] must be a task's targets, one per example "
                             f"({len(examples)}); received {len(targets)} for tasks {[t.name for t in tasks]}")
    if unknown_labels not in UNKNOWN_LABELS:
        raise ValueError(f"unknown_labels must be one of {UNKNOWN_LABELS}. Received: {unknown_labels!r}")
    known = {t.name for t in tasks}
    texts, num_words = [], []
    ids, weights = {t.name: [] for t in tasks}, {t.name: [] for t in tasks}
    unknown = collections.defaultdict(list)
    for index, (ex, (count, tags)) in enumerate(zip(examples, align_tags(examples, tasks))):
        extra = sorted(set(ex.labels) - known)
        if extra:
            raise ValueError(
                f"{ex.source}: labels for unknown task(s) {extra}; the model's tasks are {sorted(known)}"
            )
        if ex.pair is None and any(task.pair and task.name in ex.labels for task in tasks):
            pair_tasks = [task.name for task in tasks if task.pair and task.name in ex.labels]
            raise ValueError(f"{ex.source}: labels for sentence-pair task(s) {pair_tasks} but no second text")
        texts.append(ex.text)
        num_words.append(count)
        for task in tasks:
            value = tags.get(task.name, ex.labels.get(task.name))
            task_ids, task_weights = task.encode(value, count, ex.source, unknown=unknown_labels)
            if np.any(task_ids == UNKNOWN_LABEL_ID) and value is not None:
                unknown[task.name].append(ex.source)
            if task.name in soft_targets:
                task_ids, task_weights = pack_targets(task_ids, task_weights, soft_targets[task.name][index],
                                                      task.num_labels)
            ids[task.name].append(task_ids)
            weights[task.name].append(task_weights)
    for task, sources in unknown.items():
        logger.warning(
            "task %r: %d example(s) carry labels outside its vocabulary (first: %s); "
            "they count as errors in metrics and are left out of the loss "
            "(pass unknown_labels='raise' to make this an error, as for training data)",
            task, len(sources), sources[0],
        )
    return texts, num_words, ids, weights


def _column(values):
    if values and np.ndim(values[0]) >= 1:
        lengths = np.array([len(v) for v in values], dtype=np.int64)
        return tf.RaggedTensor.from_row_lengths(np.concatenate(values), lengths)
    return tf.constant(np.array(values))


def _dense_rows(*element):
    """Ragged columns slice into ragged-rank-0 rows; batching wants tensors."""
    return tf.nest.map_structure(tf.convert_to_tensor, element)


def example_dataset(examples, tasks, unknown_labels="error", soft_targets=None):
    """One element per example: `({"text", "_num_words"}, labels, weights)`, unbatched.

    Models with sentence-pair tasks also get `"text_pair"` in the features.
    `_num_words` (the model's word count, what bucketing sorts by) is dropped
    when the stream is batched.
    """
    return tf.data.Dataset.from_tensor_slices(_example_columns(examples, tasks, unknown_labels, soft_targets)).map(_dense_rows)


def _example_columns(examples, tasks, unknown_labels="error", soft_targets=None):
    """`example_dataset`'s elements as columns: `(features, labels, weights)`, one row per example."""
    if not examples:
        raise ValueError("no examples to build a dataset from")
    texts, num_words, ids, weights = encode_examples(examples, tasks, unknown_labels, soft_targets)
    features = {names.TEXT: tf.constant(texts), _NUM_WORDS: tf.constant(num_words, tf.int32)}
    if any(task.pair for task in tasks):
        # Every example gets a second text ("" without one) when a task reads pairs.
        features[names.TEXT_PAIR] = tf.constant([ex.text_pair for ex in examples])
    return (
        features,
        {name: _column(values) for name, values in ids.items()},
        {name: _column(values) for name, values in weights.items()},
    )


def _drop_num_words(features, labels, weights):
    features = {key: value for key, value in features.items() if key != _NUM_WORDS}
    return features, labels, weights


def _sort_window_by_length(features, labels, weights):
    order = tf.argsort(features[_NUM_WORDS], stable=True)
    return tf.nest.map_structure(lambda column: tf.gather(column, order), (features, labels, weights))


def batch_dataset(dataset, batch_size, bucket=False, drop_remainder=False, window_batches=64, seed=0):
    """Pads and batches an `example_dataset` stream.

    With `bucket=True`, texts of similar length share a batch: the stream is
    cut into windows of `window_batches` batches, each window is sorted by
    word count and cut into batches, and the batches are shuffled again, so
    the number of batches is exactly what plain batching gives (Keras counts
    on a fixed epoch length) while padding drops.
    """
    _check_batch_size(batch_size)
    if bucket:
        dataset = (
            dataset.ragged_batch(batch_size * window_batches)
            .map(_sort_window_by_length, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
            .map(_dense_rows, num_parallel_calls=tf.data.AUTOTUNE)
            .padded_batch(batch_size, drop_remainder=drop_remainder)
            .shuffle(window_batches, seed=seed, reshuffle_each_iteration=True)
        )
    else:
        dataset = dataset.padded_batch(batch_size, drop_remainder=drop_remainder)
    return _stream_options(dataset.map(_drop_num_words).prefetch(PREFETCH_BATCHES))


def epoch_key(seed, part, epoch):
    """The stateless seed (int64 `[2]`) of one random part (`"order"`, `"draws"`, a source's name...) of
    epoch `epoch` (an int or a scalar tensor) of a run seeded `seed`: a function of these alone, so the
    epoch's batches do not depend on what the process read before (a run resumed at epoch k, in a new
    process, reads the batches an unbroken run reads at epoch k)."""
    digest = hashlib.sha256(f"{seed}/{part}".encode()).digest()
    return tf.stack([tf.constant(int.from_bytes(digest[:4], "little") >> 1, tf.int64), tf.cast(epoch, tf.int64)])


def _subkey(key, index):
    """`key` made distinct for the `index`-th draw of its part (a pass, a window) within its epoch."""
    return tf.stack([key[0], key[1] * (1 << 32) + tf.cast(index, tf.int64)])


def _check_batch_size(batch_size):
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"Received an invalid `batch_size`, expected a positive integer. Received: {batch_size!r}")


def _check_epochs(epochs, initial_epoch):
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"Received an invalid `epochs`, expected a positive integer. Received: epochs={epochs!r}")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int) or not 0 <= initial_epoch < epochs:
        raise ValueError(f"initial_epoch must be in [0, epochs). Received: initial_epoch={initial_epoch!r}, "
                         f"epochs={epochs!r}")


def _epochs(one_epoch, initial_epoch, epochs, steps):
    """Epochs `initial_epoch` to `epochs - 1` one after the other (`one_epoch(epoch)`, `epoch` a tensor), in
    one loop of the graph: its examples are in the graph once, however many epochs (a graph of one pipeline
    per epoch, serialized for multi-worker sharding, held them once per epoch). `steps`: batches an epoch."""
    stream = tf.data.Dataset.range(initial_epoch, epochs).flat_map(one_epoch).map(_drop_num_words)
    stream = stream.apply(tf.data.experimental.assert_cardinality(steps * (epochs - initial_epoch)))
    return _stream_options(stream.prefetch(PREFETCH_BATCHES))


def _rows(columns, order):
    """The examples `order` (int64 indices) of `_example_columns`, one element each, gathered 256 at a time."""
    return (tf.data.Dataset.from_tensor_slices(order).batch(256)
            .map(lambda indices: tf.nest.map_structure(lambda column: tf.gather(column, indices), columns))
            .unbatch().map(_dense_rows))


def _passes(columns, size, key):
    """A source's examples (`_example_columns`) without end, each pass in its own order; the same at every
    iteration: pass p's order is a stateless permutation seeded by `key` and p, not by how often the stream
    was read (a stateful shuffle's next order depends on that)."""
    def one_pass(p):
        return _rows(columns, tf.random.experimental.stateless_shuffle(tf.range(size, dtype=tf.int64),
                                                                       seed=_subkey(key, p)))

    return tf.data.Dataset.range(1 << 62).flat_map(one_pass)


def _bucketed(dataset, batch_size, drop_remainder, key, window_batches=64):
    """`batch_dataset(bucket=True)` whose batch order within each window is a stateless permutation
    (seeded by `key` and the window's place), the same at every iteration. A window's partial batch (the
    epoch's last) stays last."""
    def sorted_window(index, window):
        order = tf.argsort(window[0][_NUM_WORDS], stable=True)
        full = tf.shape(order)[0] // batch_size
        blocks = tf.reshape(order[:full * batch_size], [full, batch_size])
        permuted = tf.gather(blocks, tf.random.experimental.stateless_shuffle(tf.range(full), seed=_subkey(key, index)))
        order = tf.concat([tf.reshape(permuted, [-1]), order[full * batch_size:]], axis=0)
        return tf.nest.map_structure(lambda column: tf.gather(column, order), window)

    return (dataset.ragged_batch(batch_size * window_batches).enumerate().map(sorted_window)
            .unbatch().map(_dense_rows).padded_batch(batch_size, drop_remainder=drop_remainder))


# Batches prepared ahead of the training step (the streams are in memory: a batch takes well under a millisecond).
PREFETCH_BATCHES = 2


def _stream_options(dataset):
    """The options of every training and evaluation stream.

    - Under `MultiWorkerMirroredStrategy`, each worker takes its share of
      every global batch. The streams are built in memory (no files to split
      among workers), so sharding is by data: every worker runs the same
      pipeline and keeps its slice of each batch, and the workers together
      see exactly the batches one process would.
    - No tf.data autotuning. Its model thread re-plans on a period that doubles
      up to 60 s, and deleting an iterator waits for that thread: measured on
      a MiniLM fit of 100 steps (TF 2.21), `fit` returned 23-40 s after its
      last step in 3 of 6 runs, the main thread in the iterator's destructor
      and the `tf_data_model` thread in `Model::OptimizeLoop`'s timed wait
      (the native stacks: benchmarks/README.md, training_step.py). Without it: 0.01 s in 4 of 4
      runs, and the same steps per second (the model step, not this in-memory
      pipeline, is the bottleneck).
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.autotune.enabled = False
    return dataset.with_options(options)


def make_dataset(
    examples,
    tasks,
    batch_size=32,
    shuffle=False,
    seed=0,
    drop_remainder=False,
    repeat=False,
    bucket=False,
    unknown_labels="error",
    soft_targets=None,
    epochs=None,
    initial_epoch=0,
):
    """The training or evaluation stream of one source, for `model.fit`.

    Every element is `({"text": [B]}, {task: ids}, {task: weights})`, with
    every task present in every batch: a missing label has weight 0 and costs
    nothing. Token labels and weights are padded to the batch's longest text.

    Args:
        examples: list of `Example`.
        tasks: list of `Task`.
        batch_size: int. The global batch size (split across replicas).
        shuffle: bool. Reshuffle every epoch, with `seed`.
        seed: int. Seed of the shuffle.
        drop_remainder: bool. Drop partial batches (use for training under
            `MirroredStrategy`).
        repeat: bool. Repeat forever (then pass `steps_per_epoch` to `fit`).
        bucket: bool. Batch texts of similar length together (less padding,
            faster training); batches then come in a length-driven order.
        unknown_labels: `"error"` or `"raise"`; see `encode_examples`.
        soft_targets: dict or None. `{task: [teacher distribution or None
            per example]}`: those tasks' labels become packed distillation
            targets (`encode_examples`), for a model compiled with
            `distillation=`.
        epochs: int or None. The stream holds the epochs from
            `initial_epoch` to `epochs`, one after the other, each in the
            order its own seeds give (`epoch_key`): a run resumed at any
            epoch, in a new process, reads what an unbroken one reads there.
            Pass `steps_per_epoch` (the batches of one epoch) to `fit`, which
            then reads on through the stream. None: one epoch, reshuffled at
            each iteration.
        initial_epoch: int. With `epochs`: the epoch the stream starts at.

    Example:
    >>> data = make_dataset(read_joint_nlu("train"), tasks, batch_size=64, shuffle=True, bucket=True)
    >>> model.fit(data, epochs=3)
    """
    def count():  # the batches of an epoch (bucketing hides it from tf.data; Keras needs it)
        return len(examples) // batch_size if drop_remainder else -(-len(examples) // batch_size)

    if epochs is not None:
        _check_epochs(epochs, initial_epoch)
        if repeat:
            raise ValueError("Pass `epochs` or `repeat=True`, not both: an `epochs` stream ends after its last epoch")
        _check_batch_size(batch_size)
        columns, size = _example_columns(examples, tasks, unknown_labels, soft_targets), len(examples)

        def one_epoch(epoch):
            order = (tf.random.experimental.stateless_shuffle(tf.range(size, dtype=tf.int64),
                                                              seed=epoch_key(seed, "order", epoch))
                     if shuffle else tf.range(size, dtype=tf.int64))
            rows = _rows(columns, order)
            if bucket:
                return _bucketed(rows, batch_size, drop_remainder, epoch_key(seed, "batches", epoch))
            return rows.padded_batch(batch_size, drop_remainder=drop_remainder)

        return _epochs(one_epoch, initial_epoch, epochs, count())
    dataset = example_dataset(examples, tasks, unknown_labels, soft_targets).cache()
    if shuffle:
        dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    batched = batch_dataset(dataset, batch_size, bucket, drop_remainder, seed=seed)
    if bucket and not repeat:
        # Bucketing hides the batch count from tf.data; it is what plain
        # batching gives, and Keras needs it to know where an epoch ends.
        batched = batched.apply(tf.data.experimental.assert_cardinality(count()))
    return batched


def sampling_weights(sizes, sampling="proportional", temperature=2.0):
    """Probabilities of drawing the next example from each source.

    `proportional`: size / total. `uniform`: the same for every source.
    `temperature`: proportional to size ** (1 / temperature) (1 gives
    proportional, large values approach uniform; the usual multi-task
    compromise that keeps small sources from being drowned out).
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    if sampling not in SAMPLING:
        raise ValueError(f"Unknown sampling {sampling!r}; expected one of {SAMPLING}")
    if sampling == "temperature" and not temperature > 0:
        raise ValueError(f"temperature must be > 0. Received: temperature={temperature!r}")
    if sampling == "uniform":
        raw = np.ones_like(sizes)
    elif sampling == "proportional":
        raw = sizes
    else:
        raw = sizes ** (1.0 / temperature)
    return (raw / raw.sum()).tolist()


def annealed_weights(sizes, epoch, epochs, temperature=2.0):
    """The sampling probabilities of epoch `epoch` (0-based) of `epochs` under annealed sampling.

    Proportional to size ** alpha, with alpha moving linearly from 1
    (proportional: every example equally likely, as one big dataset) at the
    first epoch to 1 / `temperature` at the last (small sources drawn more
    often). Stickland & Murray (2019) anneal alpha from 1 to 0.2 (temperature
    5) so that a model first sees the data as it is, then evens out the tasks
    towards the end, when the small tasks would otherwise be forgotten.
    """
    if not isinstance(epochs, int) or epochs < 1 or not 0 <= epoch < epochs:
        raise ValueError(f"annealed sampling needs 0 <= epoch < epochs. Received: epoch={epoch!r}, epochs={epochs!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0. Received: temperature={temperature!r}")
    progress = epoch / (epochs - 1) if epochs > 1 else 0.0
    alpha = 1.0 - (1.0 - 1.0 / temperature) * progress
    raw = np.asarray(sizes, dtype=np.float64) ** alpha
    return (raw / raw.sum()).tolist()


def mix_datasets(
    sources,
    tasks,
    batch_size=32,
    sampling="proportional",
    temperature=2.0,
    examples_per_epoch=None,
    seed=0,
    bucket=True,
    unknown_labels="raise",
    weights=None,
    epochs=None,
    initial_epoch=0,
    soft_targets=None,
):
    """One training stream from several sources, each labelled for some tasks.

    Each source is shuffled and repeated on its own; the next example is drawn
    from a source chosen at random with `sampling_weights`. An epoch is
    `examples_per_epoch` draws (default: all sources' examples once, on
    average), rounded up to whole batches, which are always full. Seeded: the same seed gives
    the same stream, and each epoch draws a new mix.

    Args:
        sources: dict of source name to list of `Example`.
        tasks: list of `Task` (every source is encoded for all of them).
        batch_size: int. The global batch size.
        sampling: `"proportional"`, `"uniform"`, `"temperature"`,
            `"weights"` (the given `weights`), or `"annealed"` (from
            proportional at the first epoch to `temperature` at the last;
            `annealed_weights`).
        temperature: float. For `sampling="temperature"` (and the last
            epoch of `"annealed"`).
        examples_per_epoch: int or None. Draws per epoch.
        seed: int. Seeds source shuffles and the sampler.
        bucket: bool. Batch texts of similar length together.
        unknown_labels: `"raise"` (default: a training stream) or `"error"`;
            see `encode_examples`.
        weights: dict of source name to a positive number, with
            `sampling="weights"`: draws in proportion to them.
        epochs: int or None. The stream holds every epoch from
            `initial_epoch` to `epochs`, one after the other, each drawn and
            shuffled by its own seeds (`epoch_key`), so a run resumed at any
            epoch in a new process reads what an unbroken run reads there:
            pass `steps_per_epoch=epoch_steps(...)` to `fit`, which
            then reads on through the stream instead of restarting it.
            Needed by `sampling="annealed"` (each epoch has its own weights).
            None: one epoch, drawn anew at each iteration.
        initial_epoch: int. With `epochs`: the epoch the stream starts at
            (a resumed run's).
        soft_targets: dict or None. `{source: {task: [teacher distribution
            or None per example]}}` (see `make_dataset`); a distilled task
            needs an entry for every source.

    Example:
    >>> data = mix_datasets({"snips": snips, "sst2": sst2, "wnut": wnut}, tasks,
    ...                     sampling="temperature", temperature=2.0)
    >>> model.fit(data, epochs=5)
    """
    if not sources:
        raise ValueError("mix_datasets: no sources")
    empty = [name for name, examples in sources.items() if not examples]
    if empty:
        raise ValueError(f"mix_datasets: source(s) {empty} have no examples")
    names_, sizes = list(sources), [len(sources[name]) for name in sources]
    if sampling == ANNEALED and epochs is None:
        raise ValueError("sampling='annealed' needs `epochs` (its weights move over them). Received: epochs=None")
    if epochs is not None:
        _check_epochs(epochs, initial_epoch)
    if (sampling == "weights") != (weights is not None):
        raise ValueError(f"Pass `weights` exactly when sampling='weights'. Received: sampling={sampling!r}, weights={weights!r}")
    if weights is not None:
        if set(weights) != set(names_) or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in weights.values()
        ):
            raise ValueError(
                f"`weights` must give a positive number for each source {names_}. Received: weights={weights!r}"
            )
        weights = [weights[name] / sum(weights.values()) for name in names_]
    elif sampling == ANNEALED:
        weights = [annealed_weights(sizes, epoch, epochs, temperature) for epoch in range(initial_epoch, epochs)]
    else:
        weights = sampling_weights(sizes, sampling, temperature)
    examples_per_epoch = sum(sizes) if examples_per_epoch is None else examples_per_epoch
    if not isinstance(examples_per_epoch, int) or examples_per_epoch < 1:
        raise ValueError(f"examples_per_epoch must be a positive integer. Received: {examples_per_epoch!r}")
    _check_batch_size(batch_size)
    columns = [_example_columns(sources[name], tasks, unknown_labels, (soft_targets or {}).get(name)) for name in names_]

    def show(weights):
        return ", ".join(f"{n} {w:.1%}" for n, w in zip(names_, weights))

    sizes_shown = ", ".join(f"{n} ({s})" for n, s in zip(names_, sizes))
    # The stream is endless, so every batch is full; an epoch is whole batches.
    steps = -(-examples_per_epoch // batch_size)
    if epochs is None:
        datasets = [tf.data.Dataset.from_tensor_slices(source).map(_dense_rows).cache()
                    .shuffle(size, seed=seed + i, reshuffle_each_iteration=True).repeat()
                    for i, (source, size) in enumerate(zip(columns, sizes))]
        mixed = tf.data.Dataset.sample_from_datasets(datasets, weights=weights, seed=seed, rerandomize_each_iteration=True)
        logger.info("mixing %s with %s sampling: %s", sizes_shown, sampling, show(weights))
        return batch_dataset(mixed, batch_size, bucket, drop_remainder=True, seed=seed).take(steps)
    if sampling == ANNEALED:
        logger.info("mixing %s with annealed sampling: %s at epoch %d, to %s at epoch %d", sizes_shown,
                    show(weights[0]), initial_epoch + 1, show(weights[-1]), epochs)
    else:
        logger.info("mixing %s with %s sampling: %s", sizes_shown, sampling, show(weights))

    # Log-weights per epoch of the stream (annealed: each epoch its own), drawn from without a state.
    table = tf.math.log(tf.constant(weights if sampling == ANNEALED else [weights], tf.float32))

    def one_epoch(epoch):
        # Each source's passes and the draws among them are seeded by the epoch: the same at every iteration.
        datasets = [_passes(source, size, epoch_key(seed, f"source {name}", epoch))
                    for name, source, size in zip(names_, columns, sizes)]
        logits = table[epoch - initial_epoch] if sampling == ANNEALED else table[0]
        draws = tf.random.stateless_categorical(logits[None], steps * batch_size, seed=epoch_key(seed, "draws", epoch),
                                                dtype=tf.int64)[0]
        mixed = tf.data.Dataset.choose_from_datasets(datasets, tf.data.Dataset.from_tensor_slices(draws))
        if bucket:
            return _bucketed(mixed, batch_size, True, epoch_key(seed, "batches", epoch))
        return mixed.padded_batch(batch_size, drop_remainder=True)

    return _epochs(one_epoch, initial_epoch, epochs, steps)


def mixed_steps_per_epoch(dataset, sampling, epochs=None, initial_epoch=0):
    """Batches per epoch of a `mix_datasets` stream made without `epochs` (one epoch), or of an annealed one
    (which holds the epochs from `initial_epoch` to `epochs`). For any stream made with `epochs`:
    `epoch_steps`."""
    return epoch_steps(dataset, epochs if sampling == ANNEALED else None, initial_epoch)


def epoch_steps(dataset, epochs=None, initial_epoch=0):
    """Batches per epoch of a `make_dataset` or `mix_datasets` stream: one made with `epochs` holds the
    epochs from `initial_epoch` to `epochs` (pass the same), one without holds one."""
    batches = int(dataset.cardinality())
    return batches // (epochs - initial_epoch) if epochs is not None else batches
