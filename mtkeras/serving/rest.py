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
import codecs
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

from mtkeras import names
from mtkeras.serving.errors import RequestError

logger = logging.getLogger(__name__)

# TF Serving's kPredictionApiGegex and kModelStatusApiRegex in one
# (tensorflow_serving/model_servers/http_rest_api_util.cc): case-insensitive.
_PATH = re.compile(
    r"(?i)/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?::(?P<method>classify|regress|predict)|/(?P<metadata>metadata))?"
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
            raise _bad(f"Failed to convert version: {match['version']} to numeric.")
        spec.version.value = version
    elif match["label"] is not None:
        spec.version_label = urllib.parse.unquote(match["label"])
    return spec


# === JSON <-> tensors ===
#
# Requests are read as TF Serving's `FillPredictRequestFromJson`
# (tensorflow_serving/util/json_tensor.cc) reads them: the signature is looked
# up first and each JSON value is converted to the dtype of the input it
# feeds, with the same error messages.

# JSON leaves each dtype takes (json_tensor.cc, AddValueToTensor).
_ACCEPTS = {
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
}
_MAX_DEBUG_STRING = 256  # json_tensor.cc, kMaxJsonDebugStringBytes


def _json_type(value):
    """rapidjson's name of a JSON value's type (json_tensor.cc, JsonTypeString)."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    return "String" if isinstance(value, str) else "Number"


def _debug_string(value):
    """A JSON value as TF Serving quotes it in errors: objects indented, arrays on one line, cut at 256 bytes."""

    def write(node, indent):
        if isinstance(node, dict) and node:
            inner = " " * (indent + 4)
            items = ",\n".join(f"{inner}{json.dumps(key)}: {write(item, indent + 4)}" for key, item in node.items())
            return "{\n" + items + "\n" + " " * indent + "}"
        if isinstance(node, list):
            return "[" + ", ".join(write(item, indent) for item in node) + "]"
        return json.dumps(node, ensure_ascii=False)

    return write(value, 0)[:_MAX_DEBUG_STRING]


def _format_error(value, message):
    """json_tensor.cc's FormatError: the offending value, then what is wrong with it."""
    return _bad(f"JSON Value: {_debug_string(value)} {message}")


def _dtype_kind(dtype):
    if dtype == tf.string:
        return "string"
    if dtype == tf.bool:
        return "bool"
    if dtype.is_floating:
        return "float"
    if dtype.is_integer:
        return "int"
    raise RequestError(grpc.StatusCode.UNIMPLEMENTED, f"Conversion of JSON values to type: {dtype.name}")


def _is_b64(value):
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _leaf(value, dtype):
    """One JSON scalar as a value of `dtype`; strings become UTF-8 bytes."""
    kind = _dtype_kind(dtype)
    if kind == "string" and isinstance(value, dict):
        if not _is_b64(value):
            raise _format_error(value, "not formatted correctly for base64 data")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError as error:
            raise _bad("Unable to base64 decode") from error
    if not _ACCEPTS[kind](value):
        raise _bad(
            f"JSON Value: {_debug_string(value)} Type: {_json_type(value)} is not of expected type: {dtype.name}"
        )
    if kind == "int" and not dtype.min <= value <= dtype.max:
        raise _bad(f"JSON Value: {_debug_string(value)} Type: Number is not of expected type: {dtype.name}")
    return value.encode("utf-8") if kind == "string" else value


def json_to_array(value, alias, dtype):
    """One input's JSON value as an `np.ndarray` of `dtype`; INVALID_ARGUMENT if ragged or of another type."""
    shape = []
    leaves = []  # the depth values sit at, once one is seen

    def walk(node, depth, path):
        if isinstance(node, list):
            if depth == len(shape) and not leaves:
                shape.append(len(node))
            elif depth >= len(shape) or shape[depth] != len(node):
                raise _bad(f"Input {alias} is ragged at {path}: every list at one depth needs the same length")
            return [walk(item, depth + 1, f"{path}[{i}]") for i, item in enumerate(node)]
        if depth != len(shape):
            raise _bad(f"Input {alias} is ragged at {path}: every list at one depth needs the same length")
        leaves.append(depth)
        return _leaf(node, dtype)

    nested = walk(value, 0, "")
    array = np.array(nested, dtype=object if dtype == tf.string else dtype.as_numpy_dtype)
    return array.reshape(shape)


def _instances_to_arrays(instances, inputs):
    """Row format: each instance a value (one input) or an object naming every input."""
    aliases = sorted(inputs)
    named = isinstance(instances[0], dict) and not _is_b64(instances[0])
    if not named and len(aliases) > 1:
        raise _bad(
            "instances is a plain list, but expecting list of objects as multiple "
            "input tensors required as per tensorinfo_map"
        )
    columns = {alias: [] for alias in aliases}
    for index, instance in enumerate(instances):
        is_object = isinstance(instance, dict) and not _is_b64(instance)
        if named and not is_object:
            raise _bad(f"Expecting object but got list at item {index} of input list")
        if not named and is_object:
            raise _bad(f"Expecting value/list but got object at item {index} of input list")
        items = instance.items() if named else [(aliases[0], instance)]
        for alias, value in items:
            key = f" key: {alias}" if named else ""
            if alias not in inputs:
                raise _bad(
                    f"Failed to process element: {index}{key} of 'instances' list. Error: "
                    f"INVALID_ARGUMENT: JSON object: does not have named input: {alias}"
                )
            try:
                columns[alias].append(json_to_array(value, alias, inputs[alias]))
            except RequestError as error:
                raise _bad(
                    f"Failed to process element: {index}{key} of 'instances' list. Error: "
                    f"{error.code.name}: {error.message}"
                ) from error
        if named and set(instance) != set(aliases):
            raise _bad(
                f"Failed to process element: {index} of 'instances' list. JSON object: "
                f"{_debug_string(instance)} keys must be equal to: {','.join(aliases)}"
            )
    arrays = {}
    for alias, rows in columns.items():
        if len({row.shape for row in rows}) > 1:
            raise _bad(f"Input {alias} is ragged: instances of several shapes {sorted({row.shape for row in rows})}")
        arrays[alias] = np.stack(rows)
    return arrays


def parse_json_body(body):
    """The JSON value a request body starts with, as TF Serving's `ParseJson` reads it (json_tensor.cc).

    Like rapidjson with `kParseStopWhenDoneFlag`, what follows the first
    complete value is ignored; NaN and Infinity are numbers.
    """
    bom = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0  # rapidjson skips it too
    try:
        text = body[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise _bad(f"JSON Parse error: Invalid encoding in string. at offset: {bom + error.start}") from error
    start = len(text) - len(text.lstrip())
    if start == len(text):
        raise _bad("JSON Parse error: The document is empty")
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except json.JSONDecodeError as error:
        offset = bom + len(text[: error.pos].encode("utf-8"))  # in bytes, as rapidjson counts
        raise _bad(f"JSON Parse error: {error.msg} at offset: {offset}") from error
    except RecursionError as error:
        raise _bad("JSON Parse error: the document is nested too deeply") from error


def parse_predict_body(body, signature_defs):
    """Reads a `:predict` body into inputs, as TF Serving's REST API does.

    Args:
        body: the parsed JSON body.
        signature_defs: dict of signature name -> `SignatureDef`.

    Returns:
        `(signature_name, {alias: (np.ndarray, tf.DType)}, row_format)`.
    """
    if not isinstance(body, dict):
        raise _format_error(body, "Is not object")
    signature_name = body.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise _format_error(body, "not formatted correctly. 'signature_name' key must be a string value.")
    signature_name = signature_name or names.SERVING_SIGNATURE
    signature = signature_defs.get(signature_name)
    if signature is None:
        # http_rest_api_handler.cc, GetInfoMap (gRPC's Predict says it otherwise).
        raise _bad(f'Serving signature name: "{signature_name}" not found in signature def')
    inputs = {alias: tf.dtypes.as_dtype(info.dtype) for alias, info in signature.inputs.items()}
    if not inputs:
        raise _bad(f"Failed to get input map for signature: {signature_name}")
    if "instances" in body and "inputs" in body:
        raise _format_error(body, "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ")
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise _format_error(body, "Expecting 'instances' to be an list/array")
        if not instances:
            raise _format_error(body, "No values in 'instances' array")
        arrays = _instances_to_arrays(instances, inputs)
    elif "inputs" in body:
        given = body["inputs"]
        if not isinstance(given, dict) or _is_b64(given):
            if len(inputs) > 1:
                raise _bad(
                    "inputs is a plain value/list, but expecting an object as multiple "
                    "input tensors required as per tensorinfo_map"
                )
            given = {next(iter(inputs)): given}
        arrays = {}
        for alias in sorted(inputs):
            if alias not in given:
                raise _bad(f"Missing named input: {alias} in 'inputs' object.")
            arrays[alias] = json_to_array(given[alias], alias, inputs[alias])
    else:
        raise _bad("Missing 'inputs' or 'instances' key")
    return signature_name, {alias: (array, inputs[alias]) for alias, array in arrays.items()}, "instances" in body


def predict_json(manager, model_spec, body):
    """A REST `:predict`, end to end: the parsed JSON body to the JSON answer of the version `model_spec` resolves to."""
    servable = manager.resolve(model_spec)
    signature_name, inputs, row_format = parse_predict_body(body, servable.signature_defs)
    _, outputs = servable.predict(signature_name, servable.check_inputs(signature_name, inputs))
    return format_predict_response(outputs, row_format)


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
        if match is None or match["method"] is None or match["method"] not in ("predict", "classify", "regress"):
            # http_rest_api_handler.cc, ProcessRequest: any other path or
            # method (":frobnicate", ":PREDICT") is a malformed request.
            self._error(_bad(f"Malformed request: POST {path}"))
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
