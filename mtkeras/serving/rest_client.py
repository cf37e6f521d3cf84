"""`RestClient`: the same answers as `Client`, over TF Serving's REST API (port 8501)."""

import urllib.parse

import grpc
import numpy as np
import requests
from google.protobuf import json_format

from mtkeras import names
from mtkeras.serving.client import ServingError, _as_list, _BaseClient, _describe, _pairs_for
from mtkeras.serving.errors import SERVED_MODELS_HEADER, decode_served_models
from mtkeras.serving.protos import serving_protos

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



def _connection_error(error, target):
    """A `ServingError` for an HTTP connection that failed, with what the user can do about it."""
    text = str(error)
    if "BadStatusLine" in text and "\\x00" in text:
        # An HTTP/2 frame where an HTTP/1.1 status line should be: a gRPC port.
        return ServingError(grpc.StatusCode.UNAVAILABLE, "the server answered in gRPC, not HTTP", target,
                            hint=f"{target} is a gRPC port: use Client (mtkeras predict without --rest), or the REST "
                                 "port (8501)", wrong_protocol=True)
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
                served = decode_served_models(response.headers.get(SERVED_MODELS_HEADER))
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
