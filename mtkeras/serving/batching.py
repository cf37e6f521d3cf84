"""Server-side batching: concurrent requests run as one call of the model.

TF Serving's batching session merges concurrent `Session::Run` calls; this is
the same idea one level up. Each request's input tensors are concatenated
along the first dimension with the other queued requests' (same model version,
same signature), the signature runs once, and each request receives its own
rows of every output. Outputs keep the merged batch's other dimensions (for
mtkeras models: token outputs padded to the longest text in the batch), as in
TF Serving; `lengths` says where each text's words end.
"""

import collections
import threading
import time

import grpc
import numpy as np

from mtkeras.serving.errors import RequestError


class _Task:
    __slots__ = ("inputs", "rows", "enqueued", "done", "outputs", "error")

    def __init__(self, inputs, rows):
        self.inputs = inputs
        self.rows = rows
        self.enqueued = time.monotonic()
        self.done = threading.Event()
        self.outputs = None
        self.error = None


class Batcher:
    """Queues requests for one function and runs them in merged batches.

    Args:
        run: callable. Takes `{name: np.ndarray}` (all with the same first
            dimension) and returns `{name: np.ndarray}` with that first
            dimension; raises `RequestError` for a bad batch.
        options: `BatchingOptions`.
        name: str. For thread names.
    """

    def __init__(self, run, options, name="batcher"):
        self._run = run
        self._options = options
        self._queue = collections.deque()
        self._queued_rows = 0
        self._max_queued_rows = options.max_enqueued_batches * options.max_batch_size
        self._condition = threading.Condition()
        self._closed = False
        # How many merged calls ran, and the requests in them (for metrics).
        self.batches_run = 0
        self.requests_run = 0
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
            for i in range(options.num_batch_threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, inputs, rows):
        """Runs `inputs` (with `rows` rows) in some batch; blocks until its outputs are ready."""
        if rows == 0 or rows > self._options.max_batch_size:
            return self._run(inputs)
        task = _Task(inputs, rows)
        with self._condition:
            if self._closed:
                run_alone = True
            else:
                run_alone = False
                if self._queued_rows + rows > self._max_queued_rows:
                    raise RequestError(
                        grpc.StatusCode.UNAVAILABLE,
                        "The batch scheduling queue to which this task was submitted is full",
                    )
                self._queue.append(task)
                self._queued_rows += rows
                self._condition.notify()
        if run_alone:
            return self._run(inputs)
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.outputs

    def close(self):
        """Stops taking requests once the queued ones are done; later submits run alone."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    # === Batch threads ===

    def _take_batch(self):
        """The next batch of tasks, or None once closed and drained."""
        timeout = self._options.batch_timeout_micros / 1e6
        limit = self._options.max_batch_size
        with self._condition:
            while not self._queue:
                if self._closed:
                    return None
                self._condition.wait()
            while self._queued_rows < limit and not self._closed:
                # The oldest queued request sets the deadline (it may have
                # changed while this thread waited).
                remaining = self._queue[0].enqueued + timeout - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
                if not self._queue:  # another batch thread took them
                    return []
            batch, rows = [], 0
            while self._queue and rows + self._queue[0].rows <= limit:
                task = self._queue.popleft()
                batch.append(task)
                rows += task.rows
            self._queued_rows -= rows
            if self._queue:
                self._condition.notify()  # another batch thread can take the rest
            return batch

    def _loop(self):
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch):
        with self._condition:
            self.batches_run += 1
            self.requests_run += len(batch)
        try:
            if len(batch) == 1:
                batch[0].outputs = self._run(batch[0].inputs)
            else:
                merged = {name: np.concatenate([task.inputs[name] for task in batch]) for name in batch[0].inputs}
                outputs = self._run(merged)
                start = 0
                for task in batch:
                    end = start + task.rows
                    task.outputs = {name: value[start:end] for name, value in outputs.items()}
                    start = end
        except RequestError as error:
            if len(batch) == 1:
                batch[0].error = error
            else:
                # One bad request must not fail the others: run each alone.
                for task in batch:
                    try:
                        task.outputs = self._run(task.inputs)
                    except Exception as task_error:  # reported to its own caller
                        task.error = task_error
        except Exception as error:
            for task in batch:
                task.error = error
        finally:
            for task in batch:
                task.done.set()
