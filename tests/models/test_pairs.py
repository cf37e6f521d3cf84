"""Sentence-pair tasks (NLI, similarity) beside single-text tasks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples
from mtkeras import names
from mtkeras.data import Example, make_dataset, read_delimited
from mtkeras.export import export_saved_model

PAIRS = [
    ("a man plays jazz", "someone plays music", "entailment", 4.0),
    ("a man plays jazz", "nobody plays music", "contradiction", 0.5),
    ("it rains in rome", "the weather in rome is wet", "entailment", 4.5),
    ("it rains in rome", "rome is dry and sunny", "contradiction", 0.2),
    ("book a table", "reserve a table", "entailment", 4.8),
    ("book a table", "cancel the table", "contradiction", 1.0),
]


def pair_examples():
    return [
        Example(tuple(a.split()), {"nli": label, "similarity": score}, f"pairs:{i}", pair=tuple(b.split()))
        for i, (a, b, label, score) in enumerate(PAIRS)
    ]


def intent_examples():
    return [Example(ex.words, {"intent": ex.labels["intent"]}, ex.source) for ex in tiny_examples() if "intent" in ex.labels]


@pytest.fixture(scope="module")
def trained():
    examples = pair_examples() + intent_examples()
    tasks = [
        mtkeras.SentenceClassification.from_examples("intent", examples, dropout=0.0),
        mtkeras.SentenceClassification.from_examples("nli", examples, pair=True, dropout=0.0),
        mtkeras.Regression("similarity", pair=True, dropout=0.0),
    ]
    keras.utils.set_random_seed(0)
    model = mtkeras.build_model(tasks, texts=[ex.text for ex in examples] + [ex.text_pair for ex in examples],
                                encoder_config={"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "dropout": 0.0, "word_dropout": 0.0, "singleton_dropout": 0.0})
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    model.fit(make_dataset(examples, tasks, batch_size=5, shuffle=True), epochs=40, verbose=0)
    return model, examples


def test_pair_models_have_a_second_input_and_train(trained):
    model, examples = trained
    assert sorted(t.name for t in model.inputs) == [names.TEXT, names.TEXT_PAIR]
    report = mtkeras.evaluate(model, make_dataset(examples, model.tasks, batch_size=4), print_table=False)
    assert report["nli"]["accuracy"] == 1.0
    assert report["intent"]["accuracy"] == 1.0
    assert report["similarity"]["pearson"] > 0.9
    # Swapping the two texts of a pair changes the input; the head sees both orders.
    out = model.predict({names.TEXT: ["a man plays jazz"], names.TEXT_PAIR: ["nobody plays music"]}, verbose=0)
    assert model.tasks[1].labels[int(np.argmax(out["nli"][0]))] == "contradiction"
    # Single texts still work for single-text tasks.
    assert model.predict(["book a table for two in paris"], verbose=0)["intent"].shape[0] == 1


def test_many_pairs_are_batched_by_length_and_answered_in_the_order_given(trained):
    model, _ = trained
    texts = [a for a, _, _, _ in PAIRS] + ["play jazz", "book a table for two in paris tonight please"]
    pairs = [b for _, b, _, _ in PAIRS] + ["a very long second text of many words here", "ok"]
    out = model.predict({names.TEXT: texts, names.TEXT_PAIR: pairs}, batch_size=3, verbose=0)
    for i, (text, pair) in enumerate(zip(texts, pairs)):
        alone = model.predict({names.TEXT: [text], names.TEXT_PAIR: [pair]}, verbose=0)
        for name in ("nli", "similarity", "intent"):
            np.testing.assert_allclose(out[name][i], alone[name][0], atol=1e-5)
    with pytest.raises(ValueError, match="Received 8 texts and 7 text pairs"):
        model.predict({names.TEXT: texts, names.TEXT_PAIR: pairs[:7]}, batch_size=3, verbose=0)


def test_pair_labels_without_a_second_text_name_the_example(trained):
    model, _ = trained
    bad = [Example(("a", "b"), {"nli": "entailment"}, "nli.tsv:7")]
    with pytest.raises(ValueError, match=r"nli\.tsv:7: labels for sentence-pair task\(s\) \['nli'\] but no second text"):
        make_dataset(bad, model.tasks)


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """`(base path, version path)` of the trained pair model's export, made once for the tests that read it."""
    base = str(tmp_path_factory.mktemp("served") / "pairs")
    return base, export_saved_model(trained[0], base)


