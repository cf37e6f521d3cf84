"""The earlier home of the serving options, kept for old imports: see `mtkeras.serving.options`."""

from mtkeras.serving.options import (
    BatchingOptions,
    ConfigError,
    ModelConfig,
    ServingLimits,
    TlsOptions,
    VersionPolicy,
    read_batching_parameters_file,
    read_model_config_file,
    read_monitoring_config_file,
)

__all__ = [
    "BatchingOptions",
    "ConfigError",
    "ModelConfig",
    "ServingLimits",
    "TlsOptions",
    "VersionPolicy",
    "read_batching_parameters_file",
    "read_model_config_file",
    "read_monitoring_config_file",
]
