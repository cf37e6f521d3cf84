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

TASK_KINDS = Registry("task kind", "kind")

register_task_kind = TASK_KINDS.register
task_kind = TASK_KINDS.get
registered_task_kinds = TASK_KINDS.classes
