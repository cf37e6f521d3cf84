"""A TF Serving compatible model server for machines without `tensorflow_model_server`.

It speaks TF Serving's gRPC API (`PredictionService.Predict`,
`PredictionService.GetModelMetadata`, `ModelService.GetModelStatus`) and its
REST API, with the same status codes and error messages, so a client cannot
tell the two apart. Like TF Serving it serves several models from a
`models.config` file (or one base path), picks up new versions by polling and
swaps them in without failing requests, batches concurrent requests when asked,
replays warmup records at load and exports Prometheus metrics.
"""

import collections
import concurrent.futures
import functools
import logging
import signal
import threading
import time

import grpc
import tensorflow as tf
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from mtkeras import names
from mtkeras.serving.options import ModelConfig, ServingLimits, read_model_config_file
from mtkeras.serving.errors import SERVED_MODELS_METADATA, RequestError, encode_served_models
from mtkeras.serving.manager import ModelManager, find_versions, latest_version
from mtkeras.serving.rest import RestServer

logger = logging.getLogger(__name__)

__all__ = ["ModelServer", "find_versions", "latest_version", "serve"]


class Metrics:
    """Request counts and latencies, written in Prometheus' text format.

    The names follow TF Serving's (`:tensorflow:serving:request_count`), so
    dashboards built for the official server read these too.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = collections.Counter()
        self._latency = collections.defaultdict(lambda: [0.0, 0])

    def record(self, model_name, api, code, seconds):
        with self._lock:
            self._counts[(model_name, api, code.name)] += 1
            entry = self._latency[(model_name, api)]
            entry[0] += seconds
            entry[1] += 1

    def prometheus_text(self, servables=()):
        def escape(value):
            return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

        with self._lock:
            counts, latency = dict(self._counts), {key: tuple(value) for key, value in self._latency.items()}
        lines = ["# TYPE :tensorflow:serving:request_count counter"]
        for (model, api, status), count in sorted(counts.items()):
            lines.append(
                f':tensorflow:serving:request_count{{model_name="{escape(model)}",api="{api}",status="{status}"}} {count}'
            )
        lines.append("# TYPE :tensorflow:serving:request_latency_seconds summary")
        for (model, api), (total, count) in sorted(latency.items()):
            labels = f'model_name="{escape(model)}",api="{api}"'
            lines.append(f":tensorflow:serving:request_latency_seconds_sum{{{labels}}} {total:.6f}")
            lines.append(f":tensorflow:serving:request_latency_seconds_count{{{labels}}} {count}")
        lines.append("# TYPE :mtkeras:serving:batches counter")
        lines.append("# TYPE :mtkeras:serving:batched_requests counter")
        for servable in servables:
            for signature, (batches, requests) in servable.batch_counts().items():
                labels = f'model_name="{escape(servable.name)}",version="{servable.version}",signature="{signature}"'
                lines.append(f":mtkeras:serving:batches{{{labels}}} {batches}")
                lines.append(f":mtkeras:serving:batched_requests{{{labels}}} {requests}")
        return "\n".join(lines) + "\n"


def _rpc(api_name):
    """Turns `RequestError` and unexpected exceptions into gRPC errors; the server lives on."""

    def decorate(method):
        @functools.wraps(method)
        def handler(self, request, context):
            start = time.perf_counter()
            model_name = request.model_spec.name if request.HasField("model_spec") else ""
            try:
                response = method(self, request)
            except RequestError as error:
                self._server.metrics.record(model_name, api_name, error.code, time.perf_counter() - start)
                if error.served_models is not None:
                    context.set_trailing_metadata(((SERVED_MODELS_METADATA, encode_served_models(error.served_models)),))
                context.abort(error.code, error.message)
            except Exception as error:
                logger.exception("%s failed", method.__name__)
                context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}"[:1024])
            self._server.metrics.record(model_name, api_name, grpc.StatusCode.OK, time.perf_counter() - start)
            return response

        return handler

    return decorate


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, server):
        self._server = server

    @_rpc("grpc")
    def Predict(self, request):  # noqa: N802  (gRPC's naming)
        servable = self._server.manager.resolve(request.model_spec)
        signature_name, outputs = servable.predict_request(request)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        response.model_spec.signature_name = signature_name
        for alias, value in outputs.items():
            response.outputs[alias].CopyFrom(tf.make_tensor_proto(value, dtype=_output_dtype(value)))
        return response

    @_rpc("grpc_metadata")
    def GetModelMetadata(self, request):  # noqa: N802
        if not request.HasField("model_spec"):
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        if not request.metadata_field:
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT, "GetModelMetadataRequest must specify at least one metadata_field"
            )
        for field in request.metadata_field:
            if field != names.SIGNATURE_DEF_FIELD:
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"Metadata field {field} is not supported")
        return self._server.manager.metadata(request.model_spec)


class _ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, server):
        self._server = server

    @_rpc("grpc_status")
    def GetModelStatus(self, request):  # noqa: N802
        if not request.HasField("model_spec"):
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        return self._server.manager.status(request.model_spec)


def _positive_port(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ValueError(f"Received an invalid `{name}`, expected an integer in [0, 65535]. Received: {name}={value!r}")


class ModelServer:
    """An in-process server speaking TF Serving's gRPC and REST APIs.

    Serves one model (`model_name` + `model_base_path`) or several
    (`model_config_file` in TF Serving's `models.config` format, or a list of
    `ModelConfig`). For each model it serves the versions its version policy
    names (default: the latest), polls the base path every `poll_seconds` for
    new versions, loads and warms a new version up before switching to it, and
    then unloads the old one: requests in flight finish on the version they
    started on. Entries that are not integers (such as `.tmp-*` in-progress
    exports) are ignored.

    Args:
        model_name: str. The name clients put in `model_spec.name`.
        model_base_path: str. Directory holding `<version>/saved_model.pb`.
        model_config_file: str. A `models.config` file instead of the two above.
        models: list of `ModelConfig`, instead of the above.
        host: str. Interface to bind; `"0.0.0.0"` for every interface.
        port: int. gRPC port; 0 picks a free one (see `.port` after `start()`).
        rest_api_port: int or None. REST port; None serves no REST; 0 picks a
            free one (see `.rest_api_port`).
        poll_seconds: float. Seconds between polls of the base paths; 0 or
            less polls only at start.
        batching: `BatchingOptions` or None. Server-side batching.
        limits: `ServingLimits`. Request size limits.
        tls: `TlsOptions` or None. TLS for the gRPC port.
        metrics_path: str or None. REST path of Prometheus metrics, e.g.
            `"/monitoring/prometheus/metrics"`.
        max_workers: int. Requests served at the same time per API.

    Example:
    >>> with ModelServer("nlu", "saved_models/nlu", port=0, rest_api_port=0) as server:
    ...     client = mtkeras.serving.Client(f"127.0.0.1:{server.port}", "nlu")
    ...     client.predict(["book a table for two"])
    """

    def __init__(
        self,
        model_name=None,
        model_base_path=None,
        *,
        model_config_file=None,
        models=None,
        host="127.0.0.1",
        port=8500,
        rest_api_port=None,
        poll_seconds=1.0,
        batching=None,
        limits=None,
        tls=None,
        metrics_path=None,
        max_workers=16,
    ):
        self.model_name = model_name
        self.model_base_path = model_base_path
        self.model_config_file = model_config_file
        self.models = models
        self.host = host
        self.port = port
        self.rest_api_port = rest_api_port
        self.poll_seconds = poll_seconds
        self.batching = batching
        self.limits = limits or ServingLimits()
        self.tls = tls
        self.metrics_path = metrics_path
        self.max_workers = max_workers
        self.metrics = Metrics()
        self.manager = None
        self._server = None
        self._executor = None
        self._rest = None
        self._rest_thread = None
        self._terminated = threading.Event()

    # === Configuration ===

    def _model_configs(self):
        given = [self.model_config_file is not None, self.models is not None, self.model_name is not None]
        if sum(given) != 1:
            raise ValueError(
                "Give exactly one of `model_name` (with `model_base_path`), `model_config_file` or `models`"
            )
        if self.model_config_file is not None:
            return read_model_config_file(self.model_config_file)
        if self.models is not None:
            return list(self.models)
        if not isinstance(self.model_name, str) or not self.model_name:
            raise ValueError(
                "Received an invalid `model_name`, expected a non-empty string. "
                f"Received: model_name={self.model_name!r}"
            )
        if self.model_base_path is None:
            raise ValueError(f"Model {self.model_name!r} needs a `model_base_path`")
        return [ModelConfig(self.model_name, self.model_base_path)]

    @property
    def version(self):
        """The latest loaded version of the only model (None before `start()`)."""
        if self.manager is None:
            return None
        versions = self.manager.loaded_versions(self.manager.model_names[0])
        return versions[-1] if versions else None

    def start(self):
        """Loads every model's versions, binds the ports and starts answering."""
        if self._server is not None:
            raise RuntimeError("ModelServer is already started")
        _positive_port("port", self.port)
        _positive_port("rest_api_port", self.rest_api_port, allow_none=True)
        if not isinstance(self.max_workers, int) or self.max_workers < 1:
            raise ValueError(
                "Received an invalid `max_workers`, expected a positive integer. "
                f"Received: max_workers={self.max_workers!r}"
            )
        configs = self._model_configs()
        for config in configs:
            # A missing base path is a typo far more often than a model to come.
            find_versions(config.base_path)
        manager = ModelManager(configs, self.limits, self.batching)
        manager.poll()
        if self.model_name is not None and not manager.loaded_versions(self.model_name):
            manager.stop()
            latest_version(self.model_base_path)  # raises the clear "no version" error
            raise RuntimeError(
                f"No version of {self.model_name} under {self.model_base_path} could be loaded; see the log"
            )

        options = [
            ("grpc.max_send_message_length", -1),
            ("grpc.max_receive_message_length", self.limits.max_message_bytes),
            # A second server on a busy port must fail, not share it.
            ("grpc.so_reuseport", 0),
        ]
        executor = concurrent.futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix="mtkeras-grpc")
        server = grpc.server(executor, options=options, maximum_concurrent_rpcs=self.max_workers * 8)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_PredictionService(self), server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(_ModelService(self), server)
        host = f"[{self.host}]" if ":" in self.host else self.host
        address = f"{host}:{self.port}"
        try:
            if self.tls is not None:
                bound_port = server.add_secure_port(address, self.tls.credentials())
            else:
                bound_port = server.add_insecure_port(address)
        except RuntimeError as error:
            bound_port, cause = 0, error
        else:
            cause = None
        if not bound_port:
            executor.shutdown(wait=False)
            manager.stop()
            raise OSError(f"Could not bind the gRPC server to {address}: port in use or invalid host") from cause

        self.manager = manager  # REST handlers read it as soon as they start
        rest = None
        if self.rest_api_port is not None:
            try:
                rest = RestServer((self.host, self.rest_api_port), self)
            except OSError as error:
                executor.shutdown(wait=False)
                manager.stop()
                raise OSError(
                    f"Could not bind the REST server to {self.host}:{self.rest_api_port}: {error.strerror}"
                ) from error
            self._rest_thread = threading.Thread(
                target=rest.serve_forever, kwargs={"poll_interval": 0.2}, name="mtkeras-rest", daemon=True
            )
            self._rest_thread.start()
            self.rest_api_port = rest.server_address[1]
        server.start()
        manager.start_polling(self.poll_seconds)

        self._server, self._executor, self._rest = server, executor, rest
        self._terminated.clear()
        self.port = bound_port
        return self

    def stop(self, grace=None):
        """Stops serving; in-flight requests get `grace` seconds to finish (None: none)."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._rest is not None:
            self._rest.stop(grace)
            self._rest = None
        server.stop(grace).wait()
        self._executor.shutdown(wait=True)
        self._executor = None
        self.manager.stop()
        self._terminated.set()

    def wait(self, timeout=None):
        """Blocks until the server is stopped; returns False if `timeout` seconds pass first."""
        return self._terminated.wait(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def _output_dtype(value):
    return tf.string if value.dtype == object else tf.dtypes.as_dtype(value.dtype)


def serve(
    model_name=None,
    model_base_path=None,
    host="127.0.0.1",
    port=8500,
    grace=5.0,
    **server_options,
):
    """Serves models until SIGINT or SIGTERM, then stops gracefully.

    Must run in the main thread (it installs signal handlers). Logs one line
    per model, `serving MODEL versions [V] on HOST:PORT`, once requests are
    answered.

    Args:
        model_name, model_base_path, host, port: see `ModelServer`.
        grace: float. Seconds in-flight requests get to finish on shutdown.
        **server_options: other `ModelServer` arguments (`model_config_file`,
            `rest_api_port`, `batching`, `limits`, `tls`, ...).

    Example:
    >>> serve("nlu", "saved_models/nlu", port=8500, rest_api_port=8501)  # blocks; Ctrl-C stops it
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop_requested = threading.Event()

    def request_stop(signum, frame):
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    previous_handlers = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = ModelServer(model_name, model_base_path, host=host, port=port, **server_options)
    try:
        server.start()
        for name in server.manager.model_names:
            logger.info(
                "serving %s versions %s on %s:%d (gRPC)%s",
                name,
                server.manager.loaded_versions(name),
                host,
                server.port,
                f" and {host}:{server.rest_api_port} (REST)" if server.rest_api_port is not None else "",
            )
        while not stop_requested.wait(timeout=1.0):
            pass
    finally:
        server.stop(grace)
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
