"""Which `tf.distribute` strategy mtkeras trains under, and which worker writes files."""

import json
import os

import tensorflow as tf

STRATEGIES = ("auto", "mirrored", "multi_worker", "default")


def cluster_size(tf_config=None):
    """The number of tasks (workers and chief) that `TF_CONFIG` names; 0 without one."""
    raw = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not raw.strip():
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (ValueError, AttributeError):
        raise ValueError(f"TF_CONFIG is not a JSON object with a 'cluster': {raw[:200]!r}") from None
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def get_strategy(kind="auto"):
    """Returns the strategy to build, compile and fit under.

    Args:
        kind: str.
            - `"auto"`: `MultiWorkerMirroredStrategy` when `TF_CONFIG` names
              several workers (one process per host, each with its own
              `task`); otherwise `MirroredStrategy` over every visible GPU
              when there is one, and TensorFlow's default strategy on CPU.
            - `"mirrored"`: `MirroredStrategy` over every visible GPU, or over
              every logical CPU device when there is no GPU (how tests get 2
              replicas on one CPU).
            - `"multi_worker"`: `MultiWorkerMirroredStrategy` (TensorFlow's
              collective all-reduce across the hosts `TF_CONFIG` names; all
              local GPUs of each host, or its CPU). Create it before any other
              TensorFlow work in the process.
            - `"default"`: the default (no-op) strategy.

    Example:
    >>> strategy = mtkeras.get_strategy()
    >>> with strategy.scope():
    ...     model = mtkeras.build_model(tasks, texts=texts)
    ...     model.compile(optimizer="adam")
    """
    if kind not in STRATEGIES:
        raise ValueError(f"Unknown strategy {kind!r}; expected one of {STRATEGIES}")
    # Checked before anything initialises TensorFlow's runtime: the multi-worker
    # strategy must be the first thing to do so.
    if kind == "multi_worker" or (kind == "auto" and cluster_size() > 1):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if kind == "default" or (kind == "auto" and not gpus):
        return tf.distribute.get_strategy()
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices)


def in_multi_worker_mode(strategy=None):
    """True under a `MultiWorkerMirroredStrategy` whose cluster has several workers."""
    strategy = strategy or tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def worker_identity(strategy=None):
    """`(index, count, is_chief)` of this process among the training workers.

    The chief is the `chief` task, or worker 0 when the cluster has none; a
    single process is worker 0 of 1, and chief.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if not in_multi_worker_mode(strategy):
        return 0, 1, True
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    count = sum(len(spec.get(kind, [])) for kind in ("chief", "worker"))
    has_chief = "chief" in spec
    if resolver.task_type == "chief":
        return 0, count, True
    index = resolver.task_id + (1 if has_chief else 0)
    return index, count, index == 0


def worker_path(path, strategy=None):
    """`path` on the chief; a private `.worker-<i>` folder beside it on every other worker.

    Keras' saving callbacks run on every worker and have no notion of a chief
    (all workers writing one file fails on its lock, and all of them deleting
    one backup folder races): each non-chief worker writes its own copy.
    """
    index, _, chief = worker_identity(strategy)
    if chief:
        return path
    path = os.path.abspath(path)
    return os.path.join(os.path.dirname(path), f".worker-{index}", os.path.basename(path))


def strategy_name(strategy):
    """The public name of a strategy, for messages (TensorFlow's classes have internal names)."""
    # tf.distribute.MultiWorkerMirroredStrategy's class is CollectiveAllReduceStrategy.
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return "MirroredStrategy"
    return "the default strategy"
