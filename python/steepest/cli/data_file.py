"""Tables from the data files the command line reads: ``.csv``, ``.npy`` and ``.npz``.

Every file is checked before it is trusted: it must be a regular file; a ``.npy`` (alone or
inside an ``.npz``) must declare a plain numeric, boolean or text dtype (never Python
objects, which NumPy would unpickle) and exactly as many bytes as it holds, so that a header
declaring 10¹³ rows is refused before anything is allocated; an ``.npz`` member may not
claim to inflate beyond what deflate can produce. A file that fails any check raises
:class:`DataFileError` saying what is wrong with it, never a NumPy or zipfile traceback.

Examples
--------
>>> import os, tempfile, numpy as np
>>> from steepest.cli import data_file
>>> path = os.path.join(tempfile.mkdtemp(), "table.npy")
>>> np.save(path, np.arange(6.0).reshape(3, 2))
>>> data_file.read_npy(path)
array([[0., 1.],
       [2., 3.],
       [4., 5.]])
>>> with open(path, "r+b") as f:   # the header now declares a thousand times more rows
...     header = f.read(128).replace(b"(3, 2), }   ", b"(3000, 2), }")
...     _ = f.seek(0); _ = f.write(header)
>>> data_file.read_npy(path)
Traceback (most recent call last):
...
steepest.cli.data_file.DataFileError: its header declares shape (3000, 2) of float64 (48,000 bytes) but the file holds 48 bytes of data
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
import zlib
from io import TextIOWrapper
from pathlib import Path
from typing import IO, Dict, List, Tuple, Union

import numpy as np

from steepest import io

__all__ = ["DataFileError", "read_csv", "read_npy", "read_npz"]

PathLike = Union[str, "os.PathLike[str]"]

# Deflate expands at most 1032-fold (RFC 1951's longest match from a 2-bit code); an .npz
# member claiming more lies about its size.
_DEFLATE_MAX_RATIO = 1032
# Array kinds a table may hold: booleans, integers, floats, and text (labels).
_KINDS = "biufUS"


class DataFileError(ValueError):
    """A data file that cannot be read as the table it claims to be; the message says why
    (the caller names the file)."""


def _open(path: Path) -> IO[bytes]:
    """``path`` opened by :func:`steepest.io.open_regular` (a FIFO, a device or a folder is
    refused before anything reads it); DataFileError saying why it cannot be."""
    if not path.exists():
        raise DataFileError(f"no such file {str(path)!r}")
    try:
        return io.open_regular(path)
    except (OSError, ValueError) as error:
        raise DataFileError(f"cannot read it: {error}") from None


def read_npy(path: PathLike) -> np.ndarray:
    """The array of an ``.npy`` file, checked as the module says."""
    try:
        with _open(Path(path)) as file:
            return _read_array(file, os.fstat(file.fileno()).st_size)
    except OSError as error:
        raise DataFileError(f"cannot read it: {error}") from None


def read_npz(path: PathLike) -> Dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive by name, each checked as the module says."""
    file = _open(Path(path))
    try:
        with file, zipfile.ZipFile(file) as archive:
            arrays = {}
            for info in archive.infolist():
                name = info.filename[: -len(".npy")] if info.filename.endswith(".npy") else info.filename
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise DataFileError(f"array {name!r} is compressed by a method NumPy does not write (zip method {info.compress_type})")
                bound = info.compress_size if info.compress_type == zipfile.ZIP_STORED else info.compress_size * _DEFLATE_MAX_RATIO + 1024
                if info.file_size > bound:
                    raise DataFileError(f"array {name!r} claims {info.file_size:,} bytes from {info.compress_size:,} compressed: the archive is corrupt")
                with archive.open(info) as member:
                    try:
                        arrays[name] = _read_array(member, info.file_size)
                    except DataFileError as error:
                        raise DataFileError(f"array {name!r}: {error}") from None
            return arrays
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as error:
        # RuntimeError: an encrypted member; the others: a truncated or corrupt archive.
        raise DataFileError(f"it is not a readable .npz (zip) archive: {error}") from None


def _read_array(stream: IO[bytes], size: int) -> np.ndarray:
    """The array of one ``.npy`` stream of ``size`` bytes, its header checked against the
    size before its data is read."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise DataFileError(f"it is .npy format version {version[0]}.{version[1]}, which steepest does not read (1.0 and 2.0)")
    except ValueError as error:
        if isinstance(error, DataFileError):
            raise
        raise DataFileError(f"it is not a NumPy .npy array: {error}") from None
    if dtype.hasobject:
        raise DataFileError("it holds Python objects (dtype object), which steepest does not load: loading them would run pickled code")
    if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in _KINDS:
        raise DataFileError(f"it holds dtype {dtype}; steepest reads numbers, booleans and text")
    count = math.prod(shape)
    declared = count * dtype.itemsize
    available = size - stream.tell()
    if declared != available:
        raise DataFileError(f"its header declares shape {shape} of {dtype} ({declared:,} bytes) but the file holds {available:,} bytes of data")
    data = stream.read(declared)
    if len(data) != declared:
        raise DataFileError(f"it ends after {len(data):,} of the {declared:,} bytes of data its header declares")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)


def read_csv(path: PathLike) -> Tuple[List[str], np.ndarray, int]:
    """Column names, cells (a 2-D array of str) and the line number of the first row of
    cells, of a CSV file.

    The first row is a header when some column has text there and a number below it, or
    when the file has only one row and it is not all numbers; else columns are named by
    their position ("0", "1", ...).
    """
    try:
        with TextIOWrapper(_open(Path(path)), encoding="utf-8", newline="") as file:
            rows = [row for row in csv.reader(file) if row]
    except UnicodeDecodeError as error:
        raise DataFileError(f"it is not UTF-8 text (byte {error.start}: {error.reason})") from None
    except csv.Error as error:
        raise DataFileError(f"it is not a readable CSV file: {error}") from None
    except OSError as error:
        raise DataFileError(f"cannot read it: {error}") from None
    if not rows:
        raise DataFileError("the file is empty")
    header = _is_header(rows)
    names = [cell.strip() for cell in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    if not body:
        raise DataFileError("no rows of data after the header")
    first_line = 2 if header else 1
    for line, row in enumerate(body, start=first_line):
        if len(row) != len(names):
            raise DataFileError(f"line {line} has {len(row)} values but the file has {len(names)} columns")
    return names, np.array([[cell.strip() for cell in row] for row in body], dtype=str).reshape(len(body), len(names)), first_line


def _is_header(rows: List[List[str]]) -> bool:
    first = rows[0]
    if len(rows) == 1:
        return not all(is_number(cell) for cell in first)
    second = rows[1]
    return any(not is_number(a) and is_number(b) for a, b in zip(first, second))


def is_number(cell: str) -> bool:
    """Whether a CSV cell reads as a float."""
    try:
        float(cell)
    except ValueError:
        return False
    return True
