"""Benchmarks that measure steepest against NumPy and PyTorch, side by side in one run.

- ``python -m steepest.bench``: the kernels (products, fused layers, SGD step) and the
  machine's measured peak (:mod:`steepest.bench.kernels`);
- ``python -m steepest.bench.training``: whole training epochs (:mod:`steepest.bench.training`).

``steepest bench`` runs the first, then the second.
"""
