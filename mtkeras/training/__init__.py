"""Training: strategies, masked losses and metrics."""

from mtkeras.training.losses import MaskedSparseCategoricalCrossentropy
from mtkeras.training.metrics import MaskedAccuracy
from mtkeras.training.strategy import get_strategy

__all__ = ["MaskedAccuracy", "MaskedSparseCategoricalCrossentropy", "get_strategy"]
