"""Which `tf.distribute` strategy mtkeras trains under."""

import tensorflow as tf

STRATEGIES = ("auto", "mirrored", "default")


def get_strategy(kind="auto"):
    """Returns the strategy to build, compile and fit under.

    Args:
        kind: str. `"auto"`: `MirroredStrategy` over every visible GPU when
            there is one, TensorFlow's default strategy on CPU. `"mirrored"`:
            `MirroredStrategy` over every visible GPU, or over every logical CPU
            device when there is no GPU (how tests get 2 replicas on one CPU).
            `"default"`: the default (no-op) strategy.

    Example:
    >>> strategy = mtkeras.get_strategy()
    >>> with strategy.scope():
    ...     model = mtkeras.build_model(tasks, texts=texts)
    ...     model.compile(optimizer="adam")
    """
    if kind not in STRATEGIES:
        raise ValueError(f"Unknown strategy {kind!r}; expected one of {STRATEGIES}")
    gpus = tf.config.list_logical_devices("GPU")
    if kind == "default" or (kind == "auto" and not gpus):
        return tf.distribute.get_strategy()
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices)
