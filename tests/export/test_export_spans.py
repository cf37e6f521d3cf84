"""Entity spans of token-tagging tasks: in-graph `bio_entity_spans` and the exported outputs."""

import numpy as np
import pytest
import tensorflow as tf

from mtkeras import names
from mtkeras.ops.bio import bio_entities, bio_entity_spans

LABELS = ["O", "B-x", "I-x", "B-y", "I-y", "B-z", "I-z", "NOUN"]


def spans(rows, labels=LABELS, lengths=None):
    """`bio_entity_spans` of rows of tag strings, as Python lists."""
    steps = max([len(row) for row in rows], default=0)
    ids = np.array([[labels.index(tag) for tag in row] + [0] * (steps - len(row)) for row in rows], np.int32)
    ids = ids.reshape([len(rows), steps])
    lengths = [len(row) for row in rows] if lengths is None else lengths
    starts, ends, types, counts = bio_entity_spans(tf.constant(ids), tf.constant(lengths, tf.int32), labels)
    return starts.numpy().tolist(), ends.numpy().tolist(), types.numpy().astype(str).tolist(), counts.numpy().tolist()


def as_entities(words, start, end, kind, count):
    """`bio_entities`' `(type, text)` list from one row of span outputs."""
    return [(kind[i], " ".join(words[start[i] : end[i]])) for i in range(count)]


def test_entity_spans_by_hand():
    rows = [
        "B-x I-x O B-y".split(),  # entity at the start and one at the end
        "O O O".split(),  # none
        "B-x B-y I-y B-x".split(),  # adjacent entities of different types, and of the same type
        "B-z".split(),  # one word, one entity
    ]
    starts, ends, types, counts = spans(rows)
    assert counts == [2, 0, 3, 1]
    assert starts == [[0, 3, -1], [-1, -1, -1], [0, 1, 3], [0, -1, -1]]
    assert ends == [[2, 4, -1], [-1, -1, -1], [1, 3, 4], [1, -1, -1]]
    assert types == [["x", "y", ""], ["", "", ""], ["x", "y", "x"], ["z", "", ""]]


def test_entity_spans_of_an_invalid_sequence_follow_conlleval():
    """`I-x` not continuing an `x` entity starts one, as `bio_entities` reads it."""
    rows = ["O I-x I-x B-y I-z".split(), "I-y B-x I-y I-y O I-x".split()]
    starts, ends, types, counts = spans(rows)
    assert counts == [3, 4]
    assert (starts[0], ends[0], types[0]) == ([1, 3, 4, -1], [3, 4, 5, -1], ["x", "y", "z", ""])
    assert (starts[1], ends[1], types[1]) == ([0, 1, 2, 5], [1, 2, 4, 6], ["y", "x", "y", "x"])


def test_entity_spans_ignore_tags_past_each_length():
    rows = ["B-x I-x B-y".split(), "B-z I-z I-z".split()]
    starts, ends, types, counts = spans(rows, lengths=[1, 0])
    assert counts == [1, 0]
    assert (starts, ends, types) == ([[0], [-1]], [[1], [-1]], [["x"], [""]])


def test_entity_spans_agree_with_bio_entities_on_random_tags():
    rng = np.random.default_rng(0)
    rows = [list(rng.choice(LABELS, size=rng.integers(0, 12))) for _ in range(200)]
    starts, ends, types, counts = spans(rows)
    width = max(counts)
    assert width > 3 and len(starts[0]) == width
    for i, row in enumerate(rows):
        words = [f"w{t}" for t in range(len(row))]
        assert as_entities(words, starts[i], ends[i], types[i], counts[i]) == bio_entities(words, row), row
        assert starts[i][counts[i] :] == ends[i][counts[i] :] == [-1] * (width - counts[i])
        assert types[i][counts[i] :] == [""] * (width - counts[i])


def test_entity_spans_without_entities_or_texts():
    # A tag set without B-/I- tags (POS tags): no entity, E = 0.
    starts, ends, types, counts = spans([["NOUN", "VERB"], ["VERB"]], labels=["NOUN", "VERB"])
    assert (starts, ends, types, counts) == ([[], []], [[], []], [[], []], [0, 0])
    # No texts, and texts without words.
    assert spans([]) == ([], [], [], [])
    assert spans([[], []]) == ([[], []], [[], []], [[], []], [0, 0])


