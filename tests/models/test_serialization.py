"""Every public layer, encoder, head, loss and metric keeps its contract and round-trips through its config.

One parametrized contract test per public layer (`helpers.layer_harness`,
keras-hub's idea): built and called, called symbolically, its config through
JSON, its weights through a file. Losses, metrics, tasks and the whole model
round-trip too.
"""

import json

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.layer_harness import run_layer_test
from helpers.models import build_tiny_model
from mtkeras import heads, text, training
from mtkeras.encoders import (
    BiLSTMEncoder,
    CNNEncoder,
    PretrainedEncoder,
    StackedEncoder,
    StackedPreprocessor,
    TransformerEncoder,
)

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "book", "a", "table", "play", "jazz", "##s"]


def tiny_bert():
    keras.utils.set_random_seed(0)
    return keras_hub.models.BertBackbone(
        vocabulary_size=len(WORDS), num_layers=1, num_heads=1, hidden_dim=4, intermediate_dim=8, max_sequence_length=16
    )


def encoder_inputs():
    pre = text.WordPreprocessor(["book", "a", "table"])
    return pre(tf.constant(["book a table", "play"]))


def encoded():
    return {
        "sequence_output": tf.random.stateless_normal([2, 3, 6], seed=[1, 2]),
        "pooled_output": tf.random.stateless_normal([2, 6], seed=[3, 4]),
        "padding_mask": tf.constant([[True, True, True], [True, False, False]]),
    }


LAYERS = {
    "WordPreprocessor": (lambda: text.WordPreprocessor(["book", "a"], max_words=5, max_word_chars=4),
                         lambda: tf.constant(["book a Table", ""])),
    "WordPiecePreprocessor": (lambda: text.WordPiecePreprocessor(WORDS, sequence_length=8),
                              lambda: tf.constant(["book tables", "play jazz"])),
    "BiLSTMEncoder": (lambda: BiLSTMEncoder(5, embedding_dim=4, hidden_dim=3, num_layers=2, char_dim=3,
                                            char_filters=2, char_buckets=512), encoder_inputs),
    "BiLSTMEncoder(no chars)": (lambda: BiLSTMEncoder(5, embedding_dim=4, hidden_dim=3, char_dim=0, word_dropout=0.2,
                                                      singleton_dropout=0.3, first_singleton_id=3), encoder_inputs),
    "CNNEncoder": (lambda: CNNEncoder(5, embedding_dim=4, hidden_dim=3, num_layers=2, char_dim=2, char_filters=2),
                   encoder_inputs),
    "TransformerEncoder": (lambda: TransformerEncoder(5, embedding_dim=4, hidden_dim=4, num_heads=2,
                                                      intermediate_dim=8, max_length=16, char_dim=2, char_filters=2),
                           encoder_inputs),
    "BiLSTMEncoder(shapes, vectors)": (lambda: BiLSTMEncoder(5, embedding_dim=4, hidden_dim=3, num_layers=1, char_dim=2,
                                                             char_filters=2, shape_dim=2, vector_dim=3, first_extra_id=4),
                                       encoder_inputs),
    "StackedPreprocessor": (lambda: StackedPreprocessor(text.WordPreprocessor(["book", "a"]),
                                                        text.WordPiecePreprocessor(WORDS, sequence_length=8)),
                            lambda: tf.constant(["book tables", "play jazz"])),
    "StackedEncoder": (lambda: StackedEncoder(5, pretrained=PretrainedEncoder(tiny_bert(), dropout=0.0), embedding_dim=4,
                                              hidden_dim=3, num_layers=1, char_dim=2, char_filters=2, shape_dim=2),
                       lambda: StackedPreprocessor(text.WordPreprocessor(["book", "a", "table"]),
                                                   text.WordPiecePreprocessor(WORDS))(tf.constant(["book a table", "play"]))),
    "PretrainedEncoder": (lambda: PretrainedEncoder(tiny_bert(), dropout=0.0, pooling="cls"),
                          lambda: text.WordPiecePreprocessor(WORDS)(tf.constant(["book a table", "play"]))),
    "SentenceClassificationHead": (lambda: heads.SentenceClassificationHead(3, dropout=0.2), encoded),
    "TokenClassificationHead": (lambda: heads.TokenClassificationHead(4), encoded),
    "TokenClassificationHead(context)": (lambda: heads.TokenClassificationHead(4, sentence_context=True), encoded),
    "TokenClassificationHead(crf)": (lambda: heads.TokenClassificationHead(4, crf=True), encoded),
    "MultiLabelClassificationHead": (lambda: heads.MultiLabelClassificationHead(2), encoded),
    "RegressionHead": (lambda: heads.RegressionHead(dropout=0.3), encoded),
    "SentenceClassificationHead(pair)": (lambda: heads.SentenceClassificationHead(3, pair=True),
                                         lambda: (encoded(), encoded())),
    "TaskPrivateLayers(bilstm, dense)": (lambda: heads.TaskPrivateLayers("bilstm", units=3, layers=2, dense=[5]), encoded),
    "TaskPrivateLayers(transformer)": (lambda: heads.TaskPrivateLayers("transformer", units=8, heads=2), encoded),
    "TaskPrivateLayers(dense)": (lambda: heads.TaskPrivateLayers(dense=[4, 3], dropout=0.0), encoded),
    "TaskPrivateLayers(transformer, width)": (lambda: heads.TaskPrivateLayers("transformer", units=8, heads=2, width=4),
                                              encoded),
    "TaskPrivateLayers(feedforward, width, dense)": (
        lambda: heads.TaskPrivateLayers("feedforward", units=5, layers=2, width=3, dense=[2]), encoded),
    "TaskPrivateLayers(attention pooling)": (lambda: heads.TaskPrivateLayers(pooling="attention"), encoded),
    "TaskPrivateLayers(feedforward, max pooling)": (
        lambda: heads.TaskPrivateLayers("feedforward", units=5, pooling="max", dense=[2]), encoded),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_public_layer_keeps_the_layer_contract(name, tmp_path):
    """Build, call, symbolic call, JSON config round trip, weights saved to a file and loaded."""
    make, inputs = LAYERS[name]
    run_layer_test(make, inputs(), tmp_path)


def test_the_table_covers_every_public_layer():
    public = {cls.__name__ for module in (heads, text, mtkeras.encoders) for cls in vars(module).values()
              if isinstance(cls, type) and issubclass(cls, keras.layers.Layer) and cls.__module__.startswith("mtkeras")}
    covered = {name.split("(")[0] for name in LAYERS}
    assert public - {"DenseHead", "WordEncoder"} <= covered, public - covered


def test_token_head_with_sentence_context_reads_the_pooled_vector():
    inputs = encoded()
    other = dict(inputs, pooled_output=inputs["pooled_output"] + 1.0)
    plain = heads.TokenClassificationHead(4, dropout=0.0)
    context = heads.TokenClassificationHead(4, dropout=0.0, sentence_context=True)
    np.testing.assert_allclose(plain(inputs), plain(other))
    assert not np.allclose(context(inputs), context(other))
    assert context(inputs).shape == plain(inputs).shape


OBJECTS = {
    "MaskedSparseCategoricalCrossentropy": lambda: training.MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
    "MaskedBinaryCrossentropy": lambda: training.MaskedBinaryCrossentropy(label_smoothing=0.2),
    "MaskedMeanSquaredError": lambda: training.MaskedMeanSquaredError(),
    "MaskedCRFLoss": lambda: training.MaskedCRFLoss(name="ner_loss"),
    "MaskedAccuracy": lambda: training.MaskedAccuracy(),
    "MaskedBinaryAccuracy": lambda: training.MaskedBinaryAccuracy(threshold=[0.3, 0.6]),
    "MaskedMeanAbsoluteError": lambda: training.MaskedMeanAbsoluteError(),
    "MaskedLossMean": lambda: training.MaskedLossMean(training.MaskedSparseCategoricalCrossentropy(0.1)),
    "MaskedEntityF1": lambda: training.MaskedEntityF1(["O", "B-x", "I-x"]),
    "MaskedMicroF1": lambda: training.MaskedMicroF1(threshold=[0.4, 0.7]),
    "MaskedPearson": lambda: training.MaskedPearson(),
}


def test_every_public_loss_and_metric_is_round_tripped():
    public = {name for name in training.__all__ if isinstance(getattr(training, name), type)
              and issubclass(getattr(training, name), (keras.losses.Loss, keras.metrics.Metric))}
    assert public - {"MaskedLoss"} == set(OBJECTS)  # MaskedLoss: the base class of the losses


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_loss_and_metric_round_trip_through_keras_serialization(name):
    obj = OBJECTS[name]()
    payload = json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))
    clone = keras.saving.deserialize_keras_object(payload)
    assert type(clone) is type(obj)
    assert clone.get_config() == obj.get_config()


