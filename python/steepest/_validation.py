"""Checks on user data at the Python boundary: clear errors that name the argument, what was
expected and what was given, before any work starts."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

import numpy as np

_FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def float_dtype(dtype: Any) -> type:
    """The NumPy scalar type for a model dtype name (``"float32"`` or ``"float64"``)."""
    try:
        name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if name not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return _FLOAT_DTYPES[name]


def as_matrix(value: Any, name: str, dtype: type, *, features: Optional[int] = None, check_finite: bool = True) -> np.ndarray:
    """``value`` as a C-contiguous 2-D array of ``dtype``; no copy when it already is one
    (memmaps included).

    Integers, bools and floats are converted (data, unlike arrays written in place, is
    converted as NumPy would); complex, object, string and float16 arrays are refused, as
    are empty arrays and NaN or infinity (the first one's position is given).
    """
    if (
        type(value) is np.ndarray
        and value.ndim == 2
        # NumPy's own descriptor, which the engine compares by identity: an equal one (a
        # memmap's, say) gets a view with NumPy's below.
        and value.dtype is np.dtype(dtype)
        and value.flags.c_contiguous
        and value.shape[0] > 0
        and value.shape[1] > 0
        and (features is None or value.shape[1] == features)
    ):
        # Already what the engine takes, so the checks below would pass it unchanged: a
        # shortcut for one-row predictions, where they cost as much as the prediction itself.
        if check_finite:
            require_finite(value, name)
        return value
    array = as_array(value, name)
    require_real(array, name)
    if array.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (samples, features), got shape {array.shape}; "
            f"use {name}.reshape(-1, 1) for one feature or {name}.reshape(1, -1) for one sample"
        )
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {array.shape})")
    if array.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {array.shape})")
    if features is not None and array.shape[1] != features:
        raise ValueError(f"{name} has {array.shape[1]} features but the model takes {features}")
    if not check_finite:
        return np.ascontiguousarray(array, dtype=dtype)
    return converted(array, name, dtype)


def converted(array: np.ndarray, name: str, dtype: type) -> np.ndarray:
    """``array`` as a C-contiguous array of ``dtype`` (no copy when it already is one), then
    checked: NaN, infinity, and values that overflow the conversion are refused (see
    :func:`require_finite`)."""
    with np.errstate(over="ignore"):  # the overflow is reported below, by position
        result: np.ndarray = np.ascontiguousarray(array, dtype=dtype)
    require_finite(result, name, original=array)
    return result


def checked_cast(value: Any, name: str, dtype: type) -> Any:
    """A dense array (see :func:`converted`) or a SciPy sparse matrix in ``dtype``, checked
    after the conversion; a sparse matrix's bad value is placed in its stored values."""
    if not is_sparse(value):
        return converted(value, name, dtype)
    with np.errstate(over="ignore"):
        result = value.astype(dtype)
    require_finite(result.data, f"{name}'s stored values", original=value.data)
    return result


def as_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a NumPy array (itself if it is one), as every user array is read: a
    masked array is refused, since NumPy's conversion would silently drop its mask, and
    NumPy's error for ragged lists is given the argument's name."""
    require_unmasked(value, name)
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except ValueError as error:  # ragged nested lists: NumPy's message does not say which argument
        raise ValueError(f"{name} could not be read as a matrix of numbers: {error}") from None


def require_unmasked(value: Any, name: str) -> None:
    """TypeError for a masked array: every conversion to a plain array drops the mask, and
    the values under it would be trained on (or predicted) as if they were data."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array, whose mask steepest would ignore; fill the masked values ({name}.filled(...)) or drop them first")


def require_real(array: np.ndarray, name: str) -> None:
    """TypeError unless ``array`` holds real numbers that convert to a model's dtype without
    losing anything but precision: complex (its imaginary part would be dropped), object,
    string and float16 arrays are refused."""
    if array.dtype.kind not in "fiub" or array.dtype == np.float16:
        raise TypeError(f"{name} must hold real numbers (float32 or float64), got dtype {array.dtype}")


def as_real(value: Any, name: str, dtype: type) -> np.ndarray:
    """``value`` (an array of any shape) converted to a C-contiguous array of ``dtype``,
    checked after the conversion: real numbers only (see :func:`require_real`), each finite
    and within ``dtype``'s range (1e300 into float32 is an error, not infinity)."""
    array = as_array(value, name)
    require_real(array, name)
    return converted(array, name, dtype)


