"""Tiny data the tests write and read: examples of every task kind, JSON Lines and configs."""

import json
import textwrap

import mtkeras
from mtkeras.data import Example

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
    examples = examples or tiny_examples()
    return [
        mtkeras.SentenceClassification.from_examples("intent", examples, dropout=dropout),
        mtkeras.TokenTagging.from_examples("slots", examples, dropout=dropout),
        mtkeras.SentenceClassification.from_examples("sentiment", examples, dropout=dropout),
    ]
