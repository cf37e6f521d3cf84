"""Multi-label and regression tasks beside the others, end to end."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from conftest import tiny_examples
from mtkeras import names
from mtkeras.data import Example, make_dataset
from mtkeras.export import export_saved_model

TOPICS = [("play jazz tonight", ("music",)), ("rain in rome", ("weather",)),
          ("play rain songs", ("music", "weather")), ("hello there", ())]
RATINGS = [("great great great", 5.0), ("great", 4.0), ("bad", 1.0), ("bad bad", 0.5)]


def mixed_examples():
    examples = [Example(tuple(t.split()), {"topics": labels}, f"topics:{i}") for i, (t, labels) in enumerate(TOPICS)]
    examples += [Example(tuple(t.split()), {"rating": str(v)}, f"ratings:{i}") for i, (t, v) in enumerate(RATINGS)]
    intents = [Example(ex.words, {"intent": ex.labels["intent"]}, ex.source) for ex in tiny_examples() if "intent" in ex.labels]
    return examples + intents


def build(examples):
    tasks = [
        mtkeras.SentenceClassification.from_examples("intent", examples, dropout=0.0),
        mtkeras.MultiLabelClassification.from_examples("topics", examples, dropout=0.0, thresholds=[0.5, 0.4]),
        mtkeras.Regression("rating", dropout=0.0),
    ]
    keras.utils.set_random_seed(0)
    return mtkeras.build_model(tasks, texts=[ex.text for ex in examples],
                               encoder_config={"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "dropout": 0.0})


@pytest.fixture(scope="module")
def trained():
    examples = mixed_examples()
    model = build(examples)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = make_dataset(examples, model.tasks, batch_size=8, shuffle=True)
    model.fit(data, epochs=40, verbose=0)
    return model, examples


def test_tasks_declare_labels_and_validate():
    topics = mtkeras.MultiLabelClassification.from_examples("topics", mixed_examples())
    assert topics.labels == ["music", "weather"]
    target, weight = topics.encode("music, weather", 2)
    assert target.tolist() == [1.0, 1.0] and weight == 1.0
    assert topics.encode(None, 2)[1] == 0.0
    with pytest.raises(ValueError, match="thresholds"):
        mtkeras.MultiLabelClassification("t", ["a", "b"], thresholds=[0.5])
    rating = mtkeras.Regression("rating")
    assert rating.encode("3.5", 1) == (3.5, 1.0)
    with pytest.raises(ValueError, match=r"f\.tsv:4: task 'rating' needs a finite number. Received: 'n/a'"):
        rating.encode("n/a", 1, source="f.tsv:4")


def test_model_outputs_and_training(trained):
    model, examples = trained
    out = model.predict(["play jazz", "great"], verbose=0)
    assert out["topics"].shape == (2, 2) and out["rating"].shape == (2,)
    report = mtkeras.evaluate(model, examples, print_table=False)
    assert report["topics"]["exact_match"] == 1.0
    assert report["rating"]["pearson"] > 0.9
    assert report["intent"]["accuracy"] == 1.0
    logs = model.evaluate(make_dataset(examples, model.tasks, batch_size=6), return_dict=True, verbose=0)
    assert {"topics_accuracy", "topics_loss", "rating_mae", "rating_loss"} <= set(logs)
    # The exact losses over labelled texts, by hand.
    probs = model.predict([ex.text for ex in examples[:4]], verbose=0)["topics"]
    gold = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.float32)
    bce = -(gold * np.log(probs) + (1 - gold) * np.log(1 - probs)).mean()
    alone = model.evaluate(make_dataset(examples[:4], model.tasks, batch_size=4), return_dict=True, verbose=0)
    assert alone["topics_loss"] == pytest.approx(bce, rel=1e-4)
    assert alone["rating_loss"] == 0.0  # no rating label there


def test_export_and_client_format(trained, tmp_path):
    model, _ = trained
    path = export_saved_model(model, str(tmp_path / "kinds"))
    serve = tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]
    out = serve(text=tf.constant(["play rain songs", "great great great"]))
    assert out[names.labels_key("topics")].numpy()[0].tolist() == [b"music", b"weather"]
    np.testing.assert_allclose(
        out[names.value_key("rating")].numpy(), model.predict(["play rain songs", "great great great"], verbose=0)["rating"],
        atol=1e-5,
    )
