"""Raw-text SavedModels for TF Serving, one integer version at a time."""

import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from mtkeras import names

METADATA_FILE = "mtkeras.json"


class _ServingModule(tf.Module):
    """What gets saved: the model, its lookup tables, and its signatures.

    `serve` answers a batch of texts for every single-text task; models with
    sentence-pair tasks also get `serve_pair`, which answers every task for a
    batch of text pairs.

    Saving a plain `tf.Module` with an explicit `input_signature` keeps one
    copy of every weight. `model.export()` and `keras.export.ExportArchive`
    store each weight twice (keras-team/keras#23553).
    """

    def __init__(self, model):
        super().__init__(name="mtkeras_serving")
        # A compiled model tracks its optimizer, whose slots would be saved
        # too (3x the weights with Adam): save a copy holding weights only.
        self.model = type(model).from_config(model.get_config())
        self.model.set_weights(model.get_weights())
        self.preprocessor = self.model.preprocessor  # tracks the vocabulary table
        self.tasks = list(self.model.tasks)
        if self.model.has_pairs:
            # Only pair models get (and trace) the pair signature.
            self.serve_pair = tf.function(
                self._serve_pair,
                input_signature=[
                    tf.TensorSpec([None], tf.string, name=names.TEXT),
                    tf.TensorSpec([None], tf.string, name=names.TEXT_PAIR),
                ],
            )

    def _outputs(self, inputs, tasks):
        predictions = self.model(inputs, training=False)
        words, lengths = self.preprocessor.tokenize(inputs[names.TEXT])
        outputs = {names.WORDS: words, names.LENGTHS: lengths}
        for task in tasks:
            outputs.update(task.export_outputs(predictions[task.name], lengths))
        return outputs

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=names.TEXT)])
    def serve(self, text):
        return self._outputs({names.TEXT: text}, [task for task in self.tasks if not task.pair])

    def _serve_pair(self, text, text_pair):
        tf.debugging.assert_equal(
            tf.shape(text), tf.shape(text_pair), message="text and text_pair need the same number of texts"
        )
        return self._outputs({names.TEXT: text, names.TEXT_PAIR: text_pair}, self.tasks)

    def signatures(self):
        signatures = {names.SERVING_SIGNATURE: self.serve.get_concrete_function()}
        if self.model.has_pairs:
            signatures[names.PAIR_SIGNATURE] = self.serve_pair.get_concrete_function()
        return signatures


def next_version(base_path):
    """The next free integer version under `base_path` (1 when there is none)."""
    if not os.path.isdir(base_path):
        return 1
    versions = [int(entry) for entry in os.listdir(base_path) if entry.isdigit()]
    return max(versions, default=0) + 1


def metadata(model, extra=None):
    """What `assets.extra/mtkeras.json` records about an export."""
    import mtkeras

    return {
        "mtkeras_version": mtkeras.__version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "signature": names.SERVING_SIGNATURE,
        "tasks": [task.get_config() for task in model.tasks],
        "encoder": keras.saving.serialize_keras_object(model.encoder)["config"],
        **(extra or {}),
    }


def export_saved_model(model, base_path, version=None, extra_metadata=None):
    """Exports `model` as `<base_path>/<version>/`, ready for TF Serving.

    The SavedModel's `serving_default` signature takes `text` (a `[None]`
    string tensor of raw texts) and returns, in one call, `words`, `lengths`
    and each single-text task's outputs (see `mtkeras.names`). A model with
    sentence-pair tasks also gets `serving_pair`, taking `text` and
    `text_pair` and returning every task's outputs. The version is written to a
    temporary directory beside the base path and renamed into place, so a
    server watching `base_path` never sees a half-written version.

    Args:
        model: a `MultiTaskModel`.
        base_path: str. The model's base path, e.g. `saved_models/nlu`.
        version: int or None. The version number; default the next free one.
        extra_metadata: dict. Added to `assets.extra/mtkeras.json`.

    Returns:
        The path of the new version directory.

    Example:
    >>> path = export_saved_model(model, "saved_models/nlu")  # saved_models/nlu/1
    """
    version = next_version(base_path) if version is None else version
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"Received an invalid `version`, expected a positive integer. Received: version={version!r}")
    final_path = os.path.join(base_path, str(version))
    if os.path.exists(final_path):
        raise FileExistsError(f"{final_path} already exists; versions are never overwritten")
    os.makedirs(base_path, exist_ok=True)
    # Dot-prefixed and not an integer: TF Serving and mtkeras serve ignore it.
    staging = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base_path)
    try:
        module = _ServingModule(model)
        tf.saved_model.save(
            module,
            staging,
            signatures=module.signatures(),
        )
        extra_dir = os.path.join(staging, "assets.extra")
        os.makedirs(extra_dir, exist_ok=True)
        with open(os.path.join(extra_dir, METADATA_FILE), "w", encoding="utf-8") as handle:
            json.dump(metadata(model, extra_metadata), handle, indent=2, sort_keys=True)
        os.rename(staging, final_path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final_path
