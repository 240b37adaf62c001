"""ONNX graphs of dense networks, from the facts every steepest model shows: each dense
layer's ``weight`` ``(in_features, out_features)``, ``bias`` ``(out_features,)`` and
``activation``, and the model's dtype. Nothing here reads a model's internals, so any stack
of dense layers (an MLP, an autoencoder or one of its halves, a VAE's encoder or decoder)
goes through :func:`dense_model`.

The graph of a dense layer is one ``Gemm`` (``x @ weight + bias``), then ``Relu``,
``Sigmoid``, ``Tanh`` or ``Softmax`` over axis 1 (nothing for the identity); dropout is the
identity at inference and leaves no node. Only operators of the default ONNX domain are
used, from opset :data:`OPSET_MIN` on; tensors are float32 or float64 as the model, with a
dynamic batch dimension named ``batch``.

Inputs and outputs:

- core models (``Sequential``, ``MLP``, ``Autoencoder`` and its ``encoder`` / ``decoder``):
  input ``input`` ``(batch, in_features)``, output ``output`` ``(batch, out_features)``;
- estimators, under skl2onnx's names: input ``X`` ``(batch, n_features_in_)``;
  ``MLPClassifier`` outputs ``label`` ``(batch,)`` (the classes themselves: int64 for
  integer, bool or integral float classes, as skl2onnx; string for strings; an int64
  indicator ``(batch, n_classes)`` for multi-label targets) and ``probabilities``
  ``(batch, n_classes)``; ``MLPRegressor`` outputs ``variable`` ``(batch, n_outputs_)`` and
  ``AutoencoderTransformer`` ``variable`` ``(batch, n_components)``, the encoding.

Needs the ``onnx`` package (``pip install 'steepest[onnx]'``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as error:  # onnx is an optional extra
    raise ImportError("exporting to ONNX needs the onnx package: pip install 'steepest[onnx]'") from error

from steepest import io
from steepest._core import __version__

#: The oldest opset exported: from 13 on, Softmax is over one axis as steepest's is (before,
#: it flattened to 2-D first), and Slice, ArgMax and Gather have their present form.
OPSET_MIN = 13
#: The default: old enough for onnxruntime 1.12 and later, and every operator used here
#: has had its present meaning since 13-14, so a newer opset would change nothing.
DEFAULT_OPSET = 17

ACTIVATION_OPERATORS: Dict[str, Optional[str]] = {"identity": None, "relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}
ELEMENT_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}
#: The batch dimension's name in every graph's inputs and outputs.
BATCH = "batch"


class DenseLayer(Protocol):
    """What the exporter reads of a dense layer (``steepest.Dense`` is one)."""

    @property
    def weight(self) -> np.ndarray: ...

    @property
    def bias(self) -> np.ndarray: ...

    activation: str


class Graph(Protocol):
    """Where the nodes go: a new model (:class:`NewGraph`) or skl2onnx's container (see
    :mod:`steepest.export.skl2onnx`)."""

    def constant(self, hint: str, value: np.ndarray) -> str:
        """Add ``value`` as an initializer; its name."""

    def node(self, op_type: str, inputs: Sequence[str], output: Optional[str] = None, **attributes: Any) -> str:
        """Add a node of the default domain writing ``output`` (a new name if None); that name."""


class NewGraph:
    """The nodes and initializers of a graph being built, with names made unique by counting."""

    def __init__(self) -> None:
        self.nodes: List[onnx.NodeProto] = []
        self.initializers: List[onnx.TensorProto] = []
        self._counts: Dict[str, int] = {}

    def _name(self, hint: str) -> str:
        self._counts[hint] = self._counts.get(hint, -1) + 1
        return f"{hint}_{self._counts[hint]}"

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], output: Optional[str] = None, **attributes: Any) -> str:
        output = output or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=self._name(op_type), **attributes))
        return output


# ------------------------------------------------------------------------ the facts ----


def element_type(dtype: Any) -> int:
    """The ONNX element type of a model dtype (float32 or float64); ValueError otherwise."""
    try:
        return ELEMENT_TYPES[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None


def checked_layers(layers: Sequence[DenseLayer], dtype: Any) -> List[Tuple[np.ndarray, np.ndarray, str]]:
    """Each layer's ``(weight, bias, activation)``, copied in ``dtype``: ValueError unless the
    layers chain, their activations are known and every parameter is finite."""
    layers = list(layers)
    if not layers:
        raise ValueError("there are no dense layers to export")
    facts: List[Tuple[np.ndarray, np.ndarray, str]] = []
    for index, layer in enumerate(layers):
        weight, bias = np.array(layer.weight, dtype=dtype), np.array(layer.bias, dtype=dtype)
        if weight.ndim != 2 or bias.shape != (weight.shape[1],):
            raise ValueError(f"layer {index}: weight {weight.shape} and bias {bias.shape} are not (in, out) and (out,)")
        if facts and facts[-1][0].shape[1] != weight.shape[0]:
            raise ValueError(f"layer {index} takes {weight.shape[0]} features but the layer before it gives {facts[-1][0].shape[1]}")
        if layer.activation not in ACTIVATION_OPERATORS:
            raise ValueError(f"layer {index}: unknown activation {layer.activation!r}; expected one of: {', '.join(ACTIVATION_OPERATORS)}")
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            # Such a model only predicts NaN, and a file of it would load as if it were sound.
            raise ValueError(f"layer {index} has a parameter that is NaN or infinite; a model must have finite parameters to be exported")
        facts.append((weight, bias, layer.activation))
    return facts


@dataclass(frozen=True)
class Estimator:
    """What the graph of a fitted scikit-learn estimator needs: its dense layers (for the
    autoencoder transformer, its encoder's), dtype, and a classifier's ``classes_``."""

    layers: Sequence[DenseLayer]
    dtype: np.dtype
    classes: Optional[np.ndarray] = None

    @property
    def multilabel(self) -> bool:
        """Sigmoid outputs for several labels: the label output is an indicator matrix."""
        return self.classes is not None and self.layers[-1].activation == "sigmoid" and np.shape(self.layers[-1].bias)[0] > 1

    def output_names(self) -> Tuple[str, ...]:
        return ("label", "probabilities") if self.classes is not None else ("variable",)

    def outputs(self) -> List[Tuple[str, int, List[Any]]]:
        """Each output's name, element type and shape (None for the batch dimension)."""
        value_type = element_type(self.dtype)
        width = int(np.shape(self.layers[-1].bias)[0])
        if self.classes is None:
            return [("variable", value_type, [None, width])]
        label_type = class_labels(self.classes)[1]
        classes = len(self.classes)
        label_shape: List[Any] = [None, classes] if self.multilabel else [None]
        return [("label", TensorProto.INT64 if self.multilabel else label_type, label_shape), ("probabilities", value_type, [None, classes])]


def class_labels(classes: Any) -> Tuple[np.ndarray, int]:
    """The classes as a tensor's values and their element type: strings as strings, every
    other label (integers, bools, integral floats) as int64, as skl2onnx exports them."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "US" or (classes.dtype == object and all(isinstance(c, str) for c in classes)):
        return np.array([str(c) for c in classes], dtype=object), TensorProto.STRING
    if classes.dtype.kind in "biuf":
        labels = classes.astype(np.int64)
        if np.array_equal(labels, classes):
            return labels, TensorProto.INT64
    raise ValueError(f"class labels must be integers or strings to be exported, got {classes!r}")


# ---------------------------------------------------------------------- the nodes ----


def dense_nodes(graph: Graph, x: str, layers: Sequence[DenseLayer], dtype: Any, output: Optional[str] = None) -> str:
    """The nodes of ``layers`` applied to ``x``, the last writing ``output``; its name."""
    facts = checked_layers(layers, dtype)
    for index, (weight, bias, activation) in enumerate(facts):
        last = index == len(facts) - 1
        operator = ACTIVATION_OPERATORS[activation]
        x = graph.node("Gemm", [x, graph.constant("weight", weight), graph.constant("bias", bias)], output if last and operator is None else None)
        if operator is not None:
            attributes = {"axis": 1} if operator == "Softmax" else {}
            x = graph.node(operator, [x], output if last else None, **attributes)
    return x


def column_nodes(graph: Graph, x: str, first: int, last: int, output: Optional[str] = None) -> str:
    """Columns ``[first, last)`` of the matrix ``x`` (a VAE encoder's mean, say)."""
    bounds = [graph.constant(name, np.array([value], np.int64)) for name, value in (("starts", first), ("ends", last), ("axes", 1))]
    return graph.node("Slice", [x, *bounds], output)


def classifier_nodes(graph: Graph, x: str, estimator: Estimator, label: Optional[str], probabilities: Optional[str]) -> Tuple[str, str]:
    """A classifier's probabilities and labels, as its ``predict_proba`` and ``predict``:
    a softmax output is the probabilities, one sigmoid output ``p`` gives ``[1 - p, p]``, and
    the label is the class of the largest (the first of equals, as NumPy's argmax). With
    several sigmoid outputs (multi-label), the label is the indicator ``p > 0.5``."""
    assert estimator.classes is not None
    last = estimator.layers[-1]
    outputs = int(np.shape(last.bias)[0])
    classes, _ = class_labels(estimator.classes)
    if last.activation == "softmax" and outputs == len(classes):
        p = dense_nodes(graph, x, estimator.layers, estimator.dtype, probabilities)
    elif last.activation == "sigmoid" and outputs == 1 and len(classes) == 2:
        positive = dense_nodes(graph, x, estimator.layers, estimator.dtype)
        # 1 - p is exact in floating point for p in [0.25, 1] (Sterbenz), so the argmax of
        # [1 - p, p] picks the positive class exactly when p > 0.5, as scikit-learn's threshold.
        negative = graph.node("Sub", [graph.constant("one", np.ones((1, 1), estimator.dtype)), positive])
        p = graph.node("Concat", [negative, positive], probabilities, axis=1)
    elif estimator.multilabel and outputs == len(classes):
        p = dense_nodes(graph, x, estimator.layers, estimator.dtype, probabilities)
        above = graph.node("Greater", [p, graph.constant("threshold", np.array(0.5, estimator.dtype))])
        return graph.node("Cast", [above], label, to=TensorProto.INT64), p
    else:
        raise ValueError(f"a classifier of {len(classes)} classes with {outputs} {last.activation} outputs cannot be exported")
    index = graph.node("ArgMax", [p], axis=1, keepdims=0)
    return graph.node("Gather", [graph.constant("classes", classes), index], label, axis=0), p


def estimator_nodes(graph: Graph, x: str, estimator: Estimator, outputs: Sequence[Optional[str]]) -> List[str]:
    """The nodes of a fitted estimator's prediction from ``x`` (in the model's dtype), writing
    ``outputs`` in the order of :meth:`Estimator.output_names` (new names where None)."""
    if estimator.classes is not None:
        return list(classifier_nodes(graph, x, estimator, outputs[0], outputs[1]))
    return [dense_nodes(graph, x, estimator.layers, estimator.dtype, outputs[0])]


# ---------------------------------------------------------------------- the models ----


def check_opset(opset: Any) -> int:
    """``opset``, or the default for None: TypeError if it is not an int, ValueError if it is
    older than :data:`OPSET_MIN` or newer than the installed onnx knows."""
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int, got {type(opset).__name__}")
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise ValueError(f"unknown opset {opset}: the installed onnx {onnx.__version__} knows opsets up to {newest}")
    if opset < OPSET_MIN:
        raise ValueError(f"opset {opset} is not supported: steepest exports opsets {OPSET_MIN} to {newest}")
    return int(opset)


def tensor_info(name: str, element: int, shape: Sequence[Any]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, element, [BATCH if size is None else size for size in shape])


def assemble(graph: NewGraph, inputs: Sequence[onnx.ValueInfoProto], outputs: Sequence[onnx.ValueInfoProto], opset: int, name: str) -> onnx.ModelProto:
    """The checked model of ``graph``, at ``opset`` and the oldest IR version that has it (so
    that older runtimes load it)."""
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        helper.make_graph(graph.nodes, name, list(inputs), list(outputs), initializer=graph.initializers),
        opset_imports=opsets,
        producer_name="steepest",
        producer_version=__version__,
    )
    model.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(model)
    return model


def check_path(path: Any) -> Optional[io.PathLike]:
    """``path`` if it is None, a str or an os.PathLike to a file in a folder that exists."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    folder = os.path.dirname(os.fspath(path)) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {os.fspath(path)!r}: the folder {folder!r} does not exist")
    return path


def finish(model: onnx.ModelProto, path: Optional[io.PathLike]) -> onnx.ModelProto:
    """Write ``model`` to ``path`` atomically (when given: a failed write leaves no partial
    file, and a file already there as it was); return it."""
    if path is not None:
        io.write_atomically(model.SerializeToString(), path)
    return model


def dense_model(
    layers: Sequence[DenseLayer],
    dtype: Any,
    *,
    columns: Optional[Tuple[int, int]] = None,
    input_name: str = "input",
    output_name: str = "output",
    opset: Any = None,
    path: Any = None,
    name: str = "steepest",
) -> onnx.ModelProto:
    """The ONNX model of a stack of dense layers, written atomically to ``path`` if given.

    Parameters
    ----------
    layers : sequence of steepest.Dense (or anything with ``weight``, ``bias``, ``activation``)
        In order; their widths must chain.
    dtype : float32 or float64
        Of the graph's tensors.
    columns : (first, last), optional
        Output only these columns of the last layer's output (a VAE encoder's mean).
    input_name, output_name : str
    opset : int, default :data:`DEFAULT_OPSET`
    path : str or os.PathLike, optional
    name : str
        The graph's name.
    """
    opset, path = check_opset(opset), check_path(path)
    element = element_type(dtype)
    facts = checked_layers(layers, dtype)
    width = facts[-1][0].shape[1]
    graph = NewGraph()
    if columns is None:
        dense_nodes(graph, input_name, layers, dtype, output_name)
    else:
        first, last = columns
        if not 0 <= first < last <= width:
            raise ValueError(f"columns must be (first, last) with 0 <= first < last <= {width}, got {columns!r}")
        column_nodes(graph, dense_nodes(graph, input_name, layers, dtype), first, last, output_name)
        width = last - first
    model = assemble(graph, [tensor_info(input_name, element, [None, facts[0][0].shape[0]])], [tensor_info(output_name, element, [None, width])], opset, name)
    return finish(model, path)


def estimator_model(estimator: Estimator, *, opset: Any = None, path: Any = None, name: str = "steepest") -> onnx.ModelProto:
    """The ONNX model of a fitted estimator (see the module's docstring for its names),
    written atomically to ``path`` if given."""
    opset, path = check_opset(opset), check_path(path)
    features = checked_layers(estimator.layers, estimator.dtype)[0][0].shape[0]
    graph = NewGraph()
    estimator_nodes(graph, "X", estimator, estimator.output_names())
    outputs = [tensor_info(*output) for output in estimator.outputs()]
    model = assemble(graph, [tensor_info("X", element_type(estimator.dtype), [None, features])], outputs, opset, name)
    return finish(model, path)
