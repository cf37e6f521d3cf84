"""A TF Serving compatible gRPC server for machines without `tensorflow_model_server`.

It serves the latest integer version under a model base path, with the same
gRPC API (`PredictionService.Predict`, `PredictionService.GetModelMetadata`,
`ModelService.GetModelStatus`), the same status codes and the same error
messages as TF Serving, so a client cannot tell the two apart.
"""

import concurrent.futures
import functools
import logging
import os
import signal
import threading

import grpc
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from mtkeras import names

logger = logging.getLogger(__name__)

SAVED_MODEL_FILE = "saved_model.pb"

# TF Serving lifts gRPC's 4 MB message limit, and cuts error messages at 1 KB.
# SO_REUSEPORT off: a second server on a busy port must fail, not share it.
_GRPC_OPTIONS = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    ("grpc.so_reuseport", 0),
]
_MAX_ERROR_MESSAGE = 1024


def find_versions(model_base_path):
    """The integer versions under `model_base_path`, in increasing order.

    Like TF Serving, only subdirectories named by a non-negative integer count:
    other entries (`assets`, in-progress exports such as `.tmp-1-x`) are ignored.

    Args:
        model_base_path: str. A directory holding `<version>/saved_model.pb`.

    Returns:
        A sorted list of ints, empty when there is no version.
    """
    if not os.path.isdir(model_base_path):
        raise FileNotFoundError(f"Model base path does not exist or is not a directory: {model_base_path}")
    versions = []
    for entry in os.listdir(model_base_path):
        if entry.isascii() and entry.isdigit() and os.path.isdir(os.path.join(model_base_path, entry)):
            versions.append(int(entry))
    return sorted(versions)


def latest_version(model_base_path):
    """The highest integer version under `model_base_path`; raises if there is none."""
    versions = find_versions(model_base_path)
    if not versions:
        raise FileNotFoundError(
            f"No servable version found under model base path {model_base_path}: expected a "
            f"subdirectory named by an integer version, e.g. {os.path.join(model_base_path, '1')}"
        )
    return versions[-1]


class _Abort(Exception):
    """A request failure to report to the client with a gRPC status code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _shape_string(shape):
    """`[?,3]` for TensorShape([None, 3]), as TensorFlow prints shapes."""
    if shape.rank is None:
        return "<unknown>"
    return "[" + ",".join("?" if dim is None else str(dim) for dim in shape.as_list()) + "]"


def _read_signature_defs(export_path):
    """The serving MetaGraphDef's signature defs, read from `saved_model.pb`."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_path, SAVED_MODEL_FILE), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    for meta_graph in saved_model.meta_graphs:
        if tf.saved_model.SERVING in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{export_path} has no MetaGraphDef tagged {tf.saved_model.SERVING!r}")


