"""Shared fixtures: tiny data written by the tests, a tiny trained model."""

import os
import socket
import subprocess
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

from mtkeras.data import Example  # noqa: E402

TINY_ASSISTANT = [
    ("book a table for two in paris", "BookRestaurant", "O O O O B-party_size O B-city"),
    ("book a table for four in rome", "BookRestaurant", "O O O O B-party_size O B-city"),
    ("reserve a table for two at noon", "BookRestaurant", "O O O O B-party_size O B-time"),
    ("what is the weather in paris", "GetWeather", "O O O O O B-city"),
    ("will it rain in new york tomorrow", "GetWeather", "O O B-condition O B-city I-city B-date"),
    ("weather in rome today", "GetWeather", "O O B-city B-date"),
    ("play some jazz", "PlayMusic", "O O B-genre"),
    ("play miles davis", "PlayMusic", "O B-artist I-artist"),
    ("play rock music", "PlayMusic", "O B-genre O"),
]
TINY_FEEDBACK = [
    ("that was great thanks", "positive"),
    ("you are very helpful", "positive"),
    ("this is useless", "negative"),
    ("that was wrong again", "negative"),
]


TINY_ENTITIES = [
    ("meet alice in london", "O B-person O B-location"),
    ("bob flew to tokyo today", "B-person O O B-location O"),
    ("new york is cold", "B-location I-location O O"),
    ("carol and dave went home", "B-person O B-person O O"),
]


def tiny_entity_examples():
    """A third source: only entities (a token task of its own)."""
    return [
        Example(tuple(text.split()), {"entities": tuple(tags.split())}, f"tweets:{i}")
        for i, (text, tags) in enumerate(TINY_ENTITIES, start=1)
    ]


def write_mixed_jsonl(path, copies=1):
    """One JSON Lines file, each line labelled for some tasks only: 12 texts (x `copies`)
    alternating intent + slots and sentiment, so every batch mixes labelled and unlabelled tasks."""
    import json

    assistant = [{"text": t, "intent": i, "slots": s.split()} for t, i, s in TINY_ASSISTANT]
    feedback = [{"text": t, "sentiment": s} for t, s in TINY_FEEDBACK]
    rows = []
    for i in range(len(assistant)):
        rows += assistant[i : i + 1] + feedback[i : i + 1]
    rows = rows[:12] * copies
    with open(path, "w") as f:
        f.write("\n".join(json.dumps(row) for row in rows) + "\n")
    return str(path)


def write_reproducible_config(path, data, training, extra="", valid=False):
    """A config that trains the three tiny tasks on `write_mixed_jsonl` data with no randomness.

    No dropout, file order, no bucketing: two runs on the same batches can be
    compared number for number. `training` holds the training section's
    fields (YAML lines, indented two spaces); `extra` further sections.
    """
    text = f"""\
name: tiny
tasks:
  intent: {{kind: sentence_classification, dropout: 0.0}}
  slots: {{kind: token_tagging, dropout: 0.0}}
  sentiment: {{kind: sentence_classification, dropout: 0.0}}
datasets:
  mixed:                       # one file, each line labelled for some tasks only
    reader: jsonl
    train: {data}
{f"    valid: {data}" + chr(10) if valid else ""}    text: text
    tasks: {{intent: intent, slots: slots, sentiment: sentiment}}
    options: {{allow_missing: true}}
mixing: {{bucket: false}}
encoder:
  config: {{embedding_dim: 8, hidden_dim: 8, num_layers: 1, char_filters: 8, char_dim: 8, dropout: 0.0, word_dropout: 0.0, singleton_dropout: 0.0}}
training:
  shuffle: false               # the same batches in every epoch of every run
{textwrap.indent(textwrap.dedent(training).strip(), "  ")}
{textwrap.dedent(extra).strip()}
"""
    with open(path, "w") as f:
        f.write(text)
    return str(path)


EVERY_KIND_TOPICS = [("play jazz tonight", ("music",)), ("rain in rome", ("weather",)), ("play rain songs", ("music", "weather"))]
EVERY_KIND_RATINGS = [("great great great", 5.0), ("bad", 1.0)]
EVERY_KIND_ENTITIES = [("meet alice in london", "O B-person O B-location"), ("new york is cold", "B-location I-location O O")]


def every_kind_examples():
    """`tiny_examples` plus texts labelled for topics (multi-label), a rating (regression) and entities."""
    examples = list(tiny_examples())
    examples += [Example(tuple(t.split()), {"topics": labels}, f"topics:{i}") for i, (t, labels) in enumerate(EVERY_KIND_TOPICS)]
    examples += [Example(tuple(t.split()), {"rating": str(v)}, f"ratings:{i}") for i, (t, v) in enumerate(EVERY_KIND_RATINGS)]
    examples += [Example(tuple(t.split()), {"entities": tuple(tags.split())}, f"ner:{i}")
                 for i, (t, tags) in enumerate(EVERY_KIND_ENTITIES)]
    return examples


def every_kind_tasks(examples):
    """Every task kind: classification, multi-label, tagging with and without CRF, regression, pairs."""
    import mtkeras

    return [
        mtkeras.SentenceClassification.from_examples("intent", examples, dropout=0.0),
        mtkeras.SentenceClassification.from_examples("sentiment", examples, dropout=0.0),
        mtkeras.MultiLabelClassification.from_examples("topics", examples, dropout=0.0),
        mtkeras.TokenTagging.from_examples("slots", examples, dropout=0.0),
        mtkeras.TokenTagging.from_examples("entities", examples, dropout=0.0, crf=True),
        mtkeras.Regression("rating", dropout=0.0),
        mtkeras.SentenceClassification("nli", labels=["entailment", "contradiction"], pair=True, dropout=0.0),
    ]


