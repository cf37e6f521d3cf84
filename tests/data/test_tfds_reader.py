"""TfdsReader on the real TFDS builders (glue/sst2, conll2003, ...) with mocked data.

`tfds.testing.mock_data(policy=MockPolicy.USE_CODE)` keeps the real builder
classes, their `info.features` (so the real `ClassLabel` names) and the real
`builder.as_dataset` entry point, but generates the records instead of reading
prepared files, and never touches the network or a data_dir (the wheel ships
no metadata files, so `AUTO` would fall back to `USE_CODE` anyway; naming it
keeps the test from looking at any folder). Its default generator gives every
variable-length feature its own random length, so conll2003's `tokens` and
`ner` never line up; `as_dataset_fn` replaces the generator where the tests
need aligned sequences or exact records.
"""

import functools
from unittest import mock

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.testing.mocking import RandomFakeGenerator

from mtkeras.data.readers import DataError, Example
from mtkeras.data.readers.tfds import PRESETS, TfdsReader, read_tfds

USE_CODE = tfds.testing.MockPolicy.USE_CODE
SST2_NAMES = ["negative", "positive"]
NER_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def random_data(num_examples):
    """TFDS' own random records (independent lengths per sequence feature)."""
    return tfds.testing.mock_data(num_examples=num_examples, policy=USE_CODE)


def _signature(features):
    return tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), features.get_tensor_info())


def aligned_data(num_examples):
    """Random records whose variable-length features all have 10 items."""

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False):
        generator = functools.partial(
            RandomFakeGenerator, self.info.features, num_examples, constant_dynamic_shape=True
        )
        return tf.data.Dataset.from_generator(generator, output_signature=_signature(self.info.features))

    return tfds.testing.mock_data(policy=USE_CODE, as_dataset_fn=as_dataset)


def fixed_data(rows):
    """Exactly `rows` (dicts with every feature of the dataset), in order."""

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False):
        signature = _signature(self.info.features)
        return tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=signature)

    return tfds.testing.mock_data(policy=USE_CODE, as_dataset_fn=as_dataset)


def conll_row(tokens, ner):
    n = len(tokens)
    return {"tokens": tokens, "ner": ner, "pos": [0] * n, "chunks": [0] * n}


# --- sentence tasks --------------------------------------------------------------------------


def test_sst2_classlabel_ints_become_names_with_sources():
    with random_data(num_examples=6):
        reader = TfdsReader("glue/sst2", "train", text="sentence", task_features={"sentiment": "label"})
        examples = reader.read()
    assert reader.task_kinds == {"sentiment": "sentence"}
    assert len(examples) == 6
    assert [ex.source for ex in examples] == [f"tfds:glue/sst2/train:{i}" for i in range(6)]
    for ex in examples:
        assert isinstance(ex, Example)
        assert ex.words and all(isinstance(w, str) and w and w == w.strip() for w in ex.words)
        assert set(ex.labels) == {"sentiment"}
        assert ex.labels["sentiment"] in SST2_NAMES
    assert {ex.labels["sentiment"] for ex in examples} == set(SST2_NAMES)  # both ids occur


def test_sst2_exact_words_labels_and_unlabelled_minus_one():
    rows = [
        {"sentence": "a gripping ,  funny film ", "label": 1, "idx": 0},
        {"sentence": "dull", "label": 0, "idx": 1},
        {"sentence": "no label in the test split", "label": -1, "idx": 2},
        {"sentence": "caf\u00e9 cr\u00e8me", "label": 1, "idx": 3},
    ]
    with fixed_data(rows):
        examples = read_tfds("glue/sst2", "test", "sentence", {"sentiment": "label"})
    assert [ex.words for ex in examples] == [
        ("a", "gripping", ",", "funny", "film"),
        ("dull",),
        ("no", "label", "in", "the", "test", "split"),
        ("caf\u00e9", "cr\u00e8me"),
    ]
    assert [ex.labels for ex in examples] == [
        {"sentiment": "positive"},
        {"sentiment": "negative"},
        {},
        {"sentiment": "positive"},
    ]
    assert examples[2].source == "tfds:glue/sst2/test:2"


