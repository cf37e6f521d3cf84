"""Modules imported on first use, so that reading a config or a task's options needs no TensorFlow.

`tf = lazy_module("tensorflow")` at the top of a module gives a stand-in
whose first attribute access imports TensorFlow (about 5 s here); code that
only declares tasks, checks a config or formats results never pays it.
Module-level code (decorators, base classes) must not touch a stand-in:
that would import the module at once, and the point is lost.
"""

import importlib
import sys


class LazyModule:
    """A stand-in for module `name`, imported on the first attribute read."""

    def __init__(self, name):
        self.__dict__["_lazy_name"] = name

    def _lazy_load(self):
        module = importlib.import_module(self._lazy_name)
        # Later reads find the module's attributes directly, without another import call.
        self.__dict__.update(module.__dict__)
        return module

    def __getattr__(self, attribute):
        return getattr(self._lazy_load(), attribute)

    def __repr__(self):
        return f"<lazy module {self._lazy_name!r}>"


def lazy_module(name):
    """The module `name` if it is imported already, else a `LazyModule` stand-in for it."""
    return sys.modules.get(name) or LazyModule(name)


def lazy_exports(package, homes):
    """`__getattr__` and `__dir__` for a package that names its exports without importing them (PEP 562).

    Args:
        package: str. The package's `__name__`.
        homes: dict. Each exported name -> the module that defines it.

    Example, in a package's `__init__.py`:
    >>> __getattr__, __dir__ = lazy_exports(__name__, {"train": "mtkeras.runs.trainer"})
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name):
        if name not in homes:
            # A submodule read as an attribute (`mtkeras.runs.trainer`) is imported, as a plain package's would
            # be once anything had imported it.
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{package}.{name}":
                    raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(homes[name]), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(homes))

    return __getattr__, __dir__
