"""Which kernels and how many threads steepest uses."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator, Optional, TextIO

from steepest import _core


def simd_level() -> str:
    """Return the instruction set whose kernels are in use.

    One of ``"scalar"``, ``"sse2"``, ``"avx2"``, ``"avx512"`` (x86-64) or ``"neon"``
    (aarch64): the best level this CPU and OS support, or the one forced with the
    environment variable ``STEEPEST_ISA`` before import.

    Examples
    --------
    >>> import steepest
    >>> steepest.simd_level() in {"scalar", "sse2", "avx2", "avx512", "neon"}
    True
    """
    return _core.simd_level()


_BFLOAT16_INSTRUCTIONS = {"amx": "AMX-BF16 tiles", "avx512_bf16": "AVX512_BF16 dot products"}


def bfloat16_level() -> str:
    """Return the instructions behind ``precision="bfloat16"`` products.

    ``"amx"`` (Intel AMX-BF16 tiles), ``"avx512_bf16"`` (AVX512_BF16 dot products, chosen on
    AMD CPUs, where they run at twice the float32 rate) or ``"emulated"``: no instruction
    here is faster than float32, so models with ``precision="bfloat16"`` train in float32 and
    :func:`steepest.ops.matmul` rounds the operands and multiplies them in float32 (the same
    values, no faster). The environment variable ``STEEPEST_BFLOAT16`` forces a level before
    import; a level forced so is used for training too, "emulated" included (slower than
    float32, for comparisons).

    Examples
    --------
    >>> import steepest.runtime
    >>> steepest.runtime.bfloat16_level() in {"amx", "avx512_bf16", "emulated"}
    True
    """
    return _core.bfloat16_level()


def _bfloat16_description() -> str:
    level = _core.bfloat16_level()
    if level in _BFLOAT16_INSTRUCTIONS:
        return f"{level} ({_BFLOAT16_INSTRUCTIONS[level]})"
    return "none fast on this CPU (precision='bfloat16' models train in float32; ops.matmul rounds the operands and multiplies in float32)"


def get_num_threads() -> int:
    """Return how many threads steepest's kernels use for the calling thread (itself
    included): its own count inside :func:`local_threads`, else the process's.

    Examples
    --------
    >>> import steepest
    >>> steepest.get_num_threads() >= 1
    True
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (``n >= 1``) from now on, process-wide (except in threads inside
    :func:`local_threads`).

    The default is the environment variable ``STEEPEST_NUM_THREADS`` if set (a whole number
    >= 1; anything else fails the import), else the CPUs this process may run on. Results
    are bitwise identical for any thread count. RuntimeError, the count unchanged, if the
    system refuses to start that many threads (an address-space or process limit).

    Examples
    --------
    >>> import steepest
    >>> before = steepest.get_num_threads()
    >>> steepest.set_num_threads(1)
    >>> steepest.get_num_threads()
    1
    >>> steepest.set_num_threads(before)
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    _core.set_num_threads(n)


@contextmanager
def local_threads(n: Optional[int]) -> Iterator[None]:
    """Use ``n`` threads (``n >= 1``) for steepest's work on the calling thread inside the
    block, then go back to what it used before; None changes nothing.

    The process's count (:func:`set_num_threads`) and other threads' are untouched, so fits
    running at once in several threads each keep their own count (an estimator's
    ``n_threads`` uses this). RuntimeError, before anything runs, if the system refuses to
    start that many threads.

    Examples
    --------
    >>> import steepest
    >>> from steepest.runtime import local_threads
    >>> before = steepest.get_num_threads()
    >>> with local_threads(1):
    ...     steepest.get_num_threads()
    1
    >>> steepest.get_num_threads() == before
    True
    """
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be an int >= 1, got {n!r}")
    previous = _core.set_threads_of_this_thread(n)
    try:
        yield
    finally:
        _core.set_threads_of_this_thread(previous)


def show_config(file: Optional[TextIO] = None) -> None:
    """Print steepest's version, compiler, instruction sets and threads.

    Examples
    --------
    >>> import steepest, io
    >>> buffer = io.StringIO()
    >>> steepest.show_config(file=buffer)
    >>> "simd level in use" in buffer.getvalue()
    True
    """
    lines = [
        f"steepest {_core.__version__}",
        f"compiler: {_core.compiler}",
        f"instruction sets compiled in: {', '.join(_core.compiled_isas())}",
        f"instruction sets this CPU runs: {', '.join(_core.available_isas())}",
        f"simd level in use: {_core.simd_level()}",
        f"bfloat16 products: {_bfloat16_description()}",
        f"threads: {_core.get_num_threads()}",
        f"python: {sys.version.split()[0]}",
    ]
    print("\n".join(lines), file=file if file is not None else sys.stdout)
