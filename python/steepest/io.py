"""Saving and loading models: one file, no pickle, written atomically.

The format: the 8 bytes ``STEEPEST``, a little-endian uint32 format version, a uint32
header length, a UTF-8 JSON header describing the architecture (model kind, dtype, layers,
parameter count, CRC-32 of the parameters), then the parameters as raw little-endian
floats. Loading checks every field and the checksum before building anything, so a
truncated, corrupted or hostile file raises ``ValueError`` and never runs code.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import zlib
from pathlib import Path
from typing import Any, Dict, List, Union, cast

import numpy as np

from steepest._validation import positive_int, require_finite
from steepest.layers import Dense, Dropout, Layer

MAGIC = b"STEEPEST"
FORMAT_VERSION = 1
_MAX_HEADER = 1 << 20
_MODEL_KINDS = ("Sequential", "MLP", "Autoencoder")

PathLike = Union[str, "os.PathLike[str]"]


def model_to_bytes(model: Any) -> bytes:
    """The saved form of ``model`` as bytes (what :func:`save` writes). ValueError if a
    parameter is not finite (written through a weight view): such a model only predicts NaN,
    and a file of it would load as if it were sound."""
    require_finite(model._network.parameters, "the model's parameters")
    parameters = np.ascontiguousarray(model._network.parameters, dtype=model.dtype.newbyteorder("<"))
    raw = parameters.tobytes()
    layers: List[Dict[str, Any]] = []
    for layer in model.layers:
        if isinstance(layer, Dense):
            layers.append({"type": "dense", "in_features": layer.in_features, "out_features": layer.out_features, "activation": layer.activation})
        else:
            layers.append({"type": "dropout", "features": layer.in_features, "rate": layer.rate})
    header = {
        "model": type(model).__name__ if type(model).__name__ in _MODEL_KINDS else "Sequential",
        "dtype": model.dtype.name,
        "seed": model.seed,
        "epochs_trained": model._epochs_trained,
        "layers": layers,
        "config": model._config(),
        "parameter_count": int(parameters.size),
        "crc32": zlib.crc32(raw),
    }
    encoded = json.dumps(header, sort_keys=True).encode("utf-8")
    return MAGIC + FORMAT_VERSION.to_bytes(4, "little") + len(encoded).to_bytes(4, "little") + encoded + raw


def save(model: Any, path: PathLike) -> None:
    """Write ``model`` to ``path`` atomically: a temporary file in the same folder, flushed to
    disk, then renamed over ``path``, and the rename flushed too. On any failure the previous
    file is left as it was."""
    data = model_to_bytes(model)
    target = Path(os.fspath(path))
    folder = target.parent if str(target.parent) else Path(".")
    descriptor, temporary = _new_temporary_file(folder, target)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _flush_folder(folder)


def _flush_folder(folder: Path) -> None:
    """Flush a folder's entries to disk: on POSIX a rename is recorded in the folder, which
    the file's own fsync does not cover, so a power cut could otherwise bring back the old
    file. Best effort: the model is saved by then, and some file systems cannot sync a
    folder (Windows cannot open one at all)."""
    if os.name != "posix":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _new_temporary_file(folder: Path, target: Path) -> "tuple[int, Path]":
    """A new hidden file next to ``target``, open for writing.

    Created with mode 0o666 less the umask, as any new file, because tempfile.mkstemp's
    0o600 would make every saved model private to its owner; a file being replaced keeps
    the mode its owner gave it."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    for _ in range(100):
        temporary = folder / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        try:
            if mode is not None:
                os.chmod(temporary, mode)
        except BaseException:
            os.close(descriptor)
            os.unlink(temporary)
            raise
        return descriptor, temporary
    raise FileExistsError(f"could not create a temporary file next to {target}")


def load(path: PathLike) -> Any:
    """Load a model written by ``model.save(path)``.

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
    >>> X = np.ones((2, 3), np.float32)
    >>> bool((loaded.predict(X) == model.predict(X)).all())
    True
    """
    with open(os.fspath(path), "rb") as file:
        data = file.read()
    return model_from_bytes(data, source=str(path))


def _fail(source: str, problem: str) -> ValueError:
    return ValueError(f"{source} is not a valid steepest model file: {problem}")


