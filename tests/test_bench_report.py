"""The plumbing of ``python -m steepest.bench`` on tiny shapes: the report's structure, the
table and the files it writes. Never its speed (that is the report's job, not CI's)."""

import json

import numpy as np
import pytest

from steepest.bench import kernels, machine

TINY = [
    kernels.Case("matmul", (3, 5, 7), "NN"),
    kernels.Case("matmul", (3, 5, 7), "NT"),
    kernels.Case("matmul", (3, 5, 7), "TN", dtype="float64"),
    kernels.Case("dense_forward", (4, 3, 2), activation="relu"),
    kernels.Case("dense_backward", (4, 3, 2), activation="relu"),
    kernels.Case("sgd_update", (10,), activation="momentum+l2"),
]


@pytest.fixture(scope="module")
def report():
    return kernels.run(TINY, threads=[1, 2], rounds=1, sample_seconds=1e-4)


def test_every_case_is_measured_at_every_thread_count(report):
    assert [(r["name"], r["threads"]) for r in report["results"]] == [(case.name, threads) for threads in (1, 2) for case in TINY]
    for r in report["results"]:
        assert {"steepest", "numpy"} <= set(r["seconds"]) <= set(kernels.LIBRARIES)
        assert all(seconds > 0 for seconds in r["seconds"].values())
        assert set(r["ratio"]) == set(r["seconds"]) - {"steepest"}
        assert (r["percent_of_peak"] is None) == (r["unit"] == "GB/s")


def test_the_machine_is_named(report):
    m = report["machine"]
    assert m["cpu"] and m["simd_level"] in {"scalar", "sse2", "avx2", "avx512", "neon"}
    assert {"library", "version", "kernel"} <= set(m["blas"])
    assert set(report["peak_gflops"]) == {f"{dtype} threads={t}" for dtype in ("float32", "float64") for t in (1, 2)}
    assert all(peak > 0 for peak in report["peak_gflops"].values())


def test_table_has_a_row_per_result(report):
    lines = kernels.table_lines(report)
    assert len(lines) == 2 + len(report["results"])
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| " + r["name"] for r in report["results"]]
    assert any("CPU:" in line for line in kernels.header_lines(report))


def test_writes_json_and_chart_or_says_why_not(report, tmp_path):
    lines = kernels.write_report(report, str(tmp_path))
    assert json.loads((tmp_path / "kernels.json").read_text())["results"] == json.loads(json.dumps(report["results"]))
    assert (tmp_path / "kernels.png").exists() or any("matplotlib" in line for line in lines)


def test_main_runs_a_filtered_quick_report(tmp_path, capsys):
    assert kernels.main(["--quick", "--threads", "1", "--only", "NN 32x16x16", "--out", str(tmp_path)]) == 0
    assert "matmul NN 32x16x16 float32" in capsys.readouterr().out
    assert (tmp_path / "kernels.json").exists()


def test_benchmark_environment_drops_the_handicaps():
    env = machine.benchmark_environment({"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1", "HOME": "/h"})
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env and env["HOME"] == "/h"


def test_fma_peak_is_positive():
    assert machine.fma_peak("float32", threads=1, seconds=0.001) > 0


def test_bfloat16_products_are_measured_beside_steepests_float32():
    from steepest import _core

    case = kernels.Case("matmul", (3, 5, 7), "TN", dtype="bfloat16")
    report = kernels.run([case], threads=[1], rounds=1, sample_seconds=1e-4)
    (result,) = report["results"]
    assert {"steepest", "steepest_float32", "numpy"} <= set(result["seconds"]) <= set(kernels.LIBRARIES)
    assert result["ratio"]["steepest_float32"] > 0
    peak = report["peak_gflops"]["bfloat16 threads=1"]
    # The peak is the bfloat16 instruction's, and there is none to measure on the emulated level.
    assert (peak is None) == (_core.bfloat16_level() == "emulated") and (result["percent_of_peak"] is None) == (peak is None)
    assert kernels.table_lines(report)[2].count("|") == kernels.table_lines(report)[0].count("|")
    assert any(line.startswith("bfloat16 products:") for line in kernels.header_lines(report))
    # "steepest" is the bfloat16 product, "steepest_float32" the float32 one of the same arrays.
    calls = kernels.make_calls(kernels.Case("matmul", (30, 50, 70), "NN", dtype="bfloat16"))
    bf16, float32 = np.array(calls["steepest"]()), np.array(calls["steepest_float32"]())
    assert bf16.dtype == float32.dtype == np.float32 and not np.array_equal(bf16, float32)
    np.testing.assert_allclose(bf16, float32, rtol=0, atol=0.1 * np.abs(float32).max())


def test_a_thread_count_is_marked_noisy_when_its_peak_does_not_scale_or_it_takes_every_cpu():
    def report(one, two, cpus):
        return {"peak_gflops": {"float32 threads=1": one, "float32 threads=2": two}, "machine": {"cpus_available": cpus}}

    assert kernels.noise_warning(report(100.0, 190.0, 8), 1) is None
    assert kernels.noise_warning(report(100.0, 190.0, 8), 2) is None
    assert "grew 1.02x over 1 thread's, not 2x" in kernels.noise_warning(report(100.0, 102.0, 8), 2)
    assert "take all 2 CPUs" in kernels.noise_warning(report(100.0, 190.0, 2), 2)
