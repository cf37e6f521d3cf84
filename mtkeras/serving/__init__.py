"""Serving: a TF Serving compatible server (gRPC and REST) and clients for exported models.

Example:
>>> from mtkeras.serving import Client, ModelServer
>>> with ModelServer("nlu", "saved_models/nlu", port=0, rest_api_port=0) as server:
...     with Client(f"127.0.0.1:{server.port}", "nlu") as client:
...         client.predict("book a table for two")
"""

from mtkeras.results import format_result, results_from_outputs, same_answers
from mtkeras.serving.client import Client, RestClient, ServingError
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
from mtkeras.serving.server import ModelServer, serve

__all__ = [
    "BatchingOptions",
    "Client",
    "ConfigError",
    "ModelConfig",
    "ModelServer",
    "RestClient",
    "ServingError",
    "ServingLimits",
    "TlsOptions",
    "VersionPolicy",
    "format_result",
    "read_batching_parameters_file",
    "read_model_config_file",
    "read_monitoring_config_file",
    "results_from_outputs",
    "same_answers",
    "serve",
]
