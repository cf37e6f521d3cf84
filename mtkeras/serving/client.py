"""gRPC and REST clients for mtkeras models behind TF Serving or `mtkeras serve`.

Both speak only TF Serving's public APIs, so they work the same against the
official `tensorflow_model_server` and against `mtkeras.serving.ModelServer`,
and both return the same per-text result dicts. They know the exported
tensors only through the names in `mtkeras.names`, never through model code,
and import neither TensorFlow nor Keras (`mtkeras.serving.protos`): a client
starts in a fraction of a second.
"""

import time
import urllib.parse

import grpc
import numpy as np
import requests
from google.protobuf import json_format

from mtkeras import names
from mtkeras.serving.errors import SERVED_MODELS_HEADER, SERVED_MODELS_METADATA
from mtkeras.serving.protos import array_to_tensor, dtype_name, serving_protos, tensor_to_array
from mtkeras.results import format_result, results_from_outputs, same_answers, strings_as_text  # noqa: F401 (format_result and same_answers: kept for old imports)

# HTTP statuses of TF Serving's REST API, read back as the gRPC status behind them.
_GRPC_CODE_OF_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


class ServingError(Exception):
    """A request the server refused or could not answer.

    Raised by every client method instead of the transport's own error, which
    stays available as `__cause__`.

    Args:
        code: grpc.StatusCode. The status, e.g. `grpc.StatusCode.NOT_FOUND`
            (for REST, the status behind the HTTP status).
        details: str. The server's message, e.g.
            `"Servable not found for request: Latest(nlu)"`.
        target: str. The server address, for the error message.
        http_status: int or None. The HTTP status (REST only).
        served_models: list of str or None. On NOT_FOUND from `mtkeras
            serve`, the models it serves (TF Serving does not say).
        hint: str or None. What to check, added to the message.
    """

    def __init__(self, code, details, target=None, http_status=None, served_models=None, hint=None):
        where = f" (server {target})" if target else ""
        message = f"{code.name}: {details}{where}"
        if served_models is not None:
            message += f"; it serves {', '.join(served_models) if served_models else 'no model yet'}"
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(message)
        self.code = code
        self.details = details
        self.target = target
        self.http_status = http_status
        self.served_models = served_models
        self.hint = hint


def _served_models(value):
    return [name for name in urllib.parse.unquote(value).split("; ") if name] if value is not None else None


def _grpc_error(error, target):
    """A `ServingError` for a failed gRPC call, with what the user can do about it."""
    code, details = error.code(), error.details() or ""
    metadata = dict(error.trailing_metadata() or ())
    hint = None
    if code == grpc.StatusCode.UNAVAILABLE and ("http1" in details.lower() or "failed parsing http/2" in details.lower()):
        hint = f"{target} answers HTTP (the REST API): use RestClient (mtkeras predict --rest), or the gRPC port (8500)"
    elif code == grpc.StatusCode.UNAVAILABLE and ("refused" in details.lower() or "failed to connect" in details.lower()):
        hint = (f"nothing answers at {target}: is `mtkeras serve` (or tensorflow_model_server) running there? "
                "gRPC listens on --port (8500), REST on --rest_api_port (8501)")
    return ServingError(code, details, target=target, served_models=_served_models(metadata.get(SERVED_MODELS_METADATA)),
                        hint=hint)


def _tensor_info(info):
    if info.tensor_shape.unknown_rank:
        shape = None
    else:
        shape = [dim.size if dim.size >= 0 else None for dim in info.tensor_shape.dim]
    return {"dtype": dtype_name(info.dtype), "shape": shape}


def _as_list(texts):
    if isinstance(texts, (str, bytes)):
        return [texts]
    texts = list(texts)
    for text in texts:
        if not isinstance(text, (str, bytes)):
            raise TypeError(f"Received an invalid text, expected str. Received: {text!r} ({type(text).__name__})")
    return texts


def _pairs_for(texts, pairs):
    if pairs is None:
        return None
    pairs = _as_list(pairs)
    if len(pairs) != len(texts):
        raise ValueError(f"Received {len(texts)} texts but {len(pairs)} pairs; give one second text per text")
    return pairs


