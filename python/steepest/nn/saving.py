"""Models to files and back: what a model's header says (its kind, layers, seed, epochs
trained, configuration), written and read through :mod:`steepest.io`'s format.

Each model class registers under its kind name (see :func:`register`); loading a file builds
the class its header names, through that class's ``_from_saved``. Nothing in a file runs
code: a hostile header is refused with ValueError before anything is built.

A model's ``metadata`` (a JSON object of the user's: a command line's classes and feature
scaling, say) travels in the header, so it survives save, load and pickle.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Type, TypeVar

import numpy as np

from steepest import io
from steepest._validation import positive_int, require_finite
from steepest.nn.layers import Condition, Dense, Dropout, GaussianSample, Layer
from steepest.train.state import SavedOptimizer

if TYPE_CHECKING:
    from steepest.nn.sequential import Sequential

_KINDS: Dict[str, Type["Sequential"]] = {}
_MAX_LAYERS = 10_000
# An absurd size would ask the engine for terabytes: refused before allocating.
_MAX_PARAMETERS = 1 << 36
# Metadata shares the header's 1 MiB (steepest.io) with the layers: half of it is plenty.
_MAX_METADATA_BYTES = 1 << 19

Kind = TypeVar("Kind", bound=Type["Sequential"])


def register(cls: Kind) -> Kind:
    """Class decorator: files of this model kind load as this class."""
    _KINDS[cls.__name__] = cls
    return cls


def model_to_bytes(model: "Sequential") -> bytes:
    """The saved form of ``model`` as bytes (what :func:`save` writes; pickle uses it too).
    ValueError if a parameter is not finite (written through a weight view): such a model
    only predicts NaN, and a file of it would load as if it were sound."""
    # The copy is taken at a batch boundary of a fit in another thread, which may end an
    # epoch meanwhile: the count read before and after the copy must agree, so that the
    # header goes with the weights (a state the model had).
    while True:
        epochs_trained = model._state.epochs_trained
        parameters, optimizer = model._state.snapshot(model.get_parameters)
        if model._state.epochs_trained == epochs_trained:
            break
    require_finite(parameters, "the model's parameters")
    layers = [_saved_layer(layer) for layer in model.layers]
    kind = type(model).__name__
    header = {
        # A subclass of the user's saves as the registered kind it is built on.
        "model": kind if kind in _KINDS else next(c.__name__ for c in type(model).__mro__ if c.__name__ in _KINDS),
        "seed": model.seed,
        "epochs_trained": epochs_trained,
        "layers": layers,
        "config": model._config(),
    }
    if model.precision == "bfloat16":
        header["precision"] = "bfloat16"
    if model.metadata:
        header["metadata"] = checked_metadata(model.metadata)
    arrays = {"parameters": parameters}
    if optimizer is not None:
        names = [f"optimizer_{i}" for i in range(len(optimizer.arrays))]
        header["partial_fit"] = {"settings": optimizer.settings, "steps": optimizer.steps, "arrays": names}
        arrays.update(zip(names, optimizer.arrays))
    return io.encode(header, arrays)


def checked_metadata(metadata: Any) -> Dict[str, Any]:
    """``metadata`` if it is a dict that JSON gives back unchanged (str keys; dicts, lists,
    str, finite numbers, bool, None inside) and fits the header; else TypeError or
    ValueError saying why, before a file is written that would load differently."""
    if not isinstance(metadata, dict):
        raise TypeError(f"a model's metadata must be a dict, got {type(metadata).__name__}")
    try:
        text = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"a model's metadata must be JSON (str keys; dicts, lists, str, finite numbers, bool, None): {error}") from None
    if json.loads(text) != metadata:
        raise TypeError("a model's metadata must be JSON as it is: str keys, and lists rather than tuples")
    if len(text) > _MAX_METADATA_BYTES:
        raise ValueError(f"a model's metadata takes {len(text)} bytes as JSON; at most {_MAX_METADATA_BYTES} are saved")
    return metadata


def model_from_bytes(data: bytes, source: str = "the data") -> "Sequential":
    """Rebuild a model from :func:`model_to_bytes`'s output."""
    return _model(*io.decode(data, source), source)


def _model(header: Dict[str, Any], arrays: Dict[str, np.ndarray], source: str) -> "Sequential":
    """The model a file's header and arrays describe, every field checked first."""
    if "parameters" not in arrays:
        raise io.invalid(source, "it holds no parameters")
    parameters = arrays["parameters"]

    def field(name: str, kind: Any) -> Any:
        return io.header_field(header, name, kind, source)

    kind = field("model", str)
    if kind not in _KINDS:
        raise io.invalid(source, f"unknown model kind {kind!r}")
    seed = field("seed", int)
    epochs_trained = field("epochs_trained", int)
    config = field("config", dict)
    layers = _layers(field("layers", list), source)
    expected = sum(layer.parameter_count for layer in layers)
    if expected != parameters.size:
        raise io.invalid(source, f"the layers need {expected} parameters but the file holds {parameters.size}")
    if not np.isfinite(parameters).all():
        first = int(np.argmax(~np.isfinite(parameters)))
        raise io.invalid(source, f"parameter {first} is {parameters[first]} (a model must have finite parameters)")
    # NumPy's own float32/float64 (not the file's little-endian descriptor made native):
    # rows of model.dtype are then accepted in any memory order, Fortran's included.
    try:
        model = _KINDS[kind]._from_saved(layers, np.dtype(parameters.dtype.name), max(seed, 0), config)
    except (TypeError, ValueError, IndexError) as error:
        raise io.invalid(source, str(error)) from None
    precision = header.get("precision")
    if precision is not None:
        try:
            model._set_precision(precision)
        except ValueError as error:
            raise io.invalid(source, str(error)) from None
    model.set_parameters(parameters)
    model._state.epochs_trained = max(0, epochs_trained)
    model._state.saved = _saved_optimizer(header, arrays, parameters.size, source)
    # Files written before metadata existed, or of a model without any, have no field.
    model.metadata = field("metadata", dict) if "metadata" in header else {}
    return model


