"""Task-private layers: only their task trains them, the model answers in one pass, configs declare them."""

import keras
import numpy as np
import pytest

import mtkeras
from mtkeras import names
from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from helpers.serving import assert_answers_through_tf_serving_loader
from mtkeras.data import make_dataset
from mtkeras.errors import ConfigError
from mtkeras.export import export_saved_model
from mtkeras.runs import parse_config

# intent attends over a projection of the words to 6 of the encoder's 16 dimensions (`width`, as PALs do).
# Its words are summed up by weights it learns (`pooling: attention`) instead of their mean.
PRIVATE = {"intent": {"sequence": "transformer", "units": 8, "heads": 2, "dropout": 0.0, "width": 6,
                      "pooling": "attention"},
           "slots": {"sequence": "bilstm", "units": 8, "dropout": 0.0},
           # each word through two feed-forward layers of its own, then a dense layer over their mean
           "sentiment": {"sequence": "feedforward", "units": 12, "layers": 2, "dense": [8], "dropout": 0.0}}


def private_tasks(examples):
    return [type(task).from_config({**task.get_config(), "private": PRIVATE[task.name]}) for task in tiny_tasks(examples)]


@pytest.fixture(scope="module")
def model():
    examples = tiny_examples()
    model = build_tiny_model(examples, tasks=private_tasks(examples))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(make_dataset(examples, model.tasks, batch_size=8, shuffle=True), epochs=40, verbose=0)
    return model


def weights_of(layer):
    return [w.numpy().copy() for w in layer.trainable_weights]


def test_a_batch_without_a_task_leaves_its_private_layers_alone():
    examples = tiny_examples()
    model = build_tiny_model(examples, tasks=private_tasks(examples))
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    private = {name: model.get_layer(f"{name}_private") for name in PRIVATE}
    before = {name: weights_of(layer) for name, layer in private.items()}
    encoder_before = weights_of(model.encoder)
    # Sentiment labels only (the feedback source).
    feedback = [ex for ex in examples if "sentiment" in ex.labels]
    model.fit(make_dataset(feedback, model.tasks, batch_size=len(feedback)), epochs=1, verbose=0)

    def moved(old, layer):
        return max(float(np.abs(a - b).max()) for a, b in zip(old, weights_of(layer)))

    assert moved(before["sentiment"], private["sentiment"]) > 1e-4
    assert moved(encoder_before, model.encoder) > 1e-4  # the shared encoder learns from every task
    assert moved(before["intent"], private["intent"]) == 0.0
    assert moved(before["slots"], private["slots"]) == 0.0


def test_each_task_reads_its_own_layers_and_the_model_learns(model):
    assert model.get_layer("slots_private").sequence == "bilstm"
    assert model.get_layer("slots").dense.kernel.shape[0] == 16  # the private BiLSTM's 2 x 8 units
    assert model.get_layer("intent").dense.kernel.shape[0] == 6  # the private Transformer's projected width
    assert model.get_layer("sentiment").dense.kernel.shape[0] == 8  # the private dense layer's width
    feedforward = model.get_layer("sentiment_private").sequence_layers
    assert [layer.kernel.shape for layer in feedforward] == [(16, 12), (12, 12)]  # each word: 16 -> 12 -> 12
    report = mtkeras.evaluate(model, tiny_examples(), print_table=False)
    assert report["intent"]["accuracy"] == 1.0
    assert report["sentiment"]["accuracy"] == 1.0
    # Slots learn slower through a second BiLSTM on 9 texts (0.44 after 40 epochs; 0 untrained).
    assert report["slots"]["f1"] > 0.25


def test_private_layers_round_trip_and_export(model, tmp_path):
    texts = ["book a table for two in rome", "I loved it", "", "zzz unknown words"]
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [task.private for task in loaded.tasks] == [PRIVATE[task.name] for task in model.tasks]
    for name, value in model.predict(texts).items():
        np.testing.assert_allclose(loaded.predict(texts)[name], value, atol=1e-6)
    version = export_saved_model(model, str(tmp_path / "served"))
    answers = assert_answers_through_tf_serving_loader(version, texts)["serving_default"]
    in_process = model.predict(texts)
    np.testing.assert_allclose(answers["intent" + names.PROBS_SUFFIX], in_process["intent"], atol=1e-5)
    np.testing.assert_allclose(answers["sentiment" + names.PROBS_SUFFIX], in_process["sentiment"], atol=1e-5)


