"""A plugin written outside mtkeras, as a user would: a task kind, a reader and an encoder, one class each.

`tests/e2e/test_plugins.py` trains a model from a YAML config that uses all
three (`mtkeras train CONFIG --code toy_plugin.py`), exports it and queries it,
with no edit inside `mtkeras/`.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from pydantic import Field

from mtkeras import results
from mtkeras.data import Example, Reader, register_reader
from mtkeras.data.readers.base import BadRecord, read_lines
from mtkeras.encoders import WordEncoder, register_encoder
from mtkeras.errors import FieldError
from mtkeras.names import SENTENCE
from mtkeras.tasks import Regression, register_task_kind

# === A task kind: how many words a text has, answered as an int ===


class CountFormat(results.ResultFormat):
    """`<task>_count` outputs read as an int per text."""

    marker = "_count"

    def decode(self, task, outputs, index, words):
        return int(outputs[task + self.marker][index])

    def describe(self, answer):
        return f"{answer} words"

    def matches(self, answer):
        return isinstance(answer, int) and not isinstance(answer, bool)


# The kind's registration makes its result format known to clients (`result_format` below).
COUNT = CountFormat()


class WordCountOptions(Regression.Options):
    scale: float = Field(1.0, gt=0, description="the model predicts the count divided by this")


@register_task_kind
class WordCount(Regression):
    """The number of words of a text: a regression (head, loss, metrics) onto `count / scale`, exported as
    `<name>_count`, an int."""

    kind = "word_count"
    result_format = COUNT
    Options = WordCountOptions

    def __init__(self, name, scale=1.0, **kwargs):
        super().__init__(name, **kwargs)
        self.scale = float(scale)

    def encode(self, value, num_words, source="", unknown="raise"):
        if value is None:
            return np.float32(0.0), np.float32(0.0)
        return np.float32(float(value) / self.scale), np.float32(1.0)

    def export_outputs(self, value, lengths):
        return {self.name + COUNT.marker: tf.cast(tf.round(value * self.scale), tf.int32)}

    def predict_items(self, outputs, lengths, decode=True):
        return list(np.asarray(outputs, dtype=np.float64) * self.scale)

    def score_items(self, items):
        gold = np.asarray(items.gold, np.float64) * self.scale
        return {"examples": len(gold), "mae": float(np.mean(np.abs(gold - np.asarray(items.pred)))) if len(gold) else float("nan")}

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


# === A reader: `text|label|label...` lines ===


@register_reader
class PipeReader(Reader):
    """One text a line, then its labels, `|` between them; a dataset's `tasks` give each task's position (from 1)."""

    name = "pipe"
    _unit = "lines"

    def __init__(self, path, fields, on_error="raise"):
        super().__init__(on_error)
        self.path = self._where = path
        self.fields = dict(fields)

    @property
    def tasks(self):
        return {task: SENTENCE for task in self.fields}

    def _records(self):
        needed = max(self.fields.values()) + 1
        for number, line in read_lines(self.path):
            if not line.strip():
                continue
            parts = line.split("|")
            if len(parts) < needed:
                yield BadRecord(f"{self.path}:{number}", f"expected {needed} fields, got {len(parts)}")
                continue
            labels = {task: parts[i].strip() for task, i in self.fields.items() if parts[i].strip()}
            yield Example(tuple(parts[0].split()), labels, f"{self.path}:{number}")

    @classmethod
    def check_config(cls, dataset, kinds):
        super().check_config(dataset, kinds)
        for task, column in dataset.tasks.items():
            if not isinstance(column, int) or column < 1:
                raise FieldError(f"tasks.{task}", f"pipe fields are positions from 1, got {column!r}")

    @classmethod
    def from_config(cls, location, dataset, kinds):
        return cls(location, dataset.tasks, on_error=dataset.on_error, **dataset.options)


# === An encoder: word vectors, no order at all ===


@register_encoder
@keras.saving.register_keras_serializable(package="toy_plugin")
class BagEncoder(WordEncoder):
    """Each word's vector as is: the sentence vector is their max, word order plays no part."""

    encoder_name = "bag"

    @property
    def output_dim(self):
        return self.word_dim

    def _build_context(self, shape, width):
        pass

    def _contextualize(self, x, mask, training):
        return x * ops.expand_dims(ops.cast(mask, x.dtype), -1)