class _Servable:
    """One loaded version of one model: what TF Serving calls a servable.

    Immutable once built, so every gRPC worker thread can use it at once.
    """

    def __init__(self, name, version, export_path):
        self.name = name
        self.version = version
        self.export_path = export_path
        try:
            import tensorflow_text  # noqa: F401  (registers the tf-text ops of mtkeras exports)
        except ImportError:
            pass
        if not os.path.isfile(os.path.join(export_path, SAVED_MODEL_FILE)):
            raise FileNotFoundError(f"Version directory {export_path} has no {SAVED_MODEL_FILE}")
        self.signature_defs = _read_signature_defs(export_path)
        self._loaded = tf.saved_model.load(export_path, tags=[tf.saved_model.SERVING])
        self._functions = dict(self._loaded.signatures)

    # === Servable lookup (ServerCore::GetServableHandle) ===

    def check_model_spec(self, model_spec):
        """Raises `_Abort` unless `model_spec` names this servable."""
        if not model_spec.name:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "ModelSpec has no name specified.")
        choice = model_spec.WhichOneof("version_choice")
        if choice == "version_label":
            # No model config, hence no labels: TF Serving rejects every label.
            raise _Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Unrecognized servable version label: {model_spec.version_label}",
            )
        if choice == "version":
            request = f"Specific({model_spec.name}, {model_spec.version.value})"
        else:
            request = f"Latest({model_spec.name})"
        if model_spec.name != self.name or (choice == "version" and model_spec.version.value != self.version):
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request}")

    # === Predict ===

    def predict(self, request):
        self.check_model_spec(request.model_spec)
        signature_name = request.model_spec.signature_name or names.SERVING_SIGNATURE
        signature = self.signature_defs.get(signature_name)
        if signature is None or signature_name not in self._functions:
            raise _Abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f'Serving signature key "{signature_name}" not found.',
            )
        inputs = self._parse_inputs(signature, request.inputs)
        aliases = self._select_outputs(signature, request.output_filter)
        outputs = self._run(self._functions[signature_name], inputs)

        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.name
        response.model_spec.version.value = self.version
        response.model_spec.signature_name = signature_name
        for alias in aliases:
            value = outputs[alias]
            response.outputs[alias].CopyFrom(tf.make_tensor_proto(value.numpy(), dtype=value.dtype))
        return response

    @staticmethod
    def _parse_inputs(signature, request_inputs):
        expected, received = set(signature.inputs), set(request_inputs)
        if len(received) != len(expected):
            raise _Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input size does not match signature: {len(received)}!={len(expected)} "
                f"len({{{','.join(sorted(received))}}}) != len({{{','.join(sorted(expected))}}}). "
                f"Sent extra: {{{','.join(sorted(received - expected))}}}. "
                f"Missing but required: {{{','.join(sorted(expected - received))}}}.",
            )
        inputs = {}
        for alias, tensor_info in sorted(signature.inputs.items()):
            if alias not in request_inputs:
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"input tensor alias not found in signature: {','.join(sorted(received - expected))}. "
                    f"Inputs expected to be in the set {{{','.join(sorted(expected))}}}.",
                )
            proto = request_inputs[alias]
            try:
                array = tf.make_ndarray(proto)
            except Exception as error:  # any malformed TensorProto
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"tensor parsing error: {alias} ({error})") from error
            if proto.dtype != tensor_info.dtype:
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Expected input {alias} to be {tf.dtypes.as_dtype(tensor_info.dtype).name} "
                    f"but got {tf.dtypes.as_dtype(proto.dtype).name}.",
                )
            expected_shape = tf.TensorShape(tensor_info.tensor_shape)
            if not expected_shape.is_compatible_with(array.shape):
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Expected input {alias} to have shape {_shape_string(expected_shape)} "
                    f"but got shape {_shape_string(tf.TensorShape(array.shape))}.",
                )
            inputs[alias] = tf.constant(array, dtype=tf.dtypes.as_dtype(proto.dtype))
        return inputs

    @staticmethod
    def _select_outputs(signature, output_filter):
        if not output_filter:
            return sorted(signature.outputs)
        seen = []
        for alias in output_filter:
            if alias not in signature.outputs:
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"output tensor alias not found in signature: {alias} "
                    f"Outputs expected to be in the set {{{','.join(sorted(signature.outputs))}}}.",
                )
            if alias in seen:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"duplicate output tensor alias: {alias}")
            seen.append(alias)
        return seen

    @staticmethod
    def _run(function, inputs):
        try:
            return function(**inputs)
        except tf.errors.OpError as error:
            # TF status codes and gRPC status codes share their numbers.
            code = next(
                (code for code in grpc.StatusCode if code.value[0] == error.error_code),
                grpc.StatusCode.INTERNAL,
            )
            raise _Abort(code, error.message) from error
        except (TypeError, ValueError) as error:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"{type(error).__name__}: {error}") from error

    # === Metadata and status ===

    def metadata(self, request):
        if not request.HasField("model_spec"):
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        if not request.metadata_field:
            raise _Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "GetModelMetadataRequest must specify at least one metadata_field",
            )
        for field in request.metadata_field:
            if field != names.SIGNATURE_DEF_FIELD:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"Metadata field {field} is not supported")
        self.check_model_spec(request.model_spec)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = self.name
        response.model_spec.version.value = self.version
        signature_def_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in self.signature_defs.items():
            signature_def_map.signature_def[key].CopyFrom(signature)
        response.metadata[names.SIGNATURE_DEF_FIELD].Pack(signature_def_map)
        return response

    def status(self, request):
        if not request.HasField("model_spec"):
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        model_spec = request.model_spec
        if model_spec.HasField("version"):
            if model_spec.name != self.name or model_spec.version.value != self.version:
                raise _Abort(
                    grpc.StatusCode.NOT_FOUND,
                    f"Could not find version {model_spec.version.value} of model {model_spec.name}",
                )
        elif model_spec.name != self.name:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {model_spec.name}")
        response = get_model_status_pb2.GetModelStatusResponse()
        version_status = response.model_version_status.add()
        version_status.version = self.version
        version_status.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        version_status.status.SetInParent()  # error_code OK, as TF Serving reports it
        return response


def _rpc(method):
    """Turns `_Abort` and unexpected exceptions into gRPC errors; the server lives on."""

    @functools.wraps(method)
    def handler(self, request, context):
        try:
            return method(self, request)
        except _Abort as error:
            context.abort(error.code, error.message[:_MAX_ERROR_MESSAGE])
        except Exception as error:
            logger.exception("%s failed", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}"[:_MAX_ERROR_MESSAGE])

    return handler


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, servable):
        self._servable = servable

    @_rpc
    def Predict(self, request):
        return self._servable.predict(request)

    @_rpc
    def GetModelMetadata(self, request):
        return self._servable.metadata(request)


