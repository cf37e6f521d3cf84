"""One loaded version of one model, answering Predict as TF Serving does."""

import functools
import logging

import grpc
import numpy as np
import tensorflow as tf

from mtkeras import names
from mtkeras.export import SavedModelBundle, read_warmup_records
from mtkeras.serving.batching import Batcher
from mtkeras.serving.errors import RequestError, status_from_tf_error

logger = logging.getLogger(__name__)

def _shape_string(shape):
    """`[?,3]` for TensorShape([None, 3]), as TensorFlow prints shapes."""
    if shape.rank is None:
        return "<unknown>"
    return "[" + ",".join("?" if dim is None else str(dim) for dim in shape.as_list()) + "]"


def _check_text_count(alias, count, limits):
    if count > limits.max_texts_per_request:
        raise RequestError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Input {alias} holds {count} texts; this server takes at most "
            f"{limits.max_texts_per_request} per request (max_texts_per_request). Split the request.",
        )


def check_limits(alias, array, limits):
    """Raises INVALID_ARGUMENT if input `alias` holds more texts or longer texts than `limits` allow."""
    if array.ndim:
        _check_text_count(alias, array.shape[0], limits)
    if array.dtype == object:
        for index, value in enumerate(array.ravel()):
            if len(value) > limits.max_text_bytes:
                raise RequestError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Input {alias}[{index}] is {len(value)} bytes; this server takes at most "
                    f"{limits.max_text_bytes} bytes per text (max_text_bytes).",
                )


