"""Export: raw-text SavedModels under `<base_path>/<version>/` for TF Serving."""

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
)

__all__ = [
    "ASSETS_EXTRA",
    "DEFAULT_WARMUP_TEXTS",
    "METADATA_FILE",
    "WARMUP_FILE",
    "export_saved_model",
    "next_version",
    "predict",
    "serving_outputs",
    "warmup_requests",
]
