"""``steepest bench``: the benchmark report, kernels, then training throughput, then inference
speed, by running ``python -m steepest.bench``, ``python -m steepest.bench.training`` and
``python -m steepest.bench.inference``."""

from __future__ import annotations

import argparse
import os
from typing import Any, List

from steepest.cli.exit_codes import OK, USAGE, CommandError

EXAMPLES = """\
examples:
  steepest bench                              kernels, training throughput, inference speed
  steepest bench --quick                      a short run (about half a minute)
  steepest bench --threads 1 --out results    one thread; JSON and picture into results/
  steepest bench --report training --configs tiny small
                                              only the training report, two configurations
  steepest bench --report inference --models digits
                                              one-row latency and batch throughput, one model

Writes kernels.json, kernels.png (with matplotlib), training.json and inference.json into
--out. Each report also runs alone: python -m steepest.bench --help, python -m
steepest.bench.training --help, python -m steepest.bench.inference --help."""

REPORTS = ("all", "kernels", "training", "inference")


def add_parser(commands: Any) -> None:
    """Register ``steepest bench`` and its options with the subcommand parser."""
    parser = commands.add_parser(
        "bench",
        help="the benchmark report: kernels, training throughput and inference speed",
        description="Run steepest's benchmark report: the kernel report (products, fused layers and "
        "the SGD step against NumPy and, when installed, PyTorch), then the training report (whole "
        "epochs against NumPy and, when installed, PyTorch and JAX), then the inference report "
        "(one-row latency and batch throughput against onnxruntime, PyTorch and scikit-learn, "
        "when installed, at one thread).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="short runs (about half a minute in all): a smoke test, not a measurement")
    parser.add_argument("--threads", type=positive_int, nargs="+", metavar="N", help="thread counts (default: 1 and all CPUs)")
    parser.add_argument("--out", default="bench-results", metavar="DIR", help="folder for the JSON files and the picture (default: bench-results)")
    parser.add_argument("--report", choices=REPORTS, default="all", help="which report to run (default: all)")
    parser.add_argument("--only", metavar="TEXT", help="kernel report: only the cases whose name contains TEXT")
    parser.add_argument("--configs", nargs="+", metavar="NAME", help="training report: only these configurations")
    parser.add_argument("--repeats", type=positive_int, metavar="N", help="training and inference reports: timed repeats per library (default 5 and 7)")
    parser.add_argument("--models", nargs="+", metavar="NAME", help="inference report: only these models")
    parser.set_defaults(run=run)


def positive_int(text: str) -> int:
    """An integer >= 1, for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def report_commands(args: argparse.Namespace) -> List[List[str]]:
    """The command line of each report to run, in order, with the options that apply to it."""
    import sys

    commands = []
    if args.report in ("all", "kernels"):
        kernels = [sys.executable, "-m", "steepest.bench", "--out", args.out]
        kernels += ["--quick"] if args.quick else []
        kernels += ["--threads", ",".join(map(str, args.threads))] if args.threads else []
        kernels += ["--only", args.only] if args.only else []
        commands.append(kernels)
    if args.report in ("all", "training"):
        training = [sys.executable, "-m", "steepest.bench.training", "--json", os.path.join(args.out, "training.json")]
        training += ["--quick"] if args.quick else []
        training += ["--threads", *map(str, args.threads)] if args.threads else []
        training += ["--configs", *args.configs] if args.configs else []
        training += ["--repeats", str(args.repeats)] if args.repeats else []
        commands.append(training)
    if args.report in ("all", "inference"):
        # One thread only (a serving process's setting): --threads does not apply.
        inference = [sys.executable, "-m", "steepest.bench.inference", "--json", os.path.join(args.out, "inference.json")]
        inference += ["--quick"] if args.quick else []
        inference += ["--models", *args.models] if args.models else []
        inference += ["--repeats", str(args.repeats)] if args.repeats else []
        commands.append(inference)
    return commands


def run(args: argparse.Namespace) -> int:
    """Run each report in turn; return the first failing exit status, else 0."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("steepest.bench") is None:
        raise CommandError("the benchmark report (steepest.bench) is not part of this installation", USAGE)
    from steepest.bench import machine

    # Child interpreters, not imports: NumPy reads its threading and BLAS environment when it
    # loads, which this interpreter is past; both reports measure the same, unhandicapped NumPy.
    environment = machine.benchmark_environment()
    for command in report_commands(args):
        status = subprocess.run(command, env=environment).returncode
        if status != OK:
            return status
    return OK
