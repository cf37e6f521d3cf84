"""Tasks: declared once, they drive the head, loss, metrics, data and export.

A task has a name (the key of its model output, labels and exported tensors),
a kind (its class), a label vocabulary where it has one, and a loss weight.
Adding a task kind means adding one class (one module here).

Example:
>>> intent = SentenceClassification("intent", labels=["BookRestaurant", "GetWeather"])
>>> slots = TokenTagging("slots", labels=["O", "B-city", "I-city"])
>>> model = mtkeras.build_model([intent, slots], texts=train_texts)
"""

from mtkeras.tasks.base import (
    LABELLED_LOSS,
    SENTENCE,
    TOKEN,
    UNKNOWN_LABEL_ID,
    ClassificationTask,
    Task,
    register_task,
)
from mtkeras.tasks.classification import SentenceClassification
from mtkeras.tasks.multilabel import MultiLabelClassification
from mtkeras.tasks.regression import Regression
from mtkeras.ops.bio import bio_entities, continuation_tag
from mtkeras.tasks.tagging import TokenTagging

__all__ = [
    "LABELLED_LOSS",
    "SENTENCE",
    "TOKEN",
    "UNKNOWN_LABEL_ID",
    "ClassificationTask",
    "MultiLabelClassification",
    "Regression",
    "SentenceClassification",
    "Task",
    "TokenTagging",
    "bio_entities",
    "continuation_tag",
    "register_task",
]
