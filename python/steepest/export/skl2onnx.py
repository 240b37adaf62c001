"""steepest's estimators as skl2onnx converters, so that ``skl2onnx.to_onnx(pipeline, X)``
converts a Pipeline that holds one: the same graph as the estimator's own ``to_onnx``
(:mod:`steepest.export.onnx`), written into skl2onnx's container.

The converters are registered when skl2onnx is imported, whichever of it and
``steepest.sklearn`` comes first (:func:`register_when_imported`), so that importing
steepest.sklearn does not import skl2onnx and onnx (over half a second) for users who never
convert. Nothing here imports skl2onnx before skl2onnx is imported by its user.

As skl2onnx's own MLP converters, the graph computes in the estimator's dtype and its
outputs follow the type of the input the pipeline gives it (float or double); a classifier
gives ``label`` and ``probabilities``, which skl2onnx turns into ``output_label`` and
``output_probability`` (a ZipMap) unless ``options={"zipmap": False}``.
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

#: skl2onnx's options for classifiers, as its MLPClassifier converter's: ``zipmap`` makes
#: its parser add the ZipMap after ours; ``nocl`` gives class indices instead of classes.
CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [True, False]}


@dataclass(frozen=True)
class Convertible:
    """An estimator class and how to read the facts of its graph from a fitted instance (a
    :class:`steepest.export.onnx.Estimator`)."""

    estimator: type
    facts: Callable[[Any], Any]
    classifier: bool

    def graph_facts(self, operator: Any, options: Any) -> Any:
        """The facts of the operator's estimator, with class indices for classes under
        ``nocl`` (``options`` is the scope's or the container's ``get_options``)."""
        facts = self.facts(operator.raw_operator)
        if self.classifier and options(operator.raw_operator, {"nocl": False})["nocl"]:
            facts = dataclasses.replace(facts, classes=np.arange(len(facts.classes)))
        return facts

    @property
    def alias(self) -> str:
        return f"Steepest{self.estimator.__name__}"


class ContainerGraph:
    """:class:`steepest.export.onnx.Graph` over skl2onnx's scope and container."""

    def __init__(self, scope: Any, container: Any) -> None:
        self._scope = scope
        self._container = container

    def constant(self, hint: str, value: Any) -> str:
        from onnx import numpy_helper

        name = str(self._scope.get_unique_variable_name(hint))
        tensor = numpy_helper.from_array(value, name)
        # The container copies a tensor's raw bytes, which strings do not have.
        content = list(tensor.string_data) if tensor.string_data else tensor
        self._container.add_initializer(name, tensor.data_type, list(tensor.dims), content)
        return name

    def node(self, op_type: str, inputs: Sequence[str], output: Optional[str] = None, **attributes: Any) -> str:
        output = output or str(self._scope.get_unique_variable_name(op_type.lower()))
        self._container.add_node(op_type, list(inputs), [output], name=self._scope.get_unique_operator_name(f"Steepest{op_type}"), **attributes)
        return output


def _input_element_type(operator: Any) -> int:
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType

    return TensorProto.DOUBLE if isinstance(operator.inputs[0].type, DoubleTensorType) else TensorProto.FLOAT


def shape_calculator(convertible: Convertible) -> Callable[[Any], None]:
    """skl2onnx's shape calculator of the class: each output's type and shape, as the
    estimator's own export gives them, with values in the input's float type."""

    def calculate(operator: Any) -> None:
        from onnx import TensorProto
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType

        facts = convertible.graph_facts(operator, operator.scope_inst.get_options)
        batch = operator.inputs[0].get_first_dimension()
        types: Dict[int, Any] = {
            TensorProto.INT64: Int64TensorType,
            TensorProto.STRING: StringTensorType,
            TensorProto.FLOAT: FloatTensorType,
            TensorProto.DOUBLE: DoubleTensorType,
        }
        values = types[_input_element_type(operator)]
        for variable, (_, element, shape) in zip(operator.outputs, facts.outputs()):
            kind = values if element in (TensorProto.FLOAT, TensorProto.DOUBLE) else types[element]
            variable.type = kind([batch, *shape[1:]])

    return calculate


def converter(convertible: Convertible) -> Callable[[Any, Any, Any], None]:
    """skl2onnx's converter of the class: the estimator's graph, in its own dtype between
    Casts from and to the pipeline's float type where the two differ."""

    def convert(scope: Any, operator: Any, container: Any) -> None:
        from steepest.export import onnx as onnx_export

        if container.target_opset < onnx_export.OPSET_MIN:
            raise ValueError(f"opset {container.target_opset} is not supported: steepest exports opsets {onnx_export.OPSET_MIN} and newer")
        facts = convertible.graph_facts(operator, container.get_options)
        graph = ContainerGraph(scope, container)
        wanted = _input_element_type(operator)
        model_type = onnx_export.element_type(facts.dtype)
        x = operator.inputs[0].full_name
        if wanted != model_type:
            x = graph.node("Cast", [x], to=model_type)
        # Outputs of the model's float type are written where skl2onnx wants them only when
        # that is the pipeline's type too; otherwise through a Cast.
        declared = [(variable.full_name, element) for variable, (_, element, _) in zip(operator.outputs, facts.outputs())]
        direct = [name if element != model_type or wanted == model_type else None for name, element in declared]
        for result, (name, _) in zip(onnx_export.estimator_nodes(graph, x, facts, direct), declared):
            if result != name:
                graph.node("Cast", [result], name, to=wanted)

    return convert


def register(convertibles: Sequence[Convertible]) -> None:
    """Register each class's converter and shape calculator with skl2onnx (imported)."""
    from skl2onnx import update_registered_converter

    for convertible in convertibles:
        options = CLASSIFIER_OPTIONS if convertible.classifier else None
        update_registered_converter(convertible.estimator, convertible.alias, shape_calculator(convertible), converter(convertible), options=options)


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: asked for skl2onnx, it hands over skl2onnx's own spec (from the
    other finders) with a loader that registers the converters once skl2onnx has run, and
    leaves the import system then. It stays until then, because being asked is not being
    imported (``importlib.util.find_spec`` asks too)."""

    def __init__(self, convertibles: Sequence[Convertible]) -> None:
        self.convertibles = list(convertibles)

    def find_spec(self, fullname: str, path: Any, target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "skl2onnx":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec: Optional[importlib.machinery.ModuleSpec] = find(fullname, path, target) if finder is not self and find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RegisteringLoader(spec.loader, self)
                return spec
        return None


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, finder: _RegisterAfterImport) -> None:
        self._loader = loader
        self._finder = finder

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        register_or_warn(self._finder.convertibles)

    def __getattr__(self, name: str) -> Any:  # the rest of the loader's interface (resources, ...)
        return getattr(self._loader, name)


def register_or_warn(convertibles: Sequence[Convertible]) -> None:
    """Register, or warn why not: a skl2onnx whose API has changed must not fail its import."""
    try:
        register(convertibles)
    except Exception as error:  # noqa: BLE001  (any failure of another package's API)
        warnings.warn(f"steepest could not register its estimators' ONNX converters with skl2onnx: {error!r}", RuntimeWarning, stacklevel=2)


def register_when_imported(convertibles: Sequence[Convertible]) -> None:
    """Register the converters with skl2onnx now if it is imported, else as soon as it is."""
    if "skl2onnx" in sys.modules:
        register_or_warn(convertibles)
    elif importlib.util.find_spec("skl2onnx") is not None and not any(isinstance(finder, _RegisterAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport(convertibles))
