"""Serving: a TF Serving compatible gRPC server and a client for exported models.

Example:
>>> from mtkeras.serving import Client, ModelServer
>>> with ModelServer("nlu", "saved_models/nlu", port=0) as server:
...     with Client(f"127.0.0.1:{server.port}", "nlu") as client:
...         client.predict("book a table for two")
"""

from mtkeras.serving.client import Client, ServingError
from mtkeras.serving.server import ModelServer, serve

__all__ = ["Client", "ModelServer", "ServingError", "serve"]
