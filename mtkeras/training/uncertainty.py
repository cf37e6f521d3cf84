"""Learned task weights: homoscedastic uncertainty (Kendall, Gal and Cipolla, 2018)."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mtkeras")
class TaskUncertainty(keras.layers.Layer):
    """One learned log-variance `s_t` per task, weighting the task losses.

    The total loss is `sum_t 0.5 * exp(-s_t) * L_t + 0.5 * s_t`: a task whose
    loss stays high (noisy, or hard) gets a larger variance and so a smaller
    weight, and the `s_t` term keeps the variances from growing for free. The
    current weight of each task is `0.5 * exp(-s_t)`.

    Under `tf.distribute`, each replica adds `1 / replicas` of the `s_t` term,
    so its gradient, summed over replicas, counts once (the task losses are
    already each replica's share of the global mean).

    Args:
        num_tasks: int. Number of tasks.
    """

    def __init__(self, num_tasks, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_tasks, int) or num_tasks < 1:
            raise ValueError(f"Received an invalid `num_tasks`, expected a positive integer. Received: {num_tasks!r}")
        self.num_tasks = num_tasks
        self.log_variances = self.add_weight(
            shape=(num_tasks,), initializer="zeros", name="log_variances", dtype="float32"
        )

    def task_weights(self):
        """`[num_tasks]` current weights `0.5 * exp(-s_t)`."""
        return 0.5 * tf.exp(-tf.convert_to_tensor(self.log_variances))

    def combine(self, task_losses):
        """The weighted total of `task_losses` (one scalar per task, in order)."""
        log_variances = tf.convert_to_tensor(self.log_variances)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        total = 0.0
        for i, loss in enumerate(task_losses):
            loss = tf.cast(loss, tf.float32)
            total += 0.5 * tf.exp(-log_variances[i]) * loss + 0.5 * log_variances[i] / replicas
        return total

    def get_config(self):
        return {**super().get_config(), "num_tasks": self.num_tasks}
