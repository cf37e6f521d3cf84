"""mtkeras: one shared text encoder, many named task heads, one Keras model.

Example:
>>> import mtkeras
>>> train = mtkeras.data.read_joint_nlu("data/train")
>>> tasks = [mtkeras.SentenceClassification.from_examples("intent", train),
...          mtkeras.TokenTagging.from_examples("slots", train)]
>>> with mtkeras.get_strategy().scope():
...     model = mtkeras.build_model(tasks, texts=[ex.text for ex in train])
...     model.compile(optimizer="adam")
>>> model.fit(mtkeras.data.make_dataset(train, tasks, shuffle=True), epochs=5)
>>> mtkeras.export.export_saved_model(model, "saved_models/nlu")
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from mtkeras._version import __version__  # noqa: E402

from mtkeras import data, names  # noqa: E402
from mtkeras.models import MultiTaskModel, build_model  # noqa: E402
from mtkeras.evaluation import evaluate  # noqa: E402
from mtkeras.export import predict  # noqa: E402
from mtkeras.tasks import (  # noqa: E402
    MultiLabelClassification,
    Regression,
    SentenceClassification,
    Task,
    TokenTagging,
)
from mtkeras.training import get_strategy  # noqa: E402

__all__ = [
    "__version__",
    "MultiLabelClassification",
    "MultiTaskModel",
    "Regression",
    "evaluate",
    "SentenceClassification",
    "Task",
    "TokenTagging",
    "build_model",
    "data",
    "get_strategy",
    "names",
    "predict",
]
