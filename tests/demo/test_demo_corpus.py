"""The synthetic demo corpus: deterministic, well formed, balanced, disjoint."""

import os
import unicodedata

import pytest

from mtkeras.demo import (
    DEMO_QUERIES,
    INTENTS,
    SENTIMENTS,
    SLOT_TYPES,
    generate_demo_corpus,
)

SPLITS = ("train", "valid", "test")
SOURCE_FILES = {
    "assistant": ("seq.in", "seq.out", "label"),
    "feedback": ("seq.in", "label"),
}
ASSISTANT_SIZES = (2400, 300, 300)
FEEDBACK_SIZES = (1200, 150, 150)


def _read_lines(path):
    with open(path, "rb") as handle:
        data = handle.read()
    assert data.endswith(b"\n"), f"{path}: last line has no newline"
    assert b"\r" not in data, f"{path}: carriage return"
    return data.decode("utf-8").split("\n")[:-1]


def _all_bytes(root):
    files = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, root)] = handle.read()
    return files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    summary = generate_demo_corpus(root, seed=0)
    lines = {}
    for source, names in SOURCE_FILES.items():
        for split in SPLITS:
            for name in names:
                lines[source, split, name] = _read_lines(root / source / split / name)
    return root, summary, lines


def test_constants_are_sorted_tuples():
    for constant in (INTENTS, SLOT_TYPES, SENTIMENTS):
        assert isinstance(constant, tuple)
        assert list(constant) == sorted(set(constant))
    assert SENTIMENTS == ("negative", "positive")
    assert len(INTENTS) >= 6
    assert len(DEMO_QUERIES) == 3
    for text, intent in DEMO_QUERIES:
        assert intent in INTENTS
        assert text == " ".join(text.split())


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, corpus):
    root, _, _ = corpus
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate_demo_corpus(again, seed=0)
    generate_demo_corpus(other, seed=1)
    first = _all_bytes(root)
    assert sorted(first) == sorted(
        os.path.join(source, split, name)
        for source, names in SOURCE_FILES.items()
        for split in SPLITS
        for name in names
    )
    assert _all_bytes(again) == first
    second = _all_bytes(other)
    assert sorted(second) == sorted(first)
    assert all(second[name] != first[name] for name in first if name.endswith("seq.in"))


def test_line_counts_match_sizes_and_summary(corpus):
    _, summary, lines = corpus
    for source, sizes in (("assistant", ASSISTANT_SIZES), ("feedback", FEEDBACK_SIZES)):
        for split, size in zip(SPLITS, sizes):
            info = summary["sources"][source][split]
            assert info["count"] == size
            assert sorted(info["files"]) == sorted(SOURCE_FILES[source])
            assert sum(info["label_counts"].values()) == size
            for name in SOURCE_FILES[source]:
                assert len(lines[source, split, name]) == size, (source, split, name)
                assert os.path.isfile(info["files"][name])
    assert not os.path.exists(os.path.join(summary["sources"]["feedback"]["train"]["dir"], "seq.out"))


def test_custom_sizes(tmp_path):
    generate_demo_corpus(tmp_path, seed=3, assistant_sizes=(50, 8, 9),
                         feedback_sizes=(20, 4, 5))
    for source, sizes in (("assistant", (50, 8, 9)), ("feedback", (20, 4, 5))):
        for split, size in zip(SPLITS, sizes):
            for name in SOURCE_FILES[source]:
                assert len(_read_lines(tmp_path / source / split / name)) == size


@pytest.mark.parametrize("bad", [(0, 1, 1), (10, 1), (10, -1, 1), (10.0, 1, 1)])
def test_bad_sizes_raise(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_demo_corpus(tmp_path, assistant_sizes=bad)


def _is_punctuation(char):
    return unicodedata.category(char).startswith("P")


def test_lines_are_clean_and_tokenizer_stable(corpus):
    _, _, lines = corpus
    for (source, split, name), rows in lines.items():
        for number, row in enumerate(rows, start=1):
            where = f"{source}/{split}/{name}:{number}: {row!r}"
            assert row, where
            assert row == row.strip(), where
            assert "  " not in row and "\t" not in row, where
            if name == "seq.in":
                assert row == row.lower(), where
                for word in row.split(" "):
                    # The package tokenizer splits punctuation off word ends;
                    # words must already be split that way.
                    assert all(map(_is_punctuation, word)) or not (
                        _is_punctuation(word[0]) or _is_punctuation(word[-1])), where


def test_tags_are_valid_bio(corpus):
    _, _, lines = corpus
    known = set(SLOT_TYPES)
    used = set()
    for split in SPLITS:
        texts = lines["assistant", split, "seq.in"]
        tags = lines["assistant", split, "seq.out"]
        for number, (text, row) in enumerate(zip(texts, tags), start=1):
            where = f"assistant/{split}:{number}: {text!r} / {row!r}"
            words, row_tags = text.split(" "), row.split(" ")
            assert len(words) == len(row_tags), where
            previous = "O"
            for word, tag in zip(words, row_tags):
                if tag != "O":
                    prefix, _, slot = tag.partition("-")
                    assert prefix in ("B", "I") and slot in known, where
                    if prefix == "I":
                        assert previous in (f"B-{slot}", f"I-{slot}"), where
                    used.add(slot)
                if all(map(_is_punctuation, word)):
                    assert tag == "O", where
                previous = tag
    assert used == known


def test_every_label_in_every_split_and_balanced(corpus):
    _, summary, lines = corpus
    for source, classes in (("assistant", INTENTS), ("feedback", SENTIMENTS)):
        for split in SPLITS:
            labels = lines[source, split, "label"]
            assert set(labels) == set(classes), (source, split)
            counts = [labels.count(name) for name in classes]
            assert max(counts) - min(counts) <= 1, (source, split, counts)
            assert summary["sources"][source][split]["label_counts"] == {
                name: labels.count(name) for name in classes}


def test_splits_disjoint_and_no_duplicates(corpus):
    _, _, lines = corpus
    for source in SOURCE_FILES:
        seen = {}
        for split in SPLITS:
            texts = lines[source, split, "seq.in"]
            assert len(set(texts)) == len(texts), (source, split)
            for text in texts:
                assert text not in seen, (source, split, seen.get(text), text)
                seen[text] = split


def test_demo_queries_absent_but_their_words_are_trained(corpus):
    _, _, lines = corpus
    queries = {text for text, _ in DEMO_QUERIES}
    for (source, split, name), rows in lines.items():
        if name == "seq.in":
            assert not queries.intersection(rows), (source, split)
    train = lines["assistant", "train", "seq.in"]
    train_labels = lines["assistant", "train", "label"]
    vocabulary = {word for text in train for word in text.split(" ")}
    for text, intent in DEMO_QUERIES:
        missing = [word for word in text.split(" ") if word not in vocabulary]
        assert not missing, (text, missing)
        assert train_labels.count(intent) > 0
    # Multi-word slot values of the demo queries occur as such in training.
    padded = [f" {text} " for text in train]
    for value in ("8 pm", "miles davis", "paris", "london", "jazz", "tomorrow"):
        assert any(f" {value} " in text for text in padded), value
