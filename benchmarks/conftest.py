"""Settings shared by the benchmark suites (run with ``python -m pytest benchmarks``).

NumPy's OpenBLAS reads its environment when NumPy is first imported, which happens after
this file is loaded: the baseline runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (the
fastest NumPy, not a handicapped one), with idle worker threads that sleep rather than spin
(see steepest.bench.machine). The header of the run names the BLAS kernel in use.
"""

import os
import sys

if "numpy" not in sys.modules:  # too late otherwise: OpenBLAS has read its environment
    for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(_name, None)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


def pytest_report_header(config):
    from steepest.bench import machine

    m = machine.describe()
    blas = m["blas"]
    lines = [
        f"steepest: CPU {m['cpu']}, SIMD level {m['simd_level']}",
        f"steepest: NumPy {m['numpy']} with {blas['library']} {blas['version']}, kernel {blas['kernel']}; PyTorch {m['torch'] or 'not installed'}",
    ]
    if m["handicaps_set"]:
        lines.append(f"steepest: warning: NumPy loaded with {m['handicaps_set']}: its baseline is handicapped")
    return lines
