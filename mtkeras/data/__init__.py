"""Data: readers to examples, examples to `tf.data` streams."""

from mtkeras.data.readers import (
    ConllReader,
    DataError,
    DelimitedReader,
    Example,
    JointNLUReader,
    JsonLinesReader,
    Reader,
    iter_joint_nlu,
    reader_class,
    registered_readers,
    register_reader,
    read_conll,
    read_delimited,
    read_joint_nlu,
    read_jsonl,
    read_tfds,
    TfdsReader,
)
from mtkeras.data.readers.tfds import PRESETS as TFDS_PRESETS
from mtkeras.lazy import lazy_exports

# Each name is imported from its module on first use (`mtkeras.lazy`).
_HOMES = {
    "SAMPLING": "mtkeras.data.pipeline",
    "align_tags": "mtkeras.data.pipeline",
    "batch_dataset": "mtkeras.data.pipeline",
    "encode_examples": "mtkeras.data.pipeline",
    "example_dataset": "mtkeras.data.pipeline",
    "make_dataset": "mtkeras.data.pipeline",
    "mix_datasets": "mtkeras.data.pipeline",
    "annealed_weights": "mtkeras.data.pipeline",
    "mixed_steps_per_epoch": "mtkeras.data.pipeline",
    "epoch_steps": "mtkeras.data.pipeline",
    "sampling_weights": "mtkeras.data.pipeline",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "TFDS_PRESETS",
    "TfdsReader",
    "read_tfds",
    "SAMPLING",
    "batch_dataset",
    "example_dataset",
    "mix_datasets",
    "annealed_weights",
    "mixed_steps_per_epoch",
    "epoch_steps",
    "sampling_weights",
    "DataError",
    "Example",
    "align_tags",
    "encode_examples",
    "iter_joint_nlu",
    "make_dataset",
    "read_joint_nlu",
    "ConllReader",
    "DelimitedReader",
    "JointNLUReader",
    "JsonLinesReader",
    "read_conll",
    "read_delimited",
    "read_jsonl",
    "Reader",
    "reader_class",
    "registered_readers",
    "register_reader",
]
