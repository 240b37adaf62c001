"""``steepest info``: what this installation of steepest runs with."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from steepest.cli.exit_codes import OK

EXAMPLES = """\
examples:
  steepest info
  STEEPEST_ISA=sse2 steepest info      what a lower instruction set would use
  STEEPEST_NUM_THREADS=1 steepest info"""

# Optional packages: module, distribution name, and the extra of steepest that installs it.
OPTIONAL = (("matplotlib", "matplotlib", "plot"), ("sklearn", "scikit-learn", "demo"))


def add_parser(commands: Any) -> None:
    """Register ``steepest info`` with the subcommand parser."""
    parser = commands.add_parser(
        "info",
        help="version, SIMD level in use and available, threads, compiler",
        description="Print steepest's version, compiler, the SIMD instruction sets compiled in, "
        "available on this CPU and in use, the number of threads, and which optional parts are installed.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the installation's configuration; return the exit status."""
    from steepest.runtime import show_config

    show_config()
    for module, package, extra in OPTIONAL:
        found = importlib.util.find_spec(module) is not None
        print(f"{package}: {'installed' if found else f'not installed (pip install steepest[{extra}])'}")
    return OK
