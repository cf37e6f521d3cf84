import numpy as np
import pytest

from helpers.data import tiny_examples, tiny_tasks
from mtkeras import names
from mtkeras.data import Example, align_tags, make_dataset


def test_dataset_yields_features_labels_and_weights_for_every_task():
    examples = tiny_examples()
    tasks = tiny_tasks(examples)
    batches = list(make_dataset(examples, tasks, batch_size=len(examples)))
    assert len(batches) == 1
    features, labels, weights = batches[0]
    assert set(features) == {names.TEXT}
    assert set(labels) == set(weights) == {"intent", "slots", "sentiment"}
    n_assistant, n_feedback = 9, 4
    assert weights["intent"].numpy().tolist() == [1.0] * n_assistant + [0.0] * n_feedback
    assert weights["sentiment"].numpy().tolist() == [0.0] * n_assistant + [1.0] * n_feedback
    # Token weights: one per real word of labelled texts, 0 for padding and feedback.
    slot_weights = weights["slots"].numpy()
    lengths = [len(ex.words) for ex in examples]
    assert slot_weights.shape == (len(examples), max(lengths[:n_assistant]))
    assert slot_weights.sum(axis=1).tolist() == lengths[:n_assistant] + [0] * n_feedback
    slots = tasks[1]
    first = [slots.labels[i] for i in labels["slots"].numpy()[0][: lengths[0]]]
    assert first == list(examples[0].labels["slots"])


def test_tags_follow_the_model_words_when_data_words_split():
    examples = [Example(("dinner", "for", "two,", "(paris)"), {"slots": ("O", "O", "B-n", "B-city")})]
    ((count, tags),) = align_tags(examples, [_slots()])
    assert count == 7  # dinner for two , ( paris )
    assert tags["slots"] == ["O", "O", "B-n", "I-n", "B-city", "I-city", "I-city"]


def _slots():
    import mtkeras

    return mtkeras.TokenTagging("slots", ["O", "B-n", "I-n", "B-city", "I-city"])


def test_unknown_task_in_data_is_an_error_naming_the_source():
    examples = [Example(("hi",), {"topic": "x"}, source="f.tsv:3")]
    with pytest.raises(ValueError, match=r"f\.tsv:3: labels for unknown task\(s\) \['topic'\]"):
        make_dataset(examples, [_slots()])


def test_shuffle_is_seeded_and_drop_remainder_drops():
    examples = tiny_examples()
    tasks = tiny_tasks(examples)
    first = [b[0][names.TEXT].numpy().tolist() for b in make_dataset(examples, tasks, 4, shuffle=True, seed=3)]
    again = [b[0][names.TEXT].numpy().tolist() for b in make_dataset(examples, tasks, 4, shuffle=True, seed=3)]
    assert first == again
    assert len(first) == 4
    assert len(list(make_dataset(examples, tasks, 4, drop_remainder=True))) == 3
    assert np.sum([len(b) for b in first]) == len(examples)
