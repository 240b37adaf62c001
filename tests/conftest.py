"""Fixtures shared by the op tests: the instruction set under test, the dtypes with
their tolerances, and a ledger of the largest error seen per kernel, printed at the
end of the run; and the tuning tests' Dask cluster.

steepest is imported lazily here, so that test_reference.py runs without a build.
"""

import math
import warnings

import numpy as np
import pytest


def tolerance(dtype, reduction_length=1):
    """Allowed |got - want| as a fraction of the result's magnitude.

    float64 kernels must agree with the float64 reference to ~1e-12 whatever the
    summation order. In float32 the rounding errors of a sum of reduction_length
    terms grow like a random walk, sqrt(length); 1e-6 is ~8 float32 ulps per term.
    """
    if np.dtype(dtype) == np.float64:
        return 1e-12
    return 1e-6 * math.sqrt(max(reduction_length, 1))


def underflow_allowance(dtype, reduction_length=1):
    """Absolute error a correct kernel may add when results fall among the subnormals,
    where relative precision is lost: up to half the smallest subnormal per rounding,
    a few roundings per term. Far below 1e-40, so flushing subnormals to zero still fails."""
    return 4 * max(reduction_length, 1) * np.finfo(dtype).smallest_subnormal


class ErrorLedger:
    """Compares kernel results with the reference and keeps the largest error seen
    per (kernel, dtype, level), as |got - want| / magnitude."""

    def __init__(self):
        self.worst = {}

    def assert_close(self, got, want, *, dtype, kernel, magnitude, reduction_length=1):
        """Asserts |got - want| <= tolerance(dtype, reduction_length) * magnitude, beyond
        the underflow_allowance.

        magnitude is a scalar or an array broadcastable to want: a bound on the size
        of the terms that make up each result (e.g. |a| @ |b| for a matmul), so that
        cancellation in the exact result does not turn rounding into a failure.
        """
        import steepest

        if isinstance(got, np.ndarray):
            assert got.dtype == dtype, f"{kernel}: result is {got.dtype}, inputs were {np.dtype(dtype)}"
        assert np.shape(got) == np.shape(want), f"{kernel}: shape {np.shape(got)}, expected {np.shape(want)}"
        rtol = tolerance(dtype, reduction_length)
        difference = np.abs(np.asarray(got, dtype=np.float64) - want)
        difference = np.maximum(difference - underflow_allowance(dtype, reduction_length), 0.0)
        magnitude = np.broadcast_to(np.asarray(magnitude, dtype=np.float64), difference.shape)
        # A zero magnitude means the exact answer is 0 and must be produced exactly.
        error = np.divide(difference, magnitude, out=np.where(difference == 0, 0.0, np.inf), where=magnitude > 0)
        error = np.where(np.isnan(error), np.inf, error)  # a NaN result is the worst error

        key = (kernel, np.dtype(dtype).name, steepest.simd_level())
        worst = float(np.max(error)) if error.size else 0.0
        self.worst[key] = max(self.worst.get(key, 0.0), worst)

        if worst > rtol:
            index = np.unravel_index(np.argmax(error), error.shape)
            raise AssertionError(
                f"{kernel} ({np.dtype(dtype).name}, {steepest.simd_level()}): "
                f"|got - want| / magnitude = {worst:.3g} > {rtol:.3g} at index {index}: "
                f"got {np.asarray(got, dtype=np.float64)[index]!r}, want {np.asarray(want)[index]!r}, "
                f"magnitude {magnitude[index]!r}; {np.count_nonzero(error > rtol)} of {error.size} elements off"
            )

    def summary_lines(self):
        from steepest import _core

        levels = [level for level in _core.available_isas() if any(key[2] == level for key in self.worst)]
        rows = sorted({(kernel, dtype) for kernel, dtype, _ in self.worst})
        header = f"{'kernel':32} {'dtype':8}" + "".join(f"{level:>10}" for level in levels)
        lines = [header]
        for kernel, dtype in rows:
            cells = [self.worst.get((kernel, dtype, level)) for level in levels]
            lines.append(f"{kernel:32} {dtype:8}" + "".join(f"{'-':>10}" if cell is None else f"{cell:10.2e}" for cell in cells))
        return lines


_LEDGER = pytest.StashKey[ErrorLedger]()


def pytest_configure(config):
    config.stash[_LEDGER] = ErrorLedger()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    ledger = config.stash[_LEDGER]
    if not ledger.worst:
        return
    terminalreporter.section("largest error per kernel: |got - want| / magnitude vs float64 reference")
    for line in ledger.summary_lines():
        terminalreporter.write_line(line)


def pytest_generate_tests(metafunc):
    if "isa" in metafunc.fixturenames:
        from steepest import _core

        metafunc.parametrize("isa", _core.available_isas(), indirect=True)


@pytest.fixture
def isa(request):
    """Switches the kernels to one instruction set for the test, then restores the original."""
    import steepest
    from steepest import _core

    original = steepest.simd_level()
    _core.set_isa(request.param)
    yield request.param
    _core.set_isa(original)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def assert_close(request):
    return request.config.stash[_LEDGER].assert_close


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's handwritten digits: float32 pixels in [0, 1] and their labels."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="session")
def fit_quietly():
    """``fit(estimator, X, y)``: fits without the ConvergenceWarning of a deliberately small
    ``max_iter``; returns the estimator."""
    import warnings

    def fit(estimator, X, y=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return estimator.fit(X, y)

    return fit


@pytest.fixture(scope="module")
def dask_cluster():
    """A real LocalCluster of two one-thread worker processes, one per test module."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        # Dask warns about the dashboard port when another cluster holds it; not our concern.
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()
