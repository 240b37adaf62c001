"""What the installed package carries besides the kernels: one version everywhere, and the
type information (py.typed, a stub that describes the compiled module as built)."""

import ast
import importlib.metadata
from pathlib import Path

import steepest
from steepest import _core

PACKAGE = Path(steepest.__file__).parent


def test_version_is_the_distribution_version():
    assert steepest.__version__ == _core.__version__ == importlib.metadata.version("steepest")


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").is_file()


def test_stub_names_exactly_what_the_compiled_module_defines():
    stub = ast.parse((PACKAGE / "_core.pyi").read_text())
    stubbed = {node.name for node in stub.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    stubbed |= {node.target.id for node in stub.body if isinstance(node, ast.AnnAssign)}
    defined = {name for name in dir(_core) if not name.startswith("_")} | {"__version__"}
    stubbed.discard("__all__")
    assert stubbed == defined, "regenerate the stub with .ci/stubs --write"
