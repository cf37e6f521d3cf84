"""Writes the notebooks of this folder from the cells below, without outputs.

The `.ipynb` files are what users open and what the tests run; this script is
how they are written, so that their diffs stay readable (no outputs, no
execution counts, fixed cell ids, a `python3` kernelspec and nothing else in
the metadata).

    python notebooks/_build.py           # rewrite every notebook
    python notebooks/_build.py --check   # exit 1 when a notebook differs from its cells here

Edit a notebook here, or in Jupyter and then copy the change here: the tests
fail while the two differ.
"""

import argparse
import pathlib
import sys

import nbformat

HERE = pathlib.Path(__file__).resolve().parent

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

# The first code cell of every notebook: settings, folders, imports.
_SETUP = '''\
import os
import pathlib
import warnings

# The tests run every notebook with MTKERAS_NOTEBOOK_QUICK=1: a small corpus and
# a tiny model, well under a minute on 2 CPU cores. Unset, the settings are
# the ones a user would train with.
QUICK = os.environ.get("MTKERAS_NOTEBOOK_QUICK") == "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
# keras-hub imports tqdm.auto, which warns in Jupyter when ipywidgets is missing.
warnings.filterwarnings("ignore", message="IProgress not found")

# Everything this notebook writes goes under build/notebooks/ (kept out of
# git), or MTKERAS_NOTEBOOK_DIR. Jupyter starts the kernel in notebooks/.
ROOT = pathlib.Path.cwd().parent if pathlib.Path.cwd().name == "notebooks" else pathlib.Path.cwd()
WORK_DIR = pathlib.Path(os.environ.get("MTKERAS_NOTEBOOK_DIR", ROOT / "build" / "notebooks")) / "{name}"
DATA_DIR = WORK_DIR / "demo_data"

if QUICK:
    CORPUS = {{"assistant_sizes": (400, 100, 100), "feedback_sizes": (200, 50, 50)}}
    EPOCHS = {quick_epochs}
    ENCODER_CONFIG = {{"num_layers": 1, "hidden_dim": 32, "embedding_dim": 32, "char_filters": 16}}
    LEARNING_RATE = 1e-2  # a tiny model on little data: a few epochs at a higher rate
else:
    CORPUS = {{}}  # the full demo corpus: 2400 assistant and 1200 feedback training texts
    EPOCHS = {epochs}
    ENCODER_CONFIG = {{}}  # the default 2-layer BiLSTM
    LEARNING_RATE = 3e-3

import keras
import numpy as np
import tensorflow as tf

import mtkeras

keras.utils.set_random_seed(0)
print(f"QUICK={{QUICK}}; writing to {{WORK_DIR}}")'''


def setup_cell(name, epochs, quick_epochs):
    return _SETUP.format(name=name, epochs=epochs, quick_epochs=quick_epochs)


_GENERATE = '''\
from mtkeras.demo import generate_demo_corpus

summary = generate_demo_corpus(DATA_DIR, seed=0, **CORPUS)
for source, splits in summary["sources"].items():
    print(f"{source:<10}", ", ".join(f"{split} {info['count']}" for split, info in splits.items()))'''


