"""Constrained BIO Viterbi: masks, TF == numpy reference == brute force, validity, graph safety."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from helpers.bio_oracles import is_valid_bio, sequence_log_score, viterbi_decode_numpy
from mtkeras.ops.bio import bio_start_mask, bio_transition_mask, decode_bio, viterbi_decode

SIGNATURE = [
    tf.TensorSpec([None, None, None], tf.float32),
    tf.TensorSpec([None], tf.int32),
    tf.TensorSpec([None, None], tf.bool),
    tf.TensorSpec([None], tf.bool),
]


@pytest.fixture(scope="module")
def graph_decode():
    return tf.function(viterbi_decode, input_signature=SIGNATURE)


def label_set(num_types, rng, extra=False):
    """"O" plus B-/I- tags of `num_types` types in a random order (and a non-BIO tag)."""
    labels = ["O"] + [f"{p}-t{k}" for k in range(num_types) for p in "BI"]
    if extra:
        labels.append("X")
    return [labels[i] for i in rng.permutation(len(labels))]


def random_batch(rng, num_labels, batch=8, max_steps=12):
    steps = int(rng.integers(0, max_steps + 1))
    # Peaked and flat distributions, some probabilities underflowing to 0.
    logits = rng.normal(size=[batch, steps, num_labels]) * rng.choice([0.5, 3.0, 30.0])
    probs = tf.nn.softmax(logits.astype(np.float32)).numpy()
    lengths = rng.integers(0, steps + 1, size=batch).astype(np.int32)
    if steps:
        lengths[: min(batch, 2)] = [0, 1][: min(batch, 2)]
        lengths[-1] = steps
    return probs, lengths


def assert_same_or_tied(tf_ids, np_ids, probs, lengths):
    """Equal paths; where float32 and float64 rounding may pick another path
    of the same score, the scores must tie."""
    for b, length in enumerate(lengths):
        if not np.array_equal(tf_ids[b], np_ids[b]):
            a = sequence_log_score(probs[b], tf_ids[b, :length])
            c = sequence_log_score(probs[b], np_ids[b, :length])
            assert a == pytest.approx(c, abs=1e-4), (b, tf_ids[b], np_ids[b])


def test_transition_and_start_masks():
    labels = ["O", "B-a", "I-a", "B-b", "I-b", "X", "B-", "I-a-b"]
    allowed = bio_transition_mask(labels)
    assert allowed.dtype == bool and allowed.shape == (8, 8)
    # Only the I- columns are constrained; "X" and "B-" are not BIO and free.
    for j, label in enumerate(labels):
        if label not in ("I-a", "I-b", "I-a-b"):
            assert allowed[:, j].all(), label
    assert [labels[i] for i in np.flatnonzero(allowed[:, 2])] == ["B-a", "I-a"]
    assert [labels[i] for i in np.flatnonzero(allowed[:, 4])] == ["B-b", "I-b"]
    assert [labels[i] for i in np.flatnonzero(allowed[:, 7])] == ["I-a-b"]  # type "a-b"
    start = bio_start_mask(labels)
    assert start.tolist() == [True, True, False, True, False, True, True, False]
    assert bio_transition_mask([]).shape == (0, 0) and bio_start_mask([]).shape == (0,)


def test_is_valid_bio():
    assert is_valid_bio(["O", "B-a", "I-a", "I-a", "B-b", "I-b", "O"])
    assert is_valid_bio([]) and is_valid_bio(["X", "B-a", "X"])
    assert not is_valid_bio(["I-a"])
    assert not is_valid_bio(["O", "I-a"])
    assert not is_valid_bio(["B-a", "I-b"])
    assert not is_valid_bio(["B-a", "X", "I-a"])


def test_numpy_reference_is_the_best_valid_sequence():
    """Against brute force over every tag sequence (small T)."""
    rng = np.random.default_rng(123)
    for _ in range(30):
        labels = label_set(int(rng.integers(2, 4)), rng, extra=bool(rng.integers(2)))
        allowed, start = bio_transition_mask(labels), bio_start_mask(labels)
        steps = int(rng.integers(1, 5))
        probs = rng.dirichlet(np.full(len(labels), 0.3), size=[1, steps])
        best = viterbi_decode_numpy(probs, [steps], allowed, start)[0]
        valid = [
            seq
            for seq in itertools.product(range(len(labels)), repeat=steps)
            if is_valid_bio([labels[i] for i in seq])
        ]
        scores = [sequence_log_score(probs[0], list(seq)) for seq in valid]
        assert is_valid_bio([labels[i] for i in best])
        assert sequence_log_score(probs[0], best) == pytest.approx(max(scores), abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_tensorflow_matches_numpy_reference(seed, graph_decode):
    rng = np.random.default_rng(seed)
    labels = label_set(2 + seed % 2, rng, extra=seed % 3 == 0)
    allowed, start = bio_transition_mask(labels), bio_start_mask(labels)
    for _ in range(10):
        probs, lengths = random_batch(rng, len(labels))
        expected = viterbi_decode_numpy(probs, lengths, allowed, start)
        eager = viterbi_decode(probs, lengths, allowed, start).numpy()
        graph = graph_decode(probs, lengths, allowed, start).numpy()
        assert eager.dtype == np.int32 and eager.shape == probs.shape[:2]
        np.testing.assert_array_equal(eager, graph)
        assert_same_or_tied(graph, expected, probs, lengths)


def test_decoded_sequences_are_always_valid_bio(graph_decode):
    """Property test: many random draws, every decoded text is valid BIO and
    zero past its length."""
    rng = np.random.default_rng(7)
    texts = invalid_argmax = 0
    for _ in range(60):
        labels = label_set(int(rng.integers(2, 4)), rng, extra=bool(rng.integers(2)))
        allowed, start = bio_transition_mask(labels), bio_start_mask(labels)
        probs, lengths = random_batch(rng, len(labels), batch=16)
        ids = graph_decode(probs, lengths, allowed, start).numpy()
        argmax = probs.argmax(-1)
        for b, length in enumerate(lengths):
            texts += 1
            assert is_valid_bio([labels[i] for i in ids[b, :length]])
            assert not ids[b, length:].any()
            invalid_argmax += not is_valid_bio([labels[i] for i in argmax[b, :length]])
    assert texts == 960 and invalid_argmax > 100  # the constraint had work to do


def test_equal_to_argmax_when_argmax_is_valid(graph_decode):
    rng = np.random.default_rng(11)
    labels = ["O", "B-a", "I-a", "B-b", "I-b", "B-c", "I-c"]
    allowed, start = bio_transition_mask(labels), bio_start_mask(labels)
    checked = 0
    for _ in range(40):
        probs, lengths = random_batch(rng, len(labels), batch=16)
        ids = graph_decode(probs, lengths, allowed, start).numpy()
        argmax = probs.argmax(-1)
        for b, length in enumerate(lengths):
            if is_valid_bio([labels[i] for i in argmax[b, :length]]):
                checked += 1
                np.testing.assert_array_equal(ids[b, :length], argmax[b, :length])
    assert checked > 100
    # A crafted text: argmax "B-a I-a O B-b" is valid and kept.
    probs = np.full([1, 4, 7], 0.05, np.float32)
    for t, tag in enumerate([1, 2, 0, 3]):
        probs[0, t, tag] = 0.7
    assert graph_decode(probs, [4], allowed, start).numpy().tolist() == [[1, 2, 0, 3]]
    # Tags past a text's length do not count: "I-b" after a 2-word "B-a I-a" is cut, not repaired;
    # within the length it is repaired to "B-b", the next best.
    probs[0, 2] = 0.05
    probs[0, 2, 3], probs[0, 2, 4] = 0.2, 0.7
    assert graph_decode(np.repeat(probs, 2, 0), [2, 3], allowed, start).numpy().tolist() == [
        [1, 2, 0, 0], [1, 2, 3, 0]]


def test_a_batch_whose_argmax_is_valid_skips_the_search(monkeypatch):
    """The latency of most requests: no loop over the words when every text's argmax is valid BIO."""
    from mtkeras.ops import bio

    def no_search(*args):
        raise AssertionError("the search ran")

    monkeypatch.setattr(bio, "_constrained_path", no_search)
    labels = ["O", "B-a", "I-a", "B-b", "I-b"]
    # "B-a I-a", then an "I-b" past the first text's length (not read), and "O B-b I-b O".
    probs = np.full([2, 4, 5], 0.05, np.float32)
    for b, tags in enumerate([[1, 2, 4, 4], [0, 3, 4, 0]]):
        for t, tag in enumerate(tags):
            probs[b, t, tag] = 0.8
    assert decode_bio(probs, [2, 4], labels).numpy().tolist() == [[1, 2, 0, 0], [0, 3, 4, 0]]
    rng = np.random.default_rng(5)
    allowed, start = bio_transition_mask(labels), bio_start_mask(labels)
    for _ in range(20):  # random peaked batches made valid: "I-x" after anything but "x" becomes "B-x"
        probs, lengths = random_batch(rng, len(labels), batch=8)
        ids = probs.argmax(-1)
        for b in range(ids.shape[0]):
            for t in range(ids.shape[1]):
                if labels[ids[b, t]].startswith("I-") and (t == 0 or labels[ids[b, t - 1]][2:] != labels[ids[b, t]][2:]):
                    probs[b, t, ids[b, t] - 1] = probs[b, t, ids[b, t]] + 1.0  # the B- of its type, just before it
                    ids[b, t] -= 1
        expected = np.where(np.arange(ids.shape[1])[None, :] < lengths[:, None], ids, 0)
        np.testing.assert_array_equal(decode_bio(probs, lengths, labels).numpy(), expected)
        np.testing.assert_array_equal(viterbi_decode_numpy(probs, lengths, allowed, start), expected)


