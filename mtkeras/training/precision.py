"""Mixed precision: float16 compute on GPUs, float32 everywhere else."""

import keras
import tensorflow as tf

POLICIES = ("auto", "mixed_float16", "mixed_bfloat16", "float32")


def set_mixed_precision(policy="auto"):
    """Sets Keras' global dtype policy; call it before building the model.

    `"auto"` picks `mixed_float16` when a GPU is visible and `float32`
    otherwise (CPUs gain nothing from float16). Under a mixed policy, layers
    compute in half precision and keep float32 weights; mtkeras heads output
    float32 probabilities and losses are computed in float32, and `compile`
    wraps the optimizer in a loss-scale optimizer.

    Returns:
        The name of the policy now in force.

    Example:
    >>> mtkeras.training.set_mixed_precision()   # before build_model
    """
    if policy not in POLICIES:
        raise ValueError(f"Unknown precision policy {policy!r}; expected one of {POLICIES}")
    if policy == "auto":
        policy = "mixed_float16" if tf.config.list_logical_devices("GPU") else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
