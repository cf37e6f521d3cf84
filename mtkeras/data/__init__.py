"""Data: readers to examples, examples to `tf.data` streams."""

from mtkeras.data.pipeline import align_tags, encode_examples, make_dataset
from mtkeras.data.readers import DataError, Example, iter_joint_nlu, read_joint_nlu

__all__ = [
    "DataError",
    "Example",
    "align_tags",
    "encode_examples",
    "iter_joint_nlu",
    "make_dataset",
    "read_joint_nlu",
]
