"""The model file format, and nothing of models: bytes to a JSON header and named arrays of
floats and back, files written atomically, and files opened for reading only when they are
regular files.

The format (version 2): the 8 bytes ``STEEPEST``, a little-endian uint32 format version, a
uint32 header length, a UTF-8 JSON header (what the arrays are: their ``dtype`` and, in
``arrays``, each one's name and count, in the order they follow), the arrays as raw
little-endian floats, then the CRC-32 of every byte before it (a uint32), so that no bit of
the file, header included, can change unnoticed. Version 1 files (the CRC-32 of the
parameters alone, in the header's ``crc32``, and no trailer; one array, ``parameter_count``
long) are still read. Decoding checks every field, the sizes against the file's real length
before reading the arrays, and the checksum before anything is built, so a truncated,
corrupted or hostile file raises ``ValueError`` and never runs code. What the header says
of a model is :mod:`steepest.nn.saving`'s business.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import zlib
from io import BytesIO, TextIOWrapper
from pathlib import Path
from typing import IO, Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

MAGIC = b"STEEPEST"
FORMAT_VERSION = 2
_PREFIX = 16  # the signature, the version and the header length
_TRAILER = 4  # version 2: the CRC-32 of the bytes before it
_MAX_HEADER = 1 << 20
_DTYPES = ("float32", "float64")
# The longest file name most file systems take (NAME_MAX) when os.pathconf cannot say.
_NAME_MAX = 255

PathLike = Union[str, "os.PathLike[str]"]


def encode(header: Dict[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """The file's bytes: ``header`` (a JSON object describing what the arrays are) with the
    format's own fields added (``dtype``, ``arrays``), then each array of ``arrays`` in order,
    as little-endian floats of one dtype, then the checksum."""
    dtypes = {array.dtype.name for array in arrays.values()}
    if len(dtypes) != 1 or not dtypes <= set(_DTYPES):
        raise ValueError(f"a model file holds arrays of one dtype, float32 or float64, got {sorted(dtypes)}")
    dtype = np.dtype(dtypes.pop()).newbyteorder("<")
    fields = {**header, "dtype": dtype.name, "arrays": [[name, int(array.size)] for name, array in arrays.items()]}
    payload = b"".join(np.ascontiguousarray(array, dtype=dtype).tobytes() for array in arrays.values())
    return frame(json.dumps(fields, sort_keys=True).encode("utf-8"), payload)


def frame(header_text: bytes, payload: bytes) -> bytes:
    """A version-2 file of an encoded header and the arrays' bytes (what :func:`encode`
    writes; tests and the fuzzer frame headers of their own with it)."""
    body = MAGIC + FORMAT_VERSION.to_bytes(4, "little") + len(header_text).to_bytes(4, "little") + header_text + payload
    return body + zlib.crc32(body).to_bytes(4, "little")


def invalid(source: str, problem: str) -> ValueError:
    """The error for a file that is not what it claims (corrupt, truncated, hostile)."""
    return ValueError(f"{source} is not a valid steepest model file: {problem}")


def decode(data: bytes, source: str = "the data") -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """The header and the named arrays of a file's bytes, every format field checked (the
    signature, the version, the header, the sizes and the checksum): a truncated, corrupted
    or hostile file raises ValueError (see :func:`invalid`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    return _decode(BytesIO(data), len(data), source)


def load(path: PathLike) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """:func:`decode` of the file at ``path``, opened with :func:`open_regular`: nothing
    past the header is read before its sizes are checked against the file's length."""
    with open_regular(path) as file:
        return _decode(file, os.fstat(file.fileno()).st_size, os.fspath(path))


def _decode(file: IO[bytes], size: int, source: str) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    prefix = file.read(_PREFIX)
    if len(prefix) < _PREFIX or prefix[:8] != MAGIC:
        raise invalid(source, "it does not start with the steepest signature")
    version = int.from_bytes(prefix[8:12], "little")
    if version not in (1, FORMAT_VERSION):
        raise invalid(source, f"format version {version}; this steepest reads versions 1 to {FORMAT_VERSION} (upgrade steepest?)")
    trailer = _TRAILER if version >= 2 else 0
    header_length = int.from_bytes(prefix[12:16], "little")
    if header_length > _MAX_HEADER or _PREFIX + header_length + trailer > size:
        raise invalid(source, "the header is truncated or too long")
    text = file.read(header_length)
    header = _parse_header(text, source)
    dtype = np.dtype(_dtype(header, source)).newbyteorder("<")
    layout = _layout(header, version, source)
    payload_length = sum(count for _, count in layout) * dtype.itemsize
    found = size - _PREFIX - header_length - trailer
    if payload_length != found:
        raise invalid(source, f"expected {payload_length} bytes of parameters, found {found} (truncated?)")
    payload = file.read(payload_length)
    if len(payload) != payload_length:  # the file shrank while it was read
        raise invalid(source, "the file is truncated")
    if version >= 2:
        expected = zlib.crc32(payload, zlib.crc32(text, zlib.crc32(prefix)))
        if file.read(_TRAILER) != expected.to_bytes(4, "little"):
            raise invalid(source, "the file does not match its checksum (corrupted)")
    elif zlib.crc32(payload) != header_field(header, "crc32", int, source):
        raise invalid(source, "the parameters do not match their checksum (corrupted)")
    arrays: Dict[str, np.ndarray] = {}
    offset = 0
    for name, count in layout:
        arrays[name] = np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
        offset += count * dtype.itemsize
    return header, arrays


def _parse_header(text: bytes, source: str) -> Dict[str, Any]:
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid(source, f"the header is not valid JSON ({error})") from None
    except RecursionError:  # a megabyte of "[[[[..." nests deeper than the decoder's stack
        raise invalid(source, "the header is nested too deeply") from None
    if not isinstance(header, dict):
        raise invalid(source, "the header is not a JSON object")
    return header


def _dtype(header: Dict[str, Any], source: str) -> str:
    name = header_field(header, "dtype", str, source)
    if name not in _DTYPES:
        raise invalid(source, f"unknown dtype {name!r}")
    return str(name)


def _layout(header: Dict[str, Any], version: int, source: str) -> List[Tuple[str, int]]:
    """The arrays' names and counts, in the order their bytes follow the header."""
    if version == 1:
        return [("parameters", _count(header_field(header, "parameter_count", int, source), source))]
    layout = []
    for entry in header_field(header, "arrays", list, source):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and type(entry[1]) is int):
            raise invalid(source, f"header field 'arrays' holds {entry!r}, not a [name, count] pair")
        layout.append((entry[0], _count(entry[1], source)))
    if len({name for name, _ in layout}) != len(layout):
        raise invalid(source, "header field 'arrays' names an array twice")
    return layout


