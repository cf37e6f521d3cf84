"""Examples to a `tf.data.Dataset` of `(features, labels, sample_weights)`."""

import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.tasks import TokenTagging, continuation_tag
from mtkeras.text.tokenizer import split_words


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
    token_tasks = [t.name for t in tasks if isinstance(t, TokenTagging)]
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


def encode_examples(examples, tasks):
    """Encodes examples as arrays: texts, then per task ids and weights.

    Token tasks give ragged rows (one entry per model word). Unknown task
    names in an example's labels are an error naming its source.
    """
    known = {t.name for t in tasks}
    texts, ids, weights = [], {t.name: [] for t in tasks}, {t.name: [] for t in tasks}
    for ex, (num_words, tags) in zip(examples, align_tags(examples, tasks)):
        unknown = sorted(set(ex.labels) - known)
        if unknown:
            raise ValueError(
                f"{ex.source}: labels for unknown task(s) {unknown}; the model's tasks are {sorted(known)}"
            )
        texts.append(ex.text)
        for task in tasks:
            value = tags.get(task.name, ex.labels.get(task.name))
            task_ids, task_weights = task.encode(value, num_words, ex.source)
            ids[task.name].append(task_ids)
            weights[task.name].append(task_weights)
    return texts, ids, weights


def _column(values):
    if values and np.ndim(values[0]) == 1:
        lengths = np.array([len(v) for v in values], dtype=np.int64)
        return tf.RaggedTensor.from_row_lengths(np.concatenate(values), lengths)
    return tf.constant(np.array(values))


def _dense_rows(*element):
    """Ragged columns slice into ragged-rank-0 rows; padded_batch wants tensors."""
    return tf.nest.map_structure(tf.convert_to_tensor, element)


def make_dataset(
    examples,
    tasks,
    batch_size=32,
    shuffle=False,
    seed=0,
    drop_remainder=False,
    repeat=False,
):
    """Builds the training/evaluation stream for `model.fit`.

    Every element is `({"text": [B]}, {task: ids}, {task: weights})`, with
    every task present in every batch: a missing label has weight 0 and costs
    nothing. Token labels and weights are padded to the batch's longest text.

    Args:
        examples: list of `Example`.
        tasks: list of `Task`.
        batch_size: int. The global batch size (split across replicas).
        shuffle: bool. Reshuffle every epoch, with `seed`.
        seed: int. Seed of the shuffle.
        drop_remainder: bool. Drop a last partial batch (use for training
            under `MirroredStrategy`).
        repeat: bool. Repeat forever (then pass `steps_per_epoch` to `fit`).

    Example:
    >>> data = make_dataset(read_joint_nlu("train"), tasks, batch_size=64, shuffle=True)
    >>> model.fit(data, epochs=3)
    """
    if not examples:
        raise ValueError("make_dataset: no examples")
    texts, ids, weights = encode_examples(examples, tasks)
    columns = (
        {names.TEXT: tf.constant(texts)},
        {name: _column(values) for name, values in ids.items()},
        {name: _column(values) for name, values in weights.items()},
    )
    dataset = tf.data.Dataset.from_tensor_slices(columns).map(_dense_rows)
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.padded_batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