TASKS = [
    lambda: mtkeras.SentenceClassification("intent", ["a", "b"], loss_weight=0.5, label_smoothing=0.1),
    lambda: mtkeras.TokenTagging("slots", ["O", "B-x", "I-x"], dropout=0.2),
    lambda: mtkeras.TokenTagging("pos", ["NN", "VB"], sentence_context=False),
    lambda: mtkeras.TokenTagging("ner", ["O", "B-x", "I-x"], crf=True),
    lambda: mtkeras.MultiLabelClassification("topics", ["m", "n"], thresholds=[0.4, 0.6], separator="|"),
    lambda: mtkeras.Regression("rating", loss_weight=2.0),
    lambda: mtkeras.TokenTagging("tags", ["O", "B-x", "I-x"], private={"sequence": "bilstm", "units": 16}),
    lambda: mtkeras.Regression("score", private={"dense": [32, 16], "dropout": 0.2}),
    lambda: mtkeras.SentenceClassification("mood", ["a", "b"], private={"pooling": "attention"}),
]


@pytest.mark.parametrize("make", TASKS, ids=lambda make: type(make()).__name__)
def test_task_config_round_trip(make):
    task = make()
    assert mtkeras.Task.from_config(json.loads(json.dumps(task.get_config()))) == task


def test_whole_model_round_trips_through_a_keras_file(tmp_path):
    model = build_tiny_model()
    model.compile(optimizer="adam")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, mtkeras.MultiTaskModel)
    assert loaded.tasks == model.tasks
    assert loaded.preprocessor.vocabulary == model.preprocessor.vocabulary
    texts = ["book a table in paris", "play jazz", ""]
    for task, value in model.predict(texts, verbose=0).items():
        np.testing.assert_allclose(loaded.predict(texts, verbose=0)[task], value, atol=1e-6)