def model_from_bytes(data: bytes, source: str = "the data") -> Any:
    """Rebuild a model from :func:`model_to_bytes`'s output (used by pickle too)."""
    from steepest.models import Autoencoder, Sequential

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 16 or data[:8] != MAGIC:
        raise _fail(source, "it does not start with the steepest signature")
    version = int.from_bytes(data[8:12], "little")
    if version != FORMAT_VERSION:
        raise _fail(source, f"format version {version}; this steepest reads version {FORMAT_VERSION} (upgrade steepest?)")
    header_length = int.from_bytes(data[12:16], "little")
    if header_length > _MAX_HEADER or 16 + header_length > len(data):
        raise _fail(source, "the header is truncated or too long")
    try:
        header = json.loads(data[16 : 16 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(source, f"the header is not valid JSON ({error})") from None
    except RecursionError:  # a megabyte of "[[[[..." nests deeper than the decoder's stack
        raise _fail(source, "the header is nested too deeply") from None
    if not isinstance(header, dict):
        raise _fail(source, "the header is not a JSON object")

    def field(name: str, kind: Any) -> Any:
        value = header.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise _fail(source, f"header field {name!r} is missing or of the wrong type")
        return value

    kind = field("model", str)
    if kind not in _MODEL_KINDS:
        raise _fail(source, f"unknown model kind {kind!r}")
    dtype_name = field("dtype", str)
    if dtype_name not in ("float32", "float64"):
        raise _fail(source, f"unknown dtype {dtype_name!r}")
    seed = field("seed", int)
    epochs_trained = field("epochs_trained", int)
    config = field("config", dict)
    count = field("parameter_count", int)
    checksum = field("crc32", int)
    layers = _layers(field("layers", list), source)

    dtype = np.dtype(dtype_name)
    raw = data[16 + header_length :]
    if len(raw) != count * dtype.itemsize:
        raise _fail(source, f"expected {count * dtype.itemsize} bytes of parameters, found {len(raw)} (truncated?)")
    if zlib.crc32(raw) != checksum:
        raise _fail(source, "the parameters do not match their checksum (corrupted)")
    expected = sum(layer.parameter_count for layer in layers)
    if expected != count:
        raise _fail(source, f"the layers need {expected} parameters but the file holds {count}")

    if kind == "Autoencoder":
        encoder_layers = config.get("encoder_layers")
        if not isinstance(encoder_layers, int) or not 0 < encoder_layers < len(layers):
            raise _fail(source, "the autoencoder's encoder_layers is missing or out of range")
        # Autoencoder builds only dense layers and reconstructs its input: its encoder,
        # decoder and reconstruction_error rely on both.
        if not all(isinstance(layer, Dense) for layer in layers) or layers[0].in_features != layers[-1].out_features:
            raise _fail(source, "an autoencoder must be dense layers from the input size back to it")
    try:
        model = Sequential.__new__(Autoencoder if kind == "Autoencoder" else Sequential)
        model.seed = seed if seed >= 0 else 0
        if kind == "Autoencoder":
            cast(Autoencoder, model).encoder_layers = encoder_layers
        model._build(layers, dtype.type)
    except (TypeError, ValueError, IndexError) as error:
        raise _fail(source, str(error)) from None
    parameters = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    if not np.isfinite(parameters).all():
        first = int(np.argmax(~np.isfinite(parameters)))
        raise _fail(source, f"parameter {first} is {parameters[first]} (a model must have finite parameters)")
    model._network.parameters[...] = parameters
    model._epochs_trained = max(0, epochs_trained)
    return model


def _layers(specs: List[Any], source: str) -> List[Layer]:
    if not specs or len(specs) > 10_000:
        raise _fail(source, "the layer list is empty or absurdly long")
    layers: List[Layer] = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise _fail(source, f"layer {index} is not an object")
        try:
            if spec.get("type") == "dense":
                layers.append(Dense(spec["in_features"], spec["out_features"], spec["activation"]))
            elif spec.get("type") == "dropout":
                dropout = Dropout(spec["rate"])
                dropout.in_features = dropout.out_features = positive_int(spec["features"], "features")
                layers.append(dropout)
            else:
                raise _fail(source, f"layer {index} has unknown type {spec.get('type')!r}")
        except (KeyError, TypeError, ValueError) as error:
            raise _fail(source, f"layer {index}: {error}") from None
    # An absurd size would ask the engine for terabytes: refuse it before allocating.
    if sum(layer.parameter_count for layer in layers) > (1 << 36):
        raise _fail(source, "the layers are absurdly large")
    # Checked here, not by the engine, so that a width beyond 64 bits is a clear error too.
    for index in range(1, len(layers)):
        if layers[index].in_features != layers[index - 1].out_features:
            raise _fail(source, f"layer {index} takes {layers[index].in_features} features but layer {index - 1} gives {layers[index - 1].out_features}")
    if not any(isinstance(layer, Dense) for layer in layers):
        raise _fail(source, "a model needs at least one dense layer")
    return layers