def test_plain_string_and_int_features_stay_strings():
    rows = [
        {"text": "book me a flight", "intent": 7, "intent_name": "book_flight", "domain": 2, "domain_name": "travel"},
    ]
    with fixed_data(rows):
        reader = TfdsReader(
            "clinc_oos", "train", text="text", task_features={"intent": "intent_name", "intent_id": "intent"}
        )
        (example,) = reader.read()
    assert reader.task_kinds == {"intent": "sentence", "intent_id": "sentence"}
    assert example.labels == {"intent": "book_flight", "intent_id": "7"}


# --- token tasks -----------------------------------------------------------------------------


def test_conll2003_token_tags_are_names_aligned_with_words():
    with aligned_data(num_examples=5):
        reader = TfdsReader("conll2003", "train", text="tokens", task_features={"entities": "ner", "pos": "pos"})
        examples = reader.read()
    assert reader.task_kinds == {"entities": "token", "pos": "token"}
    assert len(examples) == 5
    pos_names = set(tfds.builder("conll2003").info.features["pos"].feature.names)
    for i, ex in enumerate(examples):
        assert ex.source == f"tfds:conll2003/train:{i}"
        assert len(ex.words) == 10 and all(isinstance(w, str) for w in ex.words)
        assert len(ex.labels["entities"]) == len(ex.words) == len(ex.labels["pos"])
        assert set(ex.labels["entities"]) <= set(NER_NAMES)
        assert set(ex.labels["pos"]) <= pos_names
        assert all(isinstance(t, str) for t in ex.labels["entities"] + ex.labels["pos"])


def test_conll2003_exact_tags_and_sequence_words_kept_as_is():
    rows = [conll_row(["EU", "rejects", "German", "call"], [3, 0, 7, 0]), conll_row(["Peter", "Blackburn"], [1, 2])]
    with fixed_data(rows):
        examples = read_tfds("conll2003", "validation", "tokens", {"entities": "ner"})
    assert [ex.words for ex in examples] == [("EU", "rejects", "German", "call"), ("Peter", "Blackburn")]
    assert examples[0].labels == {"entities": ("B-ORG", "O", "B-MISC", "O")}
    assert examples[1].labels == {"entities": ("B-PER", "I-PER")}
    assert examples[1].source == "tfds:conll2003/validation:1"


def test_token_feature_length_must_match_words():
    # TFDS' own mock gives `tokens` and `ner` independent random lengths.
    with random_data(num_examples=2):
        with pytest.raises(DataError, match=r"tfds:conll2003/train:0: \d+ tags in 'ner' for \d+ words"):
            TfdsReader("conll2003", "train", text="tokens", task_features={"entities": "ner"}).read()


def test_skip_mode_records_bad_examples_and_keeps_the_rest(caplog):
    rows = [
        conll_row(["EU", "rejects"], [3, 0]),
        {"tokens": ["too", "few", "tags"], "ner": [0], "pos": [0, 0, 0], "chunks": [0, 0, 0]},
        conll_row([], []),
        conll_row(["an", " ", "empty", "word"], [0, 0, 0, 0]),
        conll_row(["Paris"], [5]),
    ]
    with fixed_data(rows):
        reader = TfdsReader("conll2003", "train", text="tokens", task_features={"entities": "ner"}, on_error="skip")
        examples = reader.read()
        assert [ex.words for ex in examples] == [("EU", "rejects"), ("Paris",)]
        assert [source for source, _ in reader.skipped] == [f"tfds:conll2003/train:{i}" for i in (1, 2, 3)]
        assert "1 tags in 'ner' for 3 words" in reader.skipped[0][1]
        assert "empty text" in reader.skipped[1][1]
        assert "word 1 of 'tokens' is empty" in reader.skipped[2][1]
        assert len(reader.read()) == 2 and len(reader.skipped) == 3  # a second pass starts afresh
    assert "skipped 3 bad records of 5" in caplog.text
    with fixed_data(rows[1:4]):
        with pytest.raises(DataError, match=r"no examples left, all 3 records are bad; the first: tfds:conll2003/x:0"):
            TfdsReader("conll2003", "x", text="tokens", task_features={"entities": "ner"}, on_error="skip").read()


def test_empty_text_is_an_error_naming_the_source():
    rows = [{"sentence": "fine", "label": 1, "idx": 0}, {"sentence": "  \t ", "label": 0, "idx": 1}]
    with fixed_data(rows):
        with pytest.raises(DataError, match=r"tfds:glue/sst2/train:1: empty text"):
            read_tfds("glue/sst2", "train", "sentence", {"sentiment": "label"})


# --- presets ---------------------------------------------------------------------------------