class SparseRows:
    """A sparse matrix as the engine takes it: CSR with int64 ``indptr`` and ``indices``,
    ``values`` in the model's dtype, each column at most once per row."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, shape: Tuple[int, int]) -> None:
        self.indptr, self.indices, self.values, self.shape = indptr, indices, values, shape

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def parts(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (self.indptr, self.indices, self.values)


def is_sparse(value: Any) -> bool:
    """Whether ``value`` is a SciPy sparse matrix or array (without importing SciPy)."""
    return hasattr(value, "tocsr") and hasattr(value, "nnz")


def as_input(value: Any, name: str, dtype: type, *, features: Optional[int] = None) -> Union[np.ndarray, SparseRows]:
    """A model's input: a SciPy sparse matrix or array (any format) as :class:`SparseRows`,
    read in O(nnz) memory and never made dense; anything else as :func:`as_matrix`."""
    if not is_sparse(value):
        return as_matrix(value, name, dtype, features=features)
    if len(value.shape) != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {value.shape}")
    csr = value.tocsr()
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    rows, columns = csr.shape
    if rows == 0:
        raise ValueError(f"{name} has no samples (shape {csr.shape})")
    if columns == 0:
        raise ValueError(f"{name} has no features (shape {csr.shape})")
    if features is not None and columns != features:
        raise ValueError(f"{name} has {columns} features but the model takes {features}")
    if csr.dtype.kind not in "fiub" or csr.dtype == np.float16:
        raise TypeError(f"{name} must hold real numbers (float32 or float64), got dtype {csr.dtype}")
    values = converted(csr.data, name, dtype)
    return SparseRows(np.ascontiguousarray(csr.indptr, dtype=np.int64), np.ascontiguousarray(csr.indices, dtype=np.int64), values, (rows, columns))


def require_finite(array: np.ndarray, name: str, chunk_rows: int = 65536, *, original: Optional[np.ndarray] = None) -> None:
    """ValueError at the first NaN or infinity, read in chunks so a memmap is never loaded
    whole. ``array`` may be ``original`` converted to another dtype: a value finite there is
    reported as overflowing the conversion, not as the infinity it became."""
    if array.ndim == 0:
        array, original = array.reshape(1), None if original is None else np.reshape(original, 1)
    rows = array.shape[0]
    if rows <= chunk_rows and np.isfinite(array).all():
        return
    for begin in range(0, rows, chunk_rows):
        block = array[begin : begin + chunk_rows]
        if not np.isfinite(block).all():
            position = tuple(int(i) for i in np.argwhere(~np.isfinite(block))[0])
            position = (position[0] + begin,) + position[1:]
            given = array[position] if original is None else original[position]
            if np.isfinite(given):
                largest = np.finfo(array.dtype).max
                raise ValueError(f"{name} holds {given} at position {position}, which overflows {array.dtype} (largest {largest:.4g}); rescale it first")
            raise ValueError(f"{name} contains {given} at position {position}; remove or impute non-finite values first")


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def int_at_least(value: Any, name: str, least: int) -> int:
    """``value`` as an int >= ``least`` (a NumPy integer too; a bool or a float is refused),
    ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    return int(value)


def non_negative_int(value: Any, name: str) -> int:
    return int_at_least(value, name, 0)


def fraction(value: Any, name: str) -> float:
    """``value`` as a float in [0, 1), checked after the conversion (NumPy numbers too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1), got {type(value).__name__}")
    number = float(value)
    if not 0 <= number < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return number


def non_negative_float(value: Any, name: str, *, positive: bool = False, below_one: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0) or (below_one and number >= 1):
        bounds = "> 0" if positive else ">= 0"
        if below_one:
            bounds += " and < 1"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value}")
    return number


#: The forms of L1 regularization: a soft-threshold after each step (exact zeros), or
#: ``l1·sign(w)`` added to the gradient (see cpp/kernels/optimizers.inc).
L1_STEPS = ("proximal", "subgradient")


def l1_step(value: Any, name: str = "l1_step") -> str:
    if not isinstance(value, str) or value not in L1_STEPS:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, L1_STEPS))}, got {value!r}")
    return value
