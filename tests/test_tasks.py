import pytest

import mtkeras
from mtkeras.data import Example
from mtkeras.tasks import Task, continuation_tag


def test_task_declaration_is_validated():
    with pytest.raises(ValueError, match="name='bad name'"):
        mtkeras.SentenceClassification("bad name", labels=["a"])
    with pytest.raises(ValueError, match="duplicate labels"):
        mtkeras.SentenceClassification("intent", labels=["a", "a"])
    with pytest.raises(ValueError, match="loss_weight=-1"):
        mtkeras.TokenTagging("slots", labels=["O"], loss_weight=-1)
    with pytest.raises(ValueError, match="non-empty"):
        mtkeras.TokenTagging("slots", labels=[])


def test_from_examples_collects_labels_and_completes_bio():
    examples = [
        Example(("play", "jazz"), {"intent": "Play", "slots": ("O", "B-genre")}),
        Example(("book",), {"intent": "Book", "slots": ("O",)}),
        Example(("nice",), {"sentiment": "positive"}),
    ]
    intent = mtkeras.SentenceClassification.from_examples("intent", examples)
    slots = mtkeras.TokenTagging.from_examples("slots", examples)
    assert intent.labels == ["Book", "Play"]
    assert slots.labels == ["O", "B-genre", "I-genre"]
    with pytest.raises(ValueError, match="No example"):
        mtkeras.SentenceClassification.from_examples("topic", examples)


def test_config_round_trip_rebuilds_the_same_task():
    for task in [
        mtkeras.SentenceClassification("intent", ["a", "b"], loss_weight=0.5),
        mtkeras.TokenTagging("slots", ["O", "B-x", "I-x"], dropout=0.3),
    ]:
        assert Task.from_config(task.get_config()) == task
    with pytest.raises(ValueError, match="Unknown task kind 'nope'"):
        Task.from_config({"kind": "nope", "name": "x", "labels": ["a"]})


def test_unknown_label_names_the_source():
    task = mtkeras.SentenceClassification("intent", ["a"])
    with pytest.raises(ValueError, match="train/label:7: label 'zzz' of task 'intent'"):
        task.encode("zzz", 3, source="train/label:7")


def test_continuation_tag():
    assert continuation_tag("B-city") == "I-city"
    assert continuation_tag("I-city") == "I-city"
    assert continuation_tag("O") == "O"