def test_presets_fill_text_and_tasks():
    with fixed_data([conll_row(["EU", "rejects"], [3, 0])]):
        reader = TfdsReader("conll2003", "train")
        assert (reader.text, reader.task_features) == ("tokens", {"entities": "ner"})
        assert reader.task_kinds == reader.tasks == {"entities": "token"}
        assert reader.read()[0].labels == {"entities": ("B-ORG", "O")}
    with fixed_data([{"sentence": "great", "label": 1, "idx": 0}]):
        (example,) = read_tfds("glue/sst2", "train")
    assert example.labels == {"sentiment": "positive"}
    assert PRESETS["glue/sst2"] == {"text": "sentence", "task_features": {"sentiment": "label"}}


def test_every_preset_is_registered_and_reads():
    registered = set(tfds.list_builders(with_community_datasets=False))
    with aligned_data(num_examples=2):
        for key, preset in PRESETS.items():
            assert key.split("/")[0] in registered, key
            reader = TfdsReader(key, "train")
            examples = reader.read()
            assert len(examples) == 2, key
            for ex in examples:
                assert set(ex.labels) == set(preset["task_features"]), key
                for task, label in ex.labels.items():
                    if reader.task_kinds[task] == "token":
                        assert len(label) == len(ex.words) and all(isinstance(t, str) for t in label), key
                    else:
                        assert isinstance(label, str) and label, key


def test_dataset_without_preset_needs_a_mapping():
    with random_data(num_examples=1):
        with pytest.raises(DataError, match=r"no preset mapping.*pass text and task_features.*sentence.*label"):
            TfdsReader("glue/cola", "train")


# --- errors ----------------------------------------------------------------------------------


def test_unknown_dataset_suggests_close_names():
    with pytest.raises(DataError, match=r"unknown TFDS dataset 'conl2003'; did you mean conll2003"):
        TfdsReader("conl2003", "train", text="tokens", task_features={"entities": "ner"})
    with pytest.raises(DataError, match=r"has no config 'sst3'; did you mean glue/sst2"):
        TfdsReader("glue/sst3", "train", text="sentence", task_features={"sentiment": "label"})


def test_unknown_feature_lists_the_available_ones():
    with random_data(num_examples=1):
        with pytest.raises(DataError) as err:
            TfdsReader("glue/sst2", "train", text="sentence", task_features={"sentiment": "lable"})
        message = str(err.value)
        assert message.startswith("tfds:glue/sst2/train: unknown feature 'lable' for task 'sentiment'")
        assert "did you mean 'label'" in message
        assert all(f"{name} (" in message for name in ("sentence", "label", "idx"))
        with pytest.raises(DataError, match=r"unknown feature 'words' for the text \(available features: tokens \("):
            TfdsReader("conll2003", "train", text="words", task_features={"entities": "ner"})


def test_features_that_cannot_be_text_or_labels():
    with random_data(num_examples=1):
        with pytest.raises(DataError, match=r"'label' \(task 'similarity'\) is Tensor.*float32.*regression"):
            TfdsReader("glue/stsb", "train", text="sentence1", task_features={"similarity": "label"})
        with pytest.raises(DataError, match=r"text feature 'label' is ClassLabel"):
            TfdsReader("glue/sst2", "train", text="label", task_features={"sentiment": "label"})
    with pytest.raises(ValueError, match="on_error"):
        TfdsReader("glue/sst2", "train", on_error="ignore")


def test_not_prepared_dataset_is_a_clear_error_and_downloads_nothing(tmp_path):
    data_dir = tmp_path / "tfds"
    with pytest.raises(DataError) as err:
        TfdsReader("glue/sst2", "train", text="sentence", task_features={"sentiment": "label"}, data_dir=str(data_dir))
    message = str(err.value)
    assert message.startswith("tfds:glue/sst2/train: dataset glue/sst2/2.0.0 is not prepared")
    assert str(data_dir) in message and "download=True" in message
    assert not data_dir.exists()


def test_download_and_prepare_only_when_asked():
    target = "tensorflow_datasets.core.dataset_builder.DatasetBuilder.download_and_prepare"
    with random_data(num_examples=1):
        with mock.patch(target, autospec=True) as prepare:
            TfdsReader("glue/sst2", "train")
            assert not prepare.called
            assert len(TfdsReader("glue/sst2", "train", download=True).read()) == 1
            assert prepare.call_count == 1