def test_a_bad_declaration_names_the_task_and_the_option():
    with pytest.raises(ValueError, match=r"Task 'slots': invalid `private` layers \{'sequence': 'gru'\}"):
        mtkeras.TokenTagging("slots", ["O", "B-x"], private={"sequence": "gru"})
    with pytest.raises(ValueError, match="give sequence layers"):
        mtkeras.TokenTagging("slots", ["O", "B-x"], private={})
    with pytest.raises(ValueError, match="(?s)Task 'intent'.*width: 32 projects the words for sequence layers"):
        mtkeras.SentenceClassification("intent", ["a", "b"], private={"dense": [8], "width": 32})
    # Attention heads split the words they read: a projected width they do not divide is refused with the task...
    with pytest.raises(ValueError, match="(?s)Task 'slots'.*heads: 4 must divide width: 6"):
        mtkeras.TokenTagging("slots", ["O", "B-x"], private={"sequence": "transformer", "heads": 4, "width": 6})
    # ... and the encoder's width, known when the model is built, names the task's layers.
    examples = tiny_examples()
    tasks = [type(task).from_config({**task.get_config(), "private": {"sequence": "transformer", "heads": 3}})
             if task.name == "intent" else task for task in tiny_tasks(examples)]
    with pytest.raises(ValueError, match=r"intent_private: .*`heads` must divide the width of the words it reads, "
                                         r"16 \(the encoder\)\. Received: heads=3"):
        build_tiny_model(examples, tasks=tasks)


CONFIG = """\
name: private
tasks:
  intent: {kind: sentence_classification, private: {dense: [16]}}
  slots:
    kind: token_tagging
    private: {sequence: bilstm, units: 32}
datasets:
  assistant: {reader: joint_nlu, train: data/train, tasks: {intent: label, slots: tags}}
"""


def test_a_config_declares_private_layers_with_the_task():
    config = parse_config(CONFIG, "private.yaml")
    assert config.tasks["slots"].options.private.units == 32
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace("sequence: bilstm", "sequence: gru"), "private.yaml")
    assert "private.yaml:6: tasks.slots.private.sequence" in str(caught.value)
    assert "gru" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace("sequence: bilstm, units: 32", "sequence: transformer, heads: 4, width: 30"),
                     "private.yaml")
    assert "private.yaml:6: tasks.slots.private" in str(caught.value) and "heads: 4 must divide width: 30" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.replace("private: {dense: [16]}", "private: {pooling: sum}"), "private.yaml")
    assert "private.yaml:3: tasks.intent.private.pooling" in str(caught.value) and "sum" in str(caught.value)
    assert parse_config(CONFIG.replace("private: {dense: [16]}", "private: {pooling: attention}"),
                        "private.yaml").tasks["intent"].options.private.pooling == "attention"


@pytest.mark.parametrize("sequence,width,layers,dense,pooling", [
    (sequence, width, layers, dense, pooling)
    for sequence, width in [("bilstm", None), ("bilstm", 4), ("transformer", None), ("transformer", 4),
                            ("feedforward", None), ("feedforward", 4), (None, None)]
    for layers, dense in [(1, []), (2, [3])]
    for pooling in [None, "mean", "max", "attention"]
    if sequence or dense or pooling])  # not without any layer (refused: test_a_private_pooling_alone...)
