"""Teachers for distillation: their predictions on the training texts, computed once and cached.

A config's `distillation` section names a teacher per task (a run directory,
a `.keras` model or an exported SavedModel version), by default the task's
single-task run of the same config (`mtkeras train CONFIG --single-task`).
Each teacher reads the training texts of the sources that label its task (with
`other_sources`, every source's), once: the class distributions (per word for
token tasks) go to `<run_dir>/teachers/<task>.npz`, with a fingerprint of the
teacher's files and the texts. A resumed run reads them back; a changed
teacher or changed data computes them again.
"""

import hashlib
import json
import os
import time

import numpy as np

from mtkeras import names
from mtkeras.errors import ConfigError
from mtkeras.runs.directory import MODEL_FILE
from mtkeras.runs.single_task import single_task_config
from mtkeras.tasks.calibration import with_outside_weight

TEACHERS_DIR = "teachers"


def teacher_path(config, task, run_dir=None):
    """The teacher of `task`: `distillation.teachers[task]`, else its single-task run (which must be finished)."""
    given = config.distillation.teachers.get(task)
    path = given or single_task_config(config, task, run_dir).run_dir
    field = config.where(f"distillation.teachers.{task}") if given else f"distillation: the teacher of {task!r}"
    if os.path.isdir(path) and os.path.exists(os.path.join(path, MODEL_FILE)):
        return os.path.join(path, MODEL_FILE)
    if os.path.isfile(path) and path.endswith(".keras"):
        return path
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    hint = "" if given else " (train it first: mtkeras train CONFIG --single-task)"
    raise ConfigError(f"{field}: {path!r} holds no finished run (model.keras), .keras model or exported "
                      f"SavedModel version{hint}")


