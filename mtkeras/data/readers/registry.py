"""The registry of readers: what a config's `reader:` names.

A reader is a `Reader` subclass with a unique `name`. The built-in readers
register themselves when `mtkeras.data` is imported; one defined outside
mtkeras registers with the `register_reader` decorator.

Example:
>>> @mtkeras.data.register_reader
... class ParquetReader(mtkeras.data.Reader):
...     name = "parquet"
"""

from mtkeras.registry import Registry

READERS = Registry("reader", "name")

register_reader = READERS.register
reader_class = READERS.get
registered_readers = READERS.classes
