"""Data: readers to examples, examples to `tf.data` streams."""

from mtkeras.data.pipeline import (
    SAMPLING,
    align_tags,
    batch_dataset,
    encode_examples,
    example_dataset,
    make_dataset,
    mix_datasets,
    sampling_weights,
)
from mtkeras.data.readers import (
    ConllReader,
    DataError,
    DelimitedReader,
    Example,
    JointNLUReader,
    JsonLinesReader,
    iter_joint_nlu,
    read_conll,
    read_delimited,
    read_joint_nlu,
    read_jsonl,
    read_tfds,
    TfdsReader,
)
from mtkeras.data.readers.tfds import PRESETS as TFDS_PRESETS

__all__ = [
    "TFDS_PRESETS",
    "TfdsReader",
    "read_tfds",
    "SAMPLING",
    "batch_dataset",
    "example_dataset",
    "mix_datasets",
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
]
