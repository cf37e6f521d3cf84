"""Reading a training config: YAML text to a checked `Config`, every problem named by file and line.

Loading checks everything before any training starts and reports each problem
by file, line and field path, with the bad value:

    configs/demo.yaml:43: training.batch_size: expected a positive integer, got -3

Relative paths in a config are relative to the directory `mtkeras` runs in
(the repository root in the README's examples), as for every other path the
command line takes.

Example:
>>> config = load_config("configs/demo.yaml", overrides=["training.epochs=2"])
>>> config.training.batch_size
32
"""

import re
import typing

import yaml
from pydantic import BaseModel, StrictInt, ValidationError

from mtkeras.errors import ConfigError, FieldError, closest, suggest
from mtkeras.runs.schema import Config


def load_config(path, overrides=(), data_splits=()):
    """Reads, checks and returns the `Config` in a YAML file.

    Args:
        path: str. The YAML file.
        overrides: list of `"dotted.field=value"` strings applied on top of
            the file (`--set` on the command line); values are YAML scalars
            or flow collections (`training.epochs=2`, `encoder.config={num_layers: 1}`).
        data_splits: the splits (`"train"`, `"valid"`, `"test"`) whose files
            or folders must exist; checked before the encoder, so that these
            errors too answer before TensorFlow is imported.

    Raises:
        ConfigError: naming the file, line, field path and value of every
        problem found (unreadable YAML, unknown or missing fields, wrong types
        and values, fields that contradict each other).
    """
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config: {error.strerror or error}") from None
    return parse_config(text, path, overrides, data_splits)


def parse_config(text, source="<config>", overrides=(), data_splits=()):
    """`load_config` for YAML text already in memory; `source` names it in errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}:1: expected a mapping of sections (name, tasks, datasets, ...), got {_show(raw)}")
    _refuse_duplicate_keys(node, source)
    lines = _line_numbers(node)
    overridden = set()
    for override in overrides:
        overridden.add(_apply_override(raw, override))
    def origin(field):
        if field in overridden or any(field.startswith(o + ".") for o in overridden):
            return "--set"
        line = _line_of(lines, tuple(_split_field(field)))
        return f"{source}:{line}" if line else source

    try:
        config = Config.model_validate(raw, context={"defer_encoder_check": True})
    except ValidationError as error:
        problems = _describe_all(error.errors(include_url=False))
        messages = []
        for loc, message in problems:
            field = ".".join(str(part) for part in loc)
            if field in overridden or any(field.startswith(o + ".") for o in overridden):
                where = "--set"
            else:
                where = f"{source}:{_line_of(lines, loc)}" if _line_of(lines, loc) else source
            messages.append(f"{where}: {field or '(top level)'}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(messages))) from None
    config._origin = origin
    config.check_data_paths(data_splits)
    try:
        config.check_encoder()
    except FieldError as error:
        raise ConfigError(f"{config.where(error.field)}: {error.message}") from None
    return config


def _apply_override(raw, override):
    field, sep, value = override.partition("=")
    field = field.strip()
    if not sep or not field or any(not part for part in field.split(".")):
        raise ConfigError(f"--set {override!r}: expected FIELD=VALUE, e.g. training.epochs=2")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
    parts = field.split(".")
    target = raw
    for i, part in enumerate(parts[:-1]):
        child = target.get(part)
        if child is None:
            child = target[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {override!r}: {'.'.join(parts[: i + 1])} is not a section")
        target = child
    target[parts[-1]] = parsed
    return field


def _refuse_duplicate_keys(node, source):
    """YAML lets a later key silently replace an earlier one (a second `training:`); a config may not."""
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if key.value in seen:
                raise ConfigError(
                    f"{source}:{key.start_mark.line + 1}: {key.value!r} appears twice (first at line {seen[key.value]})"
                )
            seen[key.value] = key.start_mark.line + 1
            _refuse_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(item, source)


def _line_numbers(node, path=()):
    """`{field path: 1-based line}` of every key and item in a composed YAML document."""
    lines = {}
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[path + (key.value,)] = key.start_mark.line + 1
            for sub, line in _line_numbers(value, path + (key.value,)).items():
                if sub != path + (key.value,):
                    lines[sub] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_numbers(item, path + (i,)))
    return lines


def _line_of(lines, loc):
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def _show(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_all(items, prefix=()):
    """`[(field path, message)]` of pydantic errors; a section's own nested errors (a task kind's options) unfold."""
    problems = []
    for item in items:
        error = (item.get("ctx") or {}).get("error")
        loc = prefix + tuple(item["loc"])
        if item["type"] == "value_error" and isinstance(error, ValidationError):
            problems += _describe_all(error.errors(include_url=False), loc)
        else:
            problems.append(_describe({**item, "loc": loc}))
    return problems


def _describe(item):
    """`(field path, message)` of one pydantic error, in mtkeras' words."""
    loc = tuple(item["loc"])
    kind, ctx, value = item["type"], item.get("ctx") or {}, item.get("input")
    got = f", got {_show(value)}"
    if kind == "value_error":
        error = ctx.get("error")
        if isinstance(error, FieldError):
            return loc + tuple(_split_field(error.field)), error.message
        return loc, str(error) if error is not None else item["msg"]
    if kind == "missing":
        return loc, "required field is missing"
    if kind == "extra_forbidden":
        siblings = _fields_at(loc[:-1])
        hint = suggest(str(loc[-1]), siblings) if siblings else ""
        return loc, f"unknown field{hint}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        if isinstance(value, int) and bound == 0 and kind == "greater_than":
            return loc, f"expected a positive integer{got}" if _is_int_field(loc) else f"expected a number > 0{got}"
        sign = ">" if kind == "greater_than" else ">="
        bound = f"{bound:g}" if isinstance(bound, float) else bound
        return loc, f"expected a number {sign} {bound}{got}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if _is_positive(loc):
            return loc, f"expected a positive integer{got}"
        return loc, f"expected an integer{got}"
    if kind in ("float_type", "float_parsing"):
        return loc, f"expected a number{got}"
    if kind in ("bool_type", "bool_parsing"):
        return loc, f"expected true or false{got}"
    if kind in ("string_type",):
        return loc, f"expected a string{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, f"expected a mapping{got}"
    if kind in ("list_type",):
        return loc, f"expected a list{got}"
    if kind == "literal_error":
        return loc, f"expected one of {ctx.get('expected')}{got}{_closest(value, ctx.get('expected', ''))}"
    return loc, f"{item['msg']}{got}"


