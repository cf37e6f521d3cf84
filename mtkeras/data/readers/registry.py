"""The registry of readers: what a config's `reader:` names.

A reader is a `Reader` subclass with a unique `name`. The built-in readers
register themselves when `mtkeras.data` is imported; one defined outside
mtkeras registers with the `register_reader` decorator.

Example:
>>> @mtkeras.data.register_reader
... class ParquetReader(mtkeras.data.Reader):
...     name = "parquet"
"""

import difflib

_READERS = {}


def register_reader(cls):
    """Class decorator: makes a reader known by its `name`.

    Raises:
        ValueError: `cls` has no `name`, or another class has it.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{cls.__name__}: a reader needs a `name` string that is a Python identifier. Received: {name!r}")
    if _READERS.get(name, cls) is not cls:
        raise ValueError(f"Reader {name!r} is taken by {_READERS[name].__module__}.{_READERS[name].__name__}")
    _READERS[name] = cls
    return cls


def reader_class(name):
    """The `Reader` class registered as `name`; a `ValueError` names the known readers."""
    cls = _READERS.get(name)
    if cls is None:
        close = difflib.get_close_matches(str(name), list(_READERS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown reader {name!r}{hint} Known readers: {sorted(_READERS)}")
    return cls


def registered_readers():
    """`{name: class}` of every registered reader, in registration order."""
    return dict(_READERS)