def test_export_has_a_pair_signature(trained, exported):
    model, _ = trained
    loaded = tf.saved_model.load(exported[1])
    assert set(loaded.signatures) == {names.SERVING_SIGNATURE, names.PAIR_SIGNATURE}
    single = loaded.signatures[names.SERVING_SIGNATURE](text=tf.constant(["play jazz"]))
    assert names.label_key("intent") in single and names.label_key("nli") not in single
    pair = loaded.signatures[names.PAIR_SIGNATURE](
        text=tf.constant(["a man plays jazz", "book a table"]), text_pair=tf.constant(["nobody plays music", "reserve a table"])
    )
    expected = model.predict({names.TEXT: ["a man plays jazz", "book a table"],
                              names.TEXT_PAIR: ["nobody plays music", "reserve a table"]}, verbose=0)
    np.testing.assert_allclose(pair[names.probs_key("nli")].numpy(), expected["nli"], atol=1e-5)
    np.testing.assert_allclose(pair[names.value_key("similarity")].numpy(), expected["similarity"], atol=1e-5)


def test_delimited_reader_reads_pairs(tmp_path):
    path = tmp_path / "mrpc.tsv"
    path.write_text("s1\ts2\tlabel\na cat sat\ta cat was sitting\t1\nhello\t\t0\n", encoding="utf-8")
    examples = read_delimited(str(path), columns={"paraphrase": "label"}, text_column="s1", pair_column="s2",
                              on_error="skip")
    assert [(ex.words, ex.pair) for ex in examples] == [(("a", "cat", "sat"), ("a", "cat", "was", "sitting"))]


@pytest.mark.slow
def test_served_pairs_over_grpc(exported):
    from mtkeras.serving import Client, ModelServer

    base, _ = exported
    with ModelServer("pairs", base, port=0) as server, Client(f"127.0.0.1:{server.port}", "pairs") as client:
        (single,) = client.predict(["book a table for two"])
        assert set(single) == {"intent"}
        answers = client.predict(["a man plays jazz", "book a table"], pairs=["nobody plays music", "reserve a table"])
        assert [a["nli"]["label"] for a in answers] == ["contradiction", "entailment"]
        assert isinstance(answers[0]["similarity"], float)
        with pytest.raises(ValueError, match="2 texts but 1 pairs"):
            client.predict(["a", "b"], pairs=["c"])


def test_a_configured_run_adapts_the_vocabulary_on_both_texts():
    import textwrap

    from mtkeras.runs import parse_config
    from mtkeras.runs import build_compiled_model, declare_tasks

    config = parse_config(textwrap.dedent("""\
        name: nli
        tasks:
          nli: {kind: sentence_classification, pair: true}
        datasets:
          pairs:
            reader: delimited
            train: pairs.tsv
            text: premise
            pair: hypothesis
            tasks: {nli: label}
        encoder:
          config: {embedding_dim: 4, hidden_dim: 4, num_layers: 1}
        """))
    examples = pair_examples()
    model = build_compiled_model(config, declare_tasks(config, examples), {"pairs": examples}, steps_per_epoch=1)
    vocabulary = model.preprocessor.vocabulary
    word_id = {word: i + 2 for i, word in enumerate(vocabulary)}
    # "music" and "nobody" only occur in second texts: twice and once.
    assert word_id["music"] < model.encoder.first_singleton_id <= word_id["nobody"]
