"""Constrained Viterbi decoding: the best tag sequence that is valid BIO.

Per-word argmax can output `O I-city` or `B-time I-city`, which no BIO
reading makes sense of. `viterbi_decode` picks, for each text, the tag
sequence with the highest sum of log-probabilities among the sequences where
every `I-x` continues a `B-x` or `I-x`. When the per-word argmax is already
valid it is that sequence, and that is checked first: the search over the
time axis only runs for a batch where some text's argmax is not valid (with a
trained tagger, few), which keeps it off the latency of most requests. (The
search sums float32 scores, so where two paths differ by a rounding error a
text may decode either way, depending on whether a batch-mate made the
search run.)

`viterbi_decode` uses core TensorFlow ops only (a `tf.cond`, and `tf.scan`
over the time axis; no Python loop over tensor values), so it runs eagerly, inside a
`tf.function` with unknown batch size and length, and inside an exported
SavedModel served by TF Serving. The tests check it against a plain numpy
reference (`tests/helpers/bio_oracles.py`).

Example:
>>> labels = ["O", "B-city", "I-city"]
>>> ids = viterbi_decode(probs, lengths, bio_transition_mask(labels), bio_start_mask(labels))
>>> # or, in one call:
>>> ids = decode_bio(probs, lengths, labels)
"""

import numpy as np

from mtkeras.lazy import lazy_module

tf = lazy_module("tensorflow")

# Probabilities are clipped to this before the log, so a probability that
# underflowed to 0 still gives a finite score and only the constraints are -inf.
MIN_PROB = 1e-30


def bio_entity_part(label):
    """`("B" | "I", type)` for a BIO entity tag, else None (same reading as
    `mtkeras.tasks.continuation_tag`)."""
    if len(label) > 2 and label[1] == "-" and label[0] in "BI":
        return label[0], label[2:]
    return None


def bio_entity_marks(tag_ids, real, labels):
    """Where each entity of a batch of BIO tag ids begins and ends.

    `B-x` begins an entity; `I-x` continues an `x` entity and begins a new one
    after anything else (the conlleval reading, for sequences that are not
    valid BIO, as `mtkeras.tasks.bio_entities` reads strings); every other
    tag ("O", or a tag not of the form `B-x`/`I-x`) is outside any entity,
    and so is every word where `real` is False. Core TensorFlow ops only.

    Args:
        tag_ids: int32 `[B, T]` tensor of ids into `labels`.
        real: bool `[B, T]` tensor, the words to read.
        labels: list of str. The tag of each id.

    Returns:
        `(begins, last, kind)`: bool `[B, T]` marks of each entity's first
        and last word (one of each per entity, in the same order along a
        row), and int32 `[B, T]` the entity type's index (-1 outside).
    """
    parts = [bio_entity_part(label) for label in labels]
    kinds = list(dict.fromkeys(part[1] for part in parts if part))
    is_entity = tf.constant([part is not None for part in parts], tf.bool)
    is_inside = tf.constant([part is not None and part[0] == "I" for part in parts], tf.bool)
    kind_ids = tf.constant([kinds.index(part[1]) if part else -1 for part in parts], tf.int32)
    batch, steps = tf.shape(tag_ids)[0], tf.shape(tag_ids)[1]
    entity = tf.gather(is_entity, tag_ids) & real
    kind = tf.where(entity, tf.gather(kind_ids, tag_ids), -1)
    # The previous word's entity type (-1 before the first word and after a
    # word outside entities); the concat-then-slice form also works for T = 0.
    previous = tf.concat([tf.fill([batch, 1], -1), kind], axis=1)[:, :steps]
    continues = entity & tf.gather(is_inside, tag_ids) & tf.equal(kind, previous)
    next_continues = tf.concat([continues, tf.zeros([batch, 1], tf.bool)], axis=1)[:, 1:]
    return entity & ~continues, entity & ~next_continues, kind


