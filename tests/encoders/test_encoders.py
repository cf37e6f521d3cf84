"""Every encoder with every head kind, in one model each: builds, trains, predicts."""

import keras
import keras_hub
import numpy as np
import pytest

import mtkeras
from mtkeras.data import Example, make_dataset

DATA = [
    ("book a table for two in paris", "BookRestaurant", "O O O O B-party_size O B-city", "food", 4.0, "reserve a table"),
    ("play some jazz tonight", "PlayMusic", "O O B-genre B-date", "music,fun", 3.0, "start the music"),
    ("will it rain in rome", "GetWeather", "O O O O B-city", "", 1.0, "is the weather wet"),
    ("play rock in paris", "PlayMusic", "O B-genre O B-city", "music", 2.5, "music in paris"),
]
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "book", "a", "table", "for", "two", "in", "paris", "play", "some",
         "jazz", "will", "it", "rain", "rome", "rock", "the", "music", "is", "weather", "##s"]


def examples():
    return [
        Example(tuple(t.split()), {"intent": i, "slots": tuple(s.split()), "topics": m, "rating": r, "similar": r},
                f"tiny:{n}", pair=tuple(p.split()))
        for n, (t, i, s, m, r, p) in enumerate(DATA)
    ]


def tasks(train):
    return [
        mtkeras.SentenceClassification.from_examples("intent", train),
        mtkeras.TokenTagging.from_examples("slots", train),
        mtkeras.MultiLabelClassification.from_examples("topics", train),
        mtkeras.Regression("rating"),
        mtkeras.Regression("similar", pair=True),
    ]


@pytest.fixture(scope="module")
def bert_preset(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("bert"))
    keras_hub.models.BertTokenizer(vocabulary=WORDS, lowercase=True).save_to_preset(path)
    keras_hub.models.BertBackbone(vocabulary_size=len(WORDS), num_layers=1, num_heads=1, hidden_dim=8,
                                  intermediate_dim=16, max_sequence_length=32).save_to_preset(path)
    return path


SMALL = {"embedding_dim": 8, "hidden_dim": 8, "char_dim": 4, "char_filters": 4}


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["bilstm", "cnn", "transformer", "bert"])
def test_encoder_with_every_head_kind(encoder, bert_preset):
    train = examples()
    keras.utils.set_random_seed(0)
    if encoder == "bert":
        model = mtkeras.build_model(tasks(train), encoder=bert_preset)
    else:
        config = dict(SMALL, **({"num_heads": 2, "intermediate_dim": 16} if encoder == "transformer" else {}))
        model = mtkeras.build_model(tasks(train), encoder=encoder, texts=[ex.text for ex in train]
                                    + [ex.text_pair for ex in train], encoder_config=config)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(make_dataset(train, model.tasks, batch_size=2), epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    out = model.predict({"text": [ex.text for ex in train], "text_pair": [ex.text_pair for ex in train]}, verbose=0)
    lengths = [len(ex.words) for ex in train]
    assert out["intent"].shape == (4, 3)
    assert out["slots"].shape == (4, max(lengths), model.tasks[1].num_labels)
    assert out["topics"].shape == (4, 3) and out["rating"].shape == (4,) and out["similar"].shape == (4,)
    report = mtkeras.evaluate(model, train, print_table=False)
    assert set(report) == {"intent", "slots", "topics", "rating", "similar", "sentence_accuracy"}
