"""Tasks: declared once, they drive the head, loss, metrics, data, export and evaluation.

A task has a name (the key of its model output, labels and exported tensors),
a kind (its class), a label vocabulary where it has one, and a loss weight.
A task kind is one class in one file, registered by its `kind` string
(`register_task_kind`): the config schema, the data pipeline, evaluation,
export and the clients all read it from there.

| kind | class | file |
|---|---|---|
| `sentence_classification` | `SentenceClassification` | `sentence_classification.py` |
| `multi_label_classification` | `MultiLabelClassification` | `multi_label_classification.py` |
| `token_tagging` | `TokenTagging` | `token_tagging.py` |
| `regression` | `Regression` | `regression.py` |

Example:
>>> intent = SentenceClassification("intent", labels=["BookRestaurant", "GetWeather"])
>>> slots = TokenTagging("slots", labels=["O", "B-city", "I-city"])
>>> model = mtkeras.build_model([intent, slots], texts=train_texts)
"""

from mtkeras.names import SENTENCE, TOKEN, UNKNOWN_LABEL_ID
from mtkeras.ops.bio import bio_entities, continuation_tag
from mtkeras.tasks.base import (
    LABELLED_LOSS,
    ClassificationOptions,
    ClassificationTask,
    PairOption,
    Task,
    TaskOptions,
    register_task,
)
from mtkeras.tasks.registry import register_task_kind, registered_task_kinds, task_kind

# The kinds register as they are imported; configs list them in this order.
from mtkeras.tasks.sentence_classification import SentenceClassification  # noqa: I001
from mtkeras.tasks.multi_label_classification import MultiLabelClassification
from mtkeras.tasks.token_tagging import TokenTagging
from mtkeras.tasks.regression import Regression

__all__ = [
    "LABELLED_LOSS",
    "SENTENCE",
    "TOKEN",
    "UNKNOWN_LABEL_ID",
    "ClassificationOptions",
    "ClassificationTask",
    "MultiLabelClassification",
    "PairOption",
    "Regression",
    "SentenceClassification",
    "Task",
    "TaskOptions",
    "TokenTagging",
    "bio_entities",
    "continuation_tag",
    "register_task",
    "register_task_kind",
    "registered_task_kinds",
    "task_kind",
]
