"""The model file format, and nothing of models: bytes to a JSON header and an array of
parameters and back, and files written atomically.

The format: the 8 bytes ``STEEPEST``, a little-endian uint32 format version, a uint32
header length, a UTF-8 JSON header (what the parameters are, their dtype and count, and
the CRC-32 of their bytes), then the parameters as raw little-endian floats. Decoding checks
every field and the checksum before anything is built, so a truncated, corrupted or hostile
file raises ``ValueError`` and never runs code. What the header says of a model is
:mod:`steepest.nn.saving`'s business.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import zlib
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import numpy as np

MAGIC = b"STEEPEST"
FORMAT_VERSION = 1
_MAX_HEADER = 1 << 20
_DTYPES = ("float32", "float64")

PathLike = Union[str, "os.PathLike[str]"]


def encode(header: Dict[str, Any], parameters: np.ndarray) -> bytes:
    """The file's bytes: ``header`` (a JSON object describing what the parameters are) with
    the format's own fields added (``dtype``, ``parameter_count``, ``crc32``), then the
    parameters as little-endian floats."""
    raw = np.ascontiguousarray(parameters, dtype=parameters.dtype.newbyteorder("<")).tobytes()
    fields = {**header, "dtype": parameters.dtype.name, "parameter_count": int(parameters.size), "crc32": zlib.crc32(raw)}
    encoded = json.dumps(fields, sort_keys=True).encode("utf-8")
    return MAGIC + FORMAT_VERSION.to_bytes(4, "little") + len(encoded).to_bytes(4, "little") + encoded + raw


def invalid(source: str, problem: str) -> ValueError:
    """The error for a file that is not what it claims (corrupt, truncated, hostile)."""
    return ValueError(f"{source} is not a valid steepest model file: {problem}")


def decode(data: bytes, source: str = "the data") -> Tuple[Dict[str, Any], np.ndarray]:
    """The header and the parameters of a file's bytes, every format field checked (the
    signature, the version, the header, the size and checksum of the parameters): a
    truncated, corrupted or hostile file raises ValueError (see :func:`invalid`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 16 or data[:8] != MAGIC:
        raise invalid(source, "it does not start with the steepest signature")
    version = int.from_bytes(data[8:12], "little")
    if version != FORMAT_VERSION:
        raise invalid(source, f"format version {version}; this steepest reads version {FORMAT_VERSION} (upgrade steepest?)")
    header_length = int.from_bytes(data[12:16], "little")
    if header_length > _MAX_HEADER or 16 + header_length > len(data):
        raise invalid(source, "the header is truncated or too long")
    try:
        header = json.loads(data[16 : 16 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid(source, f"the header is not valid JSON ({error})") from None
    except RecursionError:  # a megabyte of "[[[[..." nests deeper than the decoder's stack
        raise invalid(source, "the header is nested too deeply") from None
    if not isinstance(header, dict):
        raise invalid(source, "the header is not a JSON object")
    dtype_name = header_field(header, "dtype", str, source)
    if dtype_name not in _DTYPES:
        raise invalid(source, f"unknown dtype {dtype_name!r}")
    count = header_field(header, "parameter_count", int, source)
    checksum = header_field(header, "crc32", int, source)
    dtype = np.dtype(dtype_name)
    raw = data[16 + header_length :]
    if len(raw) != count * dtype.itemsize:
        raise invalid(source, f"expected {count * dtype.itemsize} bytes of parameters, found {len(raw)} (truncated?)")
    if zlib.crc32(raw) != checksum:
        raise invalid(source, "the parameters do not match their checksum (corrupted)")
    return header, np.frombuffer(raw, dtype=dtype.newbyteorder("<"))


def header_field(header: Dict[str, Any], name: str, kind: Any, source: str) -> Any:
    """``header[name]`` if it is of type ``kind`` (a bool is not an int), else ValueError."""
    value = header.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise invalid(source, f"header field {name!r} is missing or of the wrong type")
    return value


def write_atomically(data: bytes, path: PathLike) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, flushed to
    disk, then renamed over ``path``, and the rename flushed too. On any failure the previous
    file is left as it was."""
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


def read(path: PathLike) -> bytes:
    """The bytes of the file at ``path``."""
    with open(os.fspath(path), "rb") as file:
        return file.read()