def test_padding_never_reaches_a_tasks_words_and_widths_are_as_declared(sequence, width, layers, dense, pooling):
    """What the words after the text's end hold changes nothing a head reads, for every kind of private layer
    and pooling; the widths out are the ones the layer declares (which the heads are built for)."""
    import tensorflow as tf

    private = mtkeras.heads.TaskPrivateLayers(sequence, units=5, heads=2, layers=layers, dense=dense, width=width,
                                              dropout=0.0, pooling=pooling)
    mask = tf.constant([[True, True, True, True], [True, True, False, False]])
    words = tf.random.stateless_normal([2, 4, 8], seed=[5, 6])
    encoded = {"sequence_output": words, "pooled_output": tf.reduce_mean(words, axis=1), "padding_mask": mask}
    noisy = dict(encoded, sequence_output=tf.where(mask[..., None], words, 100.0 + words))  # other padding
    out, again = private(encoded), private(noisy)
    real = mask[..., None]
    np.testing.assert_allclose(tf.where(real, out["sequence_output"], 0.0), tf.where(real, again["sequence_output"], 0.0),
                               atol=1e-5)
    np.testing.assert_allclose(out["pooled_output"], again["pooled_output"], atol=1e-5)
    if sequence is not None:  # its own words: padded ones are zero (else the shared words pass as they are)
        assert float(tf.reduce_max(tf.abs(tf.where(real, 0.0, out["sequence_output"])))) == 0.0
    declared = private.compute_output_spec(encoded)
    assert out["sequence_output"].shape == declared["sequence_output"].shape
    assert out["pooled_output"].shape == declared["pooled_output"].shape
    expected_words = {"bilstm": 10, "feedforward": 5, "transformer": width or 8, None: 8}[sequence]
    assert out["sequence_output"].shape[-1] == expected_words
    assert out["pooled_output"].shape[-1] == (dense[-1] if dense else expected_words)
    if dense or sequence is None and pooling is None:
        return
    # What the pooled vector is: each text's own words summed up, the padded ones left out.
    two = out["sequence_output"][1, :2].numpy()
    expected = {None: two.mean(0), "mean": two.mean(0), "max": two.max(0)}.get(pooling)
    if pooling == "attention":
        scores = private.attention_score(private.attention_hidden(out["sequence_output"][1:, :2]))[0, :, 0].numpy()
        weights = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
        expected = weights @ two
    np.testing.assert_allclose(out["pooled_output"][1], expected, atol=1e-5)


def test_a_private_pooling_alone_sums_the_shared_words_up_and_a_text_without_words_is_zeros():
    import tensorflow as tf

    words = tf.random.stateless_normal([3, 4, 8], seed=[1, 2])
    mask = tf.constant([[True, True, True, False], [True, False, False, False], [False] * 4])
    encoded = {"sequence_output": words, "pooled_output": tf.zeros([3, 8]), "padding_mask": mask}
    for pooling in ("mean", "max", "attention"):
        out = mtkeras.heads.TaskPrivateLayers(pooling=pooling, dropout=0.0)(encoded)
        assert out["sequence_output"] is words  # the task's words are the shared ones
        np.testing.assert_allclose(out["pooled_output"][1], words[1, 0], atol=1e-6)  # one word: itself
        assert float(tf.reduce_max(tf.abs(out["pooled_output"][2]))) == 0.0  # the empty text
    # Under a float16 policy (mixed precision) the weights are softmaxed in float32: the same summary.
    private = mtkeras.heads.TaskPrivateLayers(pooling="attention", dropout=0.0)
    full = private(encoded)["pooled_output"]
    half = mtkeras.heads.TaskPrivateLayers(pooling="attention", dropout=0.0, dtype="mixed_float16")
    half.build({key: value.shape for key, value in encoded.items()})
    half.set_weights(private.get_weights())
    out = half(encoded)["pooled_output"]
    assert out.dtype == tf.float16 and bool(tf.reduce_all(tf.math.is_finite(out)))
    np.testing.assert_allclose(tf.cast(out, tf.float32), full, atol=1e-2)
    assert float(tf.reduce_max(tf.abs(out[2]))) == 0.0
    with pytest.raises(ValueError, match="Received an invalid `pooling`.*Received: pooling='sum'"):
        mtkeras.heads.TaskPrivateLayers(pooling="sum")
    with pytest.raises(ValueError, match="needs `sequence` layers, `dense` layers or a `pooling`"):
        mtkeras.heads.TaskPrivateLayers()
