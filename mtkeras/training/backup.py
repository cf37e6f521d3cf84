"""Backups inside an epoch: a killed run loses at most a few batches, not the epoch.

Keras' `BackupAndRestore` backs a run up at the end of each epoch, and its
`save_freq` backs up inside one but starts that epoch again from its first
batch when restored (the batches before the kill are trained twice). An epoch
of a pretrained encoder on a large dataset lasts tens of minutes on a CPU.
`MidEpochBackup` writes, every `every` batches, into one of two slots (`a`,
`b`; the one the record does not name):

- `batch-<slot>.weights.h5`: the model's and the optimizer's variables
  (Keras' `save_weights`; the optimizer's step counter drives the
  learning-rate schedule and teacher annealing);
- `batch-<slot>.npz`: what `save_weights` leaves out: the epoch's running
  metrics (the epoch's logged training loss and scores average all its
  batches) and the random generators' states (dropout);

and then `batch.json`, whole (a rename): the slot, the epoch (0-based), how
many of its batches are done, the optimizer's step count and the seconds of
the epoch so far. A kill at any moment leaves the record naming a complete
backup: the new one, or the one before.

A resumed run (`mtkeras.runs.train`) reads `read_backup`, starts its stream
that many batches into the epoch (`training_stream(initial_batch=...)`, whose
epochs are each their seed's), trains the rest of the epoch, and goes on from
the next epoch as after any epoch's backup. With the same stream, an
unbroken and a resumed run train on the same batches, in the same order.

The epoch's end removes the files (Keras' backup of the whole epoch takes
over) and writes the random generators' states (`random-<epoch>.npz`), so a
run resumed at an epoch's start draws the dropout an unbroken run draws.
"""

import json
import os

import keras
import numpy as np

from mtkeras.files import write_whole

RECORD = "batch.json"
SLOTS = ("a", "b")


def _weights(folder, slot):
    return os.path.join(folder, f"batch-{slot}.weights.h5")


def _states(folder, slot):
    return os.path.join(folder, f"batch-{slot}.npz")


def _random(folder, epoch):
    return os.path.join(folder, f"random-{epoch}.npz")


def read_backup(folder, epoch):
    """`{"slot", "epoch", "batches", "iterations", "seconds"}` of the backup in `folder` inside epoch `epoch`
    (0-based, the epoch a resumed run trains first), or None: no backup, or one of another epoch (the epoch
    ended before the kill, and Keras' backup holds it)."""
    path = os.path.join(folder, RECORD)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    if not {"slot", "iterations"} <= set(record):  # the first form of these backups (one slot): not resumable
        return None
    return record if record.get("epoch") == epoch and record.get("batches", 0) > 0 else None


def _random_variables(model):
    """The random generators' state variables (Keras' `SeedGenerator`s): `save_weights` does not keep them."""
    return [v for v in model.non_trainable_variables if v.path.endswith("seed_generator_state")]


def _save_arrays(path, variables):
    """Writes the variables' values to `path` whole or not at all (metrics are `SyncOnRead` under a
    `MirroredStrategy`: reading the variable gives their value summed over replicas)."""
    partial = f"{path}.partial.npz"
    np.savez(partial, **{f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(variables)})
    os.replace(partial, path)


def _load_arrays(path, variables):
    """Assigns the values `_save_arrays` wrote, in the variables' order (their paths carry counters of the
    process that made them); False (nothing assigned) when their number or shapes differ."""
    with np.load(path) as saved:
        values = [saved[f"v{i}"] for i in range(len(saved.files))]
    if [value.shape for value in values] != [tuple(v.shape) for v in variables]:
        return False
    for value, variable in zip(values, variables):
        variable.assign(value)
    return True