class _ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, servable):
        self._servable = servable

    @_rpc
    def GetModelStatus(self, request):
        return self._servable.status(request)


class ModelServer:
    """An in-process gRPC server that speaks TF Serving's API for one model.

    `start()` loads the highest integer version under `model_base_path`
    (entries that are not integers, such as `.tmp-*` in-progress exports, are
    ignored) and serves it as TF Serving does with its default version policy:
    requests for other versions are NOT_FOUND. Requests run concurrently on
    `max_workers` threads. Version labels are not configurable, so every label
    is rejected with INVALID_ARGUMENT, as TF Serving does without a config.

    Args:
        model_name: str. The name clients put in `model_spec.name`.
        model_base_path: str. Directory holding `<version>/saved_model.pb`.
        host: str. Interface to bind, e.g. `"0.0.0.0"` for every interface.
        port: int. TCP port; 0 picks a free one, readable from `.port` after
            `start()`.
        max_workers: int. Number of requests served at the same time.

    Example:
    >>> with ModelServer("nlu", "saved_models/nlu", port=0) as server:
    ...     client = mtkeras.serving.Client(f"127.0.0.1:{server.port}", "nlu")
    ...     client.predict(["book a table for two"])
    """

    def __init__(self, model_name, model_base_path, host="127.0.0.1", port=8500, max_workers=8):
        self.model_name = model_name
        self.model_base_path = model_base_path
        self.host = host
        self.port = port
        self.max_workers = max_workers
        self.version = None
        self._server = None
        self._executor = None
        self._terminated = threading.Event()

    def start(self):
        """Loads the latest version, binds `host:port` and starts answering."""
        if self._server is not None:
            raise RuntimeError(f"ModelServer for model {self.model_name!r} is already started")
        if not isinstance(self.model_name, str) or not self.model_name:
            raise ValueError(
                "Received an invalid `model_name`, expected a non-empty string. "
                f"Received: model_name={self.model_name!r}"
            )
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(
                f"Received an invalid `port`, expected an integer in [0, 65535]. Received: port={self.port!r}"
            )
        if not isinstance(self.max_workers, int) or self.max_workers < 1:
            raise ValueError(
                "Received an invalid `max_workers`, expected a positive integer. "
                f"Received: max_workers={self.max_workers!r}"
            )

        version = latest_version(self.model_base_path)
        servable = _Servable(self.model_name, version, os.path.join(self.model_base_path, str(version)))

        executor = concurrent.futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix="mtkeras-serving")
        server = grpc.server(executor, options=_GRPC_OPTIONS)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_PredictionService(servable), server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(_ModelService(servable), server)
        host = f"[{self.host}]" if ":" in self.host else self.host
        address = f"{host}:{self.port}"
        try:
            bound_port = server.add_insecure_port(address)
        except RuntimeError as error:
            bound_port, cause = 0, error
        else:
            cause = None
        if not bound_port:
            executor.shutdown(wait=False)
            raise OSError(f"Could not bind the gRPC server to {address}: port in use or invalid host") from cause
        server.start()

        self._server, self._executor = server, executor
        self._terminated.clear()
        self.port = bound_port
        self.version = version
        return self

    def stop(self, grace=None):
        """Stops serving; in-flight requests get `grace` seconds to finish (None: none)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop(grace).wait()
        self._executor.shutdown(wait=True)
        self._executor = None
        self._terminated.set()

    def wait(self, timeout=None):
        """Blocks until the server is stopped; returns False if `timeout` seconds pass first."""
        return self._terminated.wait(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def serve(model_name, model_base_path, host="127.0.0.1", port=8500, grace=5.0):
    """Serves a model until SIGINT or SIGTERM, then stops gracefully.

    Must run in the main thread (it installs signal handlers). Logs one line,
    `serving MODEL version V on HOST:PORT`, once requests are answered.

    Args:
        model_name: str. The name clients put in `model_spec.name`.
        model_base_path: str. Directory holding `<version>/saved_model.pb`.
        host: str. Interface to bind.
        port: int. TCP port (0 picks a free one).
        grace: float. Seconds in-flight requests get to finish on shutdown.

    Example:
    >>> serve("nlu", "saved_models/nlu", port=8500)  # blocks; Ctrl-C stops it
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop_requested = threading.Event()

    def request_stop(signum, frame):
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    previous_handlers = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = ModelServer(model_name, model_base_path, host=host, port=port)
    try:
        server.start()
        logger.info("serving %s version %d on %s:%d", model_name, server.version, host, server.port)
        while not stop_requested.wait(timeout=1.0):
            pass
    finally:
        server.stop(grace)
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
