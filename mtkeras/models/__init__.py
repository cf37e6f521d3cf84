"""The multi-task model and its builder."""

from mtkeras.models.multitask_model import MultiTaskModel, build_model

__all__ = ["MultiTaskModel", "build_model"]
