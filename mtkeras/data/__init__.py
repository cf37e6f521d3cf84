"""Data: readers to examples, examples to `tf.data` streams."""

from mtkeras.data.pipeline import (
    SAMPLING,
    align_tags,
    batch_dataset,
    bucket_boundaries,
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
)
from mtkeras.data.tfds_reader import PRESETS as TFDS_PRESETS
from mtkeras.data.tfds_reader import TfdsReader, read_tfds

__all__ = [
    "TFDS_PRESETS",
    "TfdsReader",
    "read_tfds",
    "SAMPLING",
    "batch_dataset",
    "bucket_boundaries",
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
