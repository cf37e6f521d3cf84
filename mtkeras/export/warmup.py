"""Warmup records: the requests TF Serving replays when it loads a version.

`assets.extra/tf_serving_warmup_requests` is a TFRecord of `PredictionLog`s.
TF Serving replays them before it serves the version, so the first real
request is not slow, and a failing record fails the load.
"""

import os

import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from mtkeras import names
from mtkeras.export.bundle import ASSETS_EXTRA

WARMUP_FILE = "tf_serving_warmup_requests"
# TF Serving refuses to load a version with more warmup records than this.
MAX_WARMUP_RECORDS = 1000
# One word, no word at all, and a longer sentence with punctuation.
DEFAULT_WARMUP_TEXTS = (
    "hello",
    "",
    "Book a table for two at an Italian restaurant in Rome tomorrow at 8 pm, please!",
)


def warmup_requests(model, texts=DEFAULT_WARMUP_TEXTS):
    """TF Serving warmup records for `model`'s signatures.

    For each signature: one request per text, then one with all texts (when
    there are several). `serving_pair` requests pair each batch with the
    same texts in reverse order. `model_spec.name` is left empty: TF Serving
    ignores it for warmup, and the served name is not known at export.

    Args:
        model: a `MultiTaskModel`.
        texts: list of str (or bytes). May be empty (no records).

    Returns:
        A list of `tensorflow_serving.apis.prediction_log_pb2.PredictionLog`.

    Example:
    >>> logs = warmup_requests(model, ["hello", ""])  # 3 per signature
    >>> logs[0].predict_log.request.model_spec.signature_name
    'serving_default'
    """
    if not isinstance(texts, (list, tuple)) or not all(isinstance(t, (str, bytes)) for t in texts):
        raise ValueError(
            "Received an invalid value for `warmup_texts`, expected a list of str. "
            f"Received: warmup_texts={texts!r:.200}"
        )
    texts = [t.encode("utf-8") if isinstance(t, str) else t for t in texts]
    batches = [[t] for t in texts] + ([texts] if len(texts) > 1 else [])
    records = []
    for signature in names.signature_names(model.has_pairs):
        for batch in batches:
            inputs = {names.TEXT: batch}
            if signature == names.PAIR_SIGNATURE:
                inputs[names.TEXT_PAIR] = batch[::-1]
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = signature
            for key, values in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(values, dtype=tf.string, shape=[len(values)]))
            records.append(prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request)))
    if len(records) > MAX_WARMUP_RECORDS:
        raise ValueError(
            f"Received {len(texts)} `warmup_texts`, which make {len(records)} warmup records; "
            f"TF Serving loads at most {MAX_WARMUP_RECORDS}. Use fewer texts."
        )
    return records


def read_warmup_records(export_path):
    """The `PredictionLog`s of a version's warmup file, at most `MAX_WARMUP_RECORDS` (none without a file)."""
    path = os.path.join(export_path, ASSETS_EXTRA, WARMUP_FILE)
    if not os.path.isfile(path):
        return []
    return [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(path).take(MAX_WARMUP_RECORDS)
    ]


def request_inputs(request):
    """`(signature name, {alias: np.ndarray})` of a `PredictRequest` (an empty name is `serving_default`)."""
    inputs = {alias: tf.make_ndarray(proto) for alias, proto in request.inputs.items()}
    return request.model_spec.signature_name or names.SERVING_SIGNATURE, inputs
