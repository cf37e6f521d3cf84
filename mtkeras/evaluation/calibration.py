"""Fitting each sentence task's temperature on the dev split after training (`mtkeras train` calls it).

The math (temperature scaling, expected calibration error) is in
`mtkeras.tasks.calibration`; this runs the model over the dev texts and
stores the fitted temperature in each task.
"""

import numpy as np

from mtkeras import names
from mtkeras.tasks.calibration import expected_calibration_error, fit_temperature, with_temperature

# Fewer labelled dev texts than this and the temperature stays as it is: too little to fit on.
MIN_TEXTS = 20


def _probabilities(model, examples):
    texts = [example.text for example in examples]
    if any(task.pair for task in model.tasks):
        pairs = [" ".join(example.pair) if example.pair else "" for example in examples]
        return model.predict({names.TEXT: texts, names.TEXT_PAIR: pairs}, verbose=0)
    return model.predict(texts, verbose=0)


def calibrate(model, examples):
    """Fits and sets each calibrated sentence task's temperature on `examples` (the dev split).

    Returns `{task: {"temperature", "ece_before", "ece_after", "texts"}}` for
    the tasks fitted.
    """
    tasks = [task for task in model.tasks if getattr(task, "calibrate", False)]
    if not tasks or not examples:
        return {}
    outputs = _probabilities(model, examples)
    fitted = {}
    for task in tasks:
        rows, gold = [], []
        for i, example in enumerate(examples):
            label = example.labels.get(task.name)
            if label is not None and label in task.labels:
                rows.append(i)
                gold.append(task.labels.index(label))
        if len(gold) < MIN_TEXTS:
            continue
        probs = np.asarray(outputs[task.name])[rows]
        before = expected_calibration_error(with_temperature(probs, task.temperature), gold)
        task.temperature = fit_temperature(probs, gold)
        fitted[task.name] = {
            "temperature": round(task.temperature, 4),
            "ece_before": before,
            "ece_after": expected_calibration_error(with_temperature(probs, task.temperature), gold),
            "texts": len(gold),
        }
    return fitted
