"""Raw-text SavedModels for TF Serving, one integer version at a time."""

import json
import os
import shutil
import uuid

import keras
import tensorflow as tf

from mtkeras import names
from mtkeras._version import __version__
from mtkeras.results import results_from_outputs
from mtkeras.export.bundle import ASSETS_EXTRA
from mtkeras.export.verify import ExportError, verify_export
from mtkeras.export.warmup import DEFAULT_WARMUP_TEXTS, WARMUP_FILE, warmup_requests
from mtkeras.models.traced import text_signature, traced

# What mtkeras records about an export, beside the SavedModel.
METADATA_FILE = "mtkeras.json"


def _serving_functions(model):
    """`{signature name: concrete function}` answering raw texts with `model`.

    `serving_default` answers a batch of texts for every single-text task;
    models with sentence-pair tasks also get `serving_pair`, which answers
    every task for a batch of text pairs.
    """
    single = [task for task in model.tasks if not task.pair]

    # autograph=False: the serving code is graph code as written (no Python control flow on tensors), and
    # converting it would cost more than half of an export's time.
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=names.TEXT)], autograph=False)
    def serve(text):
        return serving_outputs(model, {names.TEXT: text}, single)

    functions = {names.SERVING_SIGNATURE: serve.get_concrete_function()}
    if model.has_pairs:

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name=names.TEXT),
                tf.TensorSpec([None], tf.string, name=names.TEXT_PAIR),
            ],
            autograph=False,
        )
        def serve_pair(text, text_pair):
            tf.debugging.assert_equal(
                tf.shape(text), tf.shape(text_pair), message="text and text_pair need the same number of texts"
            )
            return serving_outputs(model, {names.TEXT: text, names.TEXT_PAIR: text_pair}, model.tasks)

        functions[names.PAIR_SIGNATURE] = serve_pair.get_concrete_function()
    return functions


def _captured_resources(model, functions):
    """The variables and lookup tables `functions` read, each once, in the order first read.

    Keras variables are looked through to the `tf.Variable` that holds each
    weight; tables are the TF resources among the model's tracked objects.

    Raises:
        ValueError: a function reads a resource the model does not own.
    """
    owners = {}
    for variable in model.variables:
        owners[id(variable.value.handle)] = variable.value
    for trackable in tf.train.TrackableView(model).descendants():
        if isinstance(trackable, tf.saved_model.experimental.TrackableResource):
            owners[id(trackable.resource_handle)] = trackable
    resources = {}
    for name, function in functions.items():
        for captured in function.captured_inputs:
            if captured.dtype != tf.resource or id(captured) in resources:
                continue
            owner = owners.get(id(captured))
            if owner is None:
                raise ValueError(
                    f"Signature {name!r} reads a resource that is neither a weight nor a table of the model: "
                    f"{captured!r}. Keep every variable and lookup table of the model on one of its layers."
                )
            resources[id(captured)] = owner
    return list(resources.values())


class _ServingExport:
    """A weights-only copy of the model, its serving functions, and the `tf.Module` that gets saved.

    The module tracks the signatures' variables and lookup tables, not the
    Keras model. A tracked Keras variable is saved as a copy of its
    `tf.Variable` that the restore op fills, while the signatures read the
    original, which only `tf.saved_model.load` binds (by object identity); TF
    Serving's session loader leaves it empty ("Could not find variable ...",
    keras-team/keras#20096, tensorflow/tensorflow#72963). Tracking the
    `tf.Variable`s (and tables) the signatures capture makes the restored
    variables the ones the graph reads, one copy of every weight.
    `model.export()` and `keras.export.ExportArchive` store each weight twice
    (keras-team/keras#23553).
    """

    def __init__(self, model):
        self.original = model
        # A compiled model tracks its optimizer, whose slots must not be
        # saved: work on a copy holding weights only.
        self.model = type(model).from_config(model.get_config())
        self.model.set_weights(model.get_weights())
        self.signatures = _serving_functions(self.model)
        self.module = tf.Module(name="mtkeras_serving")
        self.module.resources = _captured_resources(self.model, self.signatures)

    def answer(self, signature_name, inputs):
        """What a signature answers, computed op by op (eagerly) by the model given to export."""
        tensors = {alias: tf.constant(value) for alias, value in inputs.items()}
        tasks = [task for task in self.original.tasks if names.TEXT_PAIR in tensors or not task.pair]
        return {alias: value.numpy() for alias, value in serving_outputs(self.original, tensors, tasks).items()}


