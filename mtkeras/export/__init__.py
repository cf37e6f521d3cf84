"""Export: raw-text SavedModels under `<base_path>/<version>/` for TF Serving.

Every export is checked through TF Serving's own loading path
(`SavedModelBundle`) before it appears.
"""

from mtkeras.export.bundle import PYTHON_OPS, SavedModelBundle, graph_op_types, read_meta_graph
from mtkeras.export.saved_model import (
    ASSETS_EXTRA,
    DEFAULT_WARMUP_TEXTS,
    METADATA_FILE,
    WARMUP_FILE,
    export_saved_model,
    next_version,
    predict,
    serving_outputs,
    warmup_requests,
    write_export,
)
from mtkeras.export.verify import ExportError, verify_export

__all__ = [
    "ASSETS_EXTRA",
    "DEFAULT_WARMUP_TEXTS",
    "METADATA_FILE",
    "PYTHON_OPS",
    "WARMUP_FILE",
    "ExportError",
    "SavedModelBundle",
    "export_saved_model",
    "graph_op_types",
    "next_version",
    "predict",
    "read_meta_graph",
    "serving_outputs",
    "verify_export",
    "warmup_requests",
    "write_export",
]