def _closest(value, expected):
    """`; did you mean 'x'?` for the choice closest to a misspelt `value` ("'a', 'b' or 'c'" lists the choices)."""
    return closest(value, re.findall(r"'([^']*)'", expected)) if isinstance(value, str) else ""


def _split_field(field):
    return [int(part) if part.lstrip("-").isdigit() else part for part in field.split(".")]


class _DictOf:
    """A dict of sections in the schema: the next part of a path is a key."""

    def __init__(self, model):
        self.model = model


def _walk(loc):
    """`(section, field info)` at the end of `loc` in the schema: the section
    class the path leads into (None for a leaf) and the last field's info."""
    model, info = Config, None
    for part in loc:
        if isinstance(model, _DictOf):
            model = model.model
            continue
        if model is None or part not in model.model_fields:
            return None, None
        info = model.model_fields[part]
        annotation = info.annotation
        if typing.get_origin(annotation) is dict:
            value = typing.get_args(annotation)[1]
            model = _DictOf(value) if isinstance(value, type) and issubclass(value, BaseModel) else None
        else:
            args = [a for a in typing.get_args(annotation) if isinstance(a, type)] or [annotation]
            model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model, info


def _fields_at(loc):
    """The field names of the section at `loc` (for "did you mean")."""
    model, _ = _walk(loc)
    return list(model.model_fields) if model is not None and not isinstance(model, _DictOf) else []


def _is_int_field(loc):
    info = _walk(loc)[1]
    if info is None:
        return False
    annotation = info.annotation
    return annotation in (int, StrictInt) or any(a in (int, StrictInt) for a in typing.get_args(annotation))


def _is_positive(loc):
    """An integer field declared `gt=0`."""
    info = _walk(loc)[1]
    return _is_int_field(loc) and any(getattr(m, "gt", None) == 0 for m in info.metadata)


def config_to_dict(config):
    """The config as plain data (every default filled in, a task's from its kind), for run directories and exports."""
    data = config.model_dump(mode="json")
    data["tasks"] = {
        name: {"kind": task.kind, **task.options.model_dump(mode="json")} for name, task in config.tasks.items()
    }
    return data