def serving_outputs(model, inputs, tasks):
    """The exported outputs (`words`, `lengths`, each task's labels, tags, entities, ...) of `inputs`."""
    predictions = model(inputs, training=False)
    words, lengths = model.preprocessor.tokenize(inputs[names.TEXT])
    outputs = {names.WORDS: words, names.LENGTHS: lengths}
    for task in tasks:
        outputs.update(task.export_outputs(predictions[task.name], lengths))
    return outputs


def predict(model, texts, pairs=None, batch_size=128):
    """What the exported model answers, computed in this process.

    `model.predict` gives probabilities; this gives, per text, what a served
    export returns through `mtkeras.serving.Client`: each sentence task's
    label and score, each token task's word-level tags and entities, each
    multi-label task's labels and each regression task's value, from the same
    graph code as the export (constrained BIO decoding included).

    Args:
        model: a `MultiTaskModel`.
        texts: list of str.
        pairs: list of str or None. Second texts, one per text: pair tasks
            are answered only when given.
        batch_size: int. Texts per forward pass.

    Returns:
        list of dict, one per text, as `Client.predict` returns.

    Example:
    >>> mtkeras.predict(model, ["book a table for two in paris"])
    [{"intent": {"label": "BookRestaurant", "score": 0.99},
      "slots": {"tags": [["book", "O"], ...], "entities": [{"type": "party_size", "text": "two", ...}]}}]
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    if pairs is not None:
        pairs = [pairs] if isinstance(pairs, str) else list(pairs)
        if len(pairs) != len(texts):
            raise ValueError(f"Received {len(texts)} texts and {len(pairs)} pairs; give one pair per text.")
    tasks = [task for task in model.tasks if pairs is not None or not task.pair]
    with_pairs = pairs is not None
    # Traced once per model and kept with it: any number of texts reuses the graph, as the export does.
    # Keyed by the tasks' settings too: a temperature or fallback set after a first call is read again.
    settings = tuple(json.dumps(task.get_config(), sort_keys=True, default=str) for task in tasks)
    answer = traced(model, ("answers", with_pairs, settings), lambda: tf.function(
        lambda inputs: serving_outputs(model, inputs, tasks), input_signature=text_signature(with_pairs), autograph=False))
    results = []
    for start in range(0, len(texts), batch_size):
        inputs = {names.TEXT: tf.constant(texts[start : start + batch_size], tf.string)}
        if pairs is not None:
            inputs[names.TEXT_PAIR] = tf.constant(pairs[start : start + batch_size], tf.string)
        outputs = {key: value.numpy() for key, value in answer(inputs).items()}
        results += results_from_outputs(outputs, len(texts[start : start + batch_size]))
    return results


def next_version(base_path):
    """The next free integer version under `base_path` (1 when there is none)."""
    if not os.path.isdir(base_path):
        return 1
    versions = [int(entry) for entry in os.listdir(base_path) if entry.isdigit()]
    return max(versions, default=0) + 1


def metadata(model, extra=None, warmup_records=0):
    """What `assets.extra/mtkeras.json` records about an export.

    Versions of mtkeras, TensorFlow and Keras, the signatures, every task's
    config (kind, name, labels, ...), the encoder's class and config, the
    number of warmup records, and the caller's `extra` entries (e.g. the
    training config), which may not replace any of these.
    """
    encoder = keras.saving.serialize_keras_object(model.encoder)
    recorded = {
        "mtkeras_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "signature": names.SERVING_SIGNATURE,
        "signatures": names.signature_names(model.has_pairs),
        "tasks": [task.get_config() for task in model.tasks],
        "encoder": encoder["config"],
        "encoder_class": encoder.get("registered_name") or encoder["class_name"],
        "warmup_records": warmup_records,
        "compile": _compile_config(model),
    }
    clashes = sorted(set(extra or {}) & set(recorded))
    if clashes:
        raise ValueError(
            f"Received `extra_metadata` keys that mtkeras.json already records: {clashes}. "
            "Put them under another key, e.g. extra_metadata={'training': {...}}."
        )
    return {**recorded, **(extra or {})}


def _compile_config(model):
    """The optimizer (class and config, schedule included) and task weighting the model was compiled with."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    serialized = keras.saving.serialize_keras_object(optimizer)
    config = {
        "optimizer": serialized.get("registered_name") or serialized.get("class_name"),
        "optimizer_config": serialized.get("config", {}),
        "loss_weights": {task.name: task.loss_weight for task in model.tasks},
        "uncertainty_weighting": bool(getattr(model, "uncertainty_weighting", False)),
    }
    # Schedules and numpy scalars inside optimizer configs: keep what JSON can hold.
    return json.loads(json.dumps(config, default=str))