def bio_transition_mask(labels):
    """`allowed[i, j]`: tag `labels[j]` may follow tag `labels[i]`.

    `I-x` may only follow `B-x` or `I-x`. Every other tag ("O", `B-x`, or a
    tag not in BIO form) may follow anything.

    Returns:
        A `[C, C]` bool numpy array.
    """
    parts = [bio_entity_part(label) for label in labels]
    allowed = np.ones([len(labels), len(labels)], dtype=bool)
    for j, part_j in enumerate(parts):
        if part_j is None or part_j[0] != "I":
            continue
        for i, part_i in enumerate(parts):
            allowed[i, j] = part_i is not None and part_i[1] == part_j[1]
    return allowed


def bio_start_mask(labels):
    """`start_allowed[j]`: tag `labels[j]` may start a text (not an `I-x`).

    Returns:
        A `[C]` bool numpy array.
    """
    return np.array(
        [not (part is not None and part[0] == "I") for part in map(bio_entity_part, labels)],
        dtype=bool,
    ).reshape([len(labels)])


def viterbi_decode(probs, lengths, allowed, start_allowed):
    """Best valid tag ids per text under transition and start constraints.

    Maximizes, for each text `b`, the sum over its first `lengths[b]` words of
    `log(probs[b, t, tag_t])` (probabilities clipped at 1e-30) over the tag
    sequences with `start_allowed[tag_0]` and `allowed[tag_{t-1}, tag_t]`.

    Graph-safe: batch size, `T` and the number of tags may all be unknown
    statically; `T` may be 0 or 1 and lengths may be 0.

    Args:
        probs: float `[B, T, C]` tag probabilities.
        lengths: int `[B]` words per text (clipped to `[0, T]`).
        allowed: bool `[C, C]`, from `bio_transition_mask`.
        start_allowed: bool `[C]`, from `bio_start_mask`.

    Returns:
        int32 `[B, T]` tag ids; 0 past each text's length.
    """
    probs = tf.convert_to_tensor(probs)
    if not probs.dtype.is_floating:
        raise TypeError(f"`probs` must be a float tensor. Received: dtype={probs.dtype}")
    probs = tf.cast(probs, tf.float32)
    allowed = tf.cast(tf.convert_to_tensor(allowed), tf.bool)
    start_allowed = tf.cast(tf.convert_to_tensor(start_allowed), tf.bool)

    steps = tf.shape(probs)[1]
    lengths = tf.clip_by_value(tf.cast(tf.convert_to_tensor(lengths), tf.int32), 0, steps)
    # At least two steps, so both scans below have elements whatever T is;
    # the padding lies past every length and is cut off at the end.
    padded_steps = tf.maximum(steps, 2)
    emissions = tf.math.log(tf.maximum(probs, MIN_PROB))
    emissions = tf.pad(emissions, [[0, 0], [0, padded_steps - steps], [0, 0]])

    # A trained tagger's per-word argmax is nearly always valid BIO, and then
    # it is the best valid sequence: the loops below only run for a batch
    # where some text's argmax breaks a constraint.
    best = tf.argmax(emissions[:, :steps], axis=-1, output_type=tf.int32)  # [B, T]
    return tf.cond(
        _is_allowed_path(best, lengths, allowed, start_allowed),
        lambda: tf.where(tf.sequence_mask(lengths, steps), best, tf.zeros_like(best)),
        lambda: _constrained_path(emissions, steps, lengths, allowed, start_allowed),
    )


def _is_allowed_path(tag_ids, lengths, allowed, start_allowed):
    """Whether every text's tags (int32 `[B, T]`, up to its length) start and follow as `allowed`."""
    steps = tf.shape(tag_ids)[1]
    num_tags = tf.shape(allowed)[0]
    starts_ok = tf.gather(start_allowed, tag_ids[:, :1])  # [B, min(T, 1)]
    follows_ok = tf.gather(tf.reshape(allowed, [-1]), tag_ids[:, :-1] * num_tags + tag_ids[:, 1:])  # [B, T-1]
    ok = tf.concat([starts_ok, follows_ok], axis=1)  # [B, T]
    return tf.reduce_all(ok | ~tf.sequence_mask(lengths, steps))


