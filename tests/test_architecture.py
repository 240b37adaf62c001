"""The package's layers, read from its source: imports point one way only (no cycle, no
layer importing one above it), and no module reads another subpackage's underscore names.

Imports are read with ast, every import statement counted (those inside functions too),
except the ones under ``if TYPE_CHECKING:``, which never run. Importing a submodule also
imports its parent packages; those implicit edges are not counted, or every re-export in an
``__init__`` would make a cycle.
"""

import ast
from pathlib import Path

import pytest

import steepest

PACKAGE = Path(steepest.__file__).parent

# Lowest first: a module may import its own layer and the layers below it. Within a layer,
# modules may import each other (without a cycle).
LAYERS = [
    ["steepest._core", "steepest._validation", "steepest._warnings", "steepest.runtime", "steepest.ops", "steepest.io"],
    ["steepest.engine"],
    ["steepest.train"],
    # Builds ONNX graphs from what models show everyone (weights, biases, activations), so
    # that the models above can export themselves without an import cycle.
    ["steepest.export"],
    ["steepest.nn"],
    # The package's own namespace (its __init__ re-exports the layers below); the layers
    # above may use it as users do.
    ["steepest"],
    ["steepest.plot"],
    ["steepest.sklearn"],
    ["steepest.tune", "steepest.bench"],
    ["steepest.cli", "steepest.__main__"],
]


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking_block(node):
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def run_time_nodes(tree):
    """Every node of the tree except those under ``if TYPE_CHECKING:``."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not is_type_checking_block(child):
                pending.append(child)


def imported_modules(name):
    """The steepest modules that importing module `name` imports (as a file does)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in run_time_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                # `from a import b` imports the module a.b when there is one, else a.
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES or submodule == "steepest._core" else base)
    return {module for module in found if module == "steepest" or module.startswith("steepest.")}


GRAPH = {name: imported_modules(name) - {name} for name in MODULES}


def layer_of(module):
    for index, prefixes in enumerate(LAYERS):
        if any(module == prefix or (module.startswith(prefix + ".") and prefix != "steepest") for prefix in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer of this test: add it to LAYERS")


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_the_import_graph_has_no_cycle():
    state = {}

    def visit(module, path):
        state[module] = "open"
        for imported in sorted(GRAPH.get(module, ())):
            if state.get(imported) == "open":
                cycle = path[path.index(imported) :] + [imported]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if imported not in state:
                visit(imported, path + [imported])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_imports_point_down_the_layers_only():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {imported} (layer {layer_of(imported)})"
        for module, imports in GRAPH.items()
        for imported in imports
        if layer_of(imported) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def subpackage(module):
    """The unit inside which underscore names may be shared: a subpackage, or a top-level module."""
    parts = module.split(".")
    return ".".join(parts[:2])


def private_names_defined(module):
    """Underscore names (not dunders) a module defines: functions, classes, self._x attributes."""
    names = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {name for name in names if name.startswith("_") and not name.endswith("__")}


def test_no_module_reads_another_subpackages_underscore_names():
    defined_in = {}
    for module in MODULES:
        for name in private_names_defined(module):
            defined_in.setdefault(name, set()).add(subpackage(module))
    trespasses = []
    for module, path in MODULES.items():
        own = subpackage(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("steepest"):
                names = [alias.name for alias in node.names if alias.name.startswith("_") and not alias.name.endswith("__") and subpackage(node.module) != own]
                trespasses += [f"{module} imports {node.module}.{name}" for name in names if name != "_core"]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.endswith("__"):
                reader = ast.unparse(node.value)
                owners = defined_in.get(node.attr, set())
                if reader not in ("self", "cls", "type(self)") and owners and own not in owners:
                    trespasses.append(f"{module} reads {reader}.{node.attr} (defined in {', '.join(sorted(owners))})")
    assert not trespasses, "\n".join(trespasses)


def test_only_the_engine_touches_the_core_networks_and_trainers():
    users = [
        module
        for module, path in MODULES.items()
        if any(word in path.read_text() for word in ("_core.Network", "_core.Trainer")) and module != "steepest.engine"
    ]
    assert not users, f"outside steepest.engine: {users}"


# What opens a file by its path, and the one module that may (issue 18): every file steepest
# reads or writes goes through steepest.io, which refuses what is not a regular file (a FIFO
# would block a read forever, a rename over a device would replace it) and writes atomically.
FILE_OPENERS = {"open", "fdopen", "read_text", "read_bytes", "write_text", "write_bytes", "savefig", "loadtxt", "genfromtxt", "tofile", "fromfile"}


def test_only_steepest_io_opens_files():
    offenders = []
    for module, path in MODULES.items():
        if module == "steepest.io":
            continue
        for node in run_time_nodes(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            # A figure saved into a buffer opens no file: plot.save writes it through io.
            into_buffer = name == "savefig" and module == "steepest.plot._figures"
            # A member of a zip archive that steepest.io opened is no file of its own.
            archive_member = name == "open" and isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "archive"
            if name in FILE_OPENERS and not into_buffer and not archive_member:
                offenders.append(f"{module}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert not offenders, "open files through steepest.io (open_regular, open_text, write_atomically):\n" + "\n".join(offenders)