def export_saved_model(model, base_path, version=None, extra_metadata=None, warmup_texts=None):
    """Exports `model` as `<base_path>/<version>/`, ready for TF Serving.

    The SavedModel's `serving_default` signature takes `text` (a `[None]`
    string tensor of raw texts) and returns, in one call, `words`, `lengths`
    and each single-text task's outputs (see `mtkeras.names`). A model with
    sentence-pair tasks also gets `serving_pair`, taking `text` and
    `text_pair` and returning every task's outputs.

    `assets.extra/` holds `mtkeras.json` (see `metadata`) and, unless
    `warmup_texts` is empty, `tf_serving_warmup_requests`, the requests TF
    Serving replays before serving the version (see `warmup_requests`).

    Before the version appears, it is loaded the way TF Serving loads it
    (`SavedModelBundle`: restore op, init op, tensors by name), and every
    warmup request (the default ones when `warmup_texts` is empty) must answer
    there as the model does in memory; its ops must not call back into Python.
    The version is written to a hidden folder beside it and renamed into
    place, so a server watching `base_path` never sees a half-written or
    unservable version. Folders and files get the permissions the umask
    gives, so a server running as another user can read them.

    Args:
        model: a `MultiTaskModel`.
        base_path: str. The model's base path, e.g. `saved_models/nlu`.
        version: int or None. The version number; default the next free one.
        extra_metadata: dict. Added to `assets.extra/mtkeras.json`, e.g.
            `{"training": {...}}`; its keys may not be ones mtkeras records.
        warmup_texts: list of str or None. Texts of the warmup requests;
            None: `DEFAULT_WARMUP_TEXTS`; empty: no warmup file.

    Returns:
        The path of the new version directory.

    Raises:
        ExportError: the export does not answer through TF Serving's loader
            as the model does (nothing is left behind).

    Example:
    >>> path = export_saved_model(model, "saved_models/nlu")  # saved_models/nlu/1
    """
    version = next_version(base_path) if version is None else version
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"Received an invalid `version`, expected a positive integer. Received: version={version!r}")
    return write_export(model, os.path.join(base_path, str(version)), extra_metadata, warmup_texts)


def write_export(model, path, extra_metadata=None, warmup_texts=None):
    """Writes the raw-text SavedModel of `model` at `path` (which must not exist); see `export_saved_model`."""
    if os.path.exists(path):
        raise FileExistsError(f"{path} already exists; versions are never overwritten")
    if tf.distribute.has_strategy():
        raise ExportError(
            "Export outside `strategy.scope()`: the serving copy of the model must hold plain variables "
            f"(the current strategy is {type(tf.distribute.get_strategy()).__name__}). Build and train inside the "
            "scope, then export after leaving it."
        )
    # Checked before any work: bad arguments leave nothing behind.
    warmup = warmup_requests(model, DEFAULT_WARMUP_TEXTS if warmup_texts is None else warmup_texts)
    recorded = metadata(model, extra_metadata, warmup_records=len(warmup))
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    # Dot-prefixed and not an integer: TF Serving and mtkeras serve ignore it.
    # os.mkdir applies the umask (tempfile.mkdtemp would make it owner-only).
    staging = os.path.join(parent, f".tmp-{os.path.basename(path)}-{uuid.uuid4().hex[:12]}")
    os.mkdir(staging)
    try:
        export = _ServingExport(model)
        tf.saved_model.save(export.module, staging, signatures=export.signatures)
        extra_dir = os.path.join(staging, ASSETS_EXTRA)
        os.makedirs(extra_dir, exist_ok=True)
        with open(os.path.join(extra_dir, METADATA_FILE), "w", encoding="utf-8") as handle:
            json.dump(recorded, handle, indent=2, sort_keys=True)
        if warmup:
            with tf.io.TFRecordWriter(os.path.join(extra_dir, WARMUP_FILE)) as writer:
                for record in warmup:
                    writer.write(record.SerializeToString())
        # Half-precision compute rounds at about 1e-3 (float16's epsilon): two runs of the same graph
        # may differ by a few of its steps.
        half = model.compute_dtype in ("float16", "bfloat16")
        verify_export(staging, warmup or warmup_requests(model, DEFAULT_WARMUP_TEXTS), export.answer,
                      tolerance=2e-3 if half else 1e-4)
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path
