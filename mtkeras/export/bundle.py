"""A SavedModel loaded the way TensorFlow Serving loads it.

TF Serving's `SavedModelBundle` does not bind weights through the object graph
as `tf.saved_model.load` does. It uses TensorFlow's session loader: import the
MetaGraph tagged `serve` into a new graph, run the saver's restore op on
`variables/`, run the init op (lookup tables), then answer each request by
feeding and fetching the signature's tensors by name. An export can answer
through `tf.saved_model.load` and still fail there (a signature reading a
variable that the restore op never fills), so mtkeras checks its exports, and
its server answers, through this path.
"""

import logging
import os
import threading

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

SAVED_MODEL_FILE = "saved_model.pb"
# Files beside the SavedModel that TF Serving knows to look for (and that
# `tf.saved_model.load` ignores): warmup records, and mtkeras' metadata.
ASSETS_EXTRA = "assets.extra"
# Ops that call back into the Python process that built the graph: no model
# server can run them.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def register_text_ops():
    """Registers the tensorflow-text ops (WordPiece, normalization) if installed.

    Graphs of pretrained-encoder exports hold them; importing a MetaGraph with
    an unregistered op fails with "Op type not registered". The official
    `tensorflow_model_server` links them all.
    """
    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        pass


class _TensorFlowNotices(logging.Filter):
    """Drops two notices TensorFlow's Python logger addresses to its own developers.

    That the session loader (the one TF Serving uses) is deprecated in favour
    of `tf.saved_model.load`, and that `tf.saved_model.save` renames the
    captured inputs of a signature internally. Every other record passes.
    """

    _NOTICES = ("(from tensorflow.python.saved_model.loader_impl) is deprecated", "with unsupported characters which will be renamed")

    def filter(self, record):
        message = record.getMessage()
        return not any(notice in message for notice in self._NOTICES)


def _install_filter():
    tf_logger = tf.get_logger()
    if not any(isinstance(existing, _TensorFlowNotices) for existing in tf_logger.filters):
        tf_logger.addFilter(_TensorFlowNotices())


_install_filter()


def find_versions(model_base_path):
    """The integer versions under `model_base_path`, in increasing order.

    Like TF Serving, only subdirectories named by a non-negative integer count:
    other entries (`assets`, in-progress exports such as `.tmp-1-x`) are ignored.

    Args:
        model_base_path: str. A directory holding `<version>/saved_model.pb`.

    Returns:
        A sorted list of ints, empty when there is no version.
    """
    if not os.path.isdir(model_base_path):
        raise FileNotFoundError(f"Model base path does not exist or is not a directory: {model_base_path}")
    versions = []
    for entry in os.listdir(model_base_path):
        if entry.isascii() and entry.isdigit() and os.path.isdir(os.path.join(model_base_path, entry)):
            versions.append(int(entry))
    return sorted(versions)


class SavedModelBundle:
    """One SavedModel version in its own graph and session.

    Loading follows TF Serving's `LoadSavedModel`: import the `serve`
    MetaGraph, restore the variables with the saver's restore op, run the init
    op. A variable the restore op did not fill, or a missing op kernel, shows
    up here as the same `tf.errors.OpError` TF Serving reports.

    `run` is safe to call from several threads at once (one session, a
    finalized graph).

    Args:
        export_path: str. A version folder holding `saved_model.pb`.
        tags: tuple of str. The MetaGraph's tags.
        session_config: `tf.compat.v1.ConfigProto` or None.

    Example:
    >>> bundle = SavedModelBundle("saved_models/nlu/1")
    >>> bundle.run("serving_default", {"text": np.array([b"play some jazz"], dtype=object)})["intent_label"]
    array([b'PlayMusic'], dtype=object)
    """

    def __init__(self, export_path, tags=(tf.saved_model.SERVING,), session_config=None):
        if not os.path.isfile(os.path.join(export_path, SAVED_MODEL_FILE)):
            raise FileNotFoundError(f"{export_path} has no {SAVED_MODEL_FILE}: not a SavedModel version folder")
        register_text_ops()
        self.export_path = export_path
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph, config=session_config)
        try:
            with self.graph.as_default():
                meta_graph = tf.compat.v1.saved_model.load(self.session, list(tags), export_path)
        except BaseException:
            self.session.close()
            raise
        self.signature_defs = dict(meta_graph.signature_def)
        self.graph.finalize()  # nothing may add ops from here on: runs share the graph
        self._runners = {}
        self._lock = threading.Lock()

    def run(self, signature_name, inputs, output_aliases=None):
        """Feeds `inputs` to a signature's input tensors and fetches its outputs by name.

        Args:
            signature_name: str. A key of `signature_defs`.
            inputs: dict of alias -> array-like, every input of the signature.
            output_aliases: list of str or None. The outputs to compute (the
                graph runs only what they need, as TF Serving's
                `output_filter`); None computes them all.

        Returns:
            dict of alias -> np.ndarray.

        Raises:
            KeyError: unknown signature, input or output alias.
            tf.errors.OpError: the graph refused the inputs or failed.
        """
        signature = self.signature_defs[signature_name]
        if set(inputs) != set(signature.inputs):
            raise KeyError(
                f"Signature {signature_name!r} takes the inputs {sorted(signature.inputs)}; received {sorted(inputs)}"
            )
        feed_aliases = sorted(signature.inputs)
        feeds = [inputs[alias] for alias in feed_aliases]
        if output_aliases is None:
            aliases, runner = self._runner(signature_name, feed_aliases)
            return dict(zip(aliases, runner(*feeds)))
        missing = [alias for alias in output_aliases if alias not in signature.outputs]
        if missing:
            raise KeyError(f"Signature {signature_name!r} has no outputs {missing}; it has {sorted(signature.outputs)}")
        fetches = [signature.outputs[alias].name for alias in output_aliases]
        feed_dict = {signature.inputs[alias].name: value for alias, value in zip(feed_aliases, feeds)}
        return dict(zip(output_aliases, self.session.run(fetches, feed_dict)))

    def _runner(self, signature_name, feed_aliases):
        """`(output aliases, callable)` fetching every output of a signature, made once."""
        with self._lock:
            if signature_name not in self._runners:
                signature = self.signature_defs[signature_name]
                aliases = sorted(signature.outputs)
                runner = self.session.make_callable(
                    [signature.outputs[alias].name for alias in aliases],
                    feed_list=[signature.inputs[alias].name for alias in feed_aliases],
                )
                self._runners[signature_name] = (aliases, runner)
            return self._runners[signature_name]

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def read_meta_graph(export_path, tags=(tf.saved_model.SERVING,)):
    """The MetaGraphDef of `export_path/saved_model.pb` whose tags include `tags`."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_path, SAVED_MODEL_FILE), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    for meta_graph in saved_model.meta_graphs:
        if set(tags) <= set(meta_graph.meta_info_def.tags):
            return meta_graph
    raise ValueError(f"{export_path} has no MetaGraphDef tagged {list(tags)}")


def graph_op_types(meta_graph):
    """Every op type a MetaGraphDef can run: its graph's and those of every function in its library."""
    graph_def = meta_graph.graph_def
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types.update(node.op for node in function.node_def)
    return types