def _constrained_path(emissions, steps, lengths, allowed, start_allowed):
    """`viterbi_decode`'s search: `emissions` are the log-probabilities, padded to at least two steps."""
    padded_steps = tf.shape(emissions)[1]
    num_tags = tf.shape(emissions)[2]
    neg_inf = tf.constant(-np.inf, tf.float32)
    transitions = tf.where(allowed, tf.constant(0.0, tf.float32), neg_inf)  # [C, C]
    start = tf.where(start_allowed, tf.constant(0.0, tf.float32), neg_inf)  # [C]

    time_major = tf.transpose(emissions, [1, 0, 2])  # [T', B, C]
    real = tf.transpose(tf.sequence_mask(lengths, padded_steps), [1, 0])  # [T', B]
    identity = tf.range(num_tags, dtype=tf.int32)[None, :]  # [1, C]

    def forward(carry, inputs):
        score, _ = carry
        emission, is_real = inputs
        candidates = score[:, :, None] + transitions[None, :, :]  # [B, C_prev, C]
        best_previous = tf.argmax(candidates, axis=1, output_type=tf.int32)
        new_score = tf.reduce_max(candidates, axis=1) + emission
        # Past a text's end the score is carried and each tag points to itself,
        # so backtracking from the last step lands on the text's last word.
        is_real = is_real[:, None]
        return (
            tf.where(is_real, new_score, score),
            tf.where(is_real, best_previous, tf.broadcast_to(identity, tf.shape(best_previous))),
        )

    initial_score = time_major[0] + start[None, :]  # [B, C]
    initial_pointers = tf.zeros_like(initial_score, dtype=tf.int32)
    scores, pointers = tf.scan(
        forward, (time_major[1:], real[1:]), initializer=(initial_score, initial_pointers)
    )  # [T'-1, B, C] each
    last_tag = tf.argmax(scores[-1], axis=-1, output_type=tf.int32)  # [B]

    def backward(tag, step_pointers):
        return tf.gather(step_pointers, tag, batch_dims=1)

    earlier_tags = tf.scan(backward, pointers, initializer=last_tag, reverse=True)  # [T'-1, B]
    tags = tf.transpose(tf.concat([earlier_tags, last_tag[None, :]], axis=0), [1, 0])  # [B, T']
    tags = tags[:, :steps]
    return tf.where(tf.sequence_mask(lengths, steps), tags, tf.zeros_like(tags))


def decode_bio(probs, lengths, labels):
    """`viterbi_decode` with the BIO constraints of `labels` (a list of str)."""
    return viterbi_decode(
        probs,
        lengths,
        tf.constant(bio_transition_mask(labels)),
        tf.constant(bio_start_mask(labels)),
    )


_TRACED_VITERBI = []


def decode_bio_arrays(probs, lengths, labels):
    """`decode_bio` of numpy arrays, as numpy: one traced graph for every batch size, length and tag set."""
    if not _TRACED_VITERBI:
        _TRACED_VITERBI.append(
            tf.function(
                viterbi_decode,
                input_signature=[
                    tf.TensorSpec([None, None, None], tf.float32),
                    tf.TensorSpec([None], tf.int32),
                    tf.TensorSpec([None, None], tf.bool),
                    tf.TensorSpec([None], tf.bool),
                ],
                autograph=False,  # graph code as written, as the export traces it
            )
        )
    decode = _TRACED_VITERBI[0]
    probs = np.asarray(probs, dtype=np.float32)
    lengths = np.asarray(lengths, dtype=np.int32)
    return decode(probs, lengths, bio_transition_mask(labels), bio_start_mask(labels)).numpy()


def continuation_tag(tag):
    """The tag of a word piece that follows `tag` inside the same data word.

    "B-city" and "I-city" continue as "I-city"; anything else continues as is.
    """
    part = bio_entity_part(tag)
    return "I-" + part[1] if part else tag


