"""The gRPC client for mtkeras models behind TF Serving or `mtkeras serve`, and what both clients share.

`RestClient`, the same over TF Serving's REST API, is in `rest_client.py`.

Both speak only TF Serving's public APIs, so they work the same against the
official `tensorflow_model_server` and against `mtkeras.serving.ModelServer`,
and both return the same per-text result dicts. They know the exported
tensors only through the names in `mtkeras.names`, never through model code,
and import neither TensorFlow nor Keras (`mtkeras.serving.protos`): a client
starts in a fraction of a second.
"""

import time

import grpc

from mtkeras import names
from mtkeras.serving.errors import SERVED_MODELS_METADATA, decode_served_models
from mtkeras.serving.protos import array_to_tensor, dtype_name, serving_protos, tensor_to_array
from mtkeras.results import format_result, results_from_outputs, same_answers, strings_as_text  # noqa: F401 (format_result and same_answers: kept for old imports)

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
        wrong_protocol: bool. The address answers the other API (REST for
            gRPC or the reverse): retrying or waiting will not help.
    """

    def __init__(self, code, details, target=None, http_status=None, served_models=None, hint=None,
                 wrong_protocol=False):
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
        self.wrong_protocol = wrong_protocol


def _grpc_error(error, target):
    """A `ServingError` for a failed gRPC call, with what the user can do about it."""
    code, details = error.code(), error.details() or ""
    metadata = dict(error.trailing_metadata() or ())
    hint = None
    wrong_protocol = code == grpc.StatusCode.UNAVAILABLE and (
        "http1" in details.lower() or "failed parsing http/2" in details.lower())
    if wrong_protocol:
        hint = f"{target} answers HTTP (the REST API): use RestClient (mtkeras predict --rest), or the gRPC port (8500)"
    elif code == grpc.StatusCode.UNAVAILABLE and ("refused" in details.lower() or "failed to connect" in details.lower()):
        hint = (f"nothing answers at {target}: is `mtkeras serve` (or tensorflow_model_server) running there? "
                "gRPC listens on --port (8500), REST on --rest_api_port (8501)")
    return ServingError(code, details, target=target, served_models=decode_served_models(metadata.get(SERVED_MODELS_METADATA)),
                        hint=hint, wrong_protocol=wrong_protocol)


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
                if error.code != grpc.StatusCode.UNAVAILABLE or error.wrong_protocol or attempt == self.retries:
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
                retryable = error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.NOT_FOUND) and not error.wrong_protocol
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


def __getattr__(name):
    # RestClient lives in rest_client.py (it builds on this module); kept importable from here.
    if name == "RestClient":
        from mtkeras.serving.rest_client import RestClient

        return RestClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
