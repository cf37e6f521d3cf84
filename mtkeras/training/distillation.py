"""Distillation from single-task teachers, with teacher annealing (BAM!, Clark et al. 2019).

A distilled task's target for a labelled item mixes the gold label and the
teacher's distribution,

    target = g * onehot(gold) + (1 - g) * teacher

with the gold share g moving linearly from 0 at the first step to 1 at the
last (`anneal_steps`): the student first learns what the teacher knows, then
the task itself. An item with gold only has g = 1; an item with a teacher
distribution only (a text of another source, labelled by the teacher) has
g = 0; an item with neither has weight 0 and counts nowhere, as any missing
label. The loss is the cross-entropy to the target, averaged over the items
with a target in the global batch (`MaskedLoss`), so it stays exact across
replicas.

Targets travel packed in the task's label tensor (`pack_targets`): the
teacher's distribution (zeros: none), then the gold id and whether there is
one. Metrics read the gold part alone (`GoldTargets`).
"""

import keras
import numpy as np
import tensorflow as tf

from mtkeras.ops.masking import align_to_prediction
from mtkeras.tasks.losses import MaskedLoss

# Kinds whose heads give one softmax per item, which a teacher's distribution can stand in for.
DISTILLABLE_KINDS = ("sentence_classification", "token_tagging")


def check_distillable(task):
    """Raises ValueError unless `task` can learn from a teacher's distribution."""
    if task.kind not in DISTILLABLE_KINDS or getattr(task, "crf", False) or task.pair:
        raise ValueError(
            f"Task {task.name!r} ({task.kind}{', crf' if getattr(task, 'crf', False) else ''}"
            f"{', pair' if task.pair else ''}) cannot be distilled: distillation takes single-text "
            f"{' and '.join(DISTILLABLE_KINDS)} tasks with a softmax head"
        )


def pack_targets(ids, weights, teacher, num_classes):
    """One example's packed target and weight: `[..., num_classes + 2]` (teacher, gold id, has gold).

    Args:
        ids, weights: the task's `encode` output (a scalar each for a sentence
            task, `[num_words]` each for a token task).
        teacher: the teacher's distribution (`[num_classes]`, or
            `[words, num_classes]`; a teacher that read fewer words is padded
            with zeros) or None.
        num_classes: int.

    Returns:
        `(packed, weight)`; the weight is 1 where there is gold or a teacher.
    """
    ids = np.asarray(ids)
    weights = np.asarray(weights, np.float32)
    shape = ids.shape + (num_classes,)
    soft = np.zeros(shape, np.float32)
    if teacher is not None:
        teacher = np.asarray(teacher, np.float32)
        if teacher.shape[-1] != num_classes:
            raise ValueError(f"a teacher distribution over {teacher.shape[-1]} labels for a task of {num_classes}")
        if ids.ndim == 0:
            soft[:] = teacher
        else:
            kept = min(len(teacher), len(soft))
            soft[:kept] = teacher[:kept]
    has_teacher = (soft.sum(axis=-1) > 0).astype(np.float32)
    packed = np.concatenate([soft, ids[..., None].astype(np.float32), weights[..., None]], axis=-1)
    return packed, np.maximum(weights, has_teacher)


@keras.saving.register_keras_serializable(package="mtkeras")
class MaskedDistillationLoss(MaskedLoss):
    """Cross-entropy to the annealed mix of gold and teacher (see the module), over items with a target.

    Args:
        anneal_steps: int. Steps over which the gold share of items with both
            targets rises from 0 to 1; 0: gold alone where there is gold.
        name: str. Name of the loss.

    `iterations` (the optimizer's step counter) must be set before training
    with `anneal_steps`; `MultiTaskModel.compile(distillation=...)` does it.
    """

    sparse = False

    def __init__(self, anneal_steps=0, name="masked_distillation_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(anneal_steps, bool) or not isinstance(anneal_steps, int) or anneal_steps < 0:
            raise ValueError(f"Received an invalid `anneal_steps`, expected an integer >= 0. Received: {anneal_steps!r}")
        self.anneal_steps = anneal_steps
        self.iterations = None

    def gold_share(self):
        """The current gold share g of items with both targets: step / anneal_steps, at most 1."""
        if not self.anneal_steps:
            return tf.constant(1.0)
        if self.iterations is None:
            raise ValueError(f"{self.name}: set `iterations` (the optimizer's step counter) to anneal the teacher")
        return tf.minimum(tf.cast(self.iterations, tf.float32) / float(self.anneal_steps), 1.0)

    def item_losses(self, y_true, y_pred, weight):
        classes = tf.shape(y_pred)[-1]
        teacher, gold, has_gold = unpack_targets(y_true, classes)
        has_teacher = tf.cast(tf.reduce_sum(teacher, axis=-1) > 0, tf.float32)
        share = has_gold * (has_teacher * self.gold_share() + (1.0 - has_teacher))
        target = share[..., None] * tf.one_hot(gold, classes) + (1.0 - share)[..., None] * teacher
        return -tf.reduce_sum(target * tf.math.log(tf.clip_by_value(y_pred, 1e-7, 1.0)), axis=-1)

    def call(self, y_true, y_pred):
        return self.item_losses(tf.convert_to_tensor(y_true, tf.float32), tf.cast(y_pred, tf.float32), None)

    def get_config(self):
        return {**super().get_config(), "anneal_steps": self.anneal_steps}


def unpack_targets(y_true, classes):
    """`(teacher [..., C], gold ids [...], has gold [...])` of packed targets."""
    y_true = tf.cast(y_true, tf.float32)
    return y_true[..., :classes], tf.cast(y_true[..., classes], tf.int32), y_true[..., classes + 1]


@keras.saving.register_keras_serializable(package="mtkeras")
class GoldTargets(keras.metrics.Metric):
    """A task metric read on the gold part of packed targets: teacher-only items do not count.

    Args:
        metric: the task's metric (e.g. `MaskedAccuracy`, `MaskedEntityF1`).
        num_classes: int. The task's labels.
    """

    def __init__(self, metric, num_classes, name=None, dtype=None):
        metric = keras.saving.deserialize_keras_object(metric) if isinstance(metric, dict) else metric
        super().__init__(name=name or metric.name, dtype=dtype)
        self.metric = metric
        self.num_classes = num_classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        item_rank = y_pred.shape.rank - 1
        y_true, weight = align_to_prediction(y_true, y_pred, sample_weight, item_rank, sparse=False)
        _, gold, has_gold = unpack_targets(y_true, self.num_classes)
        return self.metric.update_state(gold, y_pred, weight * has_gold)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "metric": keras.saving.serialize_keras_object(self.metric)}


def distillation_losses_and_metrics(tasks, distilled, anneal_steps):
    """`(losses, metrics)` dicts for `compile`: distilled tasks' on packed targets, the others' as usual."""
    losses, metrics = {}, {}
    for task in tasks:
        if task.name in distilled:
            check_distillable(task)
            losses[task.name] = MaskedDistillationLoss(anneal_steps, name=f"{task.name}_loss")
            metrics[task.name] = [GoldTargets(metric, task.num_labels) for metric in task.metrics()]
        else:
            losses[task.name] = task.loss()
            metrics[task.name] = task.metrics()
    return losses, metrics