class _BaseClient:
    """What both clients share: retries, the result format, waiting for the server."""

    def __init__(self, target, model_name, signature_name, version, version_label, timeout, retries, backoff):
        if version is not None and version_label is not None:
            raise ValueError("Give `version` or `version_label`, not both")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"Received an invalid `retries`, expected an integer >= 0. Received: retries={retries!r}")
        self.target = target
        self.model_name = model_name
        self.signature_name = signature_name
        self.version = version
        self.version_label = version_label
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def _with_retries(self, call):
        """Runs `call`; retries UNAVAILABLE (server down, restarting or overloaded) with backoff."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return call()
            except ServingError as error:
                if error.code != grpc.StatusCode.UNAVAILABLE or attempt == self.retries:
                    raise
            time.sleep(delay)
            delay *= 2

    def _signature_for(self, pairs):
        if pairs is not None and self.signature_name == names.SERVING_SIGNATURE:
            return names.PAIR_SIGNATURE
        return self.signature_name

    def predict(self, texts, pairs=None):
        """One result dict per text, keyed by task name (see `results_from_outputs`).

        Args:
            texts: str or list of str. A single str is one text (the result
                is still a list, of one dict).
            pairs: str, list of str or None. Second texts, one per text, for
                models with sentence-pair tasks: the request then goes to the
                `serving_pair` signature and every task answers.

        Returns:
            A list of dicts, in the order of `texts`.
        """
        texts = _as_list(texts)
        if not texts:
            return []
        return results_from_outputs(self.predict_raw(texts, pairs=pairs), len(texts))

    def wait_until_ready(self, timeout=60.0, interval=0.2, on_wait=None):
        """Blocks until the server answers for this model; returns its metadata.

        Retries while the server is unreachable (UNAVAILABLE) or has not
        loaded the model yet (NOT_FOUND), up to `timeout` seconds, then
        raises the last `ServingError`. `on_wait(error)`, if given, is called
        once, when the first attempt fails and waiting starts.
        """
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                return self.metadata()
            except ServingError as error:
                retryable = error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.NOT_FOUND)
                if retryable and on_wait is not None and not told:
                    on_wait(error)
                    told = True
                if not retryable or time.monotonic() + interval > deadline:
                    raise
            time.sleep(interval)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _read_pem(value):
    if value is None or isinstance(value, bytes):
        return value
    with open(value, "rb") as handle:
        return handle.read()


class Client(_BaseClient):
    """Sends raw texts to a served mtkeras model over gRPC; returns per-text results.

    Every method raises `ServingError` (with `.code` and the server's
    `.details`) when the server answers with an error or cannot be reached.
    Calls that find the server UNAVAILABLE are retried `retries` times with
    exponential backoff.

    Args:
        target: str. The server's gRPC address, e.g. `"localhost:8500"`.
        model_name: str. The served model's name.
        signature_name: str. The signature to call.
        version: int or None. A model version; None means the latest one.
        version_label: str or None. A version label from the server's
            `models.config`, e.g. `"stable"`, instead of `version`.
        timeout: float. Seconds to wait for each answer.
        retries: int. Extra attempts on UNAVAILABLE.
        backoff: float. Seconds before the first retry; doubles each time.
        root_certificates: bytes or path. PEM CA certificates: connect with
            TLS and check the server's certificate against them.
        private_key, certificate_chain: bytes or paths. The client's own key
            and certificate, for servers that require client certificates.

    Example:
    >>> with Client("localhost:8500", "nlu") as client:
    ...     client.predict(["book a table for two"])
    [{'intent': {'label': 'BookRestaurant', 'score': 0.97},
      'slots': {'tags': [['book', 'O'], ..., ['two', 'B-party_size']],
                'entities': [{'type': 'party_size', 'text': 'two', 'start': 4, 'end': 5}]}}]
    """

    def __init__(
        self,
        target,
        model_name,
        signature_name=names.SERVING_SIGNATURE,
        version=None,
        timeout=30.0,
        *,
        version_label=None,
        retries=3,
        backoff=0.1,
        root_certificates=None,
        private_key=None,
        certificate_chain=None,
    ):
        super().__init__(target, model_name, signature_name, version, version_label, timeout, retries, backoff)
        options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
        # Channels connect lazily: nothing touches the network before a call.
        if root_certificates is not None or certificate_chain is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_pem(root_certificates),
                private_key=_read_pem(private_key),
                certificate_chain=_read_pem(certificate_chain),
            )
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._protos = serving_protos()
        self._stub = self._protos.prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._model_stub = self._protos.model_service_pb2_grpc.ModelServiceStub(self._channel)

    def predict_raw(self, texts, output_filter=None, pairs=None):
        """Every output tensor of the signature (or those in `output_filter`).

        Returns:
            A dict of numpy arrays; string tensors hold Python str.
        """
        texts = _as_list(texts)
        pairs = _pairs_for(texts, pairs)
        request = self._protos.predict_pb2.PredictRequest()
        self._fill_model_spec(request.model_spec)
        request.model_spec.signature_name = self._signature_for(pairs)
        array_to_tensor(texts, request.inputs[names.TEXT])
        if pairs is not None:
            array_to_tensor(pairs, request.inputs[names.TEXT_PAIR])
        request.output_filter.extend(output_filter or [])
        response = self._call(self._stub.Predict, request)
        return {key: strings_as_text(tensor_to_array(proto)) for key, proto in response.outputs.items()}

    def metadata(self):
        """The served version and this client's signature: input and output dtypes and shapes.

        Returns:
            A dict like `{"model_name": "nlu", "version": 3, "signature_name":
            "serving_default", "method_name": ..., "inputs": {"text": {"dtype":
            "string", "shape": [None]}}, "outputs": {...}}`; `None` marks an
            unknown dimension.
        """
        metadata_pb2 = self._protos.get_model_metadata_pb2
        request = metadata_pb2.GetModelMetadataRequest()
        self._fill_model_spec(request.model_spec)
        request.metadata_field.append(names.SIGNATURE_DEF_FIELD)
        response = self._call(self._stub.GetModelMetadata, request)
        signature_def_map = metadata_pb2.SignatureDefMap()
        response.metadata[names.SIGNATURE_DEF_FIELD].Unpack(signature_def_map)
        return _describe(response.model_spec.name, response.model_spec.version.value, signature_def_map, self)

    def status(self):
        """Every version the server knows of this model: `[{"version", "state", "error"}]`, newest first."""
        status_pb2 = self._protos.get_model_status_pb2
        request = status_pb2.GetModelStatusRequest()
        self._fill_model_spec(request.model_spec)
        response = self._call(self._model_stub.GetModelStatus, request)
        return [
            {
                "version": status.version,
                "state": status_pb2.ModelVersionStatus.State.Name(status.state),
                "error": status.status.error_message,
            }
            for status in response.model_version_status
        ]

    def close(self):
        self._channel.close()

    def _fill_model_spec(self, model_spec):
        model_spec.name = self.model_name
        if self.version is not None:
            model_spec.version.value = int(self.version)
        elif self.version_label is not None:
            model_spec.version_label = self.version_label

    def _call(self, method, request):
        def attempt():
            try:
                return method(request, timeout=self.timeout)
            except grpc.RpcError as error:
                raise _grpc_error(error, self.target) from error

        return self._with_retries(attempt)


def _describe(model_name, version, signature_def_map, client):
    if client.signature_name not in signature_def_map.signature_def:
        raise KeyError(
            f"Model {client.model_name!r} has no signature {client.signature_name!r}. "
            f"Available: {sorted(signature_def_map.signature_def)}"
        )
    signature = signature_def_map.signature_def[client.signature_name]
    return {
        "model_name": model_name,
        "version": int(version),
        "signature_name": client.signature_name,
        "method_name": signature.method_name,
        "inputs": {key: _tensor_info(info) for key, info in sorted(signature.inputs.items())},
        "outputs": {key: _tensor_info(info) for key, info in sorted(signature.outputs.items())},
    }


def _connection_error(error, target):
    """A `ServingError` for an HTTP connection that failed, with what the user can do about it."""
    text = str(error)
    if "BadStatusLine" in text and "\\x00" in text:
        # An HTTP/2 frame where an HTTP/1.1 status line should be: a gRPC port.
        return ServingError(grpc.StatusCode.UNAVAILABLE, "the server answered in gRPC, not HTTP", target,
                            hint=f"{target} is a gRPC port: use Client (mtkeras predict without --rest), or the REST "
                                 "port (8501)")
    if "refused" in text.lower():
        return ServingError(grpc.StatusCode.UNAVAILABLE, "connection refused", target,
                            hint=f"nothing answers at {target}: is `mtkeras serve` (or tensorflow_model_server) running "
                                 "there? REST listens on --rest_api_port (8501), gRPC on --port (8500)")
    return ServingError(grpc.StatusCode.UNAVAILABLE, f"cannot connect: {error}", target)


class RestClient(_BaseClient):
    """The same as `Client`, over TF Serving's REST API (port 8501).

    Texts go in the columnar format (`{"inputs": {"text": [...]}}`); results
    are the same dicts `Client.predict` returns. Connection failures and
    HTTP 503 are retried as UNAVAILABLE.

    Args:
        target: str. `"localhost:8501"` or a URL such as `"https://host:8501"`.
        model_name, signature_name, version, version_label, timeout, retries,
            backoff: as `Client`.
        verify: bool or path. TLS certificate check for `https://` targets
            (a CA bundle path, or False to skip).

    Example:
    >>> with RestClient("localhost:8501", "nlu") as client:
    ...     client.predict(["book a table for two"])
    """

    def __init__(
        self,
        target,
        model_name,
        signature_name=names.SERVING_SIGNATURE,
        version=None,
        timeout=30.0,
        *,
        version_label=None,
        retries=3,
        backoff=0.1,
        verify=True,
    ):
        super().__init__(target, model_name, signature_name, version, version_label, timeout, retries, backoff)
        self._base_url = (target if "://" in target else f"http://{target}").rstrip("/")
        self._session = requests.Session()
        self._session.verify = verify

    def _model_url(self):
        url = f"{self._base_url}/v1/models/{urllib.parse.quote(self.model_name, safe='')}"
        if self.version is not None:
            url += f"/versions/{int(self.version)}"
        elif self.version_label is not None:
            url += f"/labels/{urllib.parse.quote(self.version_label, safe='')}"
        return url

    def _request(self, method, url, body=None):
        def attempt():
            try:
                response = self._session.request(method, url, json=body, timeout=self.timeout)
            except requests.ConnectionError as error:
                raise _connection_error(error, self.target) from error
            except requests.Timeout as error:
                raise ServingError(grpc.StatusCode.DEADLINE_EXCEEDED, f"no answer in {self.timeout} s", self.target) from error
            try:
                payload = response.json()
            except ValueError:
                payload = {"error": response.text[:1024]}
            if response.status_code != 200:
                code = _GRPC_CODE_OF_HTTP.get(response.status_code, grpc.StatusCode.UNKNOWN)
                details = payload.get("error", "") if isinstance(payload, dict) else str(payload)
                served = _served_models(response.headers.get(SERVED_MODELS_HEADER))
                raise ServingError(code, details, self.target, http_status=response.status_code, served_models=served)
            return payload

        return self._with_retries(attempt)

    def predict_raw(self, texts, output_filter=None, pairs=None):
        """Every output of the signature as numpy arrays (strings as str); see `Client.predict_raw`."""
        texts = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else t for t in _as_list(texts)]
        pairs = _pairs_for(texts, pairs)
        inputs = {names.TEXT: texts}
        if pairs is not None:
            inputs[names.TEXT_PAIR] = [p.decode("utf-8", errors="replace") if isinstance(p, bytes) else p for p in pairs]
        body = {"signature_name": self._signature_for(pairs), "inputs": inputs}
        outputs = self._request("POST", f"{self._model_url()}:predict", body)["outputs"]
        if not isinstance(outputs, dict):
            raise ServingError(grpc.StatusCode.INTERNAL, "expected named outputs in the answer", self.target)
        wanted = set(output_filter) if output_filter else None
        arrays = {}
        for key, value in outputs.items():
            if wanted is None or key in wanted:
                array = np.array(value)
                arrays[key] = array.astype(object) if array.dtype.kind == "U" else array
        return arrays

    def metadata(self):
        """As `Client.metadata`, from `GET /v1/models/NAME/metadata`."""
        payload = self._request("GET", f"{self._model_url()}/metadata")
        signature_def_map = json_format.ParseDict(
            payload["metadata"][names.SIGNATURE_DEF_FIELD], serving_protos().get_model_metadata_pb2.SignatureDefMap()
        )
        return _describe(payload["model_spec"]["name"], payload["model_spec"]["version"], signature_def_map, self)

    def status(self):
        """As `Client.status`, from `GET /v1/models/NAME`."""
        payload = self._request("GET", self._model_url())
        return [
            {
                "version": int(status["version"]),
                "state": status["state"],
                "error": status.get("status", {}).get("error_message", ""),
            }
            for status in payload["model_version_status"]
        ]

    def close(self):
        self._session.close()
