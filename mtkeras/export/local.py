"""Answers from a model on disk, without a server: what `mtkeras predict --model-path` uses.

An export answers through `SavedModelBundle`, the path TF Serving loads it
by, so the answers are the server's; a run directory or a `.keras` file
answers through `mtkeras.predict`, the same graph code as the export.
"""

import os

import numpy as np

from mtkeras import names
from mtkeras.export.bundle import SAVED_MODEL_FILE, SavedModelBundle, find_versions
from mtkeras.export.saved_model import predict
from mtkeras.models import load_model
from mtkeras.results import results_from_outputs

# What a run directory holds once trained (`mtkeras.runs`).
_RUN_MODEL_FILE = "model.keras"


def _version_folder(path, version=None):
    """The SavedModel folder `path` names: itself, or its newest (or given) version, as TF Serving picks it."""
    if os.path.isfile(os.path.join(path, SAVED_MODEL_FILE)):
        return path
    versions = find_versions(path)
    if not versions:
        return None
    if version is None:
        return os.path.join(path, str(versions[-1]))
    if version not in versions:
        raise FileNotFoundError(f"{path} has no version {version}; it has {versions}")
    return os.path.join(path, str(version))


class _ExportPredictor:
    def __init__(self, folder):
        self.source = folder
        self._bundle = SavedModelBundle(folder)

    def __call__(self, texts, pairs=None):
        inputs = {names.TEXT: np.array(texts, dtype=object)}
        signature = names.SERVING_SIGNATURE
        if pairs is not None:
            inputs[names.TEXT_PAIR] = np.array(pairs, dtype=object)
            signature = names.PAIR_SIGNATURE
        if signature not in self._bundle.signature_defs:
            raise ValueError(f"{self.source} has no {signature!r} signature: its model takes no second texts")
        return results_from_outputs(self._bundle.run(signature, inputs), len(texts))

    def close(self):
        self._bundle.close()


class _KerasPredictor:
    def __init__(self, path):
        self.source = path
        self._model = load_model(path)

    def __call__(self, texts, pairs=None):
        if pairs is not None and not any(task.pair for task in self._model.tasks):
            raise ValueError(f"{self.source} has no sentence-pair task: its model takes no second texts")
        return predict(self._model, texts, pairs=pairs)

    def close(self):
        pass


def local_predictor(path, version=None):
    """A callable `(texts, pairs) -> answers` for a run directory, a `.keras` file or an export folder.

    Raises:
        FileNotFoundError: `path` holds none of them.
    """
    if os.path.isdir(path):
        folder = _version_folder(path, version)
        if folder is not None:
            return _ExportPredictor(folder)
        if os.path.isfile(os.path.join(path, _RUN_MODEL_FILE)):
            return _KerasPredictor(os.path.join(path, _RUN_MODEL_FILE))
        raise FileNotFoundError(
            f"{path} holds no model: expected a run directory (with {_RUN_MODEL_FILE}), an export version "
            f"folder (with {SAVED_MODEL_FILE}) or a folder of versions"
        )
    if path.endswith(".keras"):
        return _KerasPredictor(path)
    raise FileNotFoundError(f"{path}: expected a .keras file, a run directory or an export folder")
