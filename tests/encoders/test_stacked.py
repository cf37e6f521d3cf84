"""The stacked encoder: a transformer's word vectors beside word vectors, characters and shapes, under a BiLSTM."""

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.serving import assert_answers_through_tf_serving_loader
from mtkeras.encoders import StackedEncoder, StackedPreprocessor

PIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "play", "some", "jazz", "book", "a", "table", "in", "paris",
          "great", "thanks", "this", "is", "useless", "##s", "the", "weather"]
SMALL = {"embedding_dim": 8, "hidden_dim": 8, "char_dim": 4, "char_filters": 4, "singleton_dropout": 0.0,
         "word_dropout": 0.0, "dropout": 0.0}


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("stacked_bert"))
    keras.utils.set_random_seed(0)
    keras_hub.models.BertTokenizer(vocabulary=PIECES, lowercase=True).save_to_preset(path)
    keras_hub.models.BertBackbone(vocabulary_size=len(PIECES), num_layers=1, num_heads=1, hidden_dim=8,
                                  intermediate_dim=16, max_sequence_length=16).save_to_preset(path)
    return path


def test_words_carry_the_transformer_s_vector_at_their_first_piece(preset):
    examples = tiny_examples()
    tasks = tiny_tasks(examples)
    model = mtkeras.build_model(tasks, encoder="stacked", texts=[ex.text for ex in examples],
                                encoder_config={**SMALL, "preset": preset, "sequence_length": 8, "num_layers": 0})
    assert isinstance(model.preprocessor, StackedPreprocessor) and isinstance(model.encoder, StackedEncoder)
    encoder = model.encoder
    assert not encoder.transformer.trainable and encoder.output_dim == encoder.word_dim == 8 + 4 + 8 + 8
    # Without a BiLSTM the sequence output is the stacked words: its last 8 are the transformer's.
    texts = ["play some jazz in paris please now", "great"]
    inputs = model.preprocessor(np.array(texts))
    out = encoder(inputs)["sequence_output"].numpy()
    pieces = {key[len("pieces_"):]: value for key, value in inputs.items() if key.startswith("pieces_")}
    expected = encoder.transformer(pieces)["sequence_output"].numpy()
    assert out.shape[1] == 7 and expected.shape[1] == 6  # 8 pieces: [CLS], 6 words, [SEP]; the 7th word is cut
    np.testing.assert_allclose(out[:, :6, -8:], expected, atol=1e-5)
    np.testing.assert_allclose(out[0, 6, -8:], 0.0)  # past the transformer's sequence length
    # Batches are sorted by the pieces the transformer reads, its most costly part.
    lengths = model.preprocessor.sequence_lengths(tf.constant(texts)).numpy().tolist()
    assert lengths == inputs["pieces_padding_mask"].numpy().sum(axis=1).tolist() == [8, 3]


def test_stacked_trains_round_trips_and_answers_through_tf_serving_s_loader(preset, tmp_path):
    examples = tiny_examples()
    tasks = tiny_tasks(examples)
    model = mtkeras.build_model(tasks, encoder="stacked", texts=[ex.text for ex in examples],
                                encoder_config={**SMALL, "preset": preset})
    frozen = [w.numpy().copy() for w in model.encoder.transformer.weights]
    model.compile(optimizer="adam")
    history = model.fit(mtkeras.data.make_dataset(examples, tasks, batch_size=4), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for before, after in zip(frozen, model.encoder.transformer.weights):
        np.testing.assert_array_equal(before, after.numpy())  # the transformer is frozen by default
    texts = ["play jazz in Paris", "this is useless", "book a table"]
    expected = model.predict(texts, verbose=0)
    model.save(tmp_path / "stacked.keras")
    loaded = mtkeras.load_model(tmp_path / "stacked.keras")
    for task, value in loaded.predict(texts, verbose=0).items():
        np.testing.assert_allclose(value, expected[task], atol=1e-5)
    mtkeras.export.export_saved_model(model, str(tmp_path / "export"), version=1)
    answers = assert_answers_through_tf_serving_loader(str(tmp_path / "export" / "1"), texts)
    np.testing.assert_allclose(answers["serving_default"]["intent_probs"], expected["intent"], atol=1e-5)


def test_config_options_are_checked():
    from mtkeras.encoders import check_encoder_config
    from mtkeras.errors import FieldError

    check_encoder_config("stacked", {"preset": "minilm", "hidden_dim": 256, "pretrained_trainable": True})
    with pytest.raises(FieldError, match="not an option of stacked"):
        check_encoder_config("stacked", {"pretrained": 1})
    with pytest.raises(FieldError, match="expected an integer >= 3, got 1"):
        check_encoder_config("stacked", {"sequence_length": 1})
