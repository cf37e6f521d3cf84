"""Export: raw-text SavedModels under `<base_path>/<version>/` for TF Serving."""

from mtkeras.export.saved_model import METADATA_FILE, export_saved_model, next_version

__all__ = ["METADATA_FILE", "export_saved_model", "next_version"]
