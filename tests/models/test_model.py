"""The functional multi-task model: structure, inputs, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from mtkeras import names
from mtkeras.encoders import BiLSTMEncoder
from mtkeras.models.traced import length_order
from mtkeras.tasks.calibration import with_temperature

TEXTS = ["book a table for two", "play jazz", ""]


def test_functional_model_with_one_output_per_task():
    model = build_tiny_model()
    assert isinstance(model, keras.Model) and model.__class__.__name__ == "MultiTaskModel"
    assert sorted(layer.name for layer in model.layers[3:]) == sorted(t.name for t in model.tasks)
    assert [type(layer).__name__ for layer in model.layers[:3]] == ["InputLayer", "WordPreprocessor", "BiLSTMEncoder"]
    assert [t.name for t in model.inputs] == [names.TEXT]
    assert model.inputs[0].dtype == "string"
    out = model(tf.constant(TEXTS))
    assert set(out) == {"intent", "slots", "sentiment"}
    intent, slots, sentiment = model.tasks
    assert out["intent"].shape == (3, intent.num_labels)
    assert out["slots"].shape == (3, 5, slots.num_labels)
    np.testing.assert_allclose(tf.reduce_sum(out["sentiment"], -1), 1.0, rtol=1e-5)


def test_predict_takes_lists_arrays_tensors_and_dicts():
    model = build_tiny_model()
    reference = model.predict({names.TEXT: tf.constant(TEXTS)}, verbose=0)["intent"]
    for x in (TEXTS, np.array(TEXTS), tf.constant(TEXTS)):
        np.testing.assert_allclose(model.predict(x, verbose=0)["intent"], reference, atol=1e-6)


def test_predict_pads_token_outputs_across_batches():
    model = build_tiny_model()
    texts = ["book a table for two in paris tonight"] * 3 + ["play jazz"] * 3
    out = model.predict(texts, batch_size=3, verbose=0)
    assert isinstance(out["slots"], np.ndarray) and out["slots"].shape == (6, 8, model.tasks[1].num_labels)
    alone = model.predict(texts[3:], verbose=0)["slots"]
    np.testing.assert_allclose(out["slots"][3:, :2], alone, atol=1e-6)
    assert not out["slots"][3:, 2:].any()
    # Inside one batch too: no softmax rows past a text's words.
    mixed = model.predict(["play jazz", "book a table for two"], verbose=0)["slots"]
    assert not mixed[0, 2:].any() and mixed[1].sum(axis=-1) == pytest.approx(np.ones(5))


def test_predict_batches_texts_by_length_and_answers_in_the_order_given():
    model = build_tiny_model()
    # Long and short texts interleaved: batches of 2 in this order would pad every short text to a long one.
    texts = ["book a table for two in paris tonight", "play jazz", "what is the weather like in rome", "",
             "hi", "play some music by the beatles now", "rate it", "book"]
    order = length_order(tf.constant(texts))
    assert [len(texts[i]) for i in order] == sorted(len(t) for t in texts)
    # What the traced function is given: batches of texts of about one number of words.
    model.predict(texts[:1], verbose=0)
    functions = model.__dict__["_mtkeras_traced_functions"]
    traced_call, batches = functions[("predict", False)], []
    functions[("predict", False)] = lambda batch: batches.append(batch[names.TEXT].numpy()) or traced_call(batch)
    out = model.predict(texts, batch_size=2, verbose=0)
    functions[("predict", False)] = traced_call
    assert [[len(t.split()) for t in batch] for batch in batches] == [[0, 1], [1, 2], [2, 7], [7, 8]]
    words = [len(t.split()) for t in texts]
    for i, text in enumerate(texts):
        alone = model.predict([text], verbose=0)
        np.testing.assert_allclose(out["intent"][i], alone["intent"][0], atol=1e-6)
        np.testing.assert_allclose(out["slots"][i, : words[i]], alone["slots"][0, : words[i]], atol=1e-6)
        assert not out["slots"][i, words[i]:].any()
    assert out["slots"].shape[1] == max(words)


def test_predict_on_many_texts_calls_keras_callbacks_and_shows_progress(capsys):
    model = build_tiny_model()
    texts = ["book a table for two in paris tonight", "play jazz", "what is the weather like in rome", "hi", "rate"]
    calls = []
    recorder = keras.callbacks.LambdaCallback(
        on_predict_begin=lambda logs: calls.append("begin"),
        on_predict_batch_begin=lambda batch, logs: calls.append(batch),
        # The outputs, as Keras logs them; the fast path's batches by length: "hi rate", then 7 and 8 words.
        on_predict_batch_end=lambda batch, logs: calls.append((sorted(logs), logs["slots"].shape[1])),
        on_predict_end=lambda logs: calls.append("end"))
    out = model.predict(texts, batch_size=2, verbose=0, callbacks=[recorder])
    keys = ["intent", "sentiment", "slots"]
    assert calls == ["begin", 0, (keys, 1), 1, (keys, 7), 2, (keys, 8), "end"]
    np.testing.assert_allclose(out["intent"], model.predict(texts, batch_size=2, verbose=0)["intent"])
    # A CallbackList of the user's own is used as it is.
    calls.clear()
    model.predict(texts, batch_size=2, verbose=0, callbacks=keras.callbacks.CallbackList([recorder], model=model))
    assert calls[0] == "begin" and calls[-1] == "end" and len(calls) == 8
    # A callback may stop it, as in Keras' loop: the texts not reached answer zeros.
    stop = keras.callbacks.LambdaCallback(
        on_predict_batch_end=lambda batch, logs: setattr(model, "stop_predicting", True))
    stopped = model.predict(texts, batch_size=2, verbose=0, callbacks=[stop])
    answered = stopped["intent"].sum(axis=-1) > 0
    assert answered.tolist() == [False, False, False, True, True]  # only the first batch: "hi", "rate"
    assert model.predict(texts, batch_size=2, verbose=0)["intent"].sum(axis=-1).min() > 0  # reset for the next call
    assert capsys.readouterr().out == ""
    # Keras' progress bar: by default for more than one batch, never for a single call.
    model.predict(texts, batch_size=2)
    assert "3/3" in capsys.readouterr().out
    model.predict(texts[:1])
    model.predict(texts, batch_size=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.predict(texts[:1], verbose=1)
    assert "1/1" in capsys.readouterr().out
    model.predict([], verbose=1)
    assert capsys.readouterr().out == ""  # nothing to show for no texts


def test_predict_on_raw_texts_traces_once_and_answers_as_keras_loop_does():
    model = build_tiny_model()
    texts = ["book a table for two in paris tonight", "play jazz", "", "what is the weather"]
    through_keras = model.predict(tf.constant(texts), batch_size=3, verbose=0)  # a tensor: Keras' own loop
    for size in (1, 3, 4):
        fast = model.predict(texts[:size], batch_size=3, verbose=0)
        for name in through_keras:
            expected = through_keras[name][:size]
            if expected.ndim == 3:
                expected = expected[:, : fast[name].shape[1]]
            np.testing.assert_allclose(fast[name], expected, atol=1e-6)
    mtkeras.predict(model, texts[:1])
    mtkeras.predict(model, texts)
    functions = model.__dict__["_mtkeras_traced_functions"]
    # One graph for every number of texts, for model.predict and for mtkeras.predict.
    assert sorted((key[:2], fn.experimental_get_tracing_count()) for key, fn in functions.items()) == [
        (("answers", False), 1), (("predict", False), 1)]

    # Settings read when the answers are traced are read again once changed.
    intent = model.tasks[0]
    before = mtkeras.predict(model, texts[:1])[0]["intent"]["score"]
    intent.temperature = 4.0
    after = mtkeras.predict(model, texts[:1])[0]["intent"]["score"]
    probs = model.predict(texts[:1], verbose=0)["intent"]
    assert after == pytest.approx(float(with_temperature(probs, 4.0).max()), rel=1e-5) and after != pytest.approx(before)


def test_a_model_with_traced_functions_saves_and_loads_as_before(tmp_path):
    model = build_tiny_model()
    expected = model.predict(TEXTS, verbose=0)  # traces and keeps a function on the model
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = mtkeras.load_model(path)
    assert "_mtkeras_traced_functions" not in reloaded.__dict__
    for name, value in reloaded.predict(TEXTS, verbose=0).items():
        np.testing.assert_allclose(value, expected[name], atol=1e-6)


def test_predict_takes_a_dataset():
    from mtkeras.data import make_dataset

    examples = tiny_examples()
    model = build_tiny_model(examples)
    data = make_dataset(examples, model.tasks, batch_size=4)
    out = model.predict(data, verbose=0)
    assert out["intent"].shape == (len(examples), model.tasks[0].num_labels)


def test_non_ascii_texts():
    model = build_tiny_model()
    texts = ["café à paris", "東京の天気", "naïve"]
    out = model.predict(texts, verbose=0)
    assert out["intent"].shape == (3, model.tasks[0].num_labels)
    np.testing.assert_allclose(out["intent"], model.predict(tf.constant(texts), verbose=0)["intent"], atol=1e-6)


def test_build_model_errors_name_the_problem():
    tasks = tiny_tasks()
    with pytest.raises(ValueError, match="exactly one of `texts`"):
        mtkeras.build_model(tasks)
    with pytest.raises(ValueError, match="vocabulary_size=50 does not match"):
        mtkeras.build_model(tasks, encoder=BiLSTMEncoder(50), vocabulary=["a", "b"])
    with pytest.raises(ValueError, match="Unknown encoder 'gru'"):
        mtkeras.build_model(tasks, encoder="gru", vocabulary=["a"])
    with pytest.raises(ValueError, match=r"duplicate task names: \['intent'\]"):
        mtkeras.build_model(tasks + tasks[:1], vocabulary=["a"])
    with pytest.raises(ValueError, match="hidden_dim=0"):
        BiLSTMEncoder(10, hidden_dim=0)


def test_encoder_instance_is_used_as_given():
    examples = tiny_examples()
    pre_size = mtkeras.text.WordPreprocessor.from_texts([ex.text for ex in examples]).vocabulary_size
    encoder = BiLSTMEncoder(pre_size, embedding_dim=4, hidden_dim=3)
    model = mtkeras.build_model(tiny_tasks(examples), encoder=encoder, texts=[ex.text for ex in examples])
    assert model.encoder is encoder
    assert model(tf.constant(["play jazz"]))["slots"].shape == (1, 2, model.tasks[1].num_labels)


def ids_the_embedding_sees(encoder, ids, training):
    """The word ids `encoder` looks up for `ids` after its word-level dropouts."""
    ids = tf.constant(ids)
    seen = []
    original = encoder.embedding.call
    encoder.embedding.call = lambda x: (seen.append(x), original(x))[1]
    try:
        encoder({"token_ids": ids, "padding_mask": ids != 0}, training=training)
    finally:
        encoder.embedding.call = original
    return seen[0].numpy()


def test_word_dropout_only_in_training_and_only_real_words():
    from mtkeras.encoders.word_encoder import OOV_ID

    encoder = BiLSTMEncoder(50, embedding_dim=4, hidden_dim=3, char_dim=0, word_dropout=0.5, dropout=0.0)
    ids = [[5, 6, 7, 8, 0, 0]] * 64
    np.testing.assert_array_equal(ids_the_embedding_sees(encoder, ids, training=False), ids)
    dropped = ids_the_embedding_sees(encoder, ids, training=True) == OOV_ID
    assert 0.4 < dropped[:, :4].mean() < 0.6
    assert not dropped[:, 4:].any()  # padding stays padding


def test_singleton_dropout_only_in_training_and_only_words_seen_once():
    from mtkeras.encoders.word_encoder import OOV_ID

    encoder = BiLSTMEncoder(
        50, embedding_dim=4, hidden_dim=3, char_dim=0, word_dropout=0.0, dropout=0.0,
        singleton_dropout=0.5, first_singleton_id=7,
    )
    ids = [[5, 6, 7, 8, 49, 0, 0]] * 64
    np.testing.assert_array_equal(ids_the_embedding_sees(encoder, ids, training=False), ids)
    dropped = ids_the_embedding_sees(encoder, ids, training=True) == OOV_ID
    assert not dropped[:, :2].any()  # ids below first_singleton_id are frequent words
    assert 0.35 < dropped[:, 2:5].mean() < 0.65
    # Off without the id (a vocabulary given without counts) or at 0.
    for kwargs in ({"first_singleton_id": None}, {"first_singleton_id": 7, "singleton_dropout": 0.0}):
        off = BiLSTMEncoder(50, embedding_dim=4, hidden_dim=3, char_dim=0, word_dropout=0.0, **kwargs)
        np.testing.assert_array_equal(ids_the_embedding_sees(off, ids, training=True), ids)


def test_build_model_gives_the_encoder_the_words_seen_once(tmp_path):
    examples = tiny_examples()
    model = mtkeras.build_model(tiny_tasks(examples), texts=[ex.text for ex in examples])
    first = model.preprocessor.first_singleton_id
    assert 2 < first < model.preprocessor.vocabulary_size
    assert model.encoder.first_singleton_id == first and model.encoder.singleton_dropout == 0.5
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.encoder.first_singleton_id == first
    fixed = mtkeras.build_model(tiny_tasks(examples), vocabulary=model.preprocessor.vocabulary)
    assert fixed.encoder.first_singleton_id is None
    for bad in ({"first_singleton_id": 1}, {"first_singleton_id": "4"}, {"singleton_dropout": 1.0}):
        with pytest.raises(ValueError, match=list(bad)[0]):
            BiLSTMEncoder(50, **bad)


def test_fit_drops_words_seen_once_and_predict_does_not():
    from mtkeras.data import make_dataset
    from mtkeras.encoders.word_encoder import OOV_ID

    examples = tiny_examples()
    model = build_tiny_model(examples, singleton_dropout=0.5)
    first = model.encoder.first_singleton_id
    seen = []
    original = model.encoder.embedding.call
    model.encoder.embedding.call = lambda x: (seen.append(np.asarray(x)), original(x))[1]
    model.compile(optimizer="adam", run_eagerly=True)
    data = make_dataset(examples, model.tasks, 4)
    model.predict(data, verbose=0)
    assert seen and not any((ids == OOV_ID).any() for ids in seen)  # every training word is known
    assert any((ids >= first).any() for ids in seen)
    seen.clear()
    model.fit(data, epochs=1, verbose=0)
    assert sum(int((ids == OOV_ID).sum()) for ids in seen) > 0


@pytest.mark.parametrize("kind", ["TokenTagging", "SentenceClassification"])
def test_a_single_task_model_logs_what_its_task_declares(kind):
    # Keras names a single-output model's metrics without the output ("accuracy");
    # monitors, the epoch table and the reports read `<task>_<metric>` as the
    # task's `logged_metrics` declare them, beside the model-wide `loss` and `score`.
    from mtkeras.data import Example, make_dataset

    name = "slots" if kind == "TokenTagging" else "intent"
    examples = [Example(ex.words, {name: ex.labels[name]}, ex.source) for ex in tiny_examples() if name in ex.labels]
    task = getattr(mtkeras, kind).from_examples(name, examples, dropout=0.0)
    model = build_tiny_model(examples, [task])
    model.compile(optimizer="adam")
    data = make_dataset(examples, [task], 4)
    history = model.fit(data, validation_data=data, epochs=1, verbose=0)
    logged = ["loss", "score"] + [f"{name}_{metric}" for metric in task.logged_metrics]
    assert sorted(history.history) == sorted(logged + [f"val_{key}" for key in logged])