QUICKSTART = [
    ("markdown", '''\
# Quickstart: one model, three tasks

One shared text encoder with three named heads, trained with plain `model.fit`:

- `intent`: what the user wants (7 classes), a sentence classification task;
- `slots`: BIO tags for the values in the request (city, time, ...), a token tagging task;
- `sentiment`: whether feedback is positive or negative, from a second source that has no intents or slots.

The data is the demo corpus that ships with mtkeras, generated on the spot: nothing is downloaded.
Run the cells top to bottom; at the full settings it takes a few minutes on a CPU.'''),
    ("code", setup_cell("01_quickstart", epochs=6, quick_epochs=4)),
    ("markdown", '''\
## Data

Two sources in the joint intent/slot folder format (`seq.in`, `seq.out`, `label`, one text a line):
`assistant` labels intents and slots, `feedback` has only `seq.in` and `label` (its sentiment).'''),
    ("code", _GENERATE),
    ("markdown", '''\
`read_joint_nlu` turns a folder into a list of `Example(words, labels, source)`. Each example carries the labels
its source has; the feedback folder's `label` file is read as the `sentiment` task and it has no tags.'''),
    ("code", '''\
from mtkeras.data import read_joint_nlu


def read_split(split):
    return read_joint_nlu(DATA_DIR / "assistant" / split) + read_joint_nlu(
        DATA_DIR / "feedback" / split, label_task="sentiment", tags_task=None
    )


train, valid, test = read_split("train"), read_split("valid"), read_split("test")
print(len(train), "training,", len(valid), "validation,", len(test), "test examples")
for example in (train[0], train[-1]):
    print(example.text, "->", dict(example.labels))'''),
    ("markdown", '''\
## Tasks

A task is declared once, with its name, kind, labels and loss weight; it then drives the head, the loss, the
metrics, the data columns and the exported outputs. `from_examples` collects the labels from the data.'''),
    ("code", '''\
tasks = [
    mtkeras.SentenceClassification.from_examples("intent", train),
    mtkeras.TokenTagging.from_examples("slots", train),
    mtkeras.SentenceClassification.from_examples("sentiment", train),
]
for task in tasks:
    print(f"{task.name:<10} {type(task).__name__:<24} {task.num_labels:>3} labels: {', '.join(task.labels[:6])}, ...")'''),
    ("markdown", '''\
## Model

`build_model` adapts the word vocabulary on the training texts and puts a BiLSTM encoder and one head per task on
top. The model takes raw strings: tokenization and vocabulary lookup happen in the graph. Build and compile under
`get_strategy()` (every GPU when there are some, the CPU otherwise); `compile` fills in each task's masked loss,
metrics and loss weight.'''),
    ("code", '''\
strategy = mtkeras.get_strategy()
with strategy.scope():
    model = mtkeras.build_model(tasks, texts=[ex.text for ex in train], encoder_config=ENCODER_CONFIG)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
print(f"{type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s); {model.count_params():,} weights")'''),
    ("markdown", '''\
## Training

`make_dataset` yields `({"text"}, {task: ids}, {task: weights})` batches with every task in every batch; a text
without a label for a task has weight 0 there, so it costs nothing for that task and counts in none of its
metrics. Under several replicas (GPUs), training batches must be full (`drop_remainder`).'''),
    ("code", '''\
from mtkeras.data import make_dataset

BATCH_SIZE = 32
train_data = make_dataset(train, tasks, BATCH_SIZE, shuffle=True, drop_remainder=strategy.num_replicas_in_sync > 1)
valid_data = make_dataset(valid, tasks, BATCH_SIZE)
history = model.fit(train_data, validation_data=valid_data, epochs=EPOCHS, verbose=2)'''),
    ("markdown", '''\
Per-task curves: loss and accuracy of each task, on the training data and on the validation split
(`<task>_loss` is the mean over the items labelled for that task).'''),
    ("code", '''\
from mtkeras.evaluation import plot_confusion_matrix, plot_history

plot_history(history, tasks=[task.name for task in tasks])'''),
    ("markdown", '''\
## Evaluation

`mtkeras.evaluate` scores every task over its labelled items: accuracy and macro-F1 for sentence tasks,
entity-level precision, recall and F1 (seqeval, exact spans, on valid BIO tags) for token tasks, and
`sentence_accuracy`, the share of texts whose every labelled task is right.'''),
    ("code", '''\
results = mtkeras.evaluate(model, test)'''),
    ("markdown", '''\
Sentence tasks also return their confusion matrix (rows: gold label, columns: predicted), normalized per row here.'''),
    ("code", '''\
confusion = results["intent"]["confusion"]
plot_confusion_matrix(confusion["labels"], confusion["matrix"], title="intent, test split")'''),
    ("markdown", '''\
## Predictions on raw text

`model.predict` takes a list of strings and returns each task's probabilities: `[N, C]` for sentence tasks,
`[N, T, C]` (one row per word) for token tasks. `mtkeras.predict(model, texts)` returns what the exported model
answers instead, from the same graph code: each sentence task's label and score, and each token task's word-level
tags (the best valid BIO sequence) and entities.'''),
    ("code", '''\
from mtkeras.serving import format_result

texts = [
    "book a table for two at 8 pm in paris",
    "what will the weather be like in london tomorrow",
    "play some jazz by miles davis",
    "thanks, that was really helpful",
]
probs = model.predict(texts, verbose=0)
print({name: value.shape for name, value in probs.items()})
answers = mtkeras.predict(model, texts)
for text, answer in zip(texts, answers):
    print(format_result(text, answer))
print(answers[0]["slots"]["entities"])'''),
    ("markdown", '''\
Each source labels only some tasks: the assistant texts have no sentiment label and the feedback texts no intent
or slots, so a task's answer on the other source's kind of text (the sentiment of a request, the intent and slots of
"thanks, that was really helpful") is only the model's guess.

Next: `02_heterogeneous_tasks.ipynb` (sources with different labels, mixing, masking) and
`03_export_and_serve.ipynb` (export as a SavedModel, serve over gRPC and REST).'''),
]


