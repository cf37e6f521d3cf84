import numpy as np
import pytest
import tensorflow as tf

from mtkeras.text import WordPreprocessor, pad_words, split_words


def words(text):
    return [w.decode() for w in split_words([text]).to_list()[0]]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Book a table for two, please!", ["Book", "a", "table", "for", "two", ",", "please", "!"]),
        ("don't wake me at 3:00 via e-mail", ["don't", "wake", "me", "at", "3:00", "via", "e-mail"]),
        ("  (8pm)  trailing   spaces  ", ["(", "8pm", ")", "trailing", "spaces"]),
        ("héllo wörld?!", ["héllo", "wörld", "?!"]),
        ("", []),
        ("\t \n", []),
    ],
)
def test_split_words(text, expected):
    assert words(text) == expected


def test_white_space_is_what_python_str_split_knows():
    """Readers split files with str.split(); the model must split the same way."""
    spaces = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000"
    assert all(not ("a" + s + "b").split()[0] == "a" + s + "b" for s in spaces)
    text = "".join(f"w{i}{s}" for i, s in enumerate(spaces)) + "end"
    assert words(text) == text.split()
    assert words("x,\vy") == ["x", ",", "y"]
    # Not white space for either: zero-width space stays inside the word.
    assert words("a\u200bb") == "a\u200bb".split() == ["a\u200bb"]


def test_tokenizing_joined_words_equals_tokenizing_each_word():
    data_words = ["Book", "(a)", "table", "for", "two,", "...", "don't", "NYC."]
    per_word = [w for word in data_words for w in words(word)]
    assert words(" ".join(data_words)) == per_word


def test_pad_words_keeps_a_time_axis_for_empty_batches():
    dense, lengths = pad_words(split_words(["", ""]))
    assert dense.shape == (2, 1)
    assert lengths.numpy().tolist() == [0, 0]
    dense, lengths = pad_words(split_words(["a b c d", "e"]), max_words=3)
    assert dense.numpy().tolist() == [[b"a", b"b", b"c"], [b"e", b"", b""]]
    assert lengths.numpy().tolist() == [3, 1]


def test_preprocessor_vocabulary_is_frequency_ranked_and_deterministic():
    texts = ["b a", "a c", "A b", "a"]
    pre = WordPreprocessor.from_texts(texts)
    assert pre.vocabulary == ["a", "b", "c"]
    assert pre.vocabulary_size == 5
    capped = WordPreprocessor.from_texts(texts, max_vocabulary_size=1)
    assert capped.vocabulary == ["a"]


def test_each_source_keeps_its_own_most_frequent_words():
    # One cap over all texts: the large source's words fill it and the small one's are lost.
    large = ["good film", "good plot", "bad film", "dull plot", "good cast"]
    small = ["play jazz", "hum rock"]
    assert WordPreprocessor.from_texts(large + small, max_vocabulary_size=3).vocabulary == ["good", "film", "plot"]
    # Capped per source, the union holds each source's top words, ranked by the counts over all sources.
    pre = WordPreprocessor.from_texts({"reviews": large, "music": small}, max_vocabulary_size=3)
    assert pre.vocabulary == ["good", "film", "plot", "hum", "jazz", "play"]
    ids = pre(tf.constant(["play jazz", "hum rock"]))["token_ids"].numpy().tolist()
    assert ids == [[7, 6], [5, 1]]  # rock: the small source's fourth word, past its cap
    # Singletons still come last, and their first id is reported.
    assert pre.first_singleton_id == 5
    # What each source keeps of its own words, under one cap and under a cap per source.
    assert WordPreprocessor.from_texts(large + small, max_vocabulary_size=3).source_coverage == {None: (3, 10)}
    assert pre.source_coverage == {"reviews": (3, 6), "music": (3, 4)}
    # One source in a dict is the flat list.
    assert WordPreprocessor.from_texts({"all": large + small}, max_vocabulary_size=3).vocabulary == ["good", "film", "plot"]


def test_preprocessor_reports_where_the_words_seen_once_start():
    # a: 4, b: 2, then c and d once each: ids 2, 3, then 4 and 5.
    pre = WordPreprocessor.from_texts(["b a d", "a c", "A b", "a"])
    assert pre.vocabulary == ["a", "b", "c", "d"]
    assert pre.first_singleton_id == 4
    ids = pre(tf.constant(["a b c d"]))["token_ids"].numpy()[0].tolist()
    assert [i >= pre.first_singleton_id for i in ids] == [False, False, True, True]
    # Without singletons in the vocabulary no id reaches it.
    assert WordPreprocessor.from_texts(["b a d", "a c", "A b", "a"], min_count=2).first_singleton_id == 4
    assert WordPreprocessor.from_texts(["x y", "z"]).first_singleton_id == 2
    # A vocabulary cut inside the singletons keeps the id; cut before them, no id reaches it.
    assert WordPreprocessor.from_texts(["b a d", "a c", "A b", "a"], max_vocabulary_size=3).first_singleton_id == 4
    cut = WordPreprocessor.from_texts(["b a d", "a c", "A b", "a"], max_vocabulary_size=1)
    assert cut.first_singleton_id == 4 > cut.vocabulary_size - 1
    # Counts follow the lookup: without lower-casing "A" and "a" are two words.
    assert WordPreprocessor.from_texts(["b a d", "a c", "A b", "a"], lowercase=False).first_singleton_id == 4
    # A given vocabulary carries no counts.
    assert WordPreprocessor(["a", "b"]).first_singleton_id is None


def test_preprocessor_ids_lowercase_oov_and_padding():
    pre = WordPreprocessor(["book", "table"])
    out = pre(tf.constant(["Book the TABLE", ""]))
    assert out["token_ids"].numpy().tolist() == [[2, 1, 3], [0, 0, 0]]
    assert out["padding_mask"].numpy().tolist() == [[True, True, True], [False, False, False]]
    assert pre.sequence_lengths(tf.constant(["Book the TABLE", "", "a b"])).numpy().tolist() == [3, 0, 2]
    short = WordPreprocessor(["book"], max_words=2)
    assert short.sequence_lengths(tf.constant(["book a table"])).numpy().tolist() == [2]  # cut as tokenize cuts
    assert short.tokenize(tf.constant(["book a table"]))[1].numpy().tolist() == [2]
    unbounded = WordPreprocessor(["book"], max_words=None)
    assert unbounded.sequence_lengths(tf.constant(["book a table", ""])).numpy().tolist() == [3, 0]


def test_preprocessor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_words=0"):
        WordPreprocessor(["a"], max_words=0)
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        WordPreprocessor(["a", "[UNK]"])


def test_preprocessor_config_round_trip():
    pre = WordPreprocessor(["x", "y"], max_words=7, lowercase=False)
    clone = WordPreprocessor.from_config(pre.get_config())
    assert clone.get_config() == pre.get_config()
    text = tf.constant(["x Y y"])
    np.testing.assert_array_equal(clone(text)["token_ids"], pre(text)["token_ids"])
