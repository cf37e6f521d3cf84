"""TF Serving's REST API (port 8501) over the same models as the gRPC API.

- `POST /v1/models/NAME[/versions/N | /labels/L]:predict` with a row
  (`{"instances": [...]}`) or columnar (`{"inputs": ...}`) body, answering
  `{"predictions": [...]}` or `{"outputs": ...}`;
- `GET /v1/models/NAME[/versions/N | /labels/L]`: version status;
- `GET /v1/models/NAME[/versions/N | /labels/L]/metadata`: signature defs.

Errors answer `{"error": "..."}` with the HTTP status TF Serving gives the
same gRPC status (`mtkeras.serving.errors.HTTP_STATUS`).
"""

import base64
import http.server
import json
import logging
import re
import socket
import threading
import time
import urllib.parse

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import model_pb2

from mtkeras.serving.errors import RequestError

logger = logging.getLogger(__name__)

_PATH = re.compile(
    r"/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>-?\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?::(?P<method>[a-z]+)|/(?P<metadata>metadata))?"
)
# Output aliases ending so hold binary data, sent base64 encoded (TF Serving's rule).
_BYTES_SUFFIX = "_bytes"


def _bad(message):
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


def model_spec_from_path(match):
    spec = model_pb2.ModelSpec(name=urllib.parse.unquote(match["name"]))
    if match["version"] is not None:
        version = int(match["version"])
        if not 0 <= version < 2**63:
            raise _bad(f"Failed to convert version: {match['version']}")
        spec.version.value = version
    elif match["label"] is not None:
        spec.version_label = urllib.parse.unquote(match["label"])
    return spec


# === JSON <-> tensors ===


def _leaf(value, where):
    """`(python value, kind)` for one JSON scalar; strings become UTF-8 bytes."""
    if isinstance(value, str):
        return value.encode("utf-8"), "string"
    if isinstance(value, dict):
        if set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True), "string"
            except ValueError as error:
                raise _bad(f"{where}: invalid base64 in {{'b64': ...}}: {error}") from error
        raise _bad(f"{where}: expected a value, got the object {json.dumps(value)[:80]}")
    if isinstance(value, bool):
        return value, "bool"
    if isinstance(value, int):
        return value, "int"
    if isinstance(value, float):
        return value, "float"
    raise _bad(f"{where}: expected a string, number or boolean, got {json.dumps(value)}")


def json_to_array(value, alias, where):
    """`(np.ndarray, tf.DType)` from a (nested list) JSON value; INVALID_ARGUMENT if ragged or mixed."""
    kinds = set()
    shape = []

    def walk(node, depth, path):
        if isinstance(node, list):
            if depth == len(shape):
                shape.append(len(node))
            elif depth > len(shape) or shape[depth] != len(node):
                raise _bad(f"{where}: input {alias} is ragged at {path}: every list at one depth needs the same length")
            return [walk(item, depth + 1, f"{path}[{i}]") for i, item in enumerate(node)]
        if depth != len(shape):
            raise _bad(f"{where}: input {alias} is ragged at {path}: every list at one depth needs the same length")
        leaf, kind = _leaf(node, f"{where} {path}".strip())
        kinds.add(kind)
        return leaf

    nested = walk(value, 0, "")
    if len(kinds) > 1:
        raise _bad(f"{where}: input {alias} mixes {' and '.join(sorted(kinds))} values")
    kind = kinds.pop() if kinds else "string"
    dtype = {"string": tf.string, "bool": tf.bool, "int": tf.int64, "float": tf.float32}[kind]
    array = np.array(nested, dtype=object if kind == "string" else dtype.as_numpy_dtype)
    return array.reshape(shape), dtype


def _cast_numbers(array, dtype, expected):
    """JSON numbers take the signature's numeric dtype, as TF Serving converts them."""
    if dtype.is_floating or dtype.is_integer:
        if expected.is_floating or (expected.is_integer and dtype.is_integer):
            return array.astype(expected.as_numpy_dtype), expected
    return array, dtype


