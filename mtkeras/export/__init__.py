"""Export: raw-text SavedModels under `<base_path>/<version>/` for TF Serving.

Every export is checked through TF Serving's own loading path
(`SavedModelBundle`) before it appears.
"""

from mtkeras.export.bundle import (
    ASSETS_EXTRA,
    PYTHON_OPS,
    SAVED_MODEL_FILE,
    SavedModelBundle,
    graph_op_types,
    read_meta_graph,
)
from mtkeras.export.saved_model import METADATA_FILE, export_saved_model, next_version, predict, serving_outputs, write_export
from mtkeras.export.verify import ExportError, verify_export
from mtkeras.export.warmup import (
    DEFAULT_WARMUP_TEXTS,
    MAX_WARMUP_RECORDS,
    WARMUP_FILE,
    read_warmup_records,
    request_inputs,
    warmup_requests,
)

__all__ = [
    "ASSETS_EXTRA",
    "DEFAULT_WARMUP_TEXTS",
    "MAX_WARMUP_RECORDS",
    "METADATA_FILE",
    "PYTHON_OPS",
    "SAVED_MODEL_FILE",
    "WARMUP_FILE",
    "ExportError",
    "SavedModelBundle",
    "export_saved_model",
    "graph_op_types",
    "next_version",
    "predict",
    "read_meta_graph",
    "read_warmup_records",
    "request_inputs",
    "serving_outputs",
    "verify_export",
    "warmup_requests",
    "write_export",
]
