"""The steepest command line: help with examples, exit codes 0/1/2, steepest info and
steepest bench (mocked, and once for real, cut short). steepest train has its own file,
steepest demo too."""

import json
import os
import subprocess
import sys
import types

import pytest

import steepest
from steepest.bench import machine
from steepest.cli import main

SUBCOMMANDS = ("demo", "train", "predict", "info", "bench")


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: steepest" in capsys.readouterr().err


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_every_help_has_examples_and_exits_0(command, capsys):
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"] if command else ["--help"])
    assert exit.value.code == 0
    help_text = capsys.readouterr().out
    assert "examples:" in help_text
    assert f"steepest {command or ''}".strip() in help_text.split("examples:")[1]


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["info", "--bogus"])
    assert exit.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.strip() == f"steepest {steepest.__version__}"


def test_info_names_version_simd_levels_and_threads(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"steepest {steepest.__version__}" in out
    assert f"simd level in use: {steepest.simd_level()}" in out
    assert f"threads: {steepest.get_num_threads()}" in out
    assert "instruction sets this CPU runs:" in out and "compiler:" in out


def test_bench_without_the_benchmark_module_exits_2(monkeypatch, capsys):
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "steepest.bench" else True)
    assert main(["bench"]) == 2
    assert "steepest.bench) is not part of this installation" in capsys.readouterr().err


def record_report_runs(monkeypatch, statuses):
    """Replaces the reports' child processes: records each command and its environment and
    exits with the next of `statuses`."""
    calls = []
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object())

    def fake_run(command, env):
        calls.append((command, env))
        return types.SimpleNamespace(returncode=statuses[len(calls) - 1])

    monkeypatch.setattr("subprocess.run", fake_run)
    return calls


KERNELS = [sys.executable, "-m", "steepest.bench"]
TRAINING = [sys.executable, "-m", "steepest.bench.training"]
INFERENCE = [sys.executable, "-m", "steepest.bench.inference"]


def test_bench_runs_the_kernel_then_the_training_then_the_inference_report_with_their_options(monkeypatch, tmp_path):
    calls = record_report_runs(monkeypatch, [0, 0, 0])
    out = str(tmp_path / "results")
    arguments = ["--quick", "--threads", "1", "2", "--out", out, "--only", "NN", "--configs", "tiny", "small", "--repeats", "2", "--models", "digits"]
    assert main(["bench", *arguments]) == 0
    assert [command for command, _ in calls] == [
        KERNELS + ["--out", out, "--quick", "--threads", "1,2", "--only", "NN"],
        TRAINING + ["--json", os.path.join(out, "training.json"), "--quick", "--threads", "1", "2", "--configs", "tiny", "small", "--repeats", "2"],
        INFERENCE + ["--json", os.path.join(out, "inference.json"), "--quick", "--models", "digits", "--repeats", "2"],
    ]
    # Both reports measure NumPy as it loads without the benchmarks' handicaps.
    assert all(env == machine.benchmark_environment() for _, env in calls)


def test_bench_defaults_leave_each_report_its_own(monkeypatch):
    calls = record_report_runs(monkeypatch, [0, 0, 0])
    assert main(["bench"]) == 0
    assert [command for command, _ in calls] == [
        KERNELS + ["--out", "bench-results"],
        TRAINING + ["--json", os.path.join("bench-results", "training.json")],
        INFERENCE + ["--json", os.path.join("bench-results", "inference.json")],
    ]


def test_bench_runs_one_report_when_asked(monkeypatch):
    calls = record_report_runs(monkeypatch, [0])
    assert main(["bench", "--report", "training", "--threads", "1"]) == 0
    assert [command[:3] for command, _ in calls] == [TRAINING]
    calls.clear()
    assert main(["bench", "--report", "kernels", "--threads", "1"]) == 0
    assert [command[:3] for command, _ in calls] == [KERNELS]
    calls.clear()
    assert main(["bench", "--report", "inference"]) == 0
    assert [command[:3] for command, _ in calls] == [INFERENCE]


def test_bench_stops_at_a_failing_report_and_returns_its_status(monkeypatch):
    calls = record_report_runs(monkeypatch, [3, 0])
    assert main(["bench"]) == 3
    assert [command[:3] for command, _ in calls] == [KERNELS]


@pytest.mark.parametrize("arguments", [["--threads", "0"], ["--threads", "two"], ["--report", "speed"], ["--bogus"]])
def test_bench_refuses_bad_options_before_running_anything(monkeypatch, capsys, arguments):
    calls = record_report_runs(monkeypatch, [])
    with pytest.raises(SystemExit) as exit:
        main(["bench", *arguments])
    assert exit.value.code == 2 and calls == []
    assert "usage: steepest" in capsys.readouterr().err


def test_bench_quick_runs_every_report_end_to_end(tmp_path):
    # The real reports, each cut to one case or configuration at one thread: the options
    # steepest bench passes must be ones each report accepts.
    out = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "steepest",
        "bench",
        "--quick",
        "--threads",
        "1",
        "--out",
        str(out),
        "--only",
        "matmul NN 32x16x16",
        "--configs",
        "tiny",
        "--models",
        "digits",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "| matmul NN 32x16x16 float32 | 1 |" in done.stdout
    assert done.stdout.index("matmul NN 32x16x16") < done.stdout.index("samples/s, median of 3 epochs")
    assert json.loads((out / "kernels.json").read_text())["results"][0]["name"] == "matmul NN 32x16x16 float32"
    (row,) = json.loads((out / "training.json").read_text())
    assert row["config"] == "tiny" and row["threads"] == 1
    assert done.stdout.index("samples/s, median of 3 epochs") < done.stdout.index("| digits 64-128-10 | latency, 1 row (us) |")
    (row,) = json.loads((out / "inference.json").read_text())["rows"]
    assert row["config"] == "digits" and {"steepest", "estimator", "sklearn"} <= set(row["latency_us"])


def test_python_dash_m_steepest_runs_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "steepest", "info"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"simd level in use: {steepest.simd_level()}" in done.stdout
    done = subprocess.run([sys.executable, "-m", "steepest"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
