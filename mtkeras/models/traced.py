"""Traced prediction functions kept with the model, for fast in-process answers on raw texts.

`model.predict(texts)` goes through Keras' data adapters and builds its step
function for every call; `mtkeras.predict` ran the export's outputs eagerly.
Both now call a `tf.function` traced once per model (and per set of inputs
and outputs), with a `[None]` string signature so that any number of texts
reuses the same graph, as the exported SavedModel does.
"""

import keras
import numpy as np
import tensorflow as tf

from mtkeras import names

_CACHE_ATTRIBUTE = "_mtkeras_traced_functions"


def traced(model, key, build):
    """The function `build()` makes for `model` and `key`, made once and kept on the model.

    Kept outside Keras' attribute tracking: the functions are not weights or
    layers and must not be saved with the model.
    """
    functions = model.__dict__.get(_CACHE_ATTRIBUTE)
    if functions is None:
        functions = {}
        object.__setattr__(model, _CACHE_ATTRIBUTE, functions)
    if key not in functions:
        functions[key] = build()
    return functions[key]


def text_signature(pairs):
    """The input signature of a traced function on `{"text": [N]}` (and `"text_pair"`)."""
    spec = {names.TEXT: tf.TensorSpec([None], tf.string, name=names.TEXT)}
    if pairs:
        spec[names.TEXT_PAIR] = tf.TensorSpec([None], tf.string, name=names.TEXT_PAIR)
    return [spec]


def is_raw_texts(x):
    """Whether `x` is raw texts: a list or 1-D array of str, or a dict of them keyed by the model's inputs."""
    if isinstance(x, dict):
        return bool(x) and set(x) <= {names.TEXT, names.TEXT_PAIR} and all(is_raw_texts(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(isinstance(value, (str, bytes)) for value in x)
    if isinstance(x, np.ndarray):
        return x.ndim == 1 and (x.dtype.kind in "US" or (x.dtype == object and all(isinstance(v, (str, bytes)) for v in x)))
    return False


def length_order(texts, pairs=None, positions=None, chunk=4096):
    """Indices that put texts of similar length side by side (stable).

    A batch is padded to its longest text, so texts taken in the order they
    came pad short ones to long ones: of the word pieces a MiniLM model reads
    in batches of 64 of the SNIPS, WNUT-17 and SST-2 training texts in file
    order, 55 % are padding. Sorted by `positions` (a function of a `[N]`
    string tensor giving the steps each text takes once padded, e.g. a
    preprocessor's `sequence_lengths`, called on slices of `chunk` texts),
    ties and the default by bytes; a pair's two texts count together.
    """
    sides = [tf.convert_to_tensor(side, tf.string) for side in ([texts] if pairs is None else [texts, pairs])]
    size = sum(tf.strings.length(side).numpy().astype(np.int64) for side in sides)
    if positions is None:
        return np.argsort(size, kind="stable")
    count = int(size.shape[0])

    def steps_of(side):  # in slices: all texts at once would hold all their words (or pieces) in memory together
        parts = [np.asarray(positions(side[i : i + chunk]), np.int64) for i in range(0, count, chunk)]
        return np.concatenate(parts) if parts else np.zeros([0], np.int64)

    return np.lexsort((size, sum(steps_of(side) for side in sides)))


def predict_texts(model, inputs, batch_size, verbose=0, callbacks=None):
    """`model.predict` of raw texts (`{"text": tensor}`) through one traced call per batch of `batch_size`.

    The batches take the texts by length (`length_order`), so each pads to
    texts about as long as its own; the outputs come back in the order given.
    `callbacks` (Keras callbacks) get `on_predict_begin`, each batch's
    `on_predict_batch_begin` and `on_predict_batch_end` (with its numpy
    `outputs`; the batches come in the length order, so a batch's number
    does not say which texts it holds) and `on_predict_end`, as in
    `keras.Model.predict`; a callback setting `model.stop_predicting` ends
    it after that batch, and the texts not reached answer zeros (and 0
    words). `verbose` shows Keras' progress bar: 1 or 2 always, `"auto"`
    only for more than one batch (a single call stays silent). Returns
    `(outputs, lengths)`: numpy arrays, token outputs padded to the longest
    text of all batches (zeros), as `MultiTaskModel.predict` documents, and
    each text's number of words.
    """
    pairs = names.TEXT_PAIR in inputs

    def outputs_and_lengths(x):
        return model(x, training=False), model.preprocessor.tokenize(x[names.TEXT])[1]

    call = traced(model, ("predict", pairs), lambda: tf.function(
        outputs_and_lengths, input_signature=text_signature(pairs), autograph=False))
    count = int(inputs[names.TEXT].shape[0])
    if pairs and int(inputs[names.TEXT_PAIR].shape[0]) != count:
        raise ValueError(
            f"Received {count} texts and {int(inputs[names.TEXT_PAIR].shape[0])} text pairs: "
            "give one `text_pair` per `text`."
        )
    if count > batch_size:
        positions = getattr(model.preprocessor, "sequence_lengths", None)
        order = length_order(inputs[names.TEXT], inputs.get(names.TEXT_PAIR), positions)
    else:
        order = np.arange(count)
    steps = -(-count // batch_size)
    progress = steps > 0 and verbose != 0 and not (verbose == "auto" and steps == 1)
    hooks = None
    if isinstance(callbacks, keras.callbacks.CallbackList):
        hooks = callbacks
    elif callbacks or progress:
        hooks = keras.callbacks.CallbackList(callbacks, add_progbar=progress, verbose=verbose, epochs=1, steps=steps,
                                             model=model)
    model.stop_predicting = False  # as Keras' loop: a callback may set it
    if hooks is not None:
        hooks.on_predict_begin()
    chunks = []
    for step, start in enumerate(range(0, count, batch_size)):
        if hooks is not None:
            hooks.on_predict_batch_begin(step)
        taken = order[start : start + batch_size]
        batch = {key: tf.gather(value, taken) for key, value in inputs.items()}
        outputs, batch_lengths = call(batch)
        chunks.append((taken, {key: value.numpy() for key, value in outputs.items()}, batch_lengths.numpy()))
        if hooks is not None:
            hooks.on_predict_batch_end(step, {"outputs": chunks[-1][1]})
        if model.stop_predicting:
            break
    if hooks is not None:
        hooks.on_predict_end()
    if not chunks:
        return {}, np.zeros([0], np.int32)
    outputs = in_given_order([(taken, {**parts, names.LENGTHS: lengths}) for taken, parts, lengths in chunks], count)
    return outputs, outputs.pop(names.LENGTHS)


def in_given_order(batches, count):
    """`{key: [count, ...] array}` from `(taken, {key: batch array})` batches, each batch's rows written to
    the texts it took (`taken`: their indices); token outputs (`[b, T, C]`) zero past each batch's width, and
    rows no batch took zero."""
    outputs = {}
    for key, first in batches[0][1].items():
        shape = list(first.shape)
        if first.ndim == 3:
            shape[1] = max(parts[key].shape[1] for _, parts in batches)
        outputs[key] = np.zeros([count] + shape[1:], first.dtype)
        for taken, parts in batches:
            part = parts[key]
            if part.ndim == 3:
                outputs[key][taken, : part.shape[1]] = part
            else:
                outputs[key][taken] = part
    return outputs
