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

`import mtkeras` is light: the names below load their modules (and
TensorFlow) on first use, so clients (`mtkeras.serving.Client`) and the
command line start without TensorFlow. A `.keras` file of an mtkeras model
loads with `mtkeras.load_model(path)`, or with `keras.models.load_model` once
any model name (`mtkeras.MultiTaskModel`, `mtkeras.build_model`) was used;
when Keras is imported before mtkeras, the model classes register at once.
"""

import importlib
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from mtkeras._version import __version__  # noqa: E402

# name -> the module that defines it (submodules: themselves).
_LAZY = {
    "MultiTaskModel": "mtkeras.models",
    "build_model": "mtkeras.models",
    "evaluate": "mtkeras.evaluation",
    "predict": "mtkeras.export",
    "MultiLabelClassification": "mtkeras.tasks",
    "Regression": "mtkeras.tasks",
    "SentenceClassification": "mtkeras.tasks",
    "Task": "mtkeras.tasks",
    "TokenTagging": "mtkeras.tasks",
    "get_strategy": "mtkeras.training",
    "load_model": "mtkeras.models",
}
_SUBMODULES = ("data", "names", "encoders", "evaluation", "export", "heads", "models", "ops", "runs", "serving",
               "tasks", "text", "training", "results", "demo")


def __getattr__(name):
    if name in _LAZY:
        importlib.import_module("mtkeras.models")  # registers the model's classes with Keras
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"mtkeras.{name}")
    else:
        raise AttributeError(f"module 'mtkeras' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


if "keras" in sys.modules:
    # Keras is in use already: register mtkeras' classes now, so that `keras.models.load_model` finds them.
    importlib.import_module("mtkeras.models")

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
    "load_model",
    "names",
    "predict",
]
