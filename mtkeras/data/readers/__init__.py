"""Readers: files to `Example`s carrying the labels each source has.

One reader per format, each a class whose iteration streams examples (and a
`read_*` function that reads them into a list):

- `JointNLUReader` / `read_joint_nlu`: joint intent/slot folders (`seq.in`,
  `seq.out`, `label`).
- `ConllReader` / `read_conll`: CoNLL-style `token ... tag` files.
- `DelimitedReader` / `read_delimited`: TSV and CSV files.
- `JsonLinesReader` / `read_jsonl`: JSON Lines.

Each reader registers under the name a config's `reader:` gives
(`register_reader`, `reader_class`); a reader defined outside mtkeras
registers the same way and is then usable from YAML.

Every bad input raises a `DataError` naming file, line and problem; with
`on_error="skip"` bad records are left out instead, listed in the reader's
`skipped` and counted in one logged warning. A reader's `tasks` says which
tasks (and kinds, `"sentence"` or `"token"`) its examples label.
"""

# Imported in the order configs, errors and the README list the readers in (registration order).
from mtkeras.data.readers.base import SENTENCE, TOKEN, DataError, Example, Reader  # isort: skip
from mtkeras.data.readers.joint_nlu import JointNLUReader, iter_joint_nlu, read_joint_nlu  # isort: skip
from mtkeras.data.readers.conll import ConllReader, read_conll  # isort: skip
from mtkeras.data.readers.delimited import DelimitedReader, read_delimited  # isort: skip
from mtkeras.data.readers.jsonl import JsonLinesReader, read_jsonl  # isort: skip
from mtkeras.data.readers.registry import reader_class, register_reader, registered_readers
from mtkeras.data.readers.tfds import TfdsReader, read_tfds

__all__ = [
    "TfdsReader",
    "read_tfds",
    "SENTENCE",
    "TOKEN",
    "ConllReader",
    "DataError",
    "DelimitedReader",
    "Example",
    "JointNLUReader",
    "JsonLinesReader",
    "Reader",
    "iter_joint_nlu",
    "read_conll",
    "read_delimited",
    "read_joint_nlu",
    "read_jsonl",
    "reader_class",
    "registered_readers",
    "register_reader",
]
