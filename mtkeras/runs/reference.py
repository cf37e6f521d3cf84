"""The config reference table of README.md, generated from the schema and the registries."""

import typing
from typing import Literal

import yaml
from pydantic import BaseModel

from mtkeras.data.readers import registered_readers
from mtkeras.runs.schema import Config, DatasetConfig, TaskConfig
from mtkeras.tasks import registered_task_kinds


def field_reference():
    """`[(field path, type, default, description)]` for every field of the schema (README's reference)."""
    rows = []

    def type_name(annotation):
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:  # StrictInt
            return type_name(typing.get_args(annotation)[0])
        if origin is Literal:
            return " \\| ".join(str(a) for a in typing.get_args(annotation))
        if origin is typing.Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            return " \\| ".join(type_name(a) for a in args) + " \\| null"
        if origin is dict:
            return "mapping"
        if origin is list:
            return f"list of {type_name(typing.get_args(annotation)[0])}"
        return getattr(annotation, "__name__", str(annotation)).replace("Any", "any")

    registered = {(TaskConfig, "kind"): list(registered_task_kinds()), (DatasetConfig, "reader"): list(registered_readers()),
                  (DatasetConfig, "on_error"): ["raise", "skip"]}

    def row(path, info, annotation, shown=None):
        if info.is_required():
            default = "required"
        else:
            value = info.default_factory() if info.default_factory is not None else info.default
            default = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        shown = shown or (info.json_schema_extra or {}).get("shown_type") or type_name(annotation)
        return path, shown, default, info.description or ""

    def kind_options(prefix):
        """One row per option of the registered task kinds; those only some kinds take name them."""
        kinds = registered_task_kinds()
        takers = {}
        for kind, cls in kinds.items():
            for option, info in cls.Options.model_fields.items():
                takers.setdefault(option, (info, []))[1].append(kind)
        for option, (info, names) in takers.items():
            section = optional_section(info.annotation)
            if section is not None:  # e.g. `private`: its fields below it
                rows.append((f"{prefix}{option}", "section \\| null", "null", info.description or ""))
                walk(section, f"{prefix}{option}.")
                continue
            path, shown, default, description = row(f"{prefix}{option}", info, info.annotation)
            if len(names) < len(kinds):
                description = f"{', '.join(names)}: {description}"
            rows.append((path, shown, default, description))

    def optional_section(annotation):
        """The model of an `Optional[SomeModel]` field, or None."""
        optional = [a for a in typing.get_args(annotation) if a is not type(None)] \
            if typing.get_origin(annotation) is typing.Union else []
        if len(optional) == 1 and isinstance(optional[0], type) and issubclass(optional[0], BaseModel):
            return optional[0]
        return None

    def walk(model, prefix):
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            annotation = info.annotation
            if (model, name) in registered:
                rows.append(row(path, info, annotation, " \\| ".join(registered[model, name])))
                continue
            value = typing.get_args(annotation)[1] if typing.get_origin(annotation) is dict else None
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, path + ".")
            elif optional_section(annotation) is not None:
                # An optional section (e.g. encoder.vectors): absent by default, its fields below it.
                rows.append((path, "section \\| null", "null", info.description or ""))
                walk(optional_section(annotation), path + ".")
            elif isinstance(value, type) and issubclass(value, BaseModel):
                rows.append((path, f"mapping of name to {path.split('.')[-1][:-1]}", "required", info.description))
                walk(value, f"{path}.<name>.")
                if value is TaskConfig:
                    kind_options(f"{path}.<name>.")
            else:
                rows.append(row(path, info, annotation))

    walk(Config, "")
    return rows
