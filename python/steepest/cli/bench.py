"""``steepest bench``: the benchmark report, from ``python -m steepest.bench``."""

from __future__ import annotations

import argparse
from typing import Any

from steepest.cli.exit_codes import USAGE, CommandError

EXAMPLES = """\
examples:
  steepest bench                 the whole report
  steepest bench -- --help       the options of the report itself

Arguments after 'bench' are passed to 'python -m steepest.bench'."""


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
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="passed to python -m steepest.bench")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Hand the arguments to ``steepest.bench.main``; return its exit status."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("steepest.bench") is None:
        raise CommandError("the benchmark report (steepest.bench) is not part of this installation", USAGE)
    try:
        report = importlib.import_module("steepest.bench")
    except ImportError as error:
        raise CommandError(f"the benchmark report cannot start: {error}", USAGE) from None
    if not callable(getattr(report, "main", None)):
        raise CommandError("steepest.bench has no main(argv) function to run", USAGE)
    arguments = args.arguments[1:] if args.arguments[:1] == ["--"] else args.arguments
    return int(report.main(arguments) or 0)
