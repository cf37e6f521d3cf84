"""A gRPC client for mtkeras models behind TF Serving or `mtkeras serve`.

It speaks only TF Serving's public API (`PredictionService`), so it works the
same against the official `tensorflow_model_server` and against
`mtkeras.serving.ModelServer`. It knows the exported tensors only through the
names in `mtkeras.names`, never through mtkeras model code.
"""

import time

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from mtkeras import names

class ServingError(Exception):
    """A request the server refused or could not answer.

    Raised by every `Client` method instead of the raw `grpc.RpcError`, which
    stays available as `__cause__`.

    Args:
        code: grpc.StatusCode. The status, e.g. `grpc.StatusCode.NOT_FOUND`.
        details: str. The server's message, e.g.
            `"Servable not found for request: Latest(nlu)"`.
        target: str. The server address, for the error message.
    """

    def __init__(self, code, details, target=None):
        where = f" (server {target})" if target else ""
        super().__init__(f"{code.name}: {details}{where}")
        self.code = code
        self.details = details
        self.target = target


def _decode_strings(array):
    """Bytes arrays to arrays of Python str (invalid UTF-8 becomes U+FFFD); others unchanged."""
    if array.dtype != object:
        return array
    decoded = [value.decode("utf-8", errors="replace") for value in array.ravel()]
    return np.array(decoded, dtype=object).reshape(array.shape)


def _tensor_info(info):
    if info.tensor_shape.unknown_rank:
        shape = None
    else:
        shape = [dim.size if dim.size >= 0 else None for dim in info.tensor_shape.dim]
    return {"dtype": tf.dtypes.as_dtype(info.dtype).name, "shape": shape}


