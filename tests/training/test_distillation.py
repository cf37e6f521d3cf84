"""Distillation with teacher annealing: packed targets, the loss against a hand computation on 1 and 2 replicas."""

import json

import numpy as np
import pytest

from helpers.processes import TESTS_DIR, run_python
from mtkeras.training.distillation import pack_targets


def test_packed_targets_carry_teacher_gold_and_which_exists():
    packed, weight = pack_targets(np.int32(2), np.float32(1.0), [0.1, 0.2, 0.7], 3)
    assert packed.tolist() == pytest.approx([0.1, 0.2, 0.7, 2.0, 1.0]) and weight == 1.0
    packed, weight = pack_targets(np.int32(0), np.float32(0.0), [0.5, 0.5, 0.0], 3)  # teacher only
    assert packed.tolist() == pytest.approx([0.5, 0.5, 0.0, 0.0, 0.0]) and weight == 1.0
    packed, weight = pack_targets(np.int32(0), np.float32(0.0), None, 3)  # neither: counts nowhere
    assert packed.tolist() == [0.0] * 5 and weight == 0.0
    # Tags: a teacher that read fewer words leaves the rest to gold alone.
    packed, weight = pack_targets(np.array([1, 0, 2]), np.array([1.0, 1.0, 0.0]), np.full([2, 3], 1 / 3), 3)
    assert packed.shape == (3, 5) and weight.tolist() == [1.0, 1.0, 0.0]
    assert packed[2].tolist() == [0.0, 0.0, 0.0, 2.0, 0.0]
    with pytest.raises(ValueError, match="over 2 labels for a task of 3"):
        pack_targets(np.int32(0), np.float32(1.0), [0.5, 0.5], 3)


HAND_SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {tests_dir!r})
import keras
import numpy as np
import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from mtkeras.data import make_dataset

examples = tiny_examples()
# 8 texts, 4 per replica: intent gold + teacher, gold only, teacher only (a feedback text), neither.
batch = examples[:2] + examples[9:11] + examples[2:4] + examples[11:13]
rng = np.random.default_rng(0)
tasks = tiny_tasks(examples)
intent, slots = tasks[:2]  # distilled; sentiment learns from gold as usual
teacher_intent = [rng.dirichlet(np.ones(intent.num_labels)) for _ in batch]
teacher_slots = [rng.dirichlet(np.ones(slots.num_labels), size=len(ex.words)) for ex in batch]
for i in (1, 3, 5, 7):  # no teacher: the gold-only texts (1, 5) and the unlabelled ones (3, 7)
    teacher_intent[i] = teacher_slots[i] = None
soft = {{"intent": teacher_intent, "slots": teacher_slots}}
GOLD_SHARE = 4 / 10  # step 4 of 10 annealing steps
out = {{}}
for kind in ("default", "mirrored"):
    strategy = mtkeras.get_strategy(kind)
    with strategy.scope():
        model = build_tiny_model(examples, tasks=tasks, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.1), distillation={{"tasks": ["intent", "slots"], "anneal_steps": 10}})
        model.optimizer.iterations.assign(4)
    data = make_dataset(batch, model.tasks, batch_size=8, soft_targets=soft)
    x, y, w = next(iter(data))
    probs = model.predict(x, verbose=0)
    losses = {{name: loss for name, loss in model._task_losses.items() if name != "sentiment"}}

    def step(x, y, w):
        pred = model(x, training=False)
        return {{name: loss(y[name], pred[name], w[name]) for name, loss in losses.items()}}

    per_replica = strategy.run(step, args=next(iter(strategy.experimental_distribute_dataset(data))))
    summed = {{k: float(strategy.reduce("SUM", v, axis=None)) for k, v in per_replica.items()}}
    hand = {{}}
    for task, teachers in ((intent, teacher_intent), (slots, teacher_slots)):
        total, count = 0.0, 0.0
        for i, ex in enumerate(batch):
            gold = ex.labels.get(task.name)
            p = probs[task.name][i]
            items = [(gold, teachers[i], p)] if task is intent else [
                (None if gold is None else gold[j], None if teachers[i] is None else teachers[i][j], p[j])
                for j in range(len(ex.words))]
            for label, teacher, q in items:
                if label is None and teacher is None:
                    continue  # counts nowhere
                onehot = np.eye(task.num_labels)[task.label_id(label)] if label is not None else 0.0
                share = (GOLD_SHARE if teacher is not None else 1.0) if label is not None else 0.0
                target = share * onehot + (1 - share) * (teacher if teacher is not None else 0.0)
                total += float(-(target * np.log(np.clip(q, 1e-7, 1.0))).sum())
                count += 1
        hand[task.name] = total / count
    history = model.fit(data, epochs=1, verbose=0).history
    out[kind] = {{"replicas": strategy.num_replicas_in_sync, "summed": summed, "hand": hand,
                  "history": {{k: v[0] for k, v in history.items()}}}}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_distilled_loss_is_the_annealed_mix_on_1_and_2_replicas():
    out = json.loads(run_python(HAND_SCRIPT.format(tests_dir=TESTS_DIR)).strip().splitlines()[-1])
    assert out["default"]["replicas"] == 1 and out["mirrored"]["replicas"] == 2
    for kind in ("default", "mirrored"):
        for task in ("intent", "slots"):
            assert out[kind]["summed"][task] == pytest.approx(out[kind]["hand"][task], rel=1e-5), (kind, task)
    # Metrics read gold alone: the history has the tasks' accuracy and F1, on the gold-labelled items.
    assert 0.0 <= out["mirrored"]["history"]["intent_accuracy"] <= 1.0
    assert out["mirrored"]["history"]["intent_loss"] == pytest.approx(out["default"]["history"]["intent_loss"], rel=1e-4)
