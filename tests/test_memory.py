"""Long runs keep resident memory flat (issue 8): 1,000 repetitions of build -> fit ->
predict -> save -> load, and 1,000 rounds of the error paths (exceptions thrown from C++
through pybind11, refused files, diverged fits), measured from the process's resident set
size and from NumPy's traced allocations. The C++ side is also checked under valgrind by
.ci/valgrind."""

import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest

import steepest
from steepest import ops
from steepest.nn import saving

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")

REPETITIONS = 1000
# Leaking one model per repetition would grow by 1000 x its parameters (5,700 float32, 22
# KiB) plus its trainer's buffers: over 20 MiB. Allocators keep some freed memory, so a few
# MiB of slack are allowed; the growth measured here is about 0.1 MiB.
RSS_GROWTH_LIMIT = 4 * 2**20
# Python-side objects (arrays, histories, layers) are traced exactly: 100 bytes per repetition.
TRACED_GROWTH_LIMIT = 100 * REPETITIONS


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth(repeat, warm_up=100):
    """(resident, traced) bytes gained over REPETITIONS calls of repeat(i), after warm-up."""
    for i in range(warm_up):
        repeat(i)
    gc.collect()
    tracemalloc.start()
    try:
        resident, traced = resident_bytes(), tracemalloc.get_traced_memory()[0]
        for i in range(REPETITIONS):
            repeat(i)
        gc.collect()
        return resident_bytes() - resident, tracemalloc.get_traced_memory()[0] - traced
    finally:
        tracemalloc.stop()


def test_build_fit_predict_save_load_keeps_memory_flat(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 16)).astype(np.float32)
    y = rng.standard_normal((256, 4)).astype(np.float32)
    path = tmp_path / "model.steepest"

    def repeat(i):
        model = steepest.MLP([16, 64, 64, 4], seed=i)
        model.fit(X, y, epochs=1, batch_size=64, optimizer=steepest.Adam(), verbose=0)
        prediction = model.predict(X)
        model.save(path)
        assert np.array_equal(steepest.load(path).predict(X), prediction)

    resident, traced = growth(repeat)
    print(f"\n{REPETITIONS} x build/fit/predict/save/load: resident +{resident / 2**20:.2f} MiB, traced +{traced / 2**10:.1f} KiB")
    assert resident < RSS_GROWTH_LIMIT
    assert traced < TRACED_GROWTH_LIMIT


def test_error_paths_keep_memory_flat():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 8)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    a = rng.standard_normal((64, 64))
    truncated = saving.model_to_bytes(steepest.MLP([8, 16, 1]))[:-1]

    def repeat(i):
        for call, error in (
            (lambda: ops.matmul(a, a[:5]), ValueError),  # thrown in C++ after the inputs were taken
            (lambda: ops.loss("softmax_cross_entropy", a, np.full(64, 99)), ValueError),
            (lambda: steepest.Sequential([steepest.Dense(2**62, 4)]), MemoryError),
            (lambda: saving.model_from_bytes(truncated), ValueError),
            (lambda: steepest.MLP([8, 16, 1], seed=i).fit(X * 1e30, y, epochs=1, verbose=0), steepest.TrainingDivergedError),
        ):
            with pytest.raises(error):
                call()

    resident, traced = growth(repeat)
    print(f"\n{REPETITIONS} x five error paths: resident +{resident / 2**20:.2f} MiB, traced +{traced / 2**10:.1f} KiB")
    assert resident < RSS_GROWTH_LIMIT
    assert traced < TRACED_GROWTH_LIMIT
