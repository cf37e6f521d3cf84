"""`mtkeras.lazy`: packages that name their exports without importing them, and modules imported on first use."""

import pytest

from helpers.processes import run_python


def test_a_lazy_package_imports_a_name_s_module_on_first_use_only():
    out = run_python("""
        import sys
        import mtkeras.runs, mtkeras.tasks, mtkeras.data, mtkeras.evaluation, mtkeras.text
        print("tensorflow" in sys.modules, "mtkeras.runs.trainer" in sys.modules)
        config = mtkeras.runs.Config  # the schema: no TensorFlow
        kinds = list(mtkeras.tasks.registered_task_kinds())
        print("tensorflow" in sys.modules, kinds[0])
        print(mtkeras.runs.trainer.__name__, "tensorflow" in sys.modules)  # a submodule read as an attribute
        try:
            mtkeras.runs.nothing_here
        except AttributeError as error:
            print(error)
    """)
    assert out.splitlines() == [
        "False False",
        "False sentence_classification",
        "mtkeras.runs.trainer True",
        "module 'mtkeras.runs' has no attribute 'nothing_here'",
    ]


def test_a_lazy_module_stands_in_until_an_attribute_is_read():
    from mtkeras.lazy import LazyModule, lazy_module

    stand_in = LazyModule("json")
    assert repr(stand_in) == "<lazy module 'json'>"
    assert stand_in.dumps({"a": 1}) == '{"a": 1}'
    import json

    assert lazy_module("json") is json  # imported already: the module itself
    with pytest.raises(ModuleNotFoundError):
        LazyModule("no_such_module_here").anything
