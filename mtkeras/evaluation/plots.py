"""Plots of a run: per-task training curves and confusion matrices.

Plots are built on `matplotlib.figure.Figure` alone: no pyplot state and no
backend switch, so they work headless, in threads and in Jupyter, where a
returned figure shows inline.

| function | writes |
|---|---|
| `plot_history` | one figure, a row of panels per task (optionally a PNG) |
| `plot_task_curves` | `<directory>/<task>_curves.png` per task |
| `plot_confusion_matrix` | one heat map (optionally a PNG) |
"""

import io
import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mtkeras.evaluation.history import history_rows, task_curves

# Confusion matrices write every count up to this many labels, the non-zero
# counts up to `_MAX_LABELS_WITH_COUNTS`, and no counts beyond.
_MAX_LABELS_WITH_ZEROS = 12
_MAX_LABELS_WITH_COUNTS = 60



class _ReportFigure(Figure):
    """A `Figure` that Jupyter shows as a PNG even when pyplot was never imported."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def plot_history(history, tasks, path=None):
    """Training and validation curves, one row of panels per task.

    Each row shows the task's `loss`, then its other metrics (`accuracy`,
    a learned `weight`, ...), over the epochs: training as a solid line
    with circles, validation as a dashed line with squares.

    Args:
        history: anything `history_rows` reads.
        tasks: list of str, or of `mtkeras.Task`. One row per task, in order.
        path: str or None. Also save the figure there as a PNG (its folder
            is created).

    Returns:
        `matplotlib.figure.Figure`.

    Example:
    >>> history = model.fit(train_data, validation_data=valid_data, epochs=10)
    >>> figure = plot_history(history, model.tasks, path="runs/nlu/history.png")
    """
    rows = history_rows(history)
    curves = task_curves(rows, tasks)
    epochs = [row["epoch"] for row in rows]
    columns = max(len(metrics) for metrics in curves.values())
    figure = _ReportFigure(figsize=(4.2 * columns, 3.2 * len(curves)), layout="constrained")
    axes = figure.subplots(len(curves), columns, squeeze=False)
    for row_axes, (task, metrics) in zip(axes, curves.items()):
        _draw_task(row_axes, epochs, task, metrics)
        for unused in row_axes[len(metrics):]:
            figure.delaxes(unused)
    if path is not None:
        _save(figure, path)
    return figure


def plot_task_curves(history, tasks, directory):
    """One PNG of curves per task: `<directory>/<task>_curves.png`.

    Args:
        history: anything `history_rows` reads.
        tasks: list of str, or of `mtkeras.Task`.
        directory: str. Where to write (created when missing).

    Returns:
        list of str: the paths written, in the order of `tasks`.

    Example:
    >>> plot_task_curves("runs/nlu/log.csv", ["intent", "slots"], "runs/nlu/plots")
    ['runs/nlu/plots/intent_curves.png', 'runs/nlu/plots/slots_curves.png']
    """
    rows = history_rows(history)
    curves = task_curves(rows, tasks)
    epochs = [row["epoch"] for row in rows]
    paths = []
    for task, metrics in curves.items():
        figure = _ReportFigure(figsize=(4.2 * len(metrics), 3.4), layout="constrained")
        _draw_task(figure.subplots(1, len(metrics), squeeze=False)[0], epochs, task, metrics)
        paths.append(_save(figure, os.path.join(os.fspath(directory), f"{task}_curves.png")))
    return paths


def _draw_task(axes, epochs, task, metrics):
    size = 4 if len(epochs) <= 30 else 2
    for ax, (metric, lines) in zip(axes, metrics.items()):
        if lines["train"] is not None:
            ax.plot(epochs, lines["train"], marker="o", markersize=size, label="train")
        if lines["val"] is not None:
            ax.plot(epochs, lines["val"], marker="s", markersize=size, linestyle="--", label="validation")
        ax.set_title(f"{task}: {metric}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()


def plot_confusion_matrix(labels, matrix, title=None, path=None, normalize=True):
    """A confusion matrix as a heat map with the counts in its cells.

    Rows are gold labels, columns predicted ones (as `evaluate` returns them
    under `confusion`). Fonts shrink and tick labels turn as labels grow;
    every count is written up to 12 labels, the non-zero ones up to 60, none
    beyond (the colours remain).

    Args:
        labels: list of str. The row and column names.
        matrix: `[len(labels), len(labels)]` non-negative integer counts
            (nested lists or an array).
        title: str or None. The figure's title.
        path: str or None. Also save the figure there as a PNG.
        normalize: bool. Colour each cell by its share of its row (the
            gold label's examples; recall on the diagonal) rather than by
            its count. The cells show counts either way.

    Returns:
        `matplotlib.figure.Figure`.

    Example:
    >>> confusion = mtkeras.evaluate(model, test_data)["intent"]["confusion"]
    >>> figure = plot_confusion_matrix(confusion["labels"], confusion["matrix"], title="intent")
    """
    labels, counts = _check_confusion(labels, matrix)
    if not isinstance(normalize, bool):
        raise ValueError(
            "plot_confusion_matrix: `normalize` must be True or False. "
            f"Received: normalize={normalize!r}"
        )
    size = len(labels)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        shades = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        top, bar_label = 1.0, "share of the gold label's examples"
    else:
        shades = counts.astype(np.float64)
        top, bar_label = max(float(counts.max(initial=0)), 1.0), "examples"
    longest = max((len(label) for label in labels), default=1)
    side = min(max(4.5, 0.38 * size + 0.07 * min(longest, 40) + 2.5), 40.0)
    figure = _ReportFigure(figsize=(side + 1.2, side), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(shades, cmap="Blues", vmin=0.0, vmax=top, interpolation="nearest")
    figure.colorbar(image, ax=ax, shrink=0.8, label=bar_label)
    # The figure grows with the labels (cells of about 0.38 inch), so fonts shrink only a little.
    font = 10 if size <= 12 else 8 if size <= 30 else 7 if size <= _MAX_LABELS_WITH_COUNTS else 6
    ticks = range(size)
    ax.set_xticks(ticks, labels, fontsize=font, rotation=45 if size <= 20 else 90,
                  ha="right" if size <= 20 else "center", rotation_mode="anchor" if size <= 20 else "default")
    ax.set_yticks(ticks, labels, fontsize=font)
    ax.set_xlabel("predicted", fontsize=12)
    ax.set_ylabel("gold", fontsize=12)
    if title is not None:
        ax.set_title(str(title), fontsize=13)
    if size <= _MAX_LABELS_WITH_COUNTS:
        for row in range(size):
            for column in range(size):
                count = int(counts[row, column])
                if count == 0 and size > _MAX_LABELS_WITH_ZEROS:
                    continue
                dark = shades[row, column] > 0.5 * top
                ax.text(column, row, str(count), ha="center", va="center", fontsize=font,
                        color="white" if dark else "black")
    if path is not None:
        _save(figure, path)
    return figure


def _check_confusion(labels, matrix):
    if isinstance(labels, str) or not isinstance(labels, (list, tuple)) or not labels:
        raise ValueError(
            "plot_confusion_matrix: `labels` must be a non-empty list of str. "
            f"Received: labels={labels!r:.200}"
        )
    labels = [str(label) for label in labels]
    try:
        counts = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "plot_confusion_matrix: `matrix` must be a square table of counts. "
            f"Received: matrix={matrix!r:.200}"
        ) from None
    if counts.shape != (len(labels), len(labels)):
        raise ValueError(
            f"plot_confusion_matrix: `matrix` must be {len(labels)} x {len(labels)} (one row and column per "
            f"label). Received: matrix of shape {counts.shape}"
        )
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(
            "plot_confusion_matrix: `matrix` must hold non-negative integer counts. "
            f"Received: matrix={matrix!r:.200}"
        )
    return labels, counts.astype(np.int64)


def _save(figure, path):
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path