def _saved_optimizer(header: Dict[str, Any], arrays: Dict[str, np.ndarray], count: int, source: str) -> Optional[SavedOptimizer]:
    """partial_fit's optimizer state as the file holds it: none in files from before it was
    kept (issue 18) or of models never trained by partial_fit."""
    if "partial_fit" not in header:
        return None
    saved = io.header_field(header, "partial_fit", dict, source)
    settings = io.header_field(saved, "settings", list, source)
    steps = io.header_field(saved, "steps", int, source)
    names = io.header_field(saved, "arrays", list, source)
    if steps < 0 or len(names) > 2 or not all(isinstance(name, str) and name in arrays and name != "parameters" for name in names):
        raise io.invalid(source, "the optimizer state's steps or arrays are not what it describes")
    state = tuple(arrays[name].astype(arrays[name].dtype.newbyteorder("=")) for name in names)
    if any(array.size != count or not np.isfinite(array).all() for array in state):
        raise io.invalid(source, f"an optimizer state array is not {count} finite values")
    return SavedOptimizer(_frozen(settings), steps, state)


def _frozen(value: Any) -> Any:
    """JSON's lists back to the tuples they were written from."""
    return tuple(_frozen(item) for item in value) if isinstance(value, list) else value


def save(model: "Sequential", path: io.PathLike) -> None:
    """Write ``model`` to one file at ``path``, atomically (see :func:`load`)."""
    io.write_atomically(model_to_bytes(model), path)


def load(path: io.PathLike) -> "Sequential":
    """Load a model written by ``model.save(path)``, as the class it was saved from.

    Raises
    ------
    ValueError
        The file is not a steepest model, is truncated or corrupted, or comes from a newer
        format version.

    Examples
    --------
    >>> import os, tempfile, numpy as np, steepest
    >>> model = steepest.MLP([3, 4, 2], seed=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.steepest")
    >>> model.save(path)
    >>> loaded = steepest.load(path)
    >>> type(loaded).__name__, bool((loaded.predict(np.ones((2, 3), np.float32)) == model.predict(np.ones((2, 3), np.float32))).all())
    ('MLP', True)
    """
    return _model(*io.load(path), os.fspath(path))


def _layers(specs: List[Any], source: str) -> List[Layer]:
    if not specs or len(specs) > _MAX_LAYERS:
        raise io.invalid(source, "the layer list is empty or absurdly long")
    layers: List[Layer] = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise io.invalid(source, f"layer {index} is not an object")
        if not isinstance(spec.get("type"), str) or spec["type"] not in _LAYER_READERS:
            raise io.invalid(source, f"layer {index} has unknown type {spec.get('type')!r}")
        try:
            layers.append(_LAYER_READERS[spec["type"]](spec))
        except (KeyError, TypeError, ValueError) as error:
            raise io.invalid(source, f"layer {index}: {error}") from None
    if sum(layer.parameter_count for layer in layers) > _MAX_PARAMETERS:
        raise io.invalid(source, "the layers are absurdly large")
    # Checked here, not by the engine, so that a width beyond 64 bits is a clear error too.
    for index in range(1, len(layers)):
        if layers[index].in_features != layers[index - 1].out_features:
            raise io.invalid(source, f"layer {index} takes {layers[index].in_features} features but layer {index - 1} gives {layers[index - 1].out_features}")
    if not any(isinstance(layer, Dense) for layer in layers):
        raise io.invalid(source, "a model needs at least one dense layer")
    return layers


def _saved_layer(layer: Layer) -> Dict[str, Any]:
    if isinstance(layer, Dense):
        return {"type": "dense", "in_features": layer.in_features, "out_features": layer.out_features, "activation": layer.activation}
    if isinstance(layer, Dropout):
        return {"type": "dropout", "features": layer.in_features, "rate": layer.rate}
    if isinstance(layer, Condition):
        return {"type": "condition", "in_features": layer.in_features, "classes": layer.classes}
    if isinstance(layer, GaussianSample):
        return {"type": "gaussian_sample", "latent_features": layer.out_features}
    raise TypeError(f"cannot save a {type(layer).__name__} layer")


def _dropout(spec: Dict[str, Any]) -> Dropout:
    dropout = Dropout(spec["rate"])
    dropout.in_features = dropout.out_features = positive_int(spec["features"], "features")
    return dropout


def _dense(spec: Dict[str, Any]) -> Dense:
    return Dense(spec["in_features"], spec["out_features"], spec["activation"])


def _condition(spec: Dict[str, Any]) -> Condition:
    return Condition(spec["in_features"], spec["classes"])


def _gaussian_sample(spec: Dict[str, Any]) -> GaussianSample:
    return GaussianSample(spec["latent_features"])


# Each saved layer type's reader; KeyError, TypeError or ValueError for a wrong field.
_LAYER_READERS: Dict[str, Callable[[Dict[str, Any]], Layer]] = {
    "dense": _dense,
    "dropout": _dropout,
    "condition": _condition,
    "gaussian_sample": _gaussian_sample,
}