def tiny_examples():
    """Heterogeneous examples: intent + slots from one source, sentiment from another."""
    examples = [
        Example(tuple(text.split()), {"intent": intent, "slots": tuple(tags.split())}, f"assistant:{i}")
        for i, (text, intent, tags) in enumerate(TINY_ASSISTANT, start=1)
    ]
    examples += [
        Example(tuple(text.split()), {"sentiment": label}, f"feedback:{i}")
        for i, (text, label) in enumerate(TINY_FEEDBACK, start=1)
    ]
    return examples


def tiny_tasks(examples=None, dropout=0.0):
    """The three tiny tasks; no dropout by default, so training is deterministic."""
    import mtkeras

    examples = examples or tiny_examples()
    return [
        mtkeras.SentenceClassification.from_examples("intent", examples, dropout=dropout),
        mtkeras.TokenTagging.from_examples("slots", examples, dropout=dropout),
        mtkeras.SentenceClassification.from_examples("sentiment", examples, dropout=dropout),
    ]


def build_tiny_model(examples=None, tasks=None, seed=0, **encoder_config):
    import keras

    import mtkeras

    examples = examples or tiny_examples()
    tasks = tasks or tiny_tasks(examples)
    keras.utils.set_random_seed(seed)
    config = {"embedding_dim": 8, "hidden_dim": 8, "num_layers": 1, "dropout": 0.0, "word_dropout": 0.0, "singleton_dropout": 0.0, **encoder_config}
    return mtkeras.build_model(tasks, texts=[ex.text for ex in examples], encoder_config=config)


@pytest.fixture(scope="session")
def trained_model():
    """A tiny model trained until it fits the tiny data (a few seconds)."""
    import keras

    from mtkeras.data import make_dataset

    examples = tiny_examples()
    model = build_tiny_model(examples)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = make_dataset(examples, model.tasks, batch_size=8, shuffle=True, seed=1)
    model.fit(data, epochs=30, verbose=0)
    return model


@pytest.fixture(scope="session")
def exported_model(trained_model, tmp_path_factory):
    """`(base_path, version_path)` of the tiny model exported once."""
    from mtkeras.export import export_saved_model

    base = tmp_path_factory.mktemp("saved_models") / "tiny"
    return str(base), export_saved_model(trained_model, str(base))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_python(code, env=None, timeout=600):
    """Runs `code` in a fresh Python process; returns stdout, fails with its stderr."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"subprocess failed:\n{result.stderr[-5000:]}"
    return result.stdout


def assert_answers_through_tf_serving_loader(path, texts=None, atol=1e-5):
    """Loads the export at `path` as TF Serving does and as `tf.saved_model.load` does; both answer the same.

    TF Serving's loader (`mtkeras.export.SavedModelBundle`: restore op, init
    op, tensors by name) runs every signature on `texts` (and, for
    `serving_pair`, the same texts reversed as second texts) and every warmup
    record of the export; each output must equal what the object-graph
    loader's signature returns for the same inputs: strings and integers
    exactly, floats within `atol`.

    Returns:
        `{signature: {alias: np.ndarray}}`, the session loader's answers to `texts`.
    """
    import numpy as np
    import tensorflow as tf
    from mtkeras.export import SavedModelBundle, read_warmup_records, request_inputs

    texts = texts or ["Book a table for two in Rome, please!", "", "play some jazz", "zzz unknown"]
    loaded = tf.saved_model.load(path)
    requests = []
    for name in loaded.signatures:
        inputs = {"text": np.array([t.encode() for t in texts], dtype=object)}
        if name == "serving_pair":
            inputs["text_pair"] = inputs["text"][::-1].copy()
        requests.append((name, inputs))
    requests += [request_inputs(log.predict_log.request) for log in read_warmup_records(path)]
    answers = {}
    with SavedModelBundle(path) as bundle:
        served_names = {name for name in bundle.signature_defs if not name.startswith("__")}
        assert served_names == set(loaded.signatures), (served_names, set(loaded.signatures))
        for index, (name, inputs) in enumerate(requests):
            served = bundle.run(name, inputs)
            expected = loaded.signatures[name](**{alias: tf.constant(value) for alias, value in inputs.items()})
            assert set(served) == set(expected), (name, sorted(served), sorted(expected))
            for alias, want in expected.items():
                want = want.numpy()
                assert served[alias].shape == want.shape, (name, alias, served[alias].shape, want.shape)
                if want.dtype.kind == "f":
                    np.testing.assert_allclose(served[alias], want, atol=atol, err_msg=f"{name} {alias}")
                else:
                    np.testing.assert_array_equal(served[alias], want, err_msg=f"{name} {alias}")
            answers.setdefault(name, served)
    return answers


def keras_model_held_by_a_module(model, path):
    """The SavedModel of a Keras model held as a `tf.Module` attribute (what mtkeras exported before),
    with warmup records: it answers through `tf.saved_model.load`, and TF Serving refuses it."""
    import tensorflow as tf

    from mtkeras import names
    from mtkeras.export import ASSETS_EXTRA, WARMUP_FILE, warmup_requests

    class Holder(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=names.TEXT)])
        def serve(self, text):
            return {names.probs_key("intent"): self.model({names.TEXT: text})["intent"]}

    holder = Holder()
    tf.saved_model.save(holder, path, signatures={names.SERVING_SIGNATURE: holder.serve.get_concrete_function()})
    os.makedirs(os.path.join(path, ASSETS_EXTRA))
    with tf.io.TFRecordWriter(os.path.join(path, ASSETS_EXTRA, WARMUP_FILE)) as writer:
        for record in warmup_requests(model, ["play jazz"]):
            writer.write(record.SerializeToString())
    return path
