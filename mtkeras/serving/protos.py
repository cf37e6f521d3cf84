"""TF Serving's protocol buffers without TensorFlow, and tensors as numpy arrays.

tensorflow-serving-api's message modules (`predict_pb2`, ...) import
TensorFlow's own `.proto` modules (`tensorflow.core.framework.tensor_pb2`,
...), which sit inside the `tensorflow` package: a plain import runs
`tensorflow/__init__.py`, five seconds of loading the whole library, for a
client that only needs the message classes. `serving_protos()` loads the
same installed modules with the packages on their way (`tensorflow`,
`tensorflow.core`, ...) as empty shells for the time of the import, then
removes the shells: the message modules stay in `sys.modules` under their
own names, so a later `import tensorflow` reuses them (the classes are the
same, and `tf.make_tensor_proto` results can be copied into these requests).
When TensorFlow is already imported, the plain import is used.

`array_to_tensor` and `tensor_to_array` stand in for `tf.make_tensor_proto`
and `tf.make_ndarray` for the dtypes an mtkeras export uses.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
import types

import numpy as np

_MODULES = (
    "tensorflow_serving.apis.get_model_metadata_pb2",
    "tensorflow_serving.apis.get_model_status_pb2",
    "tensorflow_serving.apis.model_service_pb2_grpc",
    "tensorflow_serving.apis.predict_pb2",
    "tensorflow_serving.apis.prediction_service_pb2_grpc",
    "tensorflow.core.framework.types_pb2",
)
_lock = threading.Lock()
_loaded = None


class _PackageShells(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the packages under `tensorflow` as empty modules (their `__init__.py` not run)."""

    def __init__(self, root):
        self.root = root
        self.made = []

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" and not name.startswith("tensorflow."):
            return None
        folder = os.path.join(self.root, *name.split(".")[1:])
        if not os.path.isdir(folder):
            return None  # a module file: found the usual way, inside the shell's folder
        spec = importlib.machinery.ModuleSpec(name, self, is_package=True)
        spec.submodule_search_locations = [folder]
        return spec

    def create_module(self, spec):
        return None  # the default empty module

    def exec_module(self, module):
        self.made.append(module.__name__)


def serving_protos():
    """The TF Serving API modules, as a namespace: `predict_pb2`, `get_model_metadata_pb2`, ..., `types_pb2`.

    Loaded once per process, without running TensorFlow's package
    initialization unless TensorFlow is imported already.
    """
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = types.SimpleNamespace(**_import_modules())
        return _loaded


def _import_modules():
    def plain():
        return {name.rsplit(".", 1)[1]: importlib.import_module(name) for name in _MODULES}

    if sys.modules.get("tensorflow") is not None:
        return plain()
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        return plain()  # raises the ModuleNotFoundError that says what is missing
    shells = _PackageShells(spec.submodule_search_locations[0])
    # While the shells are in place (some 0.1 s, once per process), a thread that imports
    # TensorFlow for the first time would get an empty shell: import TensorFlow before starting
    # such threads, or create the first client before them.
    sys.meta_path.insert(0, shells)
    try:
        return plain()
    finally:
        sys.meta_path.remove(shells)
        for name in shells.made:
            sys.modules.pop(name, None)


# TensorFlow's DataType enum values (tensorflow/core/framework/types.proto) mtkeras exports use.
_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_STRING, _DT_INT64, _DT_BOOL, _DT_HALF = 1, 2, 3, 7, 9, 10, 19
_NUMPY_OF = {
    _DT_FLOAT: np.float32,
    _DT_DOUBLE: np.float64,
    _DT_INT32: np.int32,
    _DT_INT64: np.int64,
    _DT_BOOL: np.bool_,
    _DT_HALF: np.float16,
}
# The repeated field holding each dtype's values when `tensor_content` is empty.
_VALUE_FIELD = {
    _DT_FLOAT: "float_val",
    _DT_DOUBLE: "double_val",
    _DT_INT32: "int_val",
    _DT_INT64: "int64_val",
    _DT_BOOL: "bool_val",
    _DT_STRING: "string_val",
}
_DTYPE_NAMES = {_DT_FLOAT: "float32", _DT_DOUBLE: "float64", _DT_HALF: "float16"}


def dtype_name(dtype):
    """TensorFlow's name of a DataType enum value: 7 -> "string", 1 -> "float32", 9 -> "int64"."""
    if dtype in _DTYPE_NAMES:
        return _DTYPE_NAMES[dtype]
    return serving_protos().types_pb2.DataType.Name(dtype).removeprefix("DT_").lower()


def array_to_tensor(values, proto):
    """Fills `proto` (a TensorProto) with a 1-D list of texts or a numpy array."""
    array = np.asarray(values, dtype=object if _is_texts(values) else None)
    del proto.tensor_shape.dim[:]
    for size in array.shape:
        proto.tensor_shape.dim.add().size = size
    if array.dtype == object or array.dtype.kind in "US":
        proto.dtype = _DT_STRING
        proto.string_val.extend(
            value.encode("utf-8") if isinstance(value, str) else bytes(value) for value in array.ravel()
        )
        return proto
    for dtype, numpy_type in _NUMPY_OF.items():
        if array.dtype == numpy_type:
            proto.dtype = dtype
            proto.tensor_content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            return proto
    raise TypeError(f"Received an array of dtype {array.dtype}, which a request cannot carry")


def _is_texts(values):
    return isinstance(values, (list, tuple)) and all(isinstance(value, (str, bytes)) for value in values)


def tensor_to_array(proto):
    """A TensorProto as a numpy array (strings as bytes, as `tf.make_ndarray` gives them)."""
    shape = [dim.size for dim in proto.tensor_shape.dim]
    size = int(np.prod(shape)) if shape else 1
    if proto.dtype == _DT_STRING:
        values = np.empty(len(proto.string_val), dtype=object)
        values[:] = list(proto.string_val)
    elif proto.dtype in _NUMPY_OF:
        numpy_type = np.dtype(_NUMPY_OF[proto.dtype]).newbyteorder("<")
        if proto.tensor_content:
            return np.frombuffer(proto.tensor_content, dtype=numpy_type).astype(numpy_type.newbyteorder("="))\
                .reshape(shape)
        if proto.dtype == _DT_HALF:
            values = np.array(proto.half_val, dtype=np.uint16).view(np.float16)
        else:
            values = np.array(getattr(proto, _VALUE_FIELD[proto.dtype]), dtype=numpy_type.newbyteorder("="))
    else:
        raise TypeError(f"Received a tensor of dtype {dtype_name(proto.dtype)!r}, which mtkeras clients do not read")
    if values.size == size:
        return values.reshape(shape)
    # TensorFlow writes a tensor whose values are all the same as one value (or a prefix padded with the last).
    filled = np.empty(size, dtype=values.dtype)
    filled[: values.size] = values
    if 0 < values.size < size:
        filled[values.size:] = values[-1]
    elif values.size == 0 and size:
        filled[:] = b"" if proto.dtype == _DT_STRING else 0
    return filled.reshape(shape)