HETEROGENEOUS = [
    ("markdown", """\
# Heterogeneous tasks: sources with different labels

Real multi-task data rarely comes with every label on every text. Here each source labels only some tasks:

| source | labels | tasks |
|---|---|---|
| `assistant` (demo corpus) | intent and BIO slots | `intent`, `slots` |
| `feedback` (demo corpus) | sentiment only | `sentiment` |
| `notes` (built below) | BIO entities only | `entities` |

One model with four heads learns from all three. This notebook shows what makes that work: what a batch
looks like, how the sources are mixed, and what a missing label does to the loss, the gradients and the metrics."""),
    ("code", setup_cell("02_heterogeneous_tasks", epochs=6, quick_epochs=4)),
    ("markdown", """\
## Three sources

The demo corpus has two sources; `mtkeras.demo.read_demo_split` reads one split of both as `{source: examples}`
(`SOURCES` says which task each folder's `label` and `seq.out` files label)."""),
    ("code", """\
from mtkeras.demo import generate_demo_corpus
from mtkeras.demo import SOURCES, read_demo_split

generate_demo_corpus(DATA_DIR, seed=0, **CORPUS)
splits = {split: read_demo_split(DATA_DIR, split) for split in ("train", "valid", "test")}
print(SOURCES)"""),
    ("markdown", """\
A source need not come from files: any list of `mtkeras.data.Example(words, labels, source)` will do. This toy
source of short notes labels people and places, for an `entities` task of its own (`source` names the example
in error messages)."""),
    ("code", """\
import random

from mtkeras.data import Example

PEOPLE = ["alice", "bob", "carol", "dave", "maria garcia", "li wei", "omar", "sofia", "anna kowalski", "kenji"]
PLACES = ["london", "new york", "paris", "tokyo", "cape town", "lisbon", "buenos aires", "seoul", "oslo", "cairo"]
TEMPLATES = [
    "{person} flew to {place} today",
    "meet {person} in {place}",
    "{person} lives in {place} now",
    "is {person} still in {place} ?",
    "{person} and {other} went to {place}",
    "lunch with {person} near {place} on friday",
]


def make_note(template, values):
    \"\"\"The words and BIO tags of one filled template.\"\"\"
    words, tags = [], []
    for piece in template.split():
        if not piece.startswith("{"):
            words.append(piece)
            tags.append("O")
            continue
        key = piece.strip("{}")
        kind = "location" if key == "place" else "person"
        value = values[key].split()
        words += value
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(value) - 1)
    return tuple(words), tuple(tags)


def make_notes(count, seed):
    rng = random.Random(seed)
    notes = []
    for i in range(count):
        person, other = rng.sample(PEOPLE, 2)
        words, tags = make_note(rng.choice(TEMPLATES), {"person": person, "other": other, "place": rng.choice(PLACES)})
        notes.append(Example(words, {"entities": tags}, source=f"notes:{i + 1}"))
    return notes


NOTES = {"train": 100, "valid": 30, "test": 30} if QUICK else {"train": 300, "valid": 60, "test": 60}
for seed, (split, count) in enumerate(NOTES.items()):
    splits[split]["notes"] = make_notes(count, seed)

print(f"{'source':<10} {'train':>6} {'valid':>6} {'test':>6}  tasks labelled")
for source in splits["train"]:
    labelled = sorted({task for ex in splits["train"][source] for task in ex.labels})
    sizes = "".join(f"{len(splits[split][source]):>7}" for split in splits)
    print(f"{source:<10}{sizes}  {', '.join(labelled)}")"""),
    ("markdown", """\
## Tasks

Each task takes its labels from the examples that carry them."""),
    ("code", """\
train = [ex for examples in splits["train"].values() for ex in examples]
tasks = [
    mtkeras.SentenceClassification.from_examples("intent", train),
    mtkeras.TokenTagging.from_examples("slots", train),
    mtkeras.SentenceClassification.from_examples("sentiment", train),
    mtkeras.TokenTagging.from_examples("entities", train),
]
for task in tasks:
    print(f"{task.name:<10} {type(task).__name__:<24} {task.num_labels:>3} labels")"""),
    ("markdown", """\
## What a batch looks like

`make_dataset` (one list of examples) and `mix_datasets` (several sources) both yield
`(features, labels, weights)`: `{"text": [B]}`, then `{task: ids}` and `{task: weights}` for **every** task in
**every** batch. Sentence tasks have one id and one weight per text (`[B]`), token tasks one per word (`[B, T]`,
padded to the batch's longest text). A missing label has weight 0; its id is a placeholder (0) that nothing reads.
Here is one batch of two texts from each source:"""),
    ("code", """\
from mtkeras.data import make_dataset

sample = [ex for source in ("assistant", "feedback", "notes") for ex in splits["train"][source][:2]]
features, labels, weights = next(iter(make_dataset(sample, tasks, batch_size=len(sample))))
for name, part in (("features", features), ("labels", labels), ("weights", weights)):
    print(f"{name:<9}", {key: f"{value.dtype.name}{value.shape.as_list()}" for key, value in part.items()})"""),
    ("markdown", """\
Per text: the label a sentence task reads and its weight, the number of labelled words of a token task
(`-` where the weight is 0)."""),
    ("code", """\
print(f"{'text':<46}" + "".join(f"{task.name:>19}" for task in tasks))
for i, text in enumerate(features["text"].numpy()):
    row = []
    for task in tasks:
        weight = weights[task.name][i].numpy()
        if weight.ndim:  # a token task: one weight per word
            row.append(f"{int(weight.sum())} words, w=1" if weight.sum() else "- w=0")
        else:
            label = task.labels[int(labels[task.name][i])]
            row.append(f"{label}, w={weight:.0f}" if weight else "- w=0")
    print(f"{text.decode()[:45]:<46}" + "".join(f"{cell:>19}" for cell in row))"""),
    ("markdown", """\
## Mixing the sources

`mix_datasets` draws each next example from a source chosen at random, with probabilities from
`sampling_weights(sizes, sampling, temperature)`:

- `proportional`: by size; the small sources are rarely seen;
- `uniform`: every source equally often; the small ones repeat many times per epoch;
- `temperature`: proportional to `size ** (1 / T)`, in between (T=1 is proportional, large T nears uniform).

An epoch is `examples_per_epoch` draws (default: the sources' total size), in full batches; every epoch draws a
new mix."""),
    ("code", """\
from mtkeras.data import mix_datasets, sampling_weights

sources = splits["train"]
sizes = [len(examples) for examples in sources.values()]
STRATEGIES = {
    "proportional": dict(sampling="proportional"),
    "uniform": dict(sampling="uniform"),
    "temperature T=2": dict(sampling="temperature", temperature=2.0),
    "temperature T=5": dict(sampling="temperature", temperature=5.0),
}
print(f"{'sampling':<18}" + "".join(f"{name + f' ({size})':>18}" for name, size in zip(sources, sizes)))
for strategy, options in STRATEGIES.items():
    shares = sampling_weights(sizes, **options)
    print(f"{strategy:<18}" + "".join(f"{share:>18.1%}" for share in shares))"""),
    ("markdown", """\
What a mixed epoch really holds: count the texts of each source in one epoch of each strategy, from the weights
(only `assistant` labels `intent`, only `feedback` labels `sentiment`, only `notes` labels `entities`)."""),
    ("code", """\
ONLY_IN = {"assistant": "intent", "feedback": "sentiment", "notes": "entities"}
EXAMPLES_PER_EPOCH = 4000


def source_counts(dataset):
    counts = dict.fromkeys(ONLY_IN, 0)
    for _, _, batch_weights in dataset:
        for source, task in ONLY_IN.items():
            weight = batch_weights[task].numpy()
            counts[source] += int(np.sum(weight.reshape(len(weight), -1).max(axis=1) > 0))
    return counts


print(f"{'sampling':<18}" + "".join(f"{name:>18}" for name in sources) + f"{'texts':>8}")
for strategy, options in STRATEGIES.items():
    # bucket=False: quicker to count; bucketing changes the order of the texts, not which ones are drawn.
    mixed = mix_datasets(
        sources, tasks, batch_size=32, examples_per_epoch=EXAMPLES_PER_EPOCH, seed=0, bucket=False, **options
    )
    counts = source_counts(mixed)
    total = sum(counts.values())
    print(f"{strategy:<18}" + "".join(f"{count / total:>18.1%}" for count in counts.values()) + f"{total:>8}")"""),
    ("markdown", """\
(4000 draws make 125 full batches of 32. The shares follow `sampling_weights` within sampling noise.)

## Masking: what a missing label does

Build the model first; `compile()` gives each task its masked loss and its weighted metrics."""),
    ("code", """\
strategy = mtkeras.get_strategy()
with strategy.scope():
    # One list of texts per source: each keeps its own most frequent words, so a large source cannot push a
    # small one's words out of the vocabulary.
    texts = {name: [ex.text for ex in examples] for name, examples in sources.items()}
    model = mtkeras.build_model(tasks, texts=texts, encoder_config=ENCODER_CONFIG)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))"""),
    ("markdown", """\
**The loss.** A task's loss on a batch is `sum(loss * weight) / sum(weight)`: the mean over the items labelled
for that task (texts, or words for token tasks). On a batch of feedback texts only, every task but `sentiment` has
no labelled item, and its loss is exactly 0:"""),
    ("code", """\
feedback_batch = make_dataset(splits["valid"]["feedback"][:16], tasks, batch_size=16)
features, labels, weights = next(iter(feedback_batch))
outputs = model(features, training=False)
for task in tasks:
    loss = task.loss()  # what compile() uses for the task
    value = loss(labels[task.name], outputs[task.name], weights[task.name])
    print(f"{task.name:<10} labelled items {int(tf.reduce_sum(weights[task.name])):>3}   loss {float(value):.4f}")"""),
    ("markdown", """\
**The gradients.** So texts without an intent label add nothing to what the `intent` task teaches the model: on
that batch, the gradient of the `intent` loss is 0 for every weight, the shared encoder's included."""),
    ("code", """\
with tf.GradientTape() as tape:
    outputs = model(features, training=True)
    intent_loss = tasks[0].loss()(labels["intent"], outputs["intent"], weights["intent"])
gradients = [tf.convert_to_tensor(g) for g in tape.gradient(intent_loss, model.trainable_variables) if g is not None]
print(f"{len(gradients)} weight tensors; largest |gradient| of the intent loss: "
      f"{max(float(tf.reduce_max(tf.abs(g))) for g in gradients)}")"""),
    ("markdown", """\
**The metrics.** Metrics are Keras `weighted_metrics`: unlabelled items count in none of them, and the logged
`<task>_loss` is the mean over the task's labelled items. Evaluating the assistant texts alone, or shuffled
together with the feedback and notes texts, gives the same `intent` and `slots` numbers:"""),
    ("code", """\
assistant = splits["valid"]["assistant"]
together = assistant + splits["valid"]["feedback"] + splits["valid"]["notes"]
random.Random(0).shuffle(together)
alone_logs = model.evaluate(make_dataset(assistant, tasks, 32), return_dict=True, verbose=0)
together_logs = model.evaluate(make_dataset(together, tasks, 32), return_dict=True, verbose=0)
print(f"{'metric':<18} {'assistant alone':>16} {'all three mixed':>16}   ({len(assistant)} and {len(together)} texts)")
for key in ("intent_loss", "intent_accuracy", "slots_loss", "slots_accuracy"):
    print(f"{key:<18} {alone_logs[key]:>16.6f} {together_logs[key]:>16.6f}")"""),
    ("markdown", """\
(The untrained model is right by chance here; the point is that the two columns agree.)

## Training on the mixture

Temperature sampling keeps the two small sources from being drowned out by the assistant texts; `mix_datasets`
batches texts of similar length together by default (`bucket=True`)."""),
    ("code", """\
BATCH_SIZE = 32
train_data = mix_datasets(sources, tasks, BATCH_SIZE, sampling="temperature", temperature=2.0, seed=0)
valid = [ex for examples in splits["valid"].values() for ex in examples]
history = model.fit(train_data, validation_data=make_dataset(valid, tasks, BATCH_SIZE), epochs=EPOCHS, verbose=2)"""),
    ("code", """\
test = [ex for examples in splits["test"].values() for ex in examples]
results = mtkeras.evaluate(model, test)"""),
    ("markdown", """\
Each task was scored on its own source's test texts only: `examples` in the table is the number of texts
labelled for the task, and `sentence_accuracy` the share of texts whose every labelled task is right."""),
]