def parse_predict_body(body, signature_for):
    """Reads a `:predict` body into inputs.

    Args:
        body: dict, the parsed JSON body.
        signature_for: callable, signature name -> `(name, SignatureDef)`.

    Returns:
        `(signature_name, {alias: (np.ndarray, tf.DType)}, row_format)`.
    """
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object with 'instances' or 'inputs'")
    signature_name = body.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise _bad(f"'signature_name' must be a string, got {json.dumps(signature_name)}")
    unknown = sorted(set(body) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise _bad(f"Unknown keys in request body: {', '.join(unknown)}; expected 'instances' or 'inputs'")
    if ("instances" in body) == ("inputs" in body):
        raise _bad("Request body must have exactly one of 'instances' (row format) or 'inputs' (columnar format)")
    signature_name, signature = signature_for(signature_name)
    aliases = sorted(signature.inputs)
    expected = {alias: tf.dtypes.as_dtype(signature.inputs[alias].dtype) for alias in aliases}
    row_format = "instances" in body
    if row_format:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise _bad(f"'instances' must be a list, got {json.dumps(instances)[:80]}")
        named = bool(instances) and all(isinstance(item, dict) and "b64" not in item for item in instances)
        columns = {alias: [] for alias in aliases}
        for index, instance in enumerate(instances):
            if named:
                missing = sorted(set(aliases) - set(instance))
                extra = sorted(set(instance) - set(aliases))
                if missing or extra:
                    raise _bad(
                        f"instances[{index}]: expected the inputs {{{','.join(aliases)}}}"
                        + (f"; missing {{{','.join(missing)}}}" if missing else "")
                        + (f"; unknown {{{','.join(extra)}}}" if extra else "")
                    )
                for alias in aliases:
                    columns[alias].append(instance[alias])
            elif len(aliases) == 1:
                columns[aliases[0]].append(instance)
            else:
                raise _bad(
                    f"instances[{index}]: this signature has several inputs {{{','.join(aliases)}}}; "
                    "give each instance as an object naming them"
                )
        raw = columns
    else:
        inputs = body["inputs"]
        if isinstance(inputs, dict) and "b64" not in inputs:
            raw = inputs
        elif len(aliases) == 1:
            raw = {aliases[0]: inputs}
        else:
            raise _bad(f"'inputs' must be an object naming the inputs {{{','.join(aliases)}}}")
    parsed = {}
    for alias, value in raw.items():
        where = "instances" if row_format else f"inputs[{alias!r}]"
        array, dtype = json_to_array(value, alias, where)
        if alias in expected:
            array, dtype = _cast_numbers(array, dtype, expected[alias])
        parsed[alias] = (array, dtype)
    return signature_name, parsed, row_format


def _to_json(array, alias):
    if array.dtype == object:
        if alias.endswith(_BYTES_SUFFIX):
            flat = [{"b64": base64.b64encode(value).decode("ascii")} for value in array.ravel()]
        else:
            flat = [value.decode("utf-8", errors="replace") for value in array.ravel()]
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    return array.tolist()


def format_predict_response(outputs, row_format):
    """`{"predictions": ...}` (row) or `{"outputs": ...}` (columnar), as TF Serving writes them."""
    converted = {alias: _to_json(value, alias) for alias, value in outputs.items()}
    if not row_format:
        return {"outputs": next(iter(converted.values())) if len(converted) == 1 else converted}
    rows = {np.shape(value)[0] if np.ndim(value) else None for value in outputs.values()}
    if len(rows) != 1 or None in rows:
        raise _bad("Output tensors do not share a first (batch) dimension; use the columnar 'inputs' format")
    (count,) = rows
    if len(converted) == 1:
        return {"predictions": next(iter(converted.values()))}
    return {"predictions": [{alias: value[i] for alias, value in converted.items()} for i in range(count)]}


def metadata_json(response):
    """GetModelMetadataResponse as TF Serving's REST API writes it."""
    signature_def_map = get_model_metadata_pb2.SignatureDefMap()
    fields = {}
    for field, value in response.metadata.items():
        value.Unpack(signature_def_map)
        fields[field] = json_format.MessageToDict(
            signature_def_map, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    model_spec = json_format.MessageToDict(
        response.model_spec, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return {"model_spec": model_spec, "metadata": fields}


def status_json(response):
    return json_format.MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


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

    def _reply(self, status, payload, content_type="application/json"):
        if self.server.stopping:
            self.close_connection = True
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _error(self, error):
        self._reply(error.http_status, {"error": error.message})

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
            self._error(_bad(f"Malformed request: GET {path}"))
            return
        if match["metadata"]:
            self._answer("rest_metadata", urllib.parse.unquote(match["name"]), lambda: metadata_json(
                server.get_metadata(model_spec_from_path(match))
            ))
        else:
            self._answer("rest_status", urllib.parse.unquote(match["name"]), lambda: status_json(
                server.get_status(model_spec_from_path(match))
            ))

    def _read_body(self, limit):
        """The request body, or None after answering why it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._error(_bad("Chunked request bodies are not supported: send a Content-Length"))
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
        if match is None or match["method"] is None:
            self._error(_bad(f"Malformed request: POST {path}"))
            return
        if match["method"] != "predict":
            self._error(
                RequestError(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"Method :{match['method']} is not supported by this server; use :predict",
                )
            )
            return

        def predict():
            try:
                parsed = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
                raise _bad(f"JSON parse error: {error}") from error
            try:
                return server.predict_json(model_spec_from_path(match), parsed)
            except (RecursionError, OverflowError) as error:
                raise _bad(f"Request body too deeply nested or a number out of range: {error}") from error

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