def test_invalid_argmax_is_repaired():
    labels = ["O", "B-city", "I-city", "B-time", "I-time"]
    # argmax: O I-city I-city -> the best valid reading starts the city at word 1.
    probs = np.array(
        [[[0.6, 0.3, 0.1, 0.0, 0.0], [0.1, 0.35, 0.45, 0.05, 0.05], [0.1, 0.1, 0.7, 0.05, 0.05]]],
        np.float32,
    )
    ids = decode_bio(probs, [3], labels).numpy()
    assert ids.tolist() == [[0, 1, 2]]
    # B-time then I-city: the type switch is not allowed either.
    probs = np.array([[[0.1, 0.1, 0.0, 0.8, 0.0], [0.1, 0.0, 0.6, 0.0, 0.3]]], np.float32)
    tags = [labels[i] for i in decode_bio(probs, [2], labels).numpy()[0]]
    assert tags == ["B-time", "I-time"]
    # I- at the start of a text.
    probs = np.array([[[0.1, 0.3, 0.6, 0.0, 0.0]]], np.float32)
    assert decode_bio(probs, [1], labels).numpy().tolist() == [[1]]


def test_unknown_batch_and_length_in_one_trace():
    decode = tf.function(viterbi_decode, input_signature=SIGNATURE)
    labels = ["O", "B-a", "I-a"]
    allowed, start = bio_transition_mask(labels), bio_start_mask(labels)
    shapes = [(3, 5), (1, 1), (2, 0), (0, 4), (0, 0), (4, 12)]
    rng = np.random.default_rng(0)
    for batch, steps in shapes:
        probs = rng.dirichlet(np.ones(3), size=[batch, steps]).astype(np.float32).reshape([batch, steps, 3])
        lengths = rng.integers(0, steps + 1, size=batch).astype(np.int32)
        ids = decode(probs, lengths, allowed, start).numpy()
        assert ids.shape == (batch, steps) and ids.dtype == np.int32
        np.testing.assert_array_equal(ids, viterbi_decode_numpy(probs, lengths, allowed, start))
    assert decode.experimental_get_tracing_count() == 1
    concrete = decode.get_concrete_function()
    assert concrete.output_shapes.as_list() == [None, None]


