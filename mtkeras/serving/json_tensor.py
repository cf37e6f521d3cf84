"""TF Serving's JSON for tensors: REST request bodies to input arrays, output arrays to JSON answers.

Requests are read as TF Serving's `FillPredictRequestFromJson`
(tensorflow_serving/util/json_tensor.cc) reads them, with the same error
messages; answers are written as its `MakeJsonFromTensors` writes them.
"""

import base64
import codecs
import json

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from mtkeras import names
from mtkeras.serving.errors import RequestError

# Output aliases ending so hold binary data, sent base64 encoded (TF Serving's rule).
_BYTES_SUFFIX = "_bytes"


def bad_request(message):
    """INVALID_ARGUMENT (HTTP 400) with `message`."""
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


# The signature is looked up first and each JSON value is converted to the
# dtype of the input it feeds.

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
    return bad_request(f"JSON Value: {_debug_string(value)} {message}")


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
            raise bad_request("Unable to base64 decode") from error
    if not _ACCEPTS[kind](value):
        raise bad_request(
            f"JSON Value: {_debug_string(value)} Type: {_json_type(value)} is not of expected type: {dtype.name}"
        )
    if kind == "int" and not dtype.min <= value <= dtype.max:
        raise bad_request(f"JSON Value: {_debug_string(value)} Type: Number is not of expected type: {dtype.name}")
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
                raise bad_request(f"Input {alias} is ragged at {path}: every list at one depth needs the same length")
            return [walk(item, depth + 1, f"{path}[{i}]") for i, item in enumerate(node)]
        if depth != len(shape):
            raise bad_request(f"Input {alias} is ragged at {path}: every list at one depth needs the same length")
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
        raise bad_request(
            "instances is a plain list, but expecting list of objects as multiple "
            "input tensors required as per tensorinfo_map"
        )
    columns = {alias: [] for alias in aliases}
    for index, instance in enumerate(instances):
        is_object = isinstance(instance, dict) and not _is_b64(instance)
        if named and not is_object:
            raise bad_request(f"Expecting object but got list at item {index} of input list")
        if not named and is_object:
            raise bad_request(f"Expecting value/list but got object at item {index} of input list")
        items = instance.items() if named else [(aliases[0], instance)]
        for alias, value in items:
            key = f" key: {alias}" if named else ""
            if alias not in inputs:
                raise bad_request(
                    f"Failed to process element: {index}{key} of 'instances' list. Error: "
                    f"INVALID_ARGUMENT: JSON object: does not have named input: {alias}"
                )
            try:
                columns[alias].append(json_to_array(value, alias, inputs[alias]))
            except RequestError as error:
                raise bad_request(
                    f"Failed to process element: {index}{key} of 'instances' list. Error: "
                    f"{error.code.name}: {error.message}"
                ) from error
        if named and set(instance) != set(aliases):
            raise bad_request(
                f"Failed to process element: {index} of 'instances' list. JSON object: "
                f"{_debug_string(instance)} keys must be equal to: {','.join(aliases)}"
            )
    arrays = {}
    for alias, rows in columns.items():
        if len({row.shape for row in rows}) > 1:
            raise bad_request(f"Input {alias} is ragged: instances of several shapes {sorted({row.shape for row in rows})}")
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
        raise bad_request(f"JSON Parse error: Invalid encoding in string. at offset: {bom + error.start}") from error
    start = len(text) - len(text.lstrip())
    if start == len(text):
        raise bad_request("JSON Parse error: The document is empty")
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except json.JSONDecodeError as error:
        offset = bom + len(text[: error.pos].encode("utf-8"))  # in bytes, as rapidjson counts
        raise bad_request(f"JSON Parse error: {error.msg} at offset: {offset}") from error
    except RecursionError as error:
        raise bad_request("JSON Parse error: the document is nested too deeply") from error


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
        raise bad_request(f'Serving signature name: "{signature_name}" not found in signature def')
    inputs = {alias: tf.dtypes.as_dtype(info.dtype) for alias, info in signature.inputs.items()}
    if not inputs:
        raise bad_request(f"Failed to get input map for signature: {signature_name}")
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
                raise bad_request(
                    "inputs is a plain value/list, but expecting an object as multiple "
                    "input tensors required as per tensorinfo_map"
                )
            given = {next(iter(inputs)): given}
        arrays = {}
        for alias in sorted(inputs):
            if alias not in given:
                raise bad_request(f"Missing named input: {alias} in 'inputs' object.")
            arrays[alias] = json_to_array(given[alias], alias, inputs[alias])
    else:
        raise bad_request("Missing 'inputs' or 'instances' key")
    return signature_name, {alias: (array, inputs[alias]) for alias, array in arrays.items()}, "instances" in body


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
        raise bad_request("Output tensors do not share a first (batch) dimension; use the columnar 'inputs' format")
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