def bio_entities(words, tags):
    """Groups BIO-tagged words into `(type, text)` entities.

    An `I-x` that does not continue an `x` entity starts a new one (the
    conlleval reading), so no tagged word is dropped.

    Example:
    >>> bio_entities(["for", "two", "at", "8", "pm"], ["O", "B-party_size", "O", "B-time", "I-time"])
    [('party_size', 'two'), ('time', '8 pm')]
    """
    entities = []
    current = None
    for word, tag in zip(words, tags):
        part = bio_entity_part(tag)
        if part is not None:
            prefix, kind = part
            if prefix == "I" and current is not None and current[0] == kind:
                current[1].append(word)
                continue
            current = (kind, [word])
            entities.append(current)
        else:
            current = None
    return [(kind, " ".join(span)) for kind, span in entities]


def bio_entity_spans(tag_ids, lengths, labels):
    """The entities of a batch of BIO tag ids, as padded dense tensors.

    Reads tags as `bio_entities` does (see `bio_entity_marks`). Core
    TensorFlow ops only, vectorised over the batch: it runs eagerly, in a
    `tf.function` with unknown batch size and length, and in a SavedModel.

    Args:
        tag_ids: int `[B, T]` tensor of ids into `labels`.
        lengths: int `[B]` tensor, words per text; tags past it are ignored.
        labels: list of str. The tag of each id.

    Returns:
        `(starts, ends, types, counts)`, padded to `E`, the most entities of
        any text (0 when no text has one): `starts` int32 `[B, E]` (first
        word, -1 padded), `ends` int32 `[B, E]` (one past the last word, so
        `words[start:end]` is the entity, -1 padded), `types` string
        `[B, E]` ("city" for `B-city`, "" padded), `counts` int32 `[B]`.

    Example:
    >>> labels = ["O", "B-city", "I-city", "B-date"]
    >>> starts, ends, types, counts = bio_entity_spans([[1, 2, 3, 0]], [4], labels)
    >>> starts.numpy().tolist(), ends.numpy().tolist(), types.numpy().tolist()
    ([[0, 2]], [[2, 3]], [[b'city', b'date']])
    """
    kind_names = tf.constant([part[1] if part else "" for part in map(bio_entity_part, labels)], tf.string)
    tag_ids = tf.cast(tf.convert_to_tensor(tag_ids), tf.int32)
    batch = tf.shape(tag_ids)[0]
    begins, last, _ = bio_entity_marks(tag_ids, tf.sequence_mask(lengths, tf.shape(tag_ids)[1]), labels)

    # Both masks hold one True per entity; tf.where lists them in row-major
    # order, so the i-th begin and the i-th last word of a text are one entity.
    rows = tf.cast(batch, tf.int64)
    begin_at, last_at = tf.where(begins), tf.where(last)
    starts = tf.RaggedTensor.from_value_rowids(tf.cast(begin_at[:, 1], tf.int32), begin_at[:, 0], nrows=rows)
    ends = tf.RaggedTensor.from_value_rowids(tf.cast(last_at[:, 1] + 1, tf.int32), last_at[:, 0], nrows=rows)
    types = starts.with_flat_values(tf.gather(kind_names, tf.gather_nd(tag_ids, begin_at)))
    counts = tf.cast(starts.row_lengths(), tf.int32)
    width = tf.reduce_max(tf.concat([counts, [0]], axis=0))
    dense = tf.cast(tf.stack([batch, width]), tf.int64)
    return (
        starts.to_tensor(default_value=-1, shape=dense),
        ends.to_tensor(default_value=-1, shape=dense),
        types.to_tensor(default_value="", shape=dense),
        counts,
    )


__all__ = [
    "decode_bio_arrays",
    "bio_entities",
    "bio_entity_spans",
    "continuation_tag",
    "bio_entity_marks",
    "bio_entity_part",
    "bio_start_mask",
    "bio_transition_mask",
    "decode_bio",
    "viterbi_decode",
]
