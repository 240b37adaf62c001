"""``steepest demo``: autoencoders, a classifier and variational autoencoders on scikit-learn's
digits, with pictures."""

from __future__ import annotations

import argparse
from typing import Any

from steepest.cli.exit_codes import OK, USAGE, CommandError

EXAMPLES = """\
examples:
  steepest demo                        writes its pictures to ./steepest-demo
  steepest demo --out /tmp/demo        somewhere else
  steepest demo --epochs 300           longer training, lower reconstruction error and ELBO
  steepest demo --quiet > /dev/null    results only in steepest-demo/summary.json

Needs scikit-learn and matplotlib: pip install 'steepest[demo]'."""


def add_parser(commands: Any) -> None:
    """Register ``steepest demo`` and its options with the subcommand parser."""
    from steepest.cli import digits_demo as demo

    parser = commands.add_parser(
        "demo",
        help="autoencoders vs PCA, an MLP classifier and VAEs that generate digits, with pictures",
        description="Train autoencoders to 2-D and 8-D latent spaces on scikit-learn's 8x8 digits, compare "
        "their reconstruction error with PCA's, train an MLP classifier on the same digits, train "
        "variational autoencoders (one conditional on the label) and report their test negative ELBO, and "
        "write pictures (loss curves, latent space, reconstructions, training diagnostics, generated digits, "
        "the 2-D latent manifold, interpolations, the KL per latent dimension).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="steepest-demo", help="folder for the pictures and summary.json (default: %(default)s)")
    defaults = f"{demo.AUTOENCODER_EPOCHS}" if demo.AUTOENCODER_EPOCHS == demo.VAE_EPOCHS else f"{demo.AUTOENCODER_EPOCHS} and {demo.VAE_EPOCHS}"
    parser.add_argument("--epochs", type=int, help=f"epochs of each autoencoder and VAE (default: {defaults})")
    parser.add_argument("--quiet", action="store_true", help="print nothing; results are in summary.json")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo with the parsed options; return the exit status."""
    from steepest.cli import digits_demo as demo

    if args.epochs is not None and args.epochs < 1:
        raise CommandError(f"--epochs must be at least 1, got {args.epochs}", USAGE)
    try:
        import matplotlib
    except ImportError:
        raise CommandError("the demo needs scikit-learn and matplotlib: pip install 'steepest[demo]'", USAGE) from None
    # The command only writes files: a file backend needs no display and starts faster.
    matplotlib.use("Agg")
    try:
        epochs = {} if args.epochs is None else {"autoencoder_epochs": args.epochs, "vae_epochs": args.epochs}
        demo.run(args.out, quiet=args.quiet, **epochs)
    except ImportError as error:
        raise CommandError(str(error), USAGE) from None
    except OSError as error:
        raise CommandError(f"cannot write to {args.out}: {error}") from None
    return OK
