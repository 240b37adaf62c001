"""``python -m steepest.bench``: the kernel report (see steepest.bench.kernels).

NumPy's OpenBLAS has already read its environment by the time this runs (importing steepest
imports NumPy), so unless the environment is already the benchmarks' one (no
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: the baseline is the fastest NumPy, not a handicapped
one; idle worker threads that sleep), the report starts again in a fresh interpreter with it.
"""

import os
import sys

from steepest.bench import machine

if machine.needs_benchmark_environment():
    os.execve(sys.executable, [sys.executable, "-m", "steepest.bench", *sys.argv[1:]], machine.benchmark_environment())

from steepest.bench.kernels import main  # noqa: E402  (after the re-exec above)

raise SystemExit(main())
