"""The exported SavedModel: signature, versions, and fidelity to the model."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tensorflow_serving.apis import prediction_log_pb2

from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from helpers.processes import run_python
from mtkeras import names
from mtkeras.export import (
    ASSETS_EXTRA,
    DEFAULT_WARMUP_TEXTS,
    METADATA_FILE,
    WARMUP_FILE,
    export_saved_model,
    next_version,
)
from mtkeras.export import MAX_WARMUP_RECORDS
from mtkeras.text import split_words
from mtkeras.results import same_answers

TEXTS = ["book a table for two in rome", "Play some JAZZ, please!", "", "that was great thanks", "zzz unknown words"]


def test_signature_inputs_and_outputs(exported_model, trained_model):
    _, path = exported_model
    serve = tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]
    inputs = serve.structured_input_signature[1]
    assert list(inputs) == [names.TEXT]
    assert inputs[names.TEXT].dtype == tf.string and inputs[names.TEXT].shape.as_list() == [None]
    expected = {names.WORDS, names.LENGTHS}
    for task in ("intent", "sentiment"):
        expected |= {names.label_key(task), names.score_key(task), names.probs_key(task)}
    expected |= {names.tags_key("slots"), names.probs_key("slots")}
    expected |= {
        names.entity_start_key("slots"), names.entity_end_key("slots"),
        names.entity_type_key("slots"), names.entity_count_key("slots"), names.entity_score_key("slots"),
    }
    assert set(serve.structured_outputs) == expected

    out = serve(text=tf.constant(TEXTS))
    assert out[names.LENGTHS].numpy().tolist() == [7, 6, 0, 4, 3]
    assert out[names.WORDS].numpy()[1].tolist() == [b"Play", b"some", b"JAZZ", b",", b"please", b"!", b""]
    tags = out[names.tags_key("slots")].numpy()
    assert tags.shape == (5, 7)
    assert all(tag == b"" for tag in tags[2])  # no words, no tags
    assert all(tag != b"" for tag in tags[0])
    labels = trained_model.tasks[0].labels
    assert {label.decode() for label in out[names.label_key("intent")].numpy()} <= set(labels)


def test_exported_predictions_equal_the_model_in_a_fresh_process(exported_model, trained_model):
    _, path = exported_model
    expected = trained_model.predict(tf.constant(TEXTS), verbose=0)
    code = f"""
        import json, tensorflow as tf
        serve = tf.saved_model.load({path!r}).signatures["serving_default"]
        result = {{}}
        for size in (1, {len(TEXTS)}):
            for start in range(0, {len(TEXTS)}, size):
                out = serve(text=tf.constant({TEXTS!r}[start:start + size]))
                for task in ("intent", "sentiment", "slots"):
                    result.setdefault(f"{{size}}/{{task}}", []).append(out[task + "_probs"].numpy().tolist())
        print(json.dumps(result))
    """
    result = json.loads(run_python(code).strip().splitlines()[-1])
    for task in ("intent", "sentiment"):
        for size in (1, len(TEXTS)):
            got = np.concatenate([np.array(chunk) for chunk in result[f"{size}/{task}"]])
            np.testing.assert_allclose(got, expected[task], atol=1e-6)
    # Token probabilities: compare each text's real words (batches pad differently).
    got = np.array(result[f"{len(TEXTS)}/slots"][0])
    for i, n in enumerate([7, 6, 0, 4, 3]):
        np.testing.assert_allclose(got[i, :n], expected["slots"][i, :n], atol=1e-6)
        single = np.array(result["1/slots"][i])[0]
        np.testing.assert_allclose(single[:n], expected["slots"][i, :n], atol=1e-6)


def test_mtkeras_predict_answers_what_the_export_answers(exported_model, trained_model):
    import mtkeras
    from mtkeras.serving.client import results_from_outputs

    _, version = exported_model
    serve = tf.saved_model.load(version).signatures[names.SERVING_SIGNATURE]
    texts = ["book a table for four in rome", "play miles davis", "", "that was great thanks"]
    outputs = serve(text=tf.constant(texts))
    served = results_from_outputs(outputs, len(texts))  # the signature's own tensors, strings as bytes
    # Several forward passes (batch_size=3) give the same answers as one.
    answers = mtkeras.predict(trained_model, texts, batch_size=3)
    assert [set(a) for a in answers] == [{"intent", "slots", "sentiment"}] * len(texts)
    for got, want in zip(answers, served):
        assert same_answers([got["slots"]], [want["slots"]])  # entity scores: float32 noise allowed
        for task in ("intent", "sentiment"):
            assert got[task]["label"] == want[task]["label"]
            assert got[task]["score"] == pytest.approx(want[task]["score"], abs=1e-5)
    assert answers[0]["slots"]["tags"][0] == ["book", "O"]
    with pytest.raises(ValueError, match="give one pair per text"):
        mtkeras.predict(trained_model, texts, pairs=["x"])


def test_versions_count_up_and_are_never_overwritten(trained_model, tmp_path):
    base = str(tmp_path / "nlu")
    assert next_version(base) == 1
    first = export_saved_model(trained_model, base)
    second = export_saved_model(trained_model, base)
    assert [os.path.basename(first), os.path.basename(second)] == ["1", "2"]
    assert sorted(os.listdir(base)) == ["1", "2"]  # no staging folder left behind
    with pytest.raises(FileExistsError, match="already exists"):
        export_saved_model(trained_model, base, version=2)
    meta = json.load(open(os.path.join(second, "assets.extra", METADATA_FILE)))
    assert [t["name"] for t in meta["tasks"]] == ["intent", "slots", "sentiment"]
    assert meta["tasks"][1]["labels"] == trained_model.tasks[1].labels
    assert meta["tensorflow_version"] == tf.__version__


def test_weights_are_stored_once(exported_model, trained_model):
    """keras-team/keras#23553: Keras' own export writes every weight twice."""
    _, path = exported_model
    assert not os.path.exists(os.path.join(path, "_all_variables"))
    reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    stored = {
        name: shape for name, shape in reader.get_variable_to_shape_map().items()
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }
    assert trained_model.optimizer.iterations.numpy() > 0  # trained: optimizer state exists
    assert not [name for name in stored if "OPTIMIZER" in name]
    stored_params = sum(int(np.prod(shape)) for shape in stored.values())
    assert stored_params == trained_model.count_params()


