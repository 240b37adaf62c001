"""What a benchmark ran on: the CPU, the instruction set in use, library versions and the
BLAS kernel behind NumPy, and the machine's measured multiply-add peak; and the environment
the benchmarks run in.

OpenBLAS reads ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` once, when NumPy is imported;
this environment may set them to values that slow NumPy down. The benchmarks compare
against the fastest NumPy, so they run with both unset (:data:`HANDICAPS`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

import steepest
from steepest import _core, io

#: Variables that change which BLAS kernel NumPy's OpenBLAS uses, unset for the baseline.
HANDICAPS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

#: Idle worker threads sleep at once instead of spinning (OpenBLAS spins ~2^28 cycles,
#: PyTorch's OpenMP up to 200 ms): with interleaved repetitions at more than one thread, a
#: library's spinning workers would otherwise steal the cores of the next one measured.
QUIET_WORKERS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}


def benchmark_environment(environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """A copy of the environment without :data:`HANDICAPS` and with :data:`QUIET_WORKERS`."""
    env = dict(os.environ if environ is None else environ)
    for name in HANDICAPS:
        env.pop(name, None)
    env.update(QUIET_WORKERS)
    return env


def needs_benchmark_environment() -> bool:
    """True if NumPy (and PyTorch) would load under a different environment."""
    return benchmark_environment() != dict(os.environ)


def cpu_model() -> str:
    """The CPU's model name, with family and model numbers on x86 Linux."""
    try:
        with io.open_text("/proc/cpuinfo") as cpuinfo:
            fields = {}
            for line in cpuinfo:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        name = fields.get("model name") or fields.get("Processor") or platform.processor()
        if "cpu family" in fields:
            name += f" (family {fields['cpu family']} model {fields.get('model', '?')})"
        return name
    except (OSError, ValueError):  # no /proc (not Linux), or not a file there
        return platform.processor() or platform.machine()


def blas_info() -> Dict[str, str]:
    """NumPy's BLAS: library, version and kernel (threadpoolctl's "architecture")."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"library": "unknown", "version": "", "kernel": "unknown (install threadpoolctl)"}
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return {
                "library": pool.get("internal_api", "?"),
                "version": pool.get("version") or "",
                "kernel": pool.get("architecture") or "?",
            }
    return {"library": "none found", "version": "", "kernel": "?"}


def torch_module() -> Any:
    """torch if it is installed, else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def describe() -> Dict[str, object]:
    """Everything a results table must name."""
    torch = torch_module()
    return {
        "cpu": cpu_model(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "simd_level": steepest.simd_level(),
        "bfloat16_level": _core.bfloat16_level(),
        "steepest": steepest.__version__,
        "compiler": _core.compiler,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "torch": torch.__version__ if torch is not None else None,
        "handicaps_set": {name: os.environ[name] for name in HANDICAPS if name in os.environ},
        "worker_settings": {name: os.environ.get(name) for name in QUIET_WORKERS},
    }


def fma_peak(dtype: str = "float32", threads: int = 1, seconds: float = 0.02) -> float:
    """FLOP/s of ``threads`` copies of the kernels' multiply-add loop run at once.

    Each copy runs independent FMA chains on the vectors of the instruction set in use, with
    the GIL released, for about ``seconds``.
    """
    return _peak(lambda iterations: float(_core.fma_throughput(dtype, iterations)), threads, seconds)


def bfloat16_peak(threads: int = 1, seconds: float = 0.02) -> Optional[float]:
    """FLOP/s of ``threads`` copies of the bfloat16 level's product instruction on independent
    accumulators (AMX: TDPBF16PS on four tiles; AVX512_BF16: VDPBF16PS chains), as
    :func:`fma_peak`; None when the level in use is the emulated one (no such instruction)."""
    if _core.bfloat16_level() == "emulated":
        return None
    return _peak(lambda iterations: float(_core.bfloat16_throughput(iterations)), threads, seconds)


def _peak(throughput: Callable[[int], float], threads: int, seconds: float) -> float:
    """FLOP/s of ``threads`` copies of ``throughput(iterations)`` (which returns the FLOPs it
    did) run at once, each for about ``seconds``."""
    iterations = 1 << 10
    while True:  # calibrate on one thread
        start = time.perf_counter()
        throughput(iterations)
        if time.perf_counter() - start >= seconds / 4 or iterations >= 1 << 34:
            break
        iterations *= 4
    iterations = max(1, int(iterations * seconds / max(time.perf_counter() - start, 1e-9)))
    flops: List[float] = [0.0] * threads

    def run(index: int) -> None:
        flops[index] = throughput(iterations)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(flops) / (time.perf_counter() - start)


def median_fma_peak(dtype: str = "float32", threads: int = 1, repeats: int = 5, seconds: float = 0.02) -> float:
    """The median of ``repeats`` :func:`fma_peak` measurements."""
    return statistics.median(fma_peak(dtype, threads, seconds) for _ in range(repeats))


def write_json(data: Any, path: str) -> None:
    """``data`` as indented JSON at ``path``, its folder made if needed, written atomically
    (an interrupted run leaves the previous results, never half a file)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    io.write_atomically(json.dumps(data, indent=1).encode("utf-8"), path)