def _fingerprint(path, labels, texts):
    digest = hashlib.sha256()
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(folder, name) for folder, _, found in os.walk(path) for name in found)
    for name in files:
        digest.update(os.path.relpath(name, path).encode() if name != path else b"")
        with open(name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    digest.update("\x1f".join(labels).encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\x1e")
    return digest.hexdigest()


def _without_outside_weight(path, task, probs):
    """An exported token task's probabilities as its model gave them: its answers carry its outside weight
    (`TokenTagging.weighted`), which a student must not learn; undone exactly from the export's metadata."""
    metadata = os.path.join(path, "assets.extra", "mtkeras.json")
    if probs.ndim != 3 or not os.path.exists(metadata):
        return probs
    with open(metadata, encoding="utf-8") as f:
        config = next((t for t in json.load(f).get("tasks", []) if t.get("name") == task.name), {})
    weight, labels = config.get("outside_weight", 1.0), config.get("labels", [])
    if weight == 1.0 or "O" not in labels:
        return probs
    return with_outside_weight(probs, labels.index("O"), 1.0 / weight)


def _progress(task, count, batch_size):
    """`done(batch)`: prints how far `task`'s teacher is, at each tenth of its `count` texts (a labelling by a
    pretrained teacher takes minutes); batches are counted from 0."""
    started, shown = time.perf_counter(), 0

    def done(batch):
        nonlocal shown
        texts = min((batch + 1) * batch_size, count)
        if texts * 10 // count > shown:
            shown = texts * 10 // count
            print(f"[mtkeras] distillation: {task}'s teacher labelled {texts:,} of {count:,} texts "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)

    return done


def _predict(path, task, texts, batch_size=64):
    """The teacher's distributions for `task` on `texts`: `[C]` each, or `[words, C]` for a token task."""
    if path.endswith(".keras"):
        import keras

        from mtkeras.models import load_model

        teacher = load_model(path)
        teachers_task = next((t for t in teacher.tasks if t.name == task.name), None)
        if teachers_task is None:
            raise ConfigError(f"distillation: the teacher {path} has no task {task.name!r} (its tasks: "
                              f"{[t.name for t in teacher.tasks]})")
        labels = teachers_task.labels
        done = _progress(task.name, len(texts), batch_size)  # timed from here: loading is not labelling
        progress = keras.callbacks.LambdaCallback(on_predict_batch_end=lambda batch, logs: done(batch))
        probs = teacher.predict(list(texts), batch_size=batch_size, verbose=0, callbacks=[progress])[task.name]
        lengths = teacher.preprocessor.tokenize(np.asarray(texts, dtype=object))[1].numpy() if probs.ndim == 3 else None
    else:
        import tensorflow as tf

        from mtkeras.models.traced import in_given_order, length_order
        from mtkeras.text import split_words

        signature = tf.saved_model.load(path).signatures[names.SERVING_SIGNATURE]
        given = tf.constant(list(texts), tf.string)
        # Batches of texts of about as many words: an export keeps its preprocessor inside, so its own steps
        # (word pieces for a pretrained encoder) are not at hand; words are them for a from-scratch encoder.
        order = length_order(given, positions=lambda texts: split_words(texts).row_lengths())
        done = _progress(task.name, len(texts), batch_size)
        key = names.probs_key(task.name)
        batches = []
        for batch, start in enumerate(range(0, len(texts), batch_size)):
            taken = order[start : start + batch_size]
            answers = signature(text=tf.gather(given, taken))
            if key not in answers:
                raise ConfigError(f"distillation: the teacher {path} exports no {key!r}")
            batches.append((taken, {name: answers[name].numpy() for name in (key, names.LENGTHS)}))
            done(batch)
        answers = in_given_order(batches, len(texts))
        probs = answers[key]
        lengths = answers[names.LENGTHS] if probs.ndim == 3 else None
        labels = task.labels  # an export names its labels in its own outputs; the task's order is assumed
        probs = _without_outside_weight(path, task, probs)
    if list(labels) != list(task.labels):
        missing = sorted(set(task.labels) - set(labels))
        if missing:
            raise ConfigError(f"distillation: the teacher of {task.name!r} ({path}) lacks labels {missing[:5]}")
        probs = probs[..., [list(labels).index(label) for label in task.labels]]
    if lengths is None:
        return [row for row in probs.astype(np.float32)]
    return [probs[i, : lengths[i]].astype(np.float32) for i in range(len(texts))]


def teacher_targets(config, tasks, sources, run_dir=None, seconds=None):
    """`{source: {task: [distribution or None per example]}}` for `make_dataset`/`mix_datasets` `soft_targets`.

    Each distilled task's teacher labels the texts of the sources that label
    the task (every source with `distillation.other_sources`); other texts get
    None (gold alone, or nothing). Cached under `<run_dir>/teachers/`.
    A dict passed as `seconds` gets `{task: seconds its teacher took to label
    the texts}` (kept in the cache with when it ended, `cached_labelling`,
    so a resumed run still knows them; None for a cache written before).
    """
    section = config.distillation
    by_name = {task.name: task for task in tasks}
    distilled = section.tasks or list(config.tasks)
    folder = os.path.join(os.path.abspath(run_dir or config.run_directory), TEACHERS_DIR)
    targets = {source: {} for source in sources}
    for name in distilled:
        task = by_name[name]
        path = teacher_path(config, name, run_dir)
        read = [source for source in sources if section.other_sources or name in config.datasets[source].tasks]
        texts = [ex.text for source in read for ex in sources[source]]
        fingerprint = _fingerprint(path, task.labels, texts)
        cache = os.path.join(folder, f"{name}.npz")
        predictions, took = _read_cache(cache, fingerprint)
        if predictions is None:
            print(f"[mtkeras] distillation: {name}'s teacher {path} labels {len(texts)} training texts "
                  f"({', '.join(read)}); cached in {cache}", flush=True)
            started = time.perf_counter()
            predictions = _predict(path, task, texts)
            took = time.perf_counter() - started
            _write_cache(cache, fingerprint, predictions, took)
        else:
            print(f"[mtkeras] distillation: {name}'s teacher predictions read from {cache}", flush=True)
        if seconds is not None:
            seconds[name] = took
        start = 0
        for source in sources:
            count = len(sources[source])
            if source in read:
                targets[source][name] = predictions[start : start + count]
                start += count
            else:
                targets[source][name] = [None] * count
    return targets


def cached_labelling(run_dir):
    """`{task: (seconds, ended)}` of the teachers' caches in a run directory (None each where not recorded)."""
    folder = os.path.join(run_dir, TEACHERS_DIR)
    found = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        if name.endswith(".npz") and not name.endswith(".partial.npz"):
            with np.load(os.path.join(folder, name)) as stored:
                found[name[: -len(".npz")]] = _labelling(stored)
    return found


def _labelling(stored):
    """`(seconds, ended)` of an opened cache; None each in a cache written before they were kept."""
    return tuple(float(stored[key]) if key in stored else None for key in ("seconds", "ended"))


def _write_cache(path, fingerprint, predictions, seconds):
    rows = np.array([len(p) if p.ndim == 2 else 0 for p in predictions], np.int64)
    flat = np.concatenate([p if p.ndim == 2 else p[None] for p in predictions]) if predictions else np.zeros([0, 0])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".partial.npz"
    words = bool(predictions) and predictions[0].ndim == 2
    np.savez(partial, fingerprint=np.array(fingerprint), words=np.array(words), rows=rows, flat=flat.astype(np.float32),
             seconds=np.array(float(seconds)), ended=np.array(time.time()))
    os.replace(partial, path)


def _read_cache(path, fingerprint):
    """`(predictions, seconds the teacher took)` from a cache of the same fingerprint, else `(None, None)`."""
    if not os.path.exists(path):
        return None, None
    with np.load(path) as stored:
        if str(stored["fingerprint"]) != fingerprint:
            return None, None
        rows, flat, words = stored["rows"], stored["flat"], bool(stored["words"])
        seconds, _ = _labelling(stored)
    if not words:  # sentence distributions: one row each
        return [row for row in flat], seconds
    ends = np.cumsum(rows)
    return [flat[end - count : end] for count, end in zip(rows, ends)], seconds
