"""`model.fit` on mtkeras' training streams: it returns when its last epoch ends.

A MiniLM fit of 100 steps on SNIPS returned 23-40 s after its last step in
half the runs: deleting the stream's iterator waited for tf.data's autotuning
thread (see `mtkeras.data.pipeline._stream_options`). Tiny fits do not show
the wait (the thread's period is still short), so the test checks both the
cause (no autotuning on mtkeras' streams) and the effect on short fits.
"""

import time

import keras

import mtkeras
from helpers.data import tiny_examples
from helpers.models import build_tiny_model


class LastStep(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.at = time.perf_counter()


def seconds_after_last_step(model, data, **fit_options):
    last = LastStep()
    model.fit(data, callbacks=[last], verbose=0, **fit_options)
    return time.perf_counter() - last.at


def test_fit_returns_when_its_last_step_ends_on_one_stream_and_on_a_mixed_one():
    examples = tiny_examples() * 8
    model = build_tiny_model()
    model.compile(optimizer="adam")
    tasks = model.tasks
    single = mtkeras.data.make_dataset(examples, tasks, batch_size=4, shuffle=True, seed=0)
    valid = mtkeras.data.make_dataset(examples[:8], tasks, batch_size=4)
    # The first fit traces the step: its time after the last step is measured too, but on the later ones.
    gaps = [seconds_after_last_step(model, single, epochs=2, validation_data=valid) for _ in range(2)]
    sources = {"assistant": [ex for ex in examples if "intent" in ex.labels],
               "feedback": [ex for ex in examples if "sentiment" in ex.labels]}
    mixed = mtkeras.data.mix_datasets(sources, tasks, batch_size=4, seed=0)
    gaps += [seconds_after_last_step(model, mixed, epochs=2, validation_data=valid) for _ in range(2)]
    # The wait reported was tens of seconds; a second is far above the 0.01 s measured here.
    assert max(gaps) < 1.0, gaps
    for stream in (single, valid, mixed):
        assert stream.options().autotune.enabled is False
