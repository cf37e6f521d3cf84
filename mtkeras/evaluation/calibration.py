"""Fitting each task's calibration on the dev split after training (`mtkeras train` calls it).

Sentence tasks get a temperature (their scores become calibrated; labels do
not change), token tasks an outside weight (the "O" tag's probability is
scaled before decoding, for the best entity F1). The math is in
`mtkeras.tasks.calibration`; this runs the model over the dev texts once and
stores what it fits in each task, so the saved model and its export use it.
"""

import keras
import numpy as np

from mtkeras.evaluation.evaluator import collect_items
from mtkeras.names import TOKEN
from mtkeras.tasks.calibration import (
    expected_calibration_error,
    fit_outside_weight,
    fit_temperature,
    with_temperature,
)

# Fewer labelled dev texts than this and a task's calibration stays as it is: too little to fit on.
MIN_TEXTS = 20


def _fits_temperature(task):
    return task.level != TOKEN and getattr(task, "calibrate", False)


def fits_outside_weight(task):
    """Whether `task` is a token task whose outside weight is fitted on dev (`fit_outside_weight`)."""
    return task.level == TOKEN and getattr(task, "fit_outside_weight", False) and task.outside is not None


def calibrate(model, examples):
    """Fits and sets each task's calibration on `examples` (the dev split).

    Returns `{task: fitted}` for the tasks fitted: sentence tasks
    `{"temperature", "ece_before", "ece_after", "texts"}`, token tasks
    `{"outside_weight", "f1_before", "f1_after", "texts"}` (entity F1 with
    the weight the task had, and with the fitted one).
    """
    tasks = [task for task in model.tasks if _fits_temperature(task) or fits_outside_weight(task)]
    if not tasks or not examples:
        return {}
    # Argmax tags while collecting: a token task's fit decodes its probabilities again at each weight.
    items, _, _ = collect_items(model, examples, decode=False)
    fitted = {}
    for task in tasks:
        task_items = items[task.name]
        if _fits_temperature(task):
            known = [i for i, gold in enumerate(task_items.gold) if gold >= 0]
            if len(known) < MIN_TEXTS:
                continue
            probs = np.asarray([task_items.probs[i] for i in known])
            gold = [task_items.gold[i] for i in known]
            before = expected_calibration_error(with_temperature(probs, task.temperature), gold)
            task.temperature = fit_temperature(probs, gold)
            fitted[task.name] = {
                "temperature": round(task.temperature, 4),
                "ece_before": before,
                "ece_after": expected_calibration_error(with_temperature(probs, task.temperature), gold),
                "texts": len(gold),
            }
        elif len(task_items.gold) >= MIN_TEXTS:
            fitted[task.name] = _fit_outside(task, task_items)
    return fitted


def _fit_outside(task, items):
    """Sets `task.outside_weight` to the weight of the best entity F1 on `items`; returns what was fitted."""
    fitted = _best_outside(task, items)
    task.outside_weight = fitted["outside_weight"]
    return fitted


def _best_outside(task, items):
    """The outside weight of the best entity F1 on `items`, and the F1 before and after; `task` is left as it was."""
    lengths = np.array([len(probs) for probs in items.probs], np.int32)
    padded = np.zeros([len(lengths), max(1, int(lengths.max(initial=0))), task.num_labels], np.float32)
    for i, probs in enumerate(items.probs):
        padded[i, : len(probs)] = probs
    before = task.outside_weight

    score = task.entity_f1_of(items)

    def f1(weight):
        task.outside_weight = weight
        return score(task.predict_items(padded, lengths))

    try:
        weight, scores = fit_outside_weight(f1)
        f1_before = scores[before] if before in scores else f1(before)
    finally:
        task.outside_weight = before
    return {"outside_weight": weight, "f1_before": f1_before, "f1_after": scores[weight], "texts": len(lengths)}


class FittedDecisionScores(keras.callbacks.Callback):
    """Scores each epoch's token tasks on dev as the finished model will decide: under a fitted outside weight.

    Training ends by fitting each token task's outside weight on the dev
    split (`calibrate`), so the model is served with the weight that gives
    its best entity F1 there. The epoch it keeps should be picked by that
    score too: a tagger's entity F1 at weight 1 moves with how many words it
    dares to tag, which changes over training (a student learning from soft
    targets tags fewer and fewer) while its entity F1 at its own best weight
    does not. After each epoch this runs the model over the dev texts
    labelled for such tasks, fits each one's weight as `calibrate` would
    (the task keeps its own), and logs `val_<task>_f1_fitted` and
    `val_<task>_outside_weight`; `val_score` becomes the mean of the tasks'
    scores with the fitted F1 in place of the logged one
    (`MultiTaskModel.relative_score`). Put it
    before the callbacks that read `val_score` (`WindowMean`, checkpoints).

    Args:
        examples: list of `Example`. The dev split.

    Example:
    >>> model.fit(train, validation_data=valid, epochs=10,
    ...           callbacks=[FittedDecisionScores(valid_examples), keras.callbacks.ModelCheckpoint(...)])
    """

    def __init__(self, examples):
        super().__init__()
        self.examples = list(examples)
        self._tasks, self._texts = [], []

    def on_train_begin(self, logs=None):
        self._tasks = [task for task in self.model.tasks if fits_outside_weight(task)]
        names = {task.name for task in self._tasks}
        self._texts = [example for example in self.examples if names & set(example.labels)]

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self._texts:
            return
        items, _, _ = collect_items(self.model, self._texts, decode=False)
        for task in self._tasks:
            if len(items[task.name].gold) >= MIN_TEXTS:
                fitted = _best_outside(task, items[task.name])
                logs[f"val_{task.name}_{task.score_metric}_fitted"] = fitted["f1_after"]
                logs[f"val_{task.name}_outside_weight"] = fitted["outside_weight"]
        scores = {task.name: logs.get(f"val_{task.name}_{task.score_metric}_fitted",
                                      logs.get(f"val_{task.name}_{task.score_metric}")) for task in self.model.tasks}
        if "val_score" in logs and None not in scores.values():
            logs["val_score"] = float(self.model.relative_score({task: float(v) for task, v in scores.items()}))