def test_metadata_records_tasks_encoder_versions_and_extra(trained_model, tmp_path):
    import keras

    import mtkeras

    training = {"epochs": 30, "optimizer": {"name": "adam", "learning_rate": 0.05}}
    path = export_saved_model(trained_model, str(tmp_path / "nlu"), extra_metadata={"training": training})
    meta = json.load(open(os.path.join(path, ASSETS_EXTRA, METADATA_FILE), encoding="utf-8"))
    assert [(t["name"], t["kind"]) for t in meta["tasks"]] == [
        ("intent", "sentence_classification"), ("slots", "token_tagging"), ("sentiment", "sentence_classification")
    ]
    assert [t["labels"] for t in meta["tasks"]] == [t.labels for t in trained_model.tasks]
    assert meta["encoder_class"] == "mtkeras>BiLSTMEncoder"
    assert meta["encoder"]["vocabulary_size"] == trained_model.preprocessor.vocabulary_size
    assert meta["encoder"]["hidden_dim"] == 8
    assert (meta["mtkeras_version"], meta["tensorflow_version"], meta["keras_version"]) == (
        mtkeras.__version__, tf.__version__, keras.__version__
    )
    assert meta["signatures"] == [names.SERVING_SIGNATURE]
    assert meta["warmup_records"] == len(DEFAULT_WARMUP_TEXTS) + 1
    assert meta["training"] == training
    # What the model was compiled with is recorded without being asked for.
    assert meta["compile"]["optimizer"] == "Adam"
    assert meta["compile"]["optimizer_config"]["learning_rate"] == pytest.approx(0.05)
    assert meta["compile"]["loss_weights"] == {t.name: t.loss_weight for t in trained_model.tasks}


def test_extra_metadata_may_not_replace_what_mtkeras_records(trained_model, tmp_path):
    base = tmp_path / "nlu"
    with pytest.raises(ValueError, match=r"already records: \['tasks'\]"):
        export_saved_model(trained_model, str(base), extra_metadata={"tasks": [], "note": "x"})
    assert not base.exists()  # checked before anything is written


# === Warmup requests ===


