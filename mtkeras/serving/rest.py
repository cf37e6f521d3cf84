"""TF Serving's REST API (port 8501) over the same models as the gRPC API.

- `POST /v1/models/NAME[/versions/N | /labels/L]:predict` with a row
  (`{"instances": [...]}`) or columnar (`{"inputs": ...}`) body, answering
  `{"predictions": [...]}` or `{"outputs": ...}`;
- `GET /v1/models/NAME[/versions/N | /labels/L]`: version status;
- `GET /v1/models/NAME[/versions/N | /labels/L]/metadata`: signature defs.

Errors answer `{"error": "..."}` with the HTTP status TF Serving gives the
same gRPC status (`mtkeras.serving.errors.HTTP_STATUS`).
"""

import http.server
import json
import logging
import re
import socket
import threading
import time
import urllib.parse

import grpc
from tensorflow_serving.apis import model_pb2

from mtkeras.serving.errors import SERVED_MODELS_HEADER, RequestError, encode_served_models
from mtkeras.serving.json_tensor import (
    bad_request,
    format_predict_response,
    json_to_array,  # noqa: F401 (its earlier home, kept for old imports)
    metadata_json,
    parse_json_body,
    parse_predict_body,
    status_json,
)

logger = logging.getLogger(__name__)

# TF Serving's kPredictionApiGegex and kModelStatusApiRegex in one
# (tensorflow_serving/model_servers/http_rest_api_util.cc): case-insensitive.
_PATH = re.compile(
    r"(?i)/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?::(?P<method>classify|regress|predict)|/(?P<metadata>metadata))?"
)
def model_spec_from_path(match):
    spec = model_pb2.ModelSpec(name=urllib.parse.unquote(match["name"]))
    if match["version"] is not None:
        version = int(match["version"])
        if not 0 <= version < 2**63:
            raise bad_request(f"Failed to convert version: {match['version']} to numeric.")
        spec.version.value = version
    elif match["label"] is not None:
        spec.version_label = urllib.parse.unquote(match["label"])
    return spec


def predict_json(manager, model_spec, body):
    """A REST `:predict`, end to end: the parsed JSON body to the JSON answer of the version `model_spec` resolves to."""
    servable = manager.resolve(model_spec)
    signature_name, inputs, row_format = parse_predict_body(body, servable.signature_defs)
    _, outputs = servable.predict(signature_name, servable.check_inputs(signature_name, inputs))
    return format_predict_response(outputs, row_format)


# === The HTTP server ===


class RestHandler(http.server.BaseHTTPRequestHandler):
    """Answers TF Serving REST calls through the `ModelServer` set as `server.model_server`."""

    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections
    # Headers and body leave in separate writes: with Nagle's algorithm on, the
    # body waits for the client's delayed ACK (~40 ms on every request).
    disable_nagle_algorithm = True
    server_version = "mtkeras-serving"
    # An idle keep-alive connection, or a client sending less than its
    # Content-Length, frees its thread after this many seconds.
    timeout = 60

    def log_message(self, format, *args):  # noqa: A002  (BaseHTTPRequestHandler's signature)
        logger.debug("%s %s", self.address_string(), format % args)

    def _reply(self, status, payload, content_type="application/json", headers=()):
        if self.server.stopping:
            self.close_connection = True
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for header, value in headers:
            self.send_header(header, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, error):
        served = error.served_models
        headers = [(SERVED_MODELS_HEADER, encode_served_models(served))] if served is not None else []
        self._reply(error.http_status, {"error": error.message}, headers=headers)

    def _answer(self, api, model_name, answer):
        """Replies with `answer()`, or with the error it raises; records the metrics."""
        server = self.server.model_server
        start = time.perf_counter()
        try:
            payload = answer()
        except RequestError as error:
            server.metrics.record(model_name, api, error.code, time.perf_counter() - start)
            self._error(error)
            return
        except Exception as error:  # noqa: BLE001  (the server answers and serves on)
            logger.exception("REST %s failed", api)
            server.metrics.record(model_name, api, grpc.StatusCode.INTERNAL, time.perf_counter() - start)
            self._error(RequestError(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}"))
            return
        server.metrics.record(model_name, api, grpc.StatusCode.OK, time.perf_counter() - start)
        self._reply(200, payload)

    def do_GET(self):  # noqa: N802  (http.server's naming)
        server = self.server.model_server
        path = self.path.split("?", 1)[0]
        if server.metrics_path and path == server.metrics_path:
            self._reply(200, server.metrics.prometheus_text(server.manager.servables()).encode("utf-8"), "text/plain; version=0.0.4")
            return
        match = _PATH.fullmatch(path)
        if match is None or match["method"] is not None:
            self._error(bad_request(f"Malformed request: GET {path}"))
            return
        if match["metadata"]:
            self._answer("rest_metadata", urllib.parse.unquote(match["name"]), lambda: metadata_json(
                server.manager.metadata(model_spec_from_path(match))
            ))
        else:
            self._answer("rest_status", urllib.parse.unquote(match["name"]), lambda: status_json(
                server.manager.status(model_spec_from_path(match))
            ))

    def _read_body(self, limit):
        """The request body, or None after answering why it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._error(bad_request("Chunked request bodies are not supported: send a Content-Length"))
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > limit:
            self.close_connection = True  # the body is not read
            self._error(
                RequestError(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"Request body of {length} bytes is over this server's limit of {limit} bytes (max_message_bytes)",
                )
            )
            return None
        return self.rfile.read(length)

    def do_POST(self):  # noqa: N802
        server = self.server.model_server
        # Read the body first, whatever the path: left unread, it would be
        # taken for the next request on this keep-alive connection.
        body = self._read_body(server.limits.max_message_bytes)
        if body is None:
            return
        path = self.path.split("?", 1)[0]
        match = _PATH.fullmatch(path)
        if match is None or match["method"] is None or match["method"] not in ("predict", "classify", "regress"):
            # http_rest_api_handler.cc, ProcessRequest: any other path or
            # method (":frobnicate", ":PREDICT") is a malformed request.
            self._error(bad_request(f"Malformed request: POST {path}"))
            return
        if match["method"] != "predict":
            # mtkeras exports have predict signatures only.
            self._error(
                RequestError(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"Method :{match['method']} is not supported by this server; use :predict",
                )
            )
            return

        def predict():
            parsed = parse_json_body(body)
            try:
                return predict_json(server.manager, model_spec_from_path(match), parsed)
            except (RecursionError, OverflowError) as error:
                raise bad_request(f"Request body too deeply nested or a number out of range: {error}") from error

        self._answer("rest", urllib.parse.unquote(match["name"]), predict)


class RestServer(http.server.ThreadingHTTPServer):
    """Threaded HTTP server that can close its kept-alive connections on `stop`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, model_server):
        self.model_server = model_server
        self.stopping = False
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, RestHandler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def stop(self, grace=None):
        """Stops accepting; answers in progress get `grace` seconds, then every connection is closed."""
        self.stopping = True  # answers from now on close their connection
        self.shutdown()
        deadline = time.monotonic() + (grace or 0)
        while time.monotonic() < deadline:
            with self._connections_lock:
                if not self._connections:
                    break
            time.sleep(0.05)
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()