def test_lengths_are_clipped_and_other_dtypes_accepted():
    labels = ["O", "B-a", "I-a"]
    probs = np.array([[[0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]], np.float32)
    np.testing.assert_array_equal(decode_bio(probs, [9], labels), [[1, 2]])
    np.testing.assert_array_equal(decode_bio(probs, [-3], labels), [[0, 0]])
    np.testing.assert_array_equal(decode_bio(probs.astype(np.float16), np.int64([2]), labels), [[1, 2]])
    # Probabilities of exactly 0 and 1 (saturated softmax) stay finite and valid.
    hard = np.array([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]], np.float32)
    np.testing.assert_array_equal(decode_bio(hard, [2], labels), [[1, 2]])
    with pytest.raises(TypeError, match="float"):
        viterbi_decode(np.zeros([1, 1, 3], np.int32), [1], bio_transition_mask(labels), bio_start_mask(labels))


def test_survives_a_saved_model_round_trip(tmp_path):
    """The decoder inside an exported signature, as TF Serving would run it."""
    labels = ["O", "B-a", "I-a", "B-b", "I-b"]

    class Module(tf.Module):
        @tf.function(input_signature=[SIGNATURE[0], SIGNATURE[1]])
        def serve(self, probs, lengths):
            return {"tags": decode_bio(probs, lengths, labels)}

    module = Module()
    path = str(tmp_path / "decoder")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve.get_concrete_function()})
    serve = tf.saved_model.load(path).signatures["serving_default"]
    rng = np.random.default_rng(3)
    probs, lengths = random_batch(rng, len(labels), batch=6)
    got = serve(probs=tf.constant(probs), lengths=tf.constant(lengths))["tags"].numpy()
    expected = viterbi_decode_numpy(probs, lengths, bio_transition_mask(labels), bio_start_mask(labels))
    assert_same_or_tied(got, expected, probs, lengths)
    empty = serve(probs=tf.zeros([2, 0, 5]), lengths=tf.zeros([2], tf.int32))["tags"]
    assert empty.shape == (2, 0)
