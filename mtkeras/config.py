"""The earlier home of the training config, kept for old imports: see `mtkeras.runs`."""

from mtkeras.data.readers import registered_readers
from mtkeras.errors import ConfigError
from mtkeras.runs import Config, config_to_dict, field_reference, load_config, parse_config
from mtkeras.tasks import registered_task_kinds

__all__ = ["Config", "ConfigError", "config_to_dict", "field_reference", "load_config", "parse_config"]


def __getattr__(name):
    # The earlier tuples of kind and reader names, read from their registries.
    if name == "TASK_KINDS":
        return tuple(registered_task_kinds())
    if name == "READERS":
        return tuple(registered_readers())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
