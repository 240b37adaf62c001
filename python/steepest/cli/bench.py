"""``steepest bench``: the benchmark report, by running ``python -m steepest.bench``."""

from __future__ import annotations

import argparse
from typing import Any

from steepest.cli.exit_codes import USAGE, CommandError

EXAMPLES = """\
examples:
  steepest bench                              the kernel report
  steepest bench --quick                      a shorter run
  steepest bench --threads 1 --out results    one thread; JSON and picture into results/
  steepest bench -- --help                    the options of the report itself

Every other argument is passed to 'python -m steepest.bench'."""


def add_parser(commands: Any) -> None:
    """Register ``steepest bench`` with the subcommand parser."""
    parser = commands.add_parser(
        "bench",
        help="the benchmark report: kernels and training throughput",
        description="Run steepest's benchmark report (kernels and training throughput against NumPy "
        "and, when installed, PyTorch and JAX).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Options this parser does not know go to the report (see steepest.cli.main).
    parser.set_defaults(run=run, passes_unknown_arguments=True)


def run(args: argparse.Namespace) -> int:
    """Run ``python -m steepest.bench`` with the arguments; return its exit status."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("steepest.bench") is None:
        raise CommandError("the benchmark report (steepest.bench) is not part of this installation", USAGE)
    unknown = args.unknown_arguments
    arguments = unknown[1:] if unknown[:1] == ["--"] else unknown
    # A child interpreter, not an import: the report sets up NumPy's threading environment
    # before NumPy loads, which an already-running interpreter is past.
    return subprocess.run([sys.executable, "-m", "steepest.bench", *arguments]).returncode
