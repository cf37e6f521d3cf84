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

from mtkeras.registry import Registry
from mtkeras.results import register_result_format

TASK_KINDS = Registry("task kind", "kind")


def register_task_kind(cls):
    """Class decorator: makes the kind `cls.kind` known, and its `result_format` (if any) known to clients."""
    TASK_KINDS.register(cls)
    if getattr(cls, "result_format", None) is not None:
        register_result_format(cls.result_format)
    return cls

task_kind = TASK_KINDS.get
registered_task_kinds = TASK_KINDS.classes