def _count(count: int, source: str) -> int:
    if count < 0:
        raise invalid(source, f"an array of {count} values")
    return count


def header_field(header: Dict[str, Any], name: str, kind: Any, source: str) -> Any:
    """``header[name]`` if it is of type ``kind`` (a bool is not an int), else ValueError."""
    value = header.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise invalid(source, f"header field {name!r} is missing or of the wrong type")
    return value


# ------------------------------------------------------------------------------ files ----


def open_regular(path: PathLike) -> IO[bytes]:
    """``path`` opened for reading in binary, if it is a regular file: every file steepest
    reads is opened here. Checked before the open, then opened without blocking (a FIFO
    put there in between would block the open forever) and checked again on the open
    descriptor, so that what is checked is what is read; a device, a FIFO or a socket
    raises ValueError, a folder IsADirectoryError."""
    name = os.fspath(path)
    # Checked before the open too: a socket cannot be opened at all (ENXIO, a riddle).
    _require_regular(os.stat(name).st_mode, name)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(name, flags)
    try:
        _require_regular(os.fstat(descriptor).st_mode, name)
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def open_text(path: PathLike) -> IO[str]:
    """:func:`open_regular` for UTF-8 text, line endings left as they are (as the csv module
    wants them)."""
    return TextIOWrapper(open_regular(path), encoding="utf-8", newline="")


def _require_regular(mode: int, name: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, not a file", name)
    kinds = [(stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    kind = next((kind for test, kind in kinds if test(mode)), "not a regular file")
    raise ValueError(f"{name} is {kind}: steepest reads and writes regular files only")


def write_atomically(data: Union[bytes, str], path: PathLike) -> None:
    """Write ``data`` (text is written as UTF-8) to ``path`` atomically: a temporary file in
    the same folder, flushed to disk, then renamed over ``path``, and the rename flushed
    too. On any failure the previous file is left as it was, and the error names ``path``.
    Anything at ``path`` but a regular file (a device, a FIFO, a socket, a folder) is
    refused and left as it is: a rename would replace it."""
    target = Path(os.fspath(path))
    folder = target.parent if str(target.parent) else Path(".")
    try:
        mode: Optional[int] = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None:
        _require_regular(mode, str(target))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        descriptor, temporary = _new_temporary_file(folder, target, None if mode is None else stat.S_IMODE(mode))
    except OSError as error:
        raise _naming(error, target) from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(error, OSError):
            raise _naming(error, target) from None
        raise
    _flush_folder(folder)


def _naming(error: OSError, target: Path) -> OSError:
    """The same error (its type and errno), naming the user's path rather than the hidden
    temporary file it happened on."""
    if error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, str(target))


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


def _new_temporary_file(folder: Path, target: Path, mode: Optional[int]) -> "tuple[int, Path]":
    """A new hidden file next to ``target``, open for writing, named after it but never
    longer than the folder's longest file name (a legal name of 250 bytes would otherwise
    make an illegal temporary one).

    Created with mode 0o666 less the umask, as any new file, because tempfile.mkstemp's
    0o600 would make every saved model private to its owner; a file being replaced keeps
    the mode ``mode`` its owner gave it."""
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):
        name_max = _NAME_MAX
    stem = target.name
    for _ in range(100):
        suffix = f".{secrets.token_hex(6)}.tmp"
        while len(os.fsencode("." + stem + suffix)) > name_max:
            stem = stem[:-1]
        temporary = folder / f".{stem}{suffix}"
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
