"""Checks an export through TF Serving's loading path before it is published."""

import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.export.bundle import PYTHON_OPS, SavedModelBundle, graph_op_types, read_meta_graph
from mtkeras.export.warmup import request_inputs


class ExportError(Exception):
    """An export that TF Serving's loader would refuse, or that answers differently there."""


def verify_export(export_path, requests, reference=None, tolerance=1e-4):
    """Checks that `export_path` answers `requests` through TF Serving's loader, as `reference` does.

    Every request must answer; the one with the most texts of each signature
    must answer what `reference` answers.

    Args:
        export_path: str. A SavedModel folder.
        requests: list of `PredictionLog`s with predict requests (warmup
            records).
        reference: callable or None. `reference(signature_name, inputs)`,
            with `inputs` a dict of alias -> np.ndarray, returns the expected
            outputs as a dict of alias -> array; None checks only that every
            request answers.
        tolerance: float. Largest absolute or relative difference of a float
            output; strings and integers must be equal.

    Raises:
        ExportError: a Python-calling op, a load or run failure of the
            session loader, or an output that differs.
    """
    python_ops = sorted(graph_op_types(read_meta_graph(export_path)) & PYTHON_OPS)
    if python_ops:
        raise ExportError(
            f"{export_path}: the graph holds {python_ops}, which call back into Python; "
            "no model server can run them. Write that step with TensorFlow ops."
        )
    try:
        bundle = SavedModelBundle(export_path)
    except tf.errors.OpError as error:
        raise ExportError(f"{export_path}: TF Serving's loader fails on this export: {error.message}") from error
    decoded = [request_inputs(log.predict_log.request) for log in requests]
    largest = {}  # signature -> (index, texts) of its last request with the most texts
    for index, (signature, inputs) in enumerate(decoded):
        texts = len(inputs.get(names.TEXT, ()))
        if texts >= largest.get(signature, (None, -1))[1]:
            largest[signature] = (index, texts)
    compared = {index for index, _ in largest.values()} if reference else set()
    with bundle:
        for index, (signature, inputs) in enumerate(decoded):
            try:
                served = bundle.run(signature, inputs)
            except tf.errors.OpError as error:
                raise ExportError(
                    f"{export_path}: warmup request {index} ({signature}) fails through TF Serving's loader, "
                    f"so TF Serving would not load this version: {error.message}"
                ) from error
            for alias, want in (reference(signature, inputs) if index in compared else {}).items():
                difference = _difference(served[alias], np.asarray(want), tolerance)
                if difference:
                    raise ExportError(
                        f"{export_path}: output {alias!r} of warmup request {index} ({signature}) differs "
                        f"between TF Serving's loader and the model in memory: {difference}"
                    )


def _difference(got, want, tolerance):
    """What differs between two outputs, or "" when they agree."""
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if want.dtype.kind == "f":
        if not np.allclose(got, want, rtol=tolerance, atol=tolerance, equal_nan=True):
            return f"largest difference {np.nanmax(np.abs(got.astype(np.float64) - want)):.3g}"
        return ""
    if not np.array_equal(got, want):
        return f"{got.ravel()[:5]!r} != {want.ravel()[:5]!r}"
    return ""
