"""Model selection on a validation split with mtkeras' own evaluation."""

import logging

import keras

logger = logging.getLogger("mtkeras")


class BestEpoch(keras.callbacks.Callback):
    """Keeps the weights of the epoch that scores best on validation data.

    After each epoch, `score_fn(model)` returns a dict of validation metrics
    (for example from `mtkeras.evaluate`); `monitor` names the one to
    maximise. The scores are added to the epoch's logs as `val_<name>`. Stops
    training after `patience` epochs without improvement (None: never) and
    restores the best weights at the end.

    Args:
        score_fn: callable taking the model, returning a flat dict of floats.
        monitor: str. Key of the score to maximise.
        patience: int or None. Epochs without improvement before stopping.

    Example:
    >>> best = BestEpoch(lambda m: flat_scores(mtkeras.evaluate(m, valid)), "sentence_accuracy")
    >>> model.fit(train, epochs=30, callbacks=[best])
    """

    def __init__(self, score_fn, monitor, patience=None):
        super().__init__()
        self.score_fn = score_fn
        self.monitor = monitor
        self.patience = patience
        self.best = None
        self.best_epoch = None
        self.history = []
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        scores = self.score_fn(self.model)
        if self.monitor not in scores:
            raise KeyError(f"BestEpoch: monitor {self.monitor!r} not among the scores {sorted(scores)}")
        self.history.append(scores)
        if logs is not None:
            logs.update({f"val_{key}": value for key, value in scores.items()})
        if self.best is None or scores[self.monitor] > self.best:
            self.best, self.best_epoch = scores[self.monitor], epoch
            self._best_weights = self.model.get_weights()
        elif self.patience is not None and epoch - self.best_epoch >= self.patience:
            logger.info("BestEpoch: no improvement in %s for %d epochs; stopping", self.monitor, self.patience)
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)
            logger.info("BestEpoch: restored epoch %d (%s=%.4f)", self.best_epoch + 1, self.monitor, self.best)


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the first epoch that ends past `seconds`.

    Args:
        seconds: float. Training time allowed, from the start of `fit`.
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.elapsed = 0.0

    def on_train_begin(self, logs=None):
        import time

        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        import time

        self.elapsed = time.perf_counter() - self._start
        if self.elapsed > self.seconds:
            logger.info("TimeBudget: %.0f s spent (budget %.0f s); stopping", self.elapsed, self.seconds)
            self.model.stop_training = True
