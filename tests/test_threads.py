"""Threads and start-up: results are bitwise identical whatever the thread count,
STEEPEST_ISA forces a level at import (and rejects one that cannot run), and the
thread pool keeps working in a child made by os.fork()."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import reference

import steepest
from steepest import _core, ops

THREAD_COUNTS = (1, 2, 3, 7)  # 7 > cores: more threads than work splits evenly into
M, K, N = 300, 500, 400  # large enough that every op here is split between threads
LEVELS_LOW_TO_HIGH = ("scalar", "sse2", "avx2", "avx512", "neon")


@pytest.fixture
def restore_num_threads():
    original = steepest.get_num_threads()
    yield
    steepest.set_num_threads(original)


def layer_inputs(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((M, K)).astype(dtype)
    weight = (rng.standard_normal((K, N)) / np.sqrt(K)).astype(dtype)
    bias = rng.standard_normal(N).astype(dtype)
    dy = rng.standard_normal((M, N)).astype(dtype)
    y = reference.dense_forward(x, weight, bias, "tanh").astype(dtype)
    return x, weight, bias, y, dy


# Each op returns a tuple of arrays from (x, weight, bias, y, dy).
THREADED_OPS = {
    "matmul": lambda x, w, b, y, dy: (ops.matmul(x, w),),
    "matmul trans_a": lambda x, w, b, y, dy: (ops.matmul(x, dy, trans_a=True),),
    "matmul trans_b": lambda x, w, b, y, dy: (ops.matmul(dy, w, trans_b=True),),
    "dense_forward tanh": lambda x, w, b, y, dy: (ops.dense_forward(x, w, b, "tanh"),),
    "dense_forward softmax": lambda x, w, b, y, dy: (ops.dense_forward(x, w, b, "softmax"),),
    "dense_backward tanh": lambda x, w, b, y, dy: ops.dense_backward(x, w, y, dy, "tanh"),
    "activation softmax": lambda x, w, b, y, dy: (ops.activation("softmax", dy),),
    "activation_backward softmax": lambda x, w, b, y, dy: (ops.activation_backward("softmax", y, dy),),
}


def bits(array):
    """The array's bytes as unsigned integers, so that equality is bitwise."""
    return array.view(np.uint32 if array.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("op", THREADED_OPS)
def test_results_are_bitwise_identical_for_any_thread_count(isa, dtype, op, restore_num_threads):
    inputs = layer_inputs(dtype)
    results = {}
    for count in THREAD_COUNTS:
        steepest.set_num_threads(count)
        assert steepest.get_num_threads() == count
        results[count] = THREADED_OPS[op](*inputs)
    for count in THREAD_COUNTS[1:]:
        for index, (got, want) in enumerate(zip(results[count], results[1])):
            np.testing.assert_array_equal(bits(got), bits(want), err_msg=f"output {index} with {count} threads differs from 1 thread")


def run_python(code, **environment):
    """Runs code in a fresh interpreter, without any STEEPEST_ISA of ours."""
    env = {name: value for name, value in os.environ.items() if name != "STEEPEST_ISA"}
    env.update(environment)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("level", _core.available_isas())
def test_steepest_isa_forces_the_level(level):
    result = run_python("import steepest; print(steepest.simd_level())", STEEPEST_ISA=level)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == level


def test_default_level_is_the_best_available():
    result = run_python("import steepest; print(steepest.simd_level())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == max(_core.available_isas(), key=LEVELS_LOW_TO_HIGH.index)


UNUSABLE_LEVELS = ["bogus"] + [level for level in LEVELS_LOW_TO_HIGH if level not in _core.available_isas()]


@pytest.mark.parametrize("level", UNUSABLE_LEVELS)
def test_unusable_steepest_isa_is_a_clear_import_error(level):
    result = run_python("import steepest", STEEPEST_ISA=level)
    # An uncaught exception exits with 1; a crash would be a negative signal number.
    assert result.returncode == 1, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert re.match(r"\w*Error: ", last_line), result.stderr
    assert "STEEPEST_ISA" in last_line and level in last_line


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
# Python 3.12+ warns when a process with threads forks; surviving that is the point here.
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_thread_pool_survives_fork(restore_num_threads):
    steepest.set_num_threads(2)
    x, weight, *_ = layer_inputs(np.float64)
    want = ops.matmul(x, weight)  # the parent's pool threads are running from here on

    pid = os.fork()
    if pid == 0:
        # Child: report through the exit status and never return into pytest.
        status = 2
        try:
            same_count = np.array_equal(ops.matmul(x, weight), want)
            steepest.set_num_threads(3)
            new_count = np.array_equal(ops.matmul(x, weight), want)
            status = 0 if same_count and new_count else 1
        finally:
            os._exit(status)

    deadline = time.monotonic() + 60
    while True:
        finished, wait_status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung in a threaded matmul (pool threads do not exist after fork)")
        time.sleep(0.05)
    exit_code = os.waitstatus_to_exitcode(wait_status)
    assert exit_code == 0, "child: 1 = wrong result, 2 = exception, negative = killed by that signal"
    np.testing.assert_array_equal(ops.matmul(x, weight), want)  # the parent's pool still works


# ---- threads the system refuses, and STEEPEST_NUM_THREADS (issue 18) -------------------


def run_limited(code, address_space=4 << 30, **environment):
    """Runs code in a fresh interpreter whose address space is capped (RLIMIT_AS, set in
    the child only): a thread stack of 8 MiB each, a few hundred threads exhaust it."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    env = {name: value for name, value in os.environ.items() if name not in ("STEEPEST_ISA", "STEEPEST_NUM_THREADS")}
    env.update(environment)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, preexec_fn=limit)


REFUSED = "the system refused to start thread"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux applies it to thread stacks")
@pytest.mark.skipif(
    "asan" in os.environ.get("LD_PRELOAD", ""), reason="AddressSanitizer reserves terabytes of shadow memory: no address-space limit leaves it room"
)
def test_threads_the_system_refuses_are_a_clear_error_not_an_abort():
    code = textwrap.dedent(
        """
        import numpy as np, steepest
        from steepest.runtime import local_threads
        from steepest.sklearn import MLPRegressor
        def refused(call):
            try:
                call()
            except RuntimeError as error:
                assert "refused to start thread" in str(error) and "fewer" in str(error), error
                return True
            return False
        a = np.ones((300, 300))
        print("environment", refused(steepest.get_num_threads))
        steepest.set_num_threads(2)  # fewer still work, from the same process
        print("recovered", steepest.get_num_threads(), float(steepest.ops.matmul(a, a)[0, 0]))
        print("set", refused(lambda: steepest.set_num_threads(100_000)), steepest.get_num_threads())
        print("local", refused(lambda: local_threads(100_000).__enter__()), steepest.get_num_threads())
        X = np.random.default_rng(0).random((64, 3)); y = X.sum(1)
        print("estimator", refused(lambda: MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, n_threads=100_000).fit(X, y)))
        print("after", MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, n_threads=2).fit(X, y).n_iter_, steepest.get_num_threads())
        """
    )
    result = run_limited(code, STEEPEST_NUM_THREADS="100000")
    # An abort (the old behaviour) exits with -6 and prints nothing after the first line.
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:6] == ["environment True", "recovered 2 300.0", "set True 2", "local True 2", "estimator True", "after 2 2"], (
        result.stdout + result.stderr
    )


@pytest.mark.parametrize("value", ["3abc", "0", "-2", "2.5", " 2", "two", "99999999999999999999"])
def test_a_malformed_steepest_num_threads_is_refused_at_import(value):
    result = run_python("import steepest", STEEPEST_NUM_THREADS=value)
    assert result.returncode == 1, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: ") and "STEEPEST_NUM_THREADS" in last_line and repr(value) in last_line, result.stderr


@pytest.mark.parametrize("value, expected", [("3", "3"), ("", None)])
def test_steepest_num_threads_sets_the_default(value, expected):
    result = run_python("import steepest; print(steepest.get_num_threads())", STEEPEST_NUM_THREADS=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (expected or str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()))
