"""Training: strategies, masked losses and metrics."""

from mtkeras.training.losses import MaskedSparseCategoricalCrossentropy
from mtkeras.training.metrics import MaskedAccuracy, MaskedLossMean
from mtkeras.training.strategy import get_strategy

__all__ = ["MaskedAccuracy", "MaskedLossMean", "MaskedSparseCategoricalCrossentropy", "get_strategy"]
