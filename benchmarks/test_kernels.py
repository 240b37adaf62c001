"""Kernel benchmarks: one group per operation, shape and thread count, one entry per library
(steepest, NumPy, PyTorch when installed). Run with ``python -m pytest benchmarks``; compare
a group's entries (``--benchmark-group-by=group``, the default). The cases and callables are
those of the report ``python -m steepest.bench``, so both measure the same work.
"""

import os

import pytest

from steepest.bench import kernels

THREADS = sorted({1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1})


@pytest.mark.parametrize("library", kernels.LIBRARIES)
@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"{t}thread")
@pytest.mark.parametrize("case", kernels.default_cases(), ids=lambda case: case.name.replace(" ", "-"))
def test_kernel(benchmark, case, threads, library):
    call = kernels.make_calls(case).get(library)
    if call is None:
        pytest.skip(f"{library} does not offer {case.op} here (not installed, or no such op)")
    benchmark.group = f"{case.name}, {threads} thread(s)"
    benchmark.extra_info["work"] = case.work
    benchmark.extra_info["unit"] = case.unit
    with kernels.threads_for_all(threads):
        benchmark(call)
