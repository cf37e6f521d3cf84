"""Optimizer defaults: Adam with linear warm-up and cosine decay."""

import keras


def default_optimizer(total_steps, learning_rate=3e-3, warmup_fraction=0.05, clipnorm=1.0):
    """The optimizer mtkeras trains with unless told otherwise.

    Adam whose learning rate rises linearly from 0 to `learning_rate` over the
    first `warmup_fraction` of `total_steps`, then follows a cosine decay to 0
    (keras' `CosineDecay` with warm-up). Gradients are clipped to `clipnorm`.

    Args:
        total_steps: int. Optimizer steps of the whole run (epochs x steps per epoch).
        learning_rate: float. Peak learning rate.
        warmup_fraction: float in [0, 1). Share of the steps spent warming up.
        clipnorm: float or None. Gradient norm clip.

    Example:
    >>> model.compile(optimizer=default_optimizer(total_steps=epochs * steps_per_epoch))
    """
    if not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"Received an invalid `total_steps`, expected a positive integer. Received: {total_steps!r}")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"Received an invalid `warmup_fraction`, expected [0, 1). Received: {warmup_fraction!r}")
    warmup_steps = int(total_steps * warmup_fraction)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )
    return keras.optimizers.Adam(learning_rate=schedule, clipnorm=clipnorm)
