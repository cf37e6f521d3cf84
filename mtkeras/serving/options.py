"""The serving configuration files TF Serving reads, read the same way here.

- `models.config` (`--model_config_file`): a text-format `ModelServerConfig`
  with a `model_config_list` (name, base path, version policy, version
  labels), parsed with tensorflow-serving-api's own message classes.
- `batching_parameters.txt` (`--batching_parameters_file`): a text-format
  `BatchingParameters`.
- `monitoring.config` (`--monitoring_config_file`): a text-format
  `MonitoringConfig` (the Prometheus endpoint).

tensorflow-serving-api does not ship the last two messages, so they are
declared here with the fields and wrapper types of TF Serving's protos
(`session_bundle_config.proto`, `monitoring_config.proto`): the same files
parse in both servers, and a misspelt field fails here as it fails there.
"""

import dataclasses
import logging
import os

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory
from google.protobuf import text_format
from google.protobuf import wrappers_pb2
from tensorflow_serving.config import model_server_config_pb2

from mtkeras.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_PROMETHEUS_PATH = "/monitoring/prometheus/metrics"


def _declare_messages():
    """`BatchingParameters`, `PrometheusConfig` and `MonitoringConfig` message classes."""
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)

    proto = descriptor_pb2.FileDescriptorProto(
        name="mtkeras/serving_config.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=[wrappers.name],
    )
    field = descriptor_pb2.FieldDescriptorProto
    optional, repeated = field.LABEL_OPTIONAL, field.LABEL_REPEATED

    def add(message, fields):
        for number, (name, kind, label, type_name) in enumerate(fields, start=1):
            message.field.add(name=name, number=number, type=kind, label=label, type_name=type_name)

    int64_value = (field.TYPE_MESSAGE, optional, ".google.protobuf.Int64Value")
    add(
        proto.message_type.add(name="BatchingParameters"),
        [
            ("max_batch_size", *int64_value),
            ("batch_timeout_micros", *int64_value),
            ("max_enqueued_batches", *int64_value),
            ("num_batch_threads", *int64_value),
            ("thread_pool_name", field.TYPE_MESSAGE, optional, ".google.protobuf.StringValue"),
            ("allowed_batch_sizes", field.TYPE_INT64, repeated, None),
            ("pad_variable_length_inputs", field.TYPE_BOOL, optional, None),
            ("enable_large_batch_splitting", field.TYPE_MESSAGE, optional, ".google.protobuf.BoolValue"),
            ("max_execution_batch_size", *int64_value),
        ],
    )
    add(
        proto.message_type.add(name="PrometheusConfig"),
        [("enable", field.TYPE_BOOL, optional, None), ("path", field.TYPE_STRING, optional, None)],
    )
    add(
        proto.message_type.add(name="MonitoringConfig"),
        [("prometheus_config", field.TYPE_MESSAGE, optional, ".tensorflow.serving.PrometheusConfig")],
    )
    for message in proto.message_type:
        for entry in message.field:
            if not entry.type_name:
                entry.ClearField("type_name")
    file_descriptor = pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(file_descriptor.message_types_by_name[name])
        for name in ("BatchingParameters", "MonitoringConfig")
    }


_MESSAGES = _declare_messages()


def _parse_text_proto(path, message_class, what):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ConfigError(f"Cannot read {what} file {path}: {error.strerror}") from error
    message = message_class()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as error:
        # ParseError messages start with "line:column : ...".
        raise ConfigError(f"{path}:{error}") from error
    return message


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
    """Which versions under a base path are served.

    `kind` is `"latest"` (the `num_versions` highest), `"all"`, or
    `"specific"` (exactly `versions`). TF Serving's default is latest 1.
    """

    kind: str = "latest"
    num_versions: int = 1
    versions: tuple = ()

    def select(self, available):
        """The versions to serve among the `available` sorted integer versions."""
        if self.kind == "all":
            return list(available)
        if self.kind == "specific":
            return [version for version in available if version in self.versions]
        return list(available)[-self.num_versions :] if available else []


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """One served model: its name, base path, version policy and labels."""

    name: str
    base_path: str
    version_policy: VersionPolicy = VersionPolicy()
    version_labels: tuple = ()  # ((label, version), ...)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"Received an invalid model name, expected a non-empty string. Received: {self.name!r}")
        if not isinstance(self.base_path, str) or not self.base_path:
            raise ConfigError(f"Model {self.name!r} has no base_path")