EXPORT_AND_SERVE = [
    ("markdown", """\
# Export and serve

Train a model, export it as a raw-text SavedModel in TF Serving's layout, serve it with the embedded
TF Serving-compatible server (`mtkeras.serving.ModelServer`, what `mtkeras serve` runs) and query it over gRPC
and REST. The same export runs unchanged in the official `tensorflow/serving` image (see `serving/README.md`)."""),
    ("code", setup_cell("03_export_and_serve", epochs=6, quick_epochs=4)),
    ("markdown", """\
## Train

The three-task model of notebook 01 (`intent`, `slots`, `sentiment`), trained on both demo sources mixed by
temperature sampling, as `mtkeras demo` does."""),
    ("code", """\
from mtkeras.data import make_dataset, mix_datasets
from mtkeras.demo import DEMO_QUERIES, generate_demo_corpus
from mtkeras.demo import read_demo_split

generate_demo_corpus(DATA_DIR, seed=0, **CORPUS)
sources, valid = read_demo_split(DATA_DIR, "train"), read_demo_split(DATA_DIR, "valid")
train = [ex for examples in sources.values() for ex in examples]
valid = [ex for examples in valid.values() for ex in examples]
tasks = [
    mtkeras.SentenceClassification.from_examples("intent", train),
    mtkeras.TokenTagging.from_examples("slots", train),
    mtkeras.SentenceClassification.from_examples("sentiment", train),
]
with mtkeras.get_strategy().scope():
    model = mtkeras.build_model(tasks, texts=[ex.text for ex in train], encoder_config=ENCODER_CONFIG)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
history = model.fit(
    mix_datasets(sources, tasks, 32, sampling="temperature", temperature=2.0, seed=0),
    validation_data=make_dataset(valid, tasks, 32),
    epochs=EPOCHS,
    verbose=2,
)"""),
    ("markdown", """\
## Export

`export_saved_model` writes `<base path>/<version>/`, the next free integer version: TF Serving's layout. The
signature `serving_default` takes raw strings (`text`) and returns every task's answer, decoded in the graph
(labels, scores, valid BIO tags, entity spans). The version is written beside the base path and renamed into
place, so a server polling the folder never sees half of it."""),
    ("code", """\
from mtkeras.export import export_saved_model

EXPORT_BASE = WORK_DIR / "saved_models" / "demo"
version_dir = pathlib.Path(export_saved_model(model, EXPORT_BASE, extra_metadata={"training": {"epochs": EPOCHS}}))
print(version_dir)
for path in sorted(version_dir.rglob("*")):
    if path.is_file():
        print(f"    {str(path.relative_to(version_dir)):<50} {path.stat().st_size:>10,} bytes")"""),
    ("markdown", """\
`assets.extra/mtkeras.json` records the tasks (kind, labels in output order), the encoder, the versions of
mtkeras, TensorFlow and Keras, and the `extra_metadata` given; `tf_serving_warmup_requests` holds requests
the servers replay before serving a version."""),
    ("code", """\
import json

recorded = json.loads((version_dir / "assets.extra" / "mtkeras.json").read_text())
print("signatures:", recorded["signatures"], "  training:", recorded["training"])
for task in recorded["tasks"]:
    print(f"{task['name']:<10} {task['kind']:<24} {len(task['labels']):>3} labels: {', '.join(task['labels'][:5])}, ...")"""),
    ("markdown", """\
## Serve

`ModelServer` serves the latest version under the base path over gRPC and REST, in this process, on free ports
(`port=0`, `rest_api_port=0`; the bound ports are `server.port` and `server.rest_api_port` after `start()`). It
polls the folder every second: a new export becomes the served version without a restart. The server runs until
`server.stop()` in the last cell (or until the kernel shuts down)."""),
    ("code", """\
from mtkeras.serving import Client, ModelServer, RestClient, ServingError, format_result

server = ModelServer("demo", str(EXPORT_BASE), port=0, rest_api_port=0)
server.start()
print(f"serving demo version {server.version}: gRPC 127.0.0.1:{server.port}, REST 127.0.0.1:{server.rest_api_port}")"""),
    ("markdown", """\
## Query over gRPC

`Client` speaks TF Serving's `PredictionService`: it sends raw texts and turns the output tensors back into one
dict per text. `wait_until_ready` returns the model's signature once it is served; `status()` lists its versions."""),
    ("code", """\
client = Client(f"127.0.0.1:{server.port}", "demo")
signature = client.wait_until_ready(timeout=60)
print("version", signature["version"], "outputs:", ", ".join(signature["outputs"]))
print(client.status())"""),
    ("code", """\
texts = [text for text, _ in DEMO_QUERIES] + ["thanks, that was really helpful"]
results = client.predict(texts)
for text, result in zip(texts, results):
    print(format_result(text, result))"""),
    ("markdown", """\
One result in full: labels and scores of the sentence tasks, one tag per word and the entity spans
(`words[start:end]`) of the token task."""),
    ("code", """\
from pprint import pprint

pprint(results[0], width=110, compact=True, sort_dicts=False)"""),
    ("markdown", """\
The exported graph and the model in memory give the same answers: the same labels, tags and entities, and
the same scores up to float32 rounding (the graph may add the same numbers in another order, so `==` on the
floats is not the test; `same_answers` allows 1e-5):"""),
    ("code", """\
from mtkeras.serving import same_answers

in_memory = mtkeras.predict(model, texts)
print("served intents:", [result["intent"]["label"] for result in results])
print("same answers as the model in memory (mtkeras.predict):", same_answers(results, in_memory))"""),
    ("markdown", """\
## Query over REST

`RestClient` sends the same request to TF Serving's REST API and returns the same dicts."""),
    ("code", """\
rest = RestClient(f"127.0.0.1:{server.rest_api_port}", "demo")
print("REST gives the same answers as gRPC:", same_answers(rest.predict(texts), results))
print(rest.status())"""),
    ("markdown", """\
What goes over the wire: TF Serving's JSON, `{"instances": [...]}` in, `{"predictions": [...]}` out, one object
of named outputs per text."""),
    ("code", """\
import requests

answer = requests.post(
    f"http://127.0.0.1:{server.rest_api_port}/v1/models/demo:predict",
    json={"instances": ["play some jazz"]},
    timeout=30,
).json()
prediction = answer["predictions"][0]
print(sorted(prediction))
print({key: prediction[key] for key in ("intent_label", "intent_score", "slots_tags", "lengths")})"""),
    ("markdown", """\
## From a shell

With `mtkeras serve --model_name demo --model_base_path build/notebooks/03_export_and_serve/saved_models/demo`
running on its default ports (gRPC 8500, REST 8501), the same queries are:

```bash
mtkeras predict --model demo "book a table for two at 8 pm in paris"            # gRPC, a table
mtkeras predict --model demo --json "play some jazz"                            # gRPC, JSON
mtkeras predict --rest --model demo "play some jazz"                            # REST
curl -s localhost:8501/v1/models/demo:predict -d '{"instances": ["play some jazz"]}'
curl -s localhost:8501/v1/models/demo                                           # version status
```

While this notebook's server runs, the same commands reach it on its own ports:"""),
    ("code", """\
print(f'mtkeras predict --target 127.0.0.1:{server.port} --model demo "play some jazz"')
print(f'mtkeras predict --rest --target 127.0.0.1:{server.rest_api_port} --model demo "play some jazz"')
print(f"curl -s 127.0.0.1:{server.rest_api_port}/v1/models/demo:predict -d '{{\\"instances\\": [\\"play some jazz\\"]}}'")"""),
    ("markdown", """\
## Stop

Close the clients and stop the server; its ports are closed afterwards. In a script, `with ModelServer(...) as
server:` stops it when the block ends, also when an error leaves the block."""),
    ("code", """\
client.close()
rest.close()
server.stop()
try:
    Client(f"127.0.0.1:{server.port}", "demo", timeout=5, retries=0).status()
except ServingError as error:
    print(f"server stopped: gRPC on port {server.port} answers {error.code.name}")"""),
]


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_heterogeneous_tasks.ipynb": HETEROGENEOUS,
    "03_export_and_serve.ipynb": EXPORT_AND_SERVE,
}


def make_notebook(stem, cells):
    """A v4 notebook of `cells` (`(kind, source)` pairs) with fixed cell ids and no outputs."""
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": dict(KERNELSPEC)})
    for i, (kind, source) in enumerate(cells):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        elif kind == "code":
            cell = nbformat.v4.new_code_cell(source)
        else:
            raise ValueError(f"Unknown cell kind {kind!r} in {stem}")
        cell["id"] = f"{stem[:2]}-{i:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def render(name):
    return nbformat.writes(make_notebook(pathlib.Path(name).stem, NOTEBOOKS[name])) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(name)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date with notebooks/_build.py: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