class Client:
    """Sends raw texts to a served mtkeras model and returns per-text results.

    Every method raises `ServingError` (with `.code` and the server's
    `.details`) when the server answers with an error or cannot be reached.

    Args:
        target: str. The server's gRPC address, e.g. `"localhost:8500"`.
        model_name: str. The served model's name.
        signature_name: str. The signature to call.
        version: int or None. A model version; None means the latest one.
        timeout: float. Seconds to wait for each answer.

    Example:
    >>> with Client("localhost:8500", "nlu") as client:
    ...     client.predict(["book a table for two"])
    [{'intent': {'label': 'BookRestaurant', 'score': 0.97},
      'slots': [['book', 'O'], ['a', 'O'], ['table', 'O'], ['for', 'O'], ['two', 'B-party_size']]}]
    """

    def __init__(self, target, model_name, signature_name=names.SERVING_SIGNATURE, version=None, timeout=30.0):
        self.target = target
        self.model_name = model_name
        self.signature_name = signature_name
        self.version = version
        self.timeout = timeout
        # Channels connect lazily: nothing touches the network before a call.
        self._channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1)])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def predict(self, texts, pairs=None):
        """One result dict per text, keyed by task name.

        A sentence task `t` gives `{"label": str, "score": float}`; a token
        task gives `[[word, tag], ...]` over the text's words; a multi-label
        task the list of labels that are on; a regression task a float. Outputs not
        named by the mtkeras naming scheme (such as `*_probs`) are left out;
        `predict_raw` returns everything.

        Args:
            texts: str or list of str. A single str is one text (the result
                is still a list, of one dict).
            pairs: str, list of str or None. Second texts, one per text, for
                models with sentence-pair tasks: the request then goes to the
                `serving_pair` signature and every task answers.

        Returns:
            A list of dicts, in the order of `texts`.
        """
        texts = self._as_list(texts)
        if not texts:
            return []
        outputs = self.predict_raw(texts, pairs=pairs)
        lengths, words = outputs[names.LENGTHS], outputs[names.WORDS]
        results = []
        for i in range(len(texts)):
            n = int(lengths[i])
            result = {}
            for key in sorted(outputs):
                if key.endswith(names.LABEL_SUFFIX):
                    task = key[: -len(names.LABEL_SUFFIX)]
                    result[task] = {"label": outputs[key][i]}
                    if names.score_key(task) in outputs:
                        result[task]["score"] = float(outputs[names.score_key(task)][i])
                elif key.endswith(names.TAGS_SUFFIX):
                    task = key[: -len(names.TAGS_SUFFIX)]
                    result[task] = [[word, tag] for word, tag in zip(words[i][:n], outputs[key][i][:n])]
                elif key.endswith(names.LABELS_SUFFIX):
                    result[key[: -len(names.LABELS_SUFFIX)]] = [label for label in outputs[key][i] if label]
                elif key.endswith(names.VALUE_SUFFIX):
                    result[key[: -len(names.VALUE_SUFFIX)]] = float(outputs[key][i])
            results.append(result)
        return results

    def predict_raw(self, texts, output_filter=None, pairs=None):
        """Every output tensor of the signature (or those in `output_filter`).

        Args:
            texts: str or list of str.
            output_filter: list of str or None. Output names to fetch; None
                fetches all.

        Returns:
            A dict of numpy arrays; string tensors hold Python str.
        """
        texts = self._as_list(texts)
        request = predict_pb2.PredictRequest()
        self._fill_model_spec(request.model_spec)
        request.model_spec.signature_name = self.signature_name
        request.inputs[names.TEXT].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string, shape=[len(texts)]))
        if pairs is not None:
            pairs = self._as_list(pairs)
            if len(pairs) != len(texts):
                raise ValueError(f"Received {len(texts)} texts but {len(pairs)} pairs; give one second text per text")
            if self.signature_name == names.SERVING_SIGNATURE:
                request.model_spec.signature_name = names.PAIR_SIGNATURE
            request.inputs[names.TEXT_PAIR].CopyFrom(tf.make_tensor_proto(pairs, dtype=tf.string, shape=[len(pairs)]))
        request.output_filter.extend(output_filter or [])
        response = self._call(self._stub.Predict, request)
        return {key: _decode_strings(tf.make_ndarray(proto)) for key, proto in response.outputs.items()}

    def metadata(self):
        """The served version and this client's signature: input and output dtypes and shapes.

        Returns:
            A dict like `{"model_name": "nlu", "version": 3, "signature_name":
            "serving_default", "method_name": ..., "inputs": {"text": {"dtype":
            "string", "shape": [None]}}, "outputs": {...}}`; `None` marks an
            unknown dimension.
        """
        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._fill_model_spec(request.model_spec)
        request.metadata_field.append(names.SIGNATURE_DEF_FIELD)
        response = self._call(self._stub.GetModelMetadata, request)
        signature_def_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata[names.SIGNATURE_DEF_FIELD].Unpack(signature_def_map)
        if self.signature_name not in signature_def_map.signature_def:
            raise KeyError(
                f"Model {self.model_name!r} has no signature {self.signature_name!r}. "
                f"Available: {sorted(signature_def_map.signature_def)}"
            )
        signature = signature_def_map.signature_def[self.signature_name]
        return {
            "model_name": response.model_spec.name,
            "version": response.model_spec.version.value,
            "signature_name": self.signature_name,
            "method_name": signature.method_name,
            "inputs": {key: _tensor_info(info) for key, info in sorted(signature.inputs.items())},
            "outputs": {key: _tensor_info(info) for key, info in sorted(signature.outputs.items())},
        }

    def wait_until_ready(self, timeout=60.0, interval=0.2):
        """Blocks until the server answers for this model; returns its metadata.

        Retries while the server is unreachable (UNAVAILABLE) or has not
        loaded the model yet (NOT_FOUND), up to `timeout` seconds, then
        raises the last `ServingError`.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.metadata()
            except ServingError as error:
                retryable = error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.NOT_FOUND)
                if not retryable or time.monotonic() + interval > deadline:
                    raise
            time.sleep(interval)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # === Helpers ===

    @staticmethod
    def _as_list(texts):
        if isinstance(texts, (str, bytes)):
            return [texts]
        texts = list(texts)
        for text in texts:
            if not isinstance(text, (str, bytes)):
                raise TypeError(f"Received an invalid text, expected str. Received: {text!r} ({type(text).__name__})")
        return texts

    def _fill_model_spec(self, model_spec):
        model_spec.name = self.model_name
        if self.version is not None:
            model_spec.version.value = int(self.version)

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingError(error.code(), error.details(), target=self.target) from error
