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
        f"threads: {_core.get_num_threads()}",
        f"python: {sys.version.split()[0]}",
    ]
    print("\n".join(lines), file=file if file is not None else sys.stdout)
