"""The steepest command line: help with examples, exit codes 0/1/2, steepest info and
steepest bench. steepest train has its own file, steepest demo too."""

import subprocess
import sys
import types

import pytest

import steepest
from steepest.cli import main

SUBCOMMANDS = ("demo", "train", "info", "bench")


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


def test_bench_runs_the_report_module_with_its_arguments(monkeypatch):
    calls = []
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object())
    monkeypatch.setattr("subprocess.run", lambda command: calls.append(command) or types.SimpleNamespace(returncode=3))
    assert main(["bench", "--quick", "--threads", "1"]) == 3
    assert main(["bench", "--", "--help"]) == 3
    assert main(["bench"]) == 3
    report = [sys.executable, "-m", "steepest.bench"]
    assert calls == [report + ["--quick", "--threads", "1"], report + ["--help"], report]


def test_python_dash_m_steepest_runs_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "steepest", "info"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"simd level in use: {steepest.simd_level()}" in done.stdout
    done = subprocess.run([sys.executable, "-m", "steepest"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
