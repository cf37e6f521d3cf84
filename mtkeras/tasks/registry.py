"""The registry of task kinds: what a config's `kind:` names.

A task kind is a `Task` subclass with a unique `kind` string. The built-in
kinds register themselves when `mtkeras.tasks` is imported; a kind defined
outside mtkeras registers with the `register_task_kind` decorator, and from
then on configs, `Task.from_config`, evaluation and export know it.

Example:
>>> @mtkeras.tasks.register_task_kind
... class Toxicity(mtkeras.tasks.SentenceClassification):
...     kind = "toxicity"
"""

import difflib

_KINDS = {}


def register_task_kind(cls):
    """Class decorator: makes a task kind known by its `kind` string.

    Raises:
        ValueError: `cls` has no `kind`, or another class has it.
    """
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ValueError(f"{cls.__name__}: a task kind needs a `kind` string that is a Python identifier. Received: {kind!r}")
    if _KINDS.get(kind, cls) is not cls:
        raise ValueError(f"Task kind {kind!r} is taken by {_KINDS[kind].__module__}.{_KINDS[kind].__name__}")
    _KINDS[kind] = cls
    return cls


def task_kind(kind):
    """The `Task` class of `kind`; a `ValueError` names the known kinds (and the closest one)."""
    cls = _KINDS.get(kind)
    if cls is None:
        close = difflib.get_close_matches(str(kind), list(_KINDS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown task kind {kind!r}{hint} Known kinds: {sorted(_KINDS)}")
    return cls


def registered_task_kinds():
    """`{kind: class}` of every registered task kind, in registration order."""
    return dict(_KINDS)