def read_warmup(path):
    """The `PredictionLog`s of a version's warmup file."""
    logs = []
    for record in tf.data.TFRecordDataset(os.path.join(path, ASSETS_EXTRA, WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


def replay(loaded, logs):
    """Runs each warmup request through the loaded SavedModel's named signature."""
    answers = []
    for log in logs:
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        assert request.model_spec.name == ""  # TF Serving ignores it; the name is not known at export
        inputs = {key: tf.constant(tf.make_ndarray(proto)) for key, proto in request.inputs.items()}
        out = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert out[names.LENGTHS].shape[0] == inputs[names.TEXT].shape[0]
        answers.append((request.model_spec.signature_name, inputs, out))
    return answers


def test_warmup_requests_replay_on_the_exported_model(exported_model):
    _, path = exported_model
    logs = read_warmup(path)
    assert 0 < len(logs) <= MAX_WARMUP_RECORDS
    answers = replay(tf.saved_model.load(path), logs)
    texts = [text.encode() for text in DEFAULT_WARMUP_TEXTS]
    assert [(signature, inputs[names.TEXT].numpy().tolist()) for signature, inputs, _ in answers] == [
        (names.SERVING_SIGNATURE, batch) for batch in [[t] for t in texts] + [texts]
    ]
    for _, inputs, _ in answers:
        proto = tf.make_tensor_proto(inputs[names.TEXT].numpy())
        assert proto.dtype == tf.string.as_datatype_enum and list(inputs) == [names.TEXT]
    lengths = [len(words) for words in split_words(DEFAULT_WARMUP_TEXTS).to_list()]
    assert answers[-1][2][names.LENGTHS].numpy().tolist() == lengths
    assert lengths[:2] == [1, 0] and lengths[2] > 10  # one word, none, a sentence


def test_warmup_requests_of_a_pair_model_cover_both_signatures(tmp_path):
    import mtkeras

    examples = tiny_examples()
    tasks = [
        mtkeras.TokenTagging.from_examples("slots", examples, dropout=0.0),
        mtkeras.SentenceClassification("nli", labels=["entailment", "contradiction"], pair=True, dropout=0.0),
    ]
    model = build_tiny_model(examples, tasks=tasks)
    texts = ["play jazz", "", "book a table"]
    path = export_saved_model(model, str(tmp_path / "pairs"), warmup_texts=texts)
    loaded = tf.saved_model.load(path)
    answers = replay(loaded, read_warmup(path))
    signatures = [signature for signature, _, _ in answers]
    assert signatures == [names.SERVING_SIGNATURE] * 4 + [names.PAIR_SIGNATURE] * 4
    for signature, inputs, out in answers:
        if signature == names.PAIR_SIGNATURE:
            assert inputs[names.TEXT_PAIR].shape == inputs[names.TEXT].shape
            assert names.probs_key("nli") in out
    meta = json.load(open(os.path.join(path, ASSETS_EXTRA, METADATA_FILE), encoding="utf-8"))
    assert meta["warmup_records"] == 8
    assert meta["signatures"] == [names.SERVING_SIGNATURE, names.PAIR_SIGNATURE]
    # No text pairs at all: outputs with a first dimension of 0.
    empty = tf.zeros([0], tf.string)
    out = loaded.signatures[names.PAIR_SIGNATURE](text=empty, text_pair=empty)
    assert all(value.shape[0] == 0 for value in out.values())


def test_warmup_texts_are_checked_and_may_be_turned_off(trained_model, tmp_path):
    path = export_saved_model(trained_model, str(tmp_path / "nlu"), warmup_texts=[])
    assert not os.path.exists(os.path.join(path, ASSETS_EXTRA, WARMUP_FILE))
    assert json.load(open(os.path.join(path, ASSETS_EXTRA, METADATA_FILE)))["warmup_records"] == 0
    with pytest.raises(ValueError, match="`warmup_texts`, expected a list of str"):
        export_saved_model(trained_model, str(tmp_path / "bad"), warmup_texts="hello")
    with pytest.raises(ValueError, match="TF Serving loads at most 1000"):
        export_saved_model(trained_model, str(tmp_path / "bad"), warmup_texts=["hi"] * 1000)
    assert not (tmp_path / "bad").exists()


# === Raw text the graph must take ===


@pytest.fixture(scope="module")
def serve(exported_model):
    """The exported tiny model's `serving_default`, loaded once."""
    _, path = exported_model
    return tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]


def test_empty_text(serve):
    out = serve(text=tf.constant(["", "play jazz"]))
    assert out[names.LENGTHS].numpy().tolist() == [0, 2]
    assert out[names.WORDS].numpy()[0].tolist() == [b"", b""]
    assert out[names.tags_key("slots")].numpy()[0].tolist() == [b"", b""]
    assert out[names.entity_count_key("slots")].numpy()[0] == 0
    assert out[names.label_key("intent")].numpy()[0] != b""  # sentence tasks still answer


def test_batch_of_no_texts(serve):
    out = serve(text=tf.zeros([0], tf.string))
    assert set(out) == set(serve.structured_outputs)
    for key, value in out.items():
        assert value.shape[0] == 0, key


def test_one_megabyte_text(serve, trained_model):
    long_text = " ".join(f"word{i % 1000}" for i in range(150_000))  # 1.1 MB
    one_word = "x" * (1 << 20)
    assert len(long_text) > 1 << 20
    out = serve(text=tf.constant([long_text, one_word, "play jazz"]))
    max_words = trained_model.preprocessor.max_words
    assert out[names.LENGTHS].numpy().tolist() == [max_words, 1, 2]
    assert [w.decode() for w in out[names.WORDS].numpy()[0]] == long_text.split()[:max_words]
    assert out[names.WORDS].numpy()[1, 0] == one_word.encode()
    # The other texts of the batch answer as they do alone.
    alone = serve(text=tf.constant(["play jazz"]))
    np.testing.assert_allclose(
        out[names.probs_key("intent")].numpy()[2], alone[names.probs_key("intent")].numpy()[0], atol=1e-6
    )


def test_invalid_utf8_is_replaced(serve):
    raw = b"caf\xe9 \xff\xfe bar"
    repaired = raw.decode("utf-8", errors="replace")  # "caf\ufffd \ufffd\ufffd bar"
    out = serve(text=tf.constant([raw, b"\xed\xa0\x80", b"abc\xe2\x82"]))
    words = [[w.decode("utf-8") for w in row[:n]] for row, n in zip(out[names.WORDS].numpy(), out[names.LENGTHS].numpy())]
    assert words == [repaired.split(), ["\ufffd" * 3], ["abc\ufffd"]]
    same = serve(text=tf.constant([repaired.encode()]))
    for key in (names.probs_key("intent"), names.probs_key("slots")):
        np.testing.assert_allclose(out[key].numpy()[0, ...][: same[key].shape[1]], same[key].numpy()[0], atol=1e-6)
    for tag in out[names.tags_key("slots")].numpy().ravel():
        tag.decode("utf-8")


def test_valid_text_is_unchanged_by_the_utf8_repair(trained_model):
    """Training and `predict` see valid text exactly as before: every byte of every word is kept."""
    texts = [
        "\ufeffhello w\u00f6rld", "a\x00b", "\U0001F600 e\u0301 \u00e9", "\ud7ff\ue000\uffff\U0010ffff",
        "\ufffd already replaced", "\x7f\x1b control", "\u200b", "don't stop, 3:00 e-mail!",
    ]
    words = split_words(texts).to_list()
    for text, row in zip(texts, words):
        assert b"".join(row).decode("utf-8") == "".join(text.split())
    predicted = trained_model.predict(texts, verbose=0)
    again = trained_model.predict([t.encode("utf-8") for t in texts], verbose=0)
    np.testing.assert_array_equal(predicted["intent"], again["intent"])


# === Size ===


def test_variables_hold_the_weights_once_and_little_else(tmp_path):
    """A model big enough that the checkpoint's own overhead is not the story."""
    import mtkeras

    examples = tiny_examples()
    texts = [ex.text for ex in examples] + [f"w{i} v{i} u{i}" for i in range(1500)]
    model = mtkeras.build_model(
        tiny_tasks(examples), texts=texts, encoder_config={"embedding_dim": 32, "hidden_dim": 32}
    )
    assert model.preprocessor.vocabulary_size > 4000
    model.compile(optimizer="adam")  # an optimizer with slots must not be saved
    model.optimizer.build(model.trainable_variables)
    weight_bytes = sum(w.numpy().nbytes for w in model.weights)
    assert weight_bytes > 500_000
    path = export_saved_model(model, str(tmp_path / "big"), warmup_texts=[])
    variables = os.path.join(path, "variables")
    stored = sum(os.path.getsize(os.path.join(variables, name)) for name in os.listdir(variables))
    print(f"variables/: {stored} bytes for {weight_bytes} bytes of weights ({stored / weight_bytes:.3f}x)")
    assert weight_bytes <= stored <= 1.15 * weight_bytes, (stored, weight_bytes)
