"""One number per text: a rating, a similarity, a score."""

import numpy as np

from mtkeras import names, results
from mtkeras.lazy import lazy_module
from mtkeras.tasks.base import PairOption, Task, TaskOptions
from mtkeras.tasks.registry import register_task_kind
from mtkeras.tasks.scores import pearson, spearman

heads = lazy_module("mtkeras.heads")
losses = lazy_module("mtkeras.tasks.losses")
metrics = lazy_module("mtkeras.tasks.metrics")


class RegressionOptions(TaskOptions, PairOption):
    pass


@register_task_kind
class Regression(Task):
    """One real value per text, trained with squared error.

    Model output `[B]`. Data: a number per example (a float, or a string such
    as "3.5" from a file). Exported: `<name>_value` (float32 `[B]`).
    Evaluation reports Pearson and Spearman correlations.

    Example:
    >>> rating = Regression("rating", loss_weight=0.5)
    """

    kind = "regression"
    logged_metrics = ("mae", "pearson", "loss")
    score_metric = "pearson"
    result_format = results.VALUE
    Options = RegressionOptions

    def build_head(self):
        return heads.RegressionHead(dropout=self.dropout, pair=self.pair, name=self.name)

    def loss(self):
        return losses.MaskedMeanSquaredError(name=f"{self.name}_loss")

    def metrics(self):
        return [metrics.MaskedMeanAbsoluteError(name="mae"), metrics.MaskedPearson(name="pearson"), *super().metrics()]

    def encode(self, value, num_words, source="", unknown="raise"):
        if value is None:
            return np.float32(0.0), np.float32(0.0)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not np.isfinite(number):
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}task {self.name!r} needs a finite number. Received: {value!r}")
        return np.float32(number), np.float32(1.0)

    def export_outputs(self, value, lengths):
        return {names.value_key(self.name): value}

    def predict_items(self, outputs, lengths, decode=True):
        return list(np.asarray(outputs, dtype=np.float64))

    def score_items(self, items):
        gold, pred = np.asarray(items.gold, np.float64), np.asarray(items.pred, np.float64)
        return {
            "examples": len(gold),
            "pearson": pearson(gold, pred),
            "spearman": spearman(gold, pred),
            "mae": float(np.mean(np.abs(gold - pred))) if len(gold) else float("nan"),
            "mse": float(np.mean((gold - pred) ** 2)) if len(gold) else float("nan"),
        }
