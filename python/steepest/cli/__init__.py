"""The ``steepest`` command line (also ``python -m steepest``): one module per subcommand.

Examples
--------
>>> from steepest.cli import main
>>> main(["info"]) == 0   # doctest: +ELLIPSIS
steepest ...
True
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, cast

from steepest.cli import bench, demo, info, predict, train
from steepest.cli.exit_codes import USAGE, CommandError

__all__ = ["build_parser", "main"]

SUBCOMMANDS = (demo, train, predict, info, bench)

EPILOG = """\
examples:
  steepest demo                       autoencoders and a classifier on the digits, with pictures
  steepest train run.toml             train the model a TOML file describes
  steepest predict model.steepest new.csv --out predictions.csv
                                      a saved model's predictions (labels for a classifier)
  steepest info                       version, SIMD level, threads
  steepest bench                      the benchmark report

exit status: 0 success, 1 the run failed (invalid config or data, training diverged),
2 wrong usage or a missing optional part (install the extra it names).
Run 'steepest COMMAND --help' for a command's options and examples."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``steepest`` with every subcommand."""
    from steepest import __version__

    parser = argparse.ArgumentParser(
        prog="steepest",
        description="Fast dense neural networks on the CPU.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"steepest {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``steepest`` command line with ``argv`` (default ``sys.argv[1:]``) and
    return its exit status (see :mod:`steepest.cli.exit_codes`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    try:
        return cast(int, args.run(args))
    except CommandError as error:
        print(f"steepest {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"steepest {args.command}: interrupted", file=sys.stderr)
        return 130  # the shell's convention for a process ended by SIGINT