def test_entity_spans_in_a_graph_with_unknown_shapes():
    function = tf.function(
        lambda ids, lengths: bio_entity_spans(ids, lengths, LABELS),
        input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)],
    )
    starts, ends, types, counts = function(tf.constant([[1, 2, 0, 5], [2, 2, 2, 0]]), tf.constant([4, 3]))
    assert counts.numpy().tolist() == [2, 1]
    assert starts.numpy().tolist() == [[0, 3], [0, -1]]
    assert ends.numpy().tolist() == [[2, 4], [3, -1]]
    assert types.numpy().tolist() == [[b"x", b"z"], [b"x", b""]]
    # The ops are vectorised: no Python function or per-text loop in the graph.
    graph = function.get_concrete_function().graph
    op_types = {op.type for op in graph.get_operations()}
    assert not op_types & {"PyFunc", "EagerPyFunc", "While", "StatelessWhile"}


# === The exported model ===
# Entities at the start and end of a text, adjacent entities of different
# types, none, one, several, and no words at all.
TEXTS = [
    "paris",
    "rome today",
    "will it rain in new york tomorrow",
    "book a table for two in paris",
    "play miles davis",
    "that was great thanks",
    "",
    "new york tomorrow in paris",
]


@pytest.fixture(scope="module")
def serve(exported_model):
    """The exported tiny model's `serving_default`, loaded once."""
    _, path = exported_model
    return tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]


def test_exported_entity_spans_agree_with_bio_entities(serve):
    out = {key: value.numpy() for key, value in serve(text=tf.constant(TEXTS)).items()}
    starts, ends = out[names.entity_start_key("slots")], out[names.entity_end_key("slots")]
    types, counts = out[names.entity_type_key("slots")], out[names.entity_count_key("slots")]
    assert starts.dtype == ends.dtype == counts.dtype == np.int32
    assert starts.shape == ends.shape == types.shape == (len(TEXTS), counts.max())
    seen = []
    for i, n in enumerate(out[names.LENGTHS]):
        words = [w.decode() for w in out[names.WORDS][i][:n]]
        tags = [t.decode() for t in out[names.tags_key("slots")][i][:n]]
        kinds = [t.decode() for t in types[i]]
        expected = bio_entities(words, tags)
        assert as_entities(words, starts[i], ends[i], kinds, counts[i]) == expected, (TEXTS[i], tags)
        assert (starts[i][counts[i] :] == -1).all() and (ends[i][counts[i] :] == -1).all()
        assert not any(kinds[counts[i] :])
        seen.append((int(n), starts[i][: counts[i]].tolist(), ends[i][: counts[i]].tolist(), kinds[: counts[i]]))
    # The texts cover the cases they are meant to (else the model's tags changed).
    assert seen[6] == (0, [], [], [])
    assert {len(s[1]) for s in seen} >= {0, 1, 2, 3}, seen
    assert any(s[1] and s[1][0] == 0 for s in seen), seen  # an entity at the start
    assert any(s[2] and s[2][-1] == s[0] for s in seen), seen  # an entity at the end
    assert any(
        s[2][k] == s[1][k + 1] and s[3][k] != s[3][k + 1] for s in seen for k in range(len(s[1]) - 1)
    ), seen  # adjacent entities of different types


def test_exported_entity_spans_do_not_depend_on_the_batch(serve):
    """E is the batch's most entities: a text's spans are the same alone or batched."""
    keys = [names.entity_start_key("slots"), names.entity_end_key("slots"), names.entity_type_key("slots")]
    batch = serve(text=tf.constant(TEXTS))
    count = batch[names.entity_count_key("slots")].numpy()
    for i, text in enumerate(TEXTS):
        alone = serve(text=tf.constant([text]))
        assert alone[names.entity_count_key("slots")].numpy().tolist() == [count[i]]
        for key in keys:
            assert alone[key].numpy().shape == (1, count[i])
            assert alone[key].numpy()[0].tolist() == batch[key].numpy()[i][: count[i]].tolist()


@pytest.mark.parametrize("text", ["", "   "])
def test_exported_text_without_words_has_no_entities(serve, text):
    out = serve(text=tf.constant([text]))
    assert out[names.LENGTHS].numpy().tolist() == [0]
    assert out[names.entity_count_key("slots")].numpy().tolist() == [0]
    assert out[names.entity_start_key("slots")].numpy().shape == (1, 0)
    assert out[names.entity_type_key("slots")].numpy().shape == (1, 0)
