"""Optimizer defaults: Adam with linear warm-up and cosine decay."""

import keras

from mtkeras.training.optimizers import LayerwiseAdam, LayerwiseAdamW, layer_rates
from mtkeras.training.recipes import FROM_SCRATCH, PRETRAINED, recipe_for

# Peak learning rates (the recipes'): encoders trained from scratch, and pretrained encoders
# being fine-tuned (a pretrained encoder forgets what it knows at 3e-3).
SCRATCH_LEARNING_RATE = FROM_SCRATCH.learning_rate
PRETRAINED_LEARNING_RATE = PRETRAINED.learning_rate


def default_learning_rate(model):
    """The peak learning rate mtkeras uses for `model`: by its encoder's kind."""
    return recipe_for(model.encoder).learning_rate


def recipe_optimizer(model, total_steps, learning_rate=None, layer_decay=None):
    """The optimizer of `model`'s recipe (`mtkeras.training.recipes`): what `mtkeras train` uses by default.

    Adam with warm-up and cosine decay (`default_optimizer`) at the recipe's
    peak rate, with the recipe's layer-wise decay over a pretrained
    transformer's layers (`mtkeras.training.optimizers`).

    Args:
        model: a `MultiTaskModel` (built; its encoder picks the recipe).
        total_steps: int. Optimizer steps of the whole run.
        learning_rate: float or None. Overrides the recipe's peak rate.
        layer_decay: float in (0, 1] or None. Overrides the recipe's layer decay.

    Example:
    >>> model.compile(optimizer=recipe_optimizer(model, epochs * steps_per_epoch))
    """
    recipe = recipe_for(model.encoder)
    return default_optimizer(
        total_steps,
        learning_rate or recipe.learning_rate,
        layer_rates=layer_rates(model, recipe.layer_decay if layer_decay is None else layer_decay),
    )


def default_optimizer(total_steps, learning_rate=SCRATCH_LEARNING_RATE, warmup_fraction=0.05, clipnorm=1.0,
                      layer_rates=None):
    """The optimizer mtkeras trains with unless told otherwise.

    Adam whose learning rate rises linearly from 0 to `learning_rate` over the
    first `warmup_fraction` of `total_steps`, then follows a cosine decay to 0
    (keras' `CosineDecay` with warm-up). Gradients are clipped to `clipnorm`.

    Args:
        total_steps: int. Optimizer steps of the whole run (epochs x steps per epoch).
        learning_rate: float. Peak learning rate.
        warmup_fraction: float in [0, 1). Share of the steps spent warming up.
        clipnorm: float or None. Gradient norm clip.
        layer_rates: dict or None. `{variable path: factor}` of the learning
            rate (`mtkeras.training.optimizers.layer_rates`).

    Example:
    >>> model.compile(optimizer=default_optimizer(epochs * steps_per_epoch, default_learning_rate(model)))
    """
    return build_optimizer("adam", learning_rate, total_steps, warmup_fraction=warmup_fraction, clipnorm=clipnorm,
                           layer_rates=layer_rates)


def warmup_cosine_schedule(total_steps, learning_rate, warmup_fraction=0.05):
    """Linear warm-up from 0 to `learning_rate` over `warmup_fraction` of `total_steps`, then cosine decay to 0."""
    if not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"Received an invalid `total_steps`, expected a positive integer. Received: {total_steps!r}")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"Received an invalid `warmup_fraction`, expected [0, 1). Received: {warmup_fraction!r}")
    warmup_steps = int(total_steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("warmup_cosine", "constant")


def build_optimizer(
    name="adam",
    learning_rate=SCRATCH_LEARNING_RATE,
    total_steps=None,
    schedule="warmup_cosine",
    warmup_fraction=0.05,
    clipnorm=1.0,
    weight_decay=0.01,
    layer_rates=None,
):
    """An optimizer by name, as a training config describes it.

    Args:
        name: `"adam"` or `"adamw"` (Adam with decoupled `weight_decay`).
        learning_rate: float. Peak (or constant) learning rate.
        total_steps: int. Optimizer steps of the whole run; needed by
            `"warmup_cosine"`.
        schedule: `"warmup_cosine"` (see `default_optimizer`) or `"constant"`.
        warmup_fraction: float in [0, 1). Share of the steps spent warming up.
        clipnorm: float or None. Gradient norm clip.
        weight_decay: float. For `"adamw"`.
        layer_rates: dict or None. `{variable path: factor}` of the learning
            rate, e.g. layer-wise decay (`mtkeras.training.optimizers`).

    Example:
    >>> build_optimizer("adamw", 5e-5, total_steps=3000, weight_decay=0.01)
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; expected one of {OPTIMIZERS}")
    if schedule not in SCHEDULES:
        raise ValueError(f"Unknown schedule {schedule!r}; expected one of {SCHEDULES}")
    rate = warmup_cosine_schedule(total_steps, learning_rate, warmup_fraction) if schedule == "warmup_cosine" else learning_rate
    if layer_rates:
        if name == "adamw":
            return LayerwiseAdamW(learning_rate=rate, weight_decay=weight_decay, clipnorm=clipnorm, layer_rates=layer_rates)
        return LayerwiseAdam(learning_rate=rate, clipnorm=clipnorm, layer_rates=layer_rates)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=weight_decay, clipnorm=clipnorm)
    return keras.optimizers.Adam(learning_rate=rate, clipnorm=clipnorm)
