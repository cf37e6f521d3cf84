"""The one error type the serving code raises for a request it refuses."""

import urllib.parse

import grpc

# TF Serving's REST server answers each canonical status with this HTTP status
# (tensorflow_serving/model_servers/http_server.cc, ToHTTPStatusCode).
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

# Where `mtkeras serve` lists the models it serves when a request names another
# (TF Serving has no API that lists them; clients of the official server go without).
SERVED_MODELS_METADATA = "mtkeras-served-models"
SERVED_MODELS_HEADER = "X-Mtkeras-Served-Models"


def encode_served_models(served):
    """The list as one ASCII value (metadata and header values are ASCII; model names may not be)."""
    return urllib.parse.quote("; ".join(served), safe=" ;,()")


def decode_served_models(value):
    """`encode_served_models` read back; None for None (a server that does not say)."""
    return [name for name in urllib.parse.unquote(value).split("; ") if name] if value is not None else None

# TF Serving cuts error messages it returns at about 1 KB.
MAX_ERROR_MESSAGE = 1024


class RequestError(Exception):
    """A request the server refuses, with the gRPC status code to report.

    Args:
        code: grpc.StatusCode.
        message: str. What was wrong, naming the tensor, field or value.
        served_models: list of str or None. For a model that is not served:
            the models that are, sent beside the message (gRPC trailing
            metadata, an HTTP header) so that the message stays TF Serving's.
    """

    def __init__(self, code, message, served_models=None):
        super().__init__(message)
        self.code = code
        self.message = message[:MAX_ERROR_MESSAGE]
        self.served_models = served_models

    @property
    def http_status(self):
        return HTTP_STATUS.get(self.code, 500)


def status_from_tf_error(error):
    """The gRPC status code of a TensorFlow `OpError` (both use the canonical codes)."""
    return next((code for code in grpc.StatusCode if code.value[0] == error.error_code), grpc.StatusCode.INTERNAL)
