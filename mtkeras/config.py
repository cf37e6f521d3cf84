"""The earlier home of the training config, kept for old imports: see `mtkeras.runs`."""

from mtkeras.errors import ConfigError
from mtkeras.runs import Config, config_to_dict, field_reference, load_config, parse_config

__all__ = ["Config", "ConfigError", "config_to_dict", "field_reference", "load_config", "parse_config"]