class Servable:
    """A SavedModel version, immutable once loaded, shared by every request thread.

    Args:
        name: str. Model name.
        version: int. Version number.
        export_path: str. The version's folder.
        limits: `ServingLimits`.
        batching: `BatchingOptions` or None.
    """

    def __init__(self, name, version, export_path, limits, batching=None):
        self.name = name
        self.version = version
        self.export_path = export_path
        self.limits = limits
        # As TF Serving's SavedModelBundle: restore op, init op, tensors by
        # name. What loads and answers here, the official server loads too.
        self._bundle = SavedModelBundle(export_path)
        self.signature_defs = self._bundle.signature_defs
        self._batchers = {}
        if batching is not None:
            for key, signature in self.signature_defs.items():
                if self._batchable(signature):
                    # The batch thread holds the bundle, not this Servable: no
                    # reference cycle keeps an unloaded version's session alive.
                    self._batchers[key] = Batcher(
                        functools.partial(run_signature, self._bundle, key), batching, name=f"{name}-{version}-{key}"
                    )

    @staticmethod
    def _batchable(signature):
        """Every input has a free first (batch) dimension."""
        if signature is None or not signature.inputs:
            return False
        for info in signature.inputs.values():
            dims = info.tensor_shape.dim
            if info.tensor_shape.unknown_rank or not dims or dims[0].size != -1:
                return False
        return True

    def batch_counts(self):
        """`{signature: (merged calls run, requests in them)}` of the batched signatures."""
        return {key: (b.batches_run, b.requests_run) for key, b in sorted(self._batchers.items())}

    def close(self):
        """Stops the batch threads. The session is freed once no request holds this version any more."""
        for batcher in self._batchers.values():
            batcher.close()

    # === Predict ===

    def signature(self, signature_name):
        """`(name, SignatureDef)`; FAILED_PRECONDITION for an unknown name, as TF Serving."""
        signature_name = signature_name or names.SERVING_SIGNATURE
        signature = self.signature_defs.get(signature_name)
        if signature is None:
            raise RequestError(grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{signature_name}" not found.')
        return signature_name, signature

    def predict(self, signature_name, inputs, output_filter=()):
        """Runs a signature on validated inputs.

        Args:
            signature_name: str. Empty means `serving_default`.
            inputs: dict of alias -> np.ndarray, already checked by
                `check_inputs`.
            output_filter: aliases to return; empty returns all.

        Returns:
            `(signature_name, {alias: np.ndarray})`.
        """
        signature_name, signature = self.signature(signature_name)
        aliases = self.select_outputs(signature, output_filter)
        batcher = self._batchers.get(signature_name)
        if batcher is not None:
            rows = next(iter(inputs.values())).shape[0]
            outputs = batcher.submit(inputs, rows)
        else:
            # Like TF Serving, fetch only the filtered outputs: the graph runs what they need.
            outputs = self._call(signature_name, inputs, aliases if output_filter else None)
        return signature_name, {alias: outputs[alias] for alias in aliases}

    def predict_request(self, request):
        """A `PredictRequest` checked and run: `(signature_name, {alias: np.ndarray})`."""
        inputs = {alias: proto_to_array(alias, proto, self.limits) for alias, proto in request.inputs.items()}
        signature_name = request.model_spec.signature_name
        return self.predict(signature_name, self.check_inputs(signature_name, inputs), request.output_filter)

    def check_inputs(self, signature_name, inputs):
        """Checks `{alias: (np.ndarray, tf.DType)}` against the signature and the limits.

        Raises INVALID_ARGUMENT for a missing or extra alias, a wrong dtype or
        shape, with TF Serving's messages, or a request over the limits.

        Returns:
            dict of alias -> np.ndarray.
        """
        _, signature = self.signature(signature_name)
        expected, received = set(signature.inputs), set(inputs)
        if len(received) != len(expected):
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input size does not match signature: {len(received)}!={len(expected)} "
                f"len({{{','.join(sorted(received))}}}) != len({{{','.join(sorted(expected))}}}). "
                f"Sent extra: {{{','.join(sorted(received - expected))}}}. "
                f"Missing but required: {{{','.join(sorted(expected - received))}}}.",
            )
        if received != expected:
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input tensor alias not found in signature: {','.join(sorted(received - expected))}. "
                f"Inputs expected to be in the set {{{','.join(sorted(expected))}}}.",
            )
        arrays = {}
        for alias, tensor_info in sorted(signature.inputs.items()):
            array, dtype = inputs[alias]
            if dtype.as_datatype_enum != tensor_info.dtype:
                raise RequestError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Expected input {alias} to be {tf.dtypes.as_dtype(tensor_info.dtype).name} but got {dtype.name}.",
                )
            expected_shape = tf.TensorShape(tensor_info.tensor_shape)
            if not expected_shape.is_compatible_with(array.shape):
                raise RequestError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Expected input {alias} to have shape {_shape_string(expected_shape)} "
                    f"but got shape {_shape_string(tf.TensorShape(array.shape))}.",
                )
            check_limits(alias, array, self.limits)
            arrays[alias] = array
        rows = {array.shape[0] for array in arrays.values() if array.ndim}
        if len(rows) > 1:
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "Inputs must have the same number of rows: "
                + ", ".join(f"{alias} has {array.shape[0]}" for alias, array in sorted(arrays.items())),
            )
        return arrays

    @staticmethod
    def select_outputs(signature, output_filter):
        if not output_filter:
            return sorted(signature.outputs)
        seen = []
        for alias in output_filter:
            if alias not in signature.outputs:
                raise RequestError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"output tensor alias not found in signature: {alias} "
                    f"Outputs expected to be in the set {{{','.join(sorted(signature.outputs))}}}.",
                )
            if alias in seen:
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"duplicate output tensor alias: {alias}")
            seen.append(alias)
        return seen

    def _call(self, signature_name, inputs, output_aliases=None):
        return run_signature(self._bundle, signature_name, inputs, output_aliases)

    # === Warmup ===

    def warm_up(self):
        """Replays `assets.extra/tf_serving_warmup_requests` as TF Serving does at load.

        Returns:
            The number of requests replayed (0 when the file is absent).
        """
        logs = read_warmup_records(self.export_path)
        for index, log in enumerate(logs):
            where = f"{self.export_path}: warmup record {index}"
            if log.WhichOneof("log_type") != "predict_log":
                raise ValueError(f"{where}: only predict_log warmup records are supported")
            try:
                self.predict_request(log.predict_log.request)
            except RequestError as error:
                raise ValueError(f"{where}: {error.code.name}: {error.message}") from error
        return len(logs)


def run_signature(bundle, signature_name, inputs, output_aliases=None):
    """`bundle.run`, with TensorFlow's errors as the `RequestError` TF Serving answers with."""
    try:
        return bundle.run(signature_name, inputs, output_aliases)
    except tf.errors.OpError as error:
        raise RequestError(status_from_tf_error(error), error.message) from error
    except (TypeError, ValueError) as error:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"{type(error).__name__}: {error}") from error


def proto_to_array(alias, proto, limits):
    """`(np.ndarray, tf.DType)` from a request TensorProto; INVALID_ARGUMENT if malformed.

    The declared shape is checked against `limits` first: a tiny message may
    declare billions of elements, which decoding would allocate.
    """
    if not proto.tensor_shape.unknown_rank:
        dims = [dim.size for dim in proto.tensor_shape.dim]
        if dims:
            _check_text_count(alias, dims[0], limits)
        elements = int(np.prod(dims, dtype=np.float64)) if dims else 1
        if any(size < 0 for size in dims) or elements > limits.max_message_bytes:
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT, f"Input {alias} declares an invalid or oversized shape {dims}"
            )
    try:
        dtype = tf.dtypes.as_dtype(proto.dtype)
        array = tf.make_ndarray(proto)
    except Exception as error:  # any malformed TensorProto
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"tensor parsing error: {alias} ({error})") from error
    return np.asarray(array), dtype