class MidEpochBackup(keras.callbacks.Callback):
    """Backs the run up every `every` batches inside an epoch (see the module); restores `resume`.

    Put it after `keras.callbacks.BackupAndRestore`: that one restores the
    epoch's start first and this one the batches after it, and this one
    removes its files only once Keras has backed the whole epoch up. No
    backup is made at an epoch's last batch (the epoch's own follows).

    Args:
        folder: str. The backup folder (each worker's own under a
            multi-worker strategy: every worker backs up at the same batch).
        every: int or None. Batches between backups; None or 0: none inside
            an epoch (the random states are still kept at epoch ends).
        resume: dict or None. `read_backup`'s record, for the `fit` that
            trains the rest of that epoch: restored at its start.
        clock: `TrainingClock` or None. Its running epoch share is kept in
            the record, and given back to it on resume
            (`TrainingClock.carry`).

    Example:
    >>> backup = MidEpochBackup("runs/x/backup", every=200)
    >>> model.fit(data, epochs=3, callbacks=[keras.callbacks.BackupAndRestore("runs/x/backup"), backup])
    """

    def __init__(self, folder, every=None, resume=None, clock=None):
        super().__init__()
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 0):
            raise ValueError(f"Received an invalid `every`, expected a non-negative integer or None. Received: {every!r}")
        self.folder = folder
        self.every = every or None
        self.resume = resume
        self.clock = clock
        self._epoch = self._first_epoch = None
        self._offset = 0  # batches of the current epoch trained before this fit (a resumed epoch)
        self._slot = resume["slot"] if resume else None  # the slot the record names

    def on_train_begin(self, logs=None):
        self._epoch = self._first_epoch = None
        self._offset = 0
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            # As Keras' BackupAndRestore does: the optimizer's variables must exist to be loaded (a run killed
            # in its first epoch has no Keras backup that would have built them).
            optimizer.build(self.model.trainable_variables)
        if self.resume:
            self.model.load_weights(_weights(self.folder, self.resume["slot"]))
            steps = int(keras.ops.convert_to_numpy(optimizer.iterations)) if optimizer is not None else None
            if steps is not None and steps != self.resume["iterations"]:
                raise ValueError(f"{_weights(self.folder, self.resume['slot'])}: the optimizer restored has taken "
                                 f"{steps} steps, the backup's record {self.resume['iterations']}")
            if self.clock is not None:
                self.clock.carry(self.resume.get("seconds") or 0.0)
            return
        epoch = getattr(self.model, "_initial_epoch", None)  # where Keras' backup resumes the run
        if epoch:
            path = _random(self.folder, epoch)
            if not (os.path.exists(path) and _load_arrays(path, _random_variables(self.model))):
                print(f"[mtkeras] {path}: no random states for epoch {epoch + 1} (killed while backing up "
                      f"epoch {epoch}, or begun before mtkeras kept them): dropout after this resume differs from "
                      "an unbroken run's", flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self._first_epoch is None:
            self._first_epoch = epoch
            if self.resume:
                self._offset = self.resume["batches"]
                # After Keras reset them: the running metrics of the batches before the kill, and the random states.
                path = _states(self.folder, self.resume["slot"])
                if not _load_arrays(path, list(self.model.metrics_variables) + _random_variables(self.model)):
                    raise ValueError(f"{path}: the backup's variables are not this model's (its metrics must be "
                                     "built before `fit`, e.g. by one `evaluate` step)")
        else:
            self._offset = 0

    def on_train_batch_end(self, batch, logs=None):
        done = self._offset + batch + 1
        steps = (self.params or {}).get("steps")  # this fit's batches an epoch (a resumed epoch: the rest)
        last = steps is not None and done >= self._offset + steps
        if self.every and done % self.every == 0 and not last:
            self._save(done)

    def _save(self, done):
        os.makedirs(self.folder, exist_ok=True)
        slot = SLOTS[1] if self._slot == SLOTS[0] else SLOTS[0]  # not the one the record names
        weights = _weights(self.folder, slot)
        self.model.save_weights(f"{weights}.partial.weights.h5", overwrite=True)
        os.replace(f"{weights}.partial.weights.h5", weights)
        _save_arrays(_states(self.folder, slot), list(self.model.metrics_variables) + _random_variables(self.model))
        seconds = self.clock.running() if self.clock is not None else None
        iterations = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        write_whole(os.path.join(self.folder, RECORD), json.dumps(
            {"slot": slot, "epoch": self._epoch, "batches": done, "iterations": iterations, "seconds": seconds}))
        self._slot = slot

    def on_epoch_end(self, epoch, logs=None):
        names = [RECORD] + [os.path.basename(path(self.folder, slot)) for slot in SLOTS for path in (_weights, _states)]
        names += [name for name in os.listdir(self.folder) if name.startswith("random-")] \
            if os.path.isdir(self.folder) else []
        for name in names:
            path = os.path.join(self.folder, name)
            if os.path.exists(path):
                os.remove(path)
        self._slot = None
        os.makedirs(self.folder, exist_ok=True)
        _save_arrays(_random(self.folder, epoch + 1), _random_variables(self.model))
