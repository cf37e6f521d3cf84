"""Training: strategies, masked losses and metrics, schedules, callbacks."""

from mtkeras.tasks.losses import (
    MaskedBinaryCrossentropy,
    MaskedCRFLoss,
    MaskedLoss,
    MaskedMeanSquaredError,
    MaskedSparseCategoricalCrossentropy,
)
from mtkeras.tasks.metrics import (
    MaskedAccuracy,
    MaskedBinaryAccuracy,
    MaskedEntityF1,
    MaskedLossMean,
    MaskedMeanAbsoluteError,
    MaskedMicroF1,
    MaskedPearson,
)
from mtkeras.training.precision import set_mixed_precision
from mtkeras.training.schedules import default_learning_rate, default_optimizer
from mtkeras.training.strategy import get_strategy

__all__ = [
    "MaskedAccuracy",
    "MaskedBinaryAccuracy",
    "MaskedBinaryCrossentropy",
    "MaskedCRFLoss",
    "MaskedEntityF1",
    "MaskedLoss",
    "MaskedLossMean",
    "MaskedMeanAbsoluteError",
    "MaskedMeanSquaredError",
    "MaskedMicroF1",
    "MaskedPearson",
    "MaskedSparseCategoricalCrossentropy",
    "default_learning_rate",
    "default_optimizer",
    "get_strategy",
    "set_mixed_precision",
]