def read_model_config_file(path):
    """Reads a `models.config` file into a list of `ModelConfig`.

    Relative base paths are taken relative to the config file's folder, so a
    config kept beside the models works from any working directory.

    Example file:

        model_config_list {
          config {
            name: "nlu"
            base_path: "/models/nlu"
            model_platform: "tensorflow"
            model_version_policy { latest { num_versions: 2 } }
            version_labels { key: "stable" value: 1 }
          }
        }
    """
    message = _parse_text_proto(path, model_server_config_pb2.ModelServerConfig, "model config")
    if message.WhichOneof("config") != "model_config_list":
        raise ConfigError(f"{path}: expected a model_config_list (custom_model_config is not supported)")
    folder = os.path.dirname(os.path.abspath(path))
    models, seen = [], set()
    for index, config in enumerate(message.model_config_list.config):
        where = f"{path}: model_config_list.config[{index}]"
        if not config.name:
            raise ConfigError(f"{where}.name: expected a non-empty model name")
        if config.name in seen:
            raise ConfigError(f"{where}.name: model {config.name!r} is configured twice")
        seen.add(config.name)
        if not config.base_path:
            raise ConfigError(f"{where}.base_path: expected the model's base path")
        if config.model_platform not in ("", "tensorflow"):
            raise ConfigError(
                f"{where}.model_platform: only 'tensorflow' is supported, got {config.model_platform!r}"
            )
        policy = config.model_version_policy
        choice = policy.WhichOneof("policy_choice")
        if choice == "all":
            version_policy = VersionPolicy("all")
        elif choice == "specific":
            if not policy.specific.versions:
                raise ConfigError(f"{where}.model_version_policy.specific: expected at least one version")
            version_policy = VersionPolicy("specific", versions=tuple(sorted(policy.specific.versions)))
        else:
            num_versions = policy.latest.num_versions if choice == "latest" else 1
            if num_versions < 1:
                raise ConfigError(
                    f"{where}.model_version_policy.latest.num_versions: expected a positive integer, got {num_versions}"
                )
            version_policy = VersionPolicy("latest", num_versions=num_versions)
        base_path = config.base_path if os.path.isabs(config.base_path) else os.path.join(folder, config.base_path)
        models.append(
            ModelConfig(
                config.name,
                base_path,
                version_policy,
                tuple(sorted(config.version_labels.items())),
            )
        )
    if not models:
        raise ConfigError(f"{path}: model_config_list has no config")
    return models


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """Server-side batching of concurrent requests (TF Serving's `BatchingParameters`).

    Requests to the same model version and signature that arrive within
    `batch_timeout_micros` of each other run as one batch of at most
    `max_batch_size` texts; each request gets its own rows of the outputs.

    Args:
        max_batch_size: int. Rows per batch; larger requests run on their own.
        batch_timeout_micros: int. How long the first request of a batch
            waits for others.
        num_batch_threads: int. Batches run at the same time.
        max_enqueued_batches: int. Queue size, in batches; a request finding
            the queue full is refused with UNAVAILABLE.
    """

    max_batch_size: int = 32
    batch_timeout_micros: int = 2000
    num_batch_threads: int = 2
    max_enqueued_batches: int = 100

    def __post_init__(self):
        for name in ("max_batch_size", "num_batch_threads", "max_enqueued_batches"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"batching.{name}: expected a positive integer, got {value!r}")
        value = self.batch_timeout_micros
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"batching.batch_timeout_micros: expected an integer >= 0, got {value!r}")


def read_batching_parameters_file(path):
    """Reads a `batching_parameters.txt` file into `BatchingOptions`.

    Fields left out keep TF Serving's defaults used by `BatchingOptions`.
    Example file: `max_batch_size { value: 32 }  batch_timeout_micros { value: 2000 }`.
    """
    message = _parse_text_proto(path, _MESSAGES["BatchingParameters"], "batching parameters")
    ignored = [
        name
        for name in ("allowed_batch_sizes", "enable_large_batch_splitting", "max_execution_batch_size", "thread_pool_name")
        if (message.HasField(name) if name != "allowed_batch_sizes" else len(message.allowed_batch_sizes))
    ]
    if ignored:
        logger.warning("%s: mtkeras serve ignores %s (the official TF Serving uses them)", path, ", ".join(ignored))
    values = {}
    for name in ("max_batch_size", "batch_timeout_micros", "num_batch_threads", "max_enqueued_batches"):
        if message.HasField(name):
            values[name] = int(getattr(message, name).value)
    try:
        return BatchingOptions(**values)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from error


def read_monitoring_config_file(path):
    """The Prometheus metrics path a `monitoring.config` enables, or None."""
    message = _parse_text_proto(path, _MESSAGES["MonitoringConfig"], "monitoring config")
    prometheus = message.prometheus_config
    if not prometheus.enable:
        return None
    metrics_path = prometheus.path or DEFAULT_PROMETHEUS_PATH
    if not metrics_path.startswith("/"):
        raise ConfigError(f"{path}: prometheus_config.path: expected a path starting with '/', got {metrics_path!r}")
    return metrics_path


@dataclasses.dataclass(frozen=True)
class ServingLimits:
    """What one request may hold; anything larger is refused, and the server serves on.

    TF Serving has no per-text limits; these protect an embedded server on a
    small machine. A request over them gets INVALID_ARGUMENT (texts, bytes)
    or RESOURCE_EXHAUSTED (message size), naming the limit and the value.

    Args:
        max_texts_per_request: int. Rows (texts) in one input tensor.
        max_text_bytes: int. Bytes in one text.
        max_message_bytes: int. Bytes in one gRPC message or REST body.
    """

    max_texts_per_request: int = 4096
    max_text_bytes: int = 100_000
    max_message_bytes: int = 64 * 1024 * 1024

    def __post_init__(self):
        for name in ("max_texts_per_request", "max_text_bytes", "max_message_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"limits.{name}: expected a positive integer, got {value!r}")


@dataclasses.dataclass(frozen=True)
class TlsOptions:
    """TLS for the gRPC port: the server's key and certificate (PEM files).

    With `client_ca_file`, clients must present a certificate signed by it.
    """

    cert_file: str
    key_file: str
    client_ca_file: str = None

    def credentials(self):
        def read(path, what):
            try:
                with open(path, "rb") as handle:
                    return handle.read()
            except OSError as error:
                raise ConfigError(f"Cannot read TLS {what} {path}: {error.strerror}") from error

        root = read(self.client_ca_file, "client CA") if self.client_ca_file else None
        return grpc.ssl_server_credentials(
            [(read(self.key_file, "key"), read(self.cert_file, "certificate"))],
            root_certificates=root,
            require_client_auth=root is not None,
        )
