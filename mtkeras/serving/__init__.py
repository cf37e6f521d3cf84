"""Serving: a TF Serving compatible server (gRPC and REST) and clients for exported models.

Example:
>>> from mtkeras.serving import Client, ModelServer
>>> with ModelServer("nlu", "saved_models/nlu", port=0, rest_api_port=0) as server:
...     with Client(f"127.0.0.1:{server.port}", "nlu") as client:
...         client.predict("book a table for two")
"""

import importlib

from mtkeras.results import format_result, results_from_outputs, same_answers
from mtkeras.serving.client import Client, ServingError
from mtkeras.serving.rest_client import RestClient

# The server and its options import TensorFlow: loaded on first use, so that
# `from mtkeras.serving import Client` stays light.
_LAZY = {
    "ModelServer": "mtkeras.serving.server",
    "serve": "mtkeras.serving.server",
    "BatchingOptions": "mtkeras.serving.options",
    "ConfigError": "mtkeras.serving.options",
    "ModelConfig": "mtkeras.serving.options",
    "ServingLimits": "mtkeras.serving.options",
    "TlsOptions": "mtkeras.serving.options",
    "VersionPolicy": "mtkeras.serving.options",
    "read_batching_parameters_file": "mtkeras.serving.options",
    "read_model_config_file": "mtkeras.serving.options",
    "read_monitoring_config_file": "mtkeras.serving.options",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
