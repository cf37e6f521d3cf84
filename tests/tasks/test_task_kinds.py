"""Task kinds: declaration, labels from examples, config round trips, the registry, and every kind end to end."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples
from mtkeras import names
from mtkeras.data import Example, make_dataset
from mtkeras.tasks import Task, continuation_tag, register_task_kind, registered_task_kinds, task_kind
from mtkeras.tasks.registry import TASK_KINDS
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


def test_the_registry_knows_every_kind_and_refuses_a_taken_name():
    assert list(registered_task_kinds()) == [
        "sentence_classification", "multi_label_classification", "token_tagging", "regression"
    ]
    assert task_kind("token_tagging") is mtkeras.TokenTagging
    with pytest.raises(ValueError, match="Unknown task kind 'token_taging'; did you mean 'token_tagging'"):
        task_kind("token_taging")

    class Impostor(mtkeras.SentenceClassification):
        kind = "sentence_classification"

    with pytest.raises(ValueError, match="'sentence_classification' is taken by mtkeras.tasks.sentence_classification"):
        register_task_kind(Impostor)


def test_a_kind_defined_again_replaces_itself():
    # A notebook cell that defines and registers a kind may run twice.
    def define():
        class Scored(mtkeras.Regression):
            kind = "scored_again"

        return register_task_kind(Scored)

    first, second = define(), define()
    try:
        assert first is not second and task_kind("scored_again") is second
    finally:
        TASK_KINDS._classes.pop("scored_again")

    class Unnamed(Task):
        pass

    with pytest.raises(ValueError, match="needs a `kind` string"):
        register_task_kind(Unnamed)


def test_each_kind_declares_its_config_options():
    """What `tasks.<name>` may set in YAML: the kind's `Options`, passed to the class as given."""
    options = mtkeras.TokenTagging.Options.model_validate({"crf": True, "dropout": 0.2})
    slots = mtkeras.TokenTagging.from_options("slots", options, tiny_examples())
    assert slots.crf and slots.dropout == 0.2 and slots.labels[0] == "O"  # labels from the examples
    given = mtkeras.SentenceClassification.Options.model_validate({"labels": ["b", "a"]})
    assert mtkeras.SentenceClassification.from_options("intent", given, []).labels == ["b", "a"]
    assert "thresholds" in mtkeras.MultiLabelClassification.Options.model_fields
    assert "pair" not in mtkeras.TokenTagging.Options.model_fields  # a token task reads one text
    with pytest.raises(ValueError, match="dropout"):
        mtkeras.Regression.Options.model_validate({"dropout": 1.5})


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
