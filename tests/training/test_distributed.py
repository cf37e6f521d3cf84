"""MirroredStrategy with 2 replicas trains exactly like one device."""

import json

import pytest

from helpers.processes import TESTS_DIR, run_python


SCRIPT = """
import json, sys
import tensorflow as tf

# Two logical CPU devices, set before TensorFlow initialises: 2 replicas.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

sys.path.insert(0, {tests_dir!r})
import keras
import numpy as np
import mtkeras
from helpers.data import tiny_examples
from helpers.models import build_tiny_model
from mtkeras.data import make_dataset

examples = tiny_examples()

def train(strategy):
    with strategy.scope():
        model = build_tiny_model(examples, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    initial = [w.copy() for w in model.get_weights()]
    # Unshuffled, global batch 6: the second batch gives one replica 3 intent
    # labels and no sentiment, the other 3 sentiment labels and no intent.
    data = make_dataset(examples, model.tasks, batch_size=6, drop_remainder=True)
    history = model.fit(data, epochs=3, verbose=0).history
    return strategy.num_replicas_in_sync, initial, model.get_weights(), history

r1, init1, single, h1 = train(mtkeras.get_strategy("default"))
r2, init2, mirrored, h2 = train(mtkeras.get_strategy("mirrored"))
print(json.dumps({{
    "replicas": [r1, r2],
    "same_init": max(float(np.abs(a - b).max()) for a, b in zip(init1, init2)),
    "max_weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored)),
    "max_update": max(float(np.abs(a - b).max()) for a, b in zip(single, init1)),
    "history_single": h1,
    "history_mirrored": h2,
}}))
"""

# Float32 sums run in a different order across replicas; 1e-5 leaves room for
# that while a per-replica (instead of global) mean is off by ~1e-2 here.
TOLERANCE = 1e-5


@pytest.mark.slow
def test_two_replicas_match_single_device_training():
    out = json.loads(run_python(SCRIPT.format(tests_dir=TESTS_DIR)).strip().splitlines()[-1])
    assert out["replicas"] == [1, 2]
    assert out["same_init"] == 0.0
    assert out["max_update"] > 1e-2, "training must move the weights for the comparison to mean anything"
    assert out["max_weight_diff"] < TOLERANCE
    for key in ("loss", "intent_loss", "slots_loss", "sentiment_loss", "intent_accuracy", "sentiment_accuracy",
                "slots_f1", "score"):
        assert out["history_mirrored"][key] == pytest.approx(out["history_single"][key], abs=1e-5), key


HAND_SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {tests_dir!r})
import numpy as np
import mtkeras
from helpers.data import tiny_examples, tiny_tasks
from helpers.models import build_tiny_model
from mtkeras.data import make_dataset
from mtkeras.ops.crf import crf_log_likelihood, crf_scores

examples = tiny_examples()
# One global batch of 8 = replica shares of 4: the first share holds 4 intent
# labels and 19 slot words, the second 1 intent label, 3 slot words and 3
# sentiment labels.
batch_examples = examples[:4] + examples[8:12]
out = {{}}
for kind in ("default", "mirrored"):
    strategy = mtkeras.get_strategy(kind)
    tasks = tiny_tasks(examples)
    # The same slots once more with a CRF (its loss is per text, spread over words).
    tasks.append(mtkeras.TokenTagging("crf_slots", tasks[1].labels, dropout=0.0, crf=True))
    with strategy.scope():
        model = build_tiny_model(examples, tasks=tasks, seed=0)
    x, y, w = next(iter(make_dataset(batch_examples, model.tasks, batch_size=8)))
    y = {{**y, "crf_slots": y["slots"]}}
    w = {{**w, "crf_slots": w["slots"]}}
    probs = model.predict(x, verbose=0)
    losses = {{t.name: t.loss() for t in model.tasks}}

    def step(x, y, w):
        pred = model(x, training=False)
        return {{name: loss(y[name], pred[name], w[name]) for name, loss in losses.items()}}

    def with_crf_labels(x, y, w):
        return x, {{**y, "crf_slots": y["slots"]}}, {{**w, "crf_slots": w["slots"]}}

    data = make_dataset(batch_examples, model.tasks[:3], batch_size=8).map(with_crf_labels)
    per_replica = strategy.run(step, args=next(iter(strategy.experimental_distribute_dataset(data))))
    summed = {{k: float(strategy.reduce("SUM", v, axis=None)) for k, v in per_replica.items()}}
    hand = {{}}
    emissions, mask, *scores, _ = crf_scores(model(x, training=False)["crf_slots"])  # log Z recomputed here
    labelled = w["slots"].numpy()[:, : emissions.shape[1]] > 0
    labels = y["slots"].numpy()[:, : emissions.shape[1]]
    nll = -crf_log_likelihood(emissions, labels, labelled, mask, *scores).numpy()
    hand["crf_slots"] = float(nll.sum() / labelled.sum())
    for task in model.tasks[:3]:
        p, labels, weights = probs[task.name], y[task.name].numpy(), w[task.name].numpy()
        if p.ndim == 3:
            p = p[:, : labels.shape[1]]
        picked = np.take_along_axis(p, labels[..., None], axis=-1)[..., 0]
        picked = np.where(weights > 0, picked, 1.0)  # padding: zero probabilities, weight 0
        hand[task.name] = float(-(np.log(picked) * weights).sum() / weights.sum())
    out[kind] = {{"replicas": strategy.num_replicas_in_sync, "summed": summed, "hand": hand}}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_masked_loss_matches_a_hand_computation_with_1_and_2_replicas():
    out = json.loads(run_python(HAND_SCRIPT.format(tests_dir=TESTS_DIR)).strip().splitlines()[-1])
    assert out["default"]["replicas"] == 1 and out["mirrored"]["replicas"] == 2
    for kind in ("default", "mirrored"):
        for task, value in out[kind]["hand"].items():
            assert out[kind]["summed"][task] == pytest.approx(value, rel=1e-5), (kind, task)
