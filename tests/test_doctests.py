"""Every example in the docstrings of the installed steepest package runs and prints what
it shows: the doctests of each public module (private ``_`` modules and ``__main__`` left
out), one test per module."""

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import steepest

matplotlib.use("Agg")


def public_modules():
    names = ["steepest"]
    for module in pkgutil.walk_packages(steepest.__path__, prefix="steepest."):
        parts = module.name.split(".")
        if not any(part.startswith("_") for part in parts[1:]):
            names.append(module.name)
    return sorted(names)


MODULES = public_modules()
# Modules that need an optional package to import (steepest.export.onnx says which to install).
NEEDS = {"steepest.export.onnx": "onnx"}


def test_the_installed_package_is_under_test():
    assert {
        "steepest.nn.sequential",
        "steepest.train.loop",
        "steepest.engine",
        "steepest.plot",
        "steepest.cli",
        "steepest.cli.digits_demo",
        "steepest.cli.config_file",
    } <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    import matplotlib.pyplot

    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder().find(module, name)
    runner = doctest.DocTestRunner()
    report = []
    try:
        for test in tests:
            runner.run(test, out=report.append)
    finally:
        matplotlib.pyplot.close("all")
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)
