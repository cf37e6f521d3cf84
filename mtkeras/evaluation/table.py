"""The results of `mtkeras.evaluate` as a text table."""

import math

import numpy as np


# Nested entries of a task's results the table leaves out (`per_type` comes
# after the task's rows as a table of its own, `errors` as two summary lines).
_NOT_IN_TABLE = ("per_type", "confusion", "errors")


def format_table(results):
    """The results of `evaluate` as a text table (task, metric, value); no confusion matrices.

    A token task's rows are followed by its per-type table and, when it has
    errors, a line of entity error counts and one of its most confused types.
    """
    lines = [f"{'task':<20} {'metric':<18} {'value':>8}"]
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            lines.append(f"{'(all tasks)':<20} {task:<18} {_number(metrics):>8}")
            continue
        first = True
        for metric, value in metrics.items():
            if metric in _NOT_IN_TABLE:
                continue
            lines.append(f"{task if first else '':<20} {metric:<18} {_number(value):>8}")
            first = False
        per_type = metrics.get("per_type")
        if per_type:
            lines.append(f"{'':<20}   {'type':<16} {'precision':>9} {'recall':>8} {'f1':>8} {'support':>8}")
            for kind, row in per_type.items():
                lines.append(
                    f"{'':<20}   {kind:<16} {_number(row['precision']):>9} {_number(row['recall']):>8} "
                    f"{_number(row['f1']):>8} {row['support']:>8}"
                )
        errors = metrics.get("errors")
        if isinstance(errors, dict) and any(errors.get(key) for key in _ERROR_KINDS):
            entities = sum(errors[key] for key in ("correct", *_ERROR_KINDS[:-1]))
            counts = ", ".join(f"{key.replace('_', ' ')} {errors[key]}" for key in _ERROR_KINDS[:-1])
            lines.append(
                f"{'':<20}   entities: {entities} gold, {errors['correct']} right, {counts}; "
                f"{errors['spurious']} predicted where there is none"
            )
            if errors["confusions"]:
                confused = ", ".join(f"{gold} as {pred} {n}" for gold, pred, n in errors["confusions"][:5])
                lines.append(f"{'':<20}   most confused types: {confused}")
    return "\n".join(lines)


_ERROR_KINDS = ("wrong_type", "wrong_span", "missed", "spurious")


def _number(value):
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "nan" if math.isnan(value) else f"{value:.4f}"
