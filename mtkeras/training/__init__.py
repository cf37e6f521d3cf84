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
from mtkeras.training.optimizers import LayerwiseAdam, LayerwiseAdamW, layer_rates
from mtkeras.training.schedules import default_learning_rate, default_optimizer, recipe_optimizer
from mtkeras.training.strategy import get_strategy

__all__ = [
    "LayerwiseAdam",
    "LayerwiseAdamW",
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
    "layer_rates",
    "recipe_optimizer",
    "set_mixed_precision",
]
