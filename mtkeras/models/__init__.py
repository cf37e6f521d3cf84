"""The multi-task model and its builder."""

import keras

from mtkeras.models.multitask_model import MultiTaskModel, build_model


def load_model(path, **kwargs):
    """A model saved with `model.save(path)` (a `.keras` file), compiled as it was saved.

    The same as `keras.models.load_model`, with mtkeras' classes registered
    first (`import mtkeras` alone does not load them).
    """
    return keras.models.load_model(path, **kwargs)


__all__ = ["MultiTaskModel", "build_model", "load_model"]
