"""``steepest train CONFIG.toml``: train the model a TOML file describes and keep the results."""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from steepest.cli.exit_codes import FAILED, OK, CommandError

EXAMPLES = """\
examples:
  steepest train run.toml                 results go where [output] folder says
  steepest train run.toml --out results   or here
  steepest train run.toml --quiet

A config (see steepest.cli.config_file for every key):
  [data]
  path = "digits.csv"            # .npy, .npz or .csv, relative to the config
  target = "label"               # omit for an autoencoder; a conditional VAE's classes
  [model]
  kind = "mlp"                   # "autoencoder" or "vae" (with beta, n_classes, ...)
  layer_sizes = [64, 128, 10]
  output_activation = "softmax"
  [training]
  epochs = 20
  loss = "softmax_cross_entropy"
  validation_split = 0.2
  [optimizer]
  name = "adam"
  lr = 0.003

Writes model.steepest (load with steepest.load), history.csv, history.json, a copy of
the config, and loss.png and diagnostics.png when matplotlib is installed; for a VAE also
samples.png (generated samples, one row per class when conditional) and latent_kl.png;
for a 2-D latent space latent_2d.png, and a VAE's manifold_2d.png (unconditional)."""


def add_parser(commands: Any) -> None:
    """Register ``steepest train`` and its options with the subcommand parser."""
    parser = commands.add_parser(
        "train",
        help="train a model described in a TOML file",
        description="Train the model a TOML config describes on the data it names; save the model, "
        "its training history (CSV and JSON) and pictures of the training.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", help="the TOML file describing data, model and training")
    parser.add_argument("--out", help="folder for the results (default: the config's [output] folder)")
    parser.add_argument("--force", action="store_true", help="write into an output folder that is not empty, replacing the files of this run")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train from the parsed config path; return the exit status."""
    from steepest.cli import config_file
    from steepest.train import DeadNetworkWarning, TrainingDivergedError

    try:
        config = config_file.read_config(args.config)
        data = config_file.load_data(config)
        model = config_file.build_model(config, data.X)
        arguments = config_file.fit_arguments(config)
        classes = config_file.classes_of(config, model, data.y)
        if classes is not None:
            arguments["loss"] = classes.loss
        targets, labels = config_file.targets_and_labels(config, model, data.y if classes is None else classes.target)
        image_shape = config_file.image_shape(config, data.X.shape[1])
    except config_file.ConfigError as error:
        raise CommandError(str(error), FAILED) from None
    folder = Path(args.out) if args.out else config_file.output_folder(config)
    _check_output_folder(folder, args.force)
    X, fit_data, validation = _prepared(config, model, data, classes, targets, labels)
    if not args.quiet:
        print(model.summary())
    try:
        with warnings.catch_warnings():
            # Said below as the command's own warning, with the loss that did not fall.
            warnings.simplefilter("ignore", DeadNetworkWarning)
            history = model.fit(*fit_data, validation_data=validation, verbose=0 if args.quiet else 1, **arguments)
    except TrainingDivergedError as error:
        raise CommandError(str(error), FAILED) from None
    except (TypeError, ValueError) as error:
        raise CommandError(f"{config['source']}: cannot train: {error}", FAILED) from None
    problem = untrained_network(history)
    if problem:
        print(f"steepest train: warning: {problem}", file=sys.stderr)

    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "model.steepest", folder / "history.csv", folder / "history.json", folder / "config.toml"]
        model.save(written[0])
        history.to_csv(str(written[1]))
        history.to_json(str(written[2]))
        shutil.copyfile(config["source"], written[3])
        if config["output"].get("plots", True):
            written += _pictures(model, history, X, labels, image_shape, folder)
    except OSError as error:
        raise CommandError(f"cannot write the results to {folder}: {error}", FAILED) from None
    if not args.quiet:
        last = {key: values[-1] for key, values in history.history.items() if key not in ("lr", "time", "samples_per_second")}
        metrics = ", ".join(f"{key} {value:.4g}" for key, value in last.items())
        print(f"{len(history)} epochs in {sum(history['time']):.1f} s; last epoch: {metrics}")
        print("wrote " + ", ".join(str(path) for path in written))
    return OK


def _check_output_folder(folder: Path, force: bool) -> None:
    """CommandError, before any training, if ``folder`` is a file, or a folder with files
    in it and ``--force`` is not given: a second run must not silently replace the first."""
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"the output folder {str(folder)!r} is a file", FAILED)
    if not force and folder.is_dir() and any(folder.iterdir()):
        raise CommandError(f"the output folder {str(folder)!r} is not empty: pass --force to replace its results, or --out another folder", FAILED)


def _prepared(
    config: Dict[str, Any], model: Any, data: Any, classes: Any, targets: Optional[np.ndarray], labels: Optional[np.ndarray]
) -> Tuple[np.ndarray, Tuple[Any, ...], Any]:
    """The features as the model sees them (scaled when ``[data] scale`` says), ``fit``'s
    data and its validation data: rows drawn at random, each class in proportion for a
    classifier or a conditional VAE; the scaling fitted on the training rows only. Records
    in ``model.metadata`` what ``steepest predict`` needs to repeat it."""
    from steepest.cli import preparation
    from steepest.nn import VAE, Autoencoder

    fraction = config["training"].get("validation_split", 0.0)
    conditional = isinstance(model, VAE) and bool(model.n_classes)
    strata = classes.indices if classes is not None else labels if conditional else None
    X = data.X
    train = validation = None
    if fraction:
        try:
            train, validation = preparation.split_rows(len(X), fraction, model.seed, strata)
        except ValueError as error:
            raise CommandError(f"{config['source']}: [training] {error}", FAILED) from None
    metadata: Dict[str, Any] = {"features": data.features}
    if "target" in config["data"]:
        metadata["target"] = str(config["data"]["target"])
    if classes is not None:
        metadata["classes"] = classes.classes
    scale = config["data"].get("scale")
    if scale:
        scaling = preparation.Scaling.fit(X if train is None else X[train], scale)
        X = scaling.apply(X)
        metadata["scale"] = scaling.to_metadata()
    model.metadata = metadata

    def rows(index: Optional[np.ndarray]) -> Tuple[Any, ...]:
        def pick(array: Optional[np.ndarray]) -> Optional[np.ndarray]:
            return array if array is None or index is None else array[index]

        if conditional:
            return (pick(X), pick(labels))
        if isinstance(model, VAE):
            return (pick(X),)
        return (pick(X), pick(X) if isinstance(model, Autoencoder) else pick(targets))

    if validation is None:
        return X, rows(None), None
    held_out = rows(validation)
    return X, rows(train), held_out[0] if len(held_out) == 1 else held_out


# The training loss counts as stuck when it never falls below this fraction of its first
# epoch's value.
STUCK_LOSS = 0.999


def untrained_network(history: Any) -> Optional[str]:
    """What says a finished fit learned nothing, or None: a layer whose ReLU units were all
    dead in the last epoch (``fit``'s :class:`steepest.DeadNetworkWarning`, said here in
    the command's words), or a training loss that never fell below its first epoch's."""
    from steepest.train.errors import dead_network_message

    dead = history.dead_layers()
    if dead:
        return dead_network_message(dead, len(history) - 1)
    loss = history["loss"]
    if len(loss) >= 3 and min(loss[1:]) >= STUCK_LOSS * loss[0]:
        return f"the training loss never fell below its first epoch's ({loss[0]:.4g}) in {len(loss)} epochs: the network did not learn"
    return None


def _pictures(model: Any, history: Any, X: Any, labels: Any, image_shape: Tuple[int, int], folder: Path) -> List[Path]:
    """The loss and diagnostics pictures, the latent space of a model with a 2-D one, and a
    VAE's samples, KL per latent dimension and 2-D manifold; none, with a note, when
    matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        print("pictures skipped: matplotlib is not installed (pip install 'steepest[plot]')", file=sys.stderr)
        return []
    from steepest import plot
    from steepest.nn import VAE, Autoencoder

    # The command only writes files: a file backend needs no display.
    matplotlib.use("Agg")
    pictures = {
        "loss.png": plot.loss_curves(history).figure,
        "diagnostics.png": plot.diagnostics(history),
    }
    if isinstance(model, VAE):
        pictures.update(_vae_pictures(model, history, X, labels, image_shape))
    elif isinstance(model, Autoencoder) and model.latent_features == 2:
        pictures["latent_2d.png"] = plot.latent_space(model.encode(X), labels).figure
    for name, figure in pictures.items():
        plot.save(figure, folder / name)
    return [folder / name for name in pictures]


# Samples drawn per row of samples.png, and the most rows (classes) it shows.
SAMPLES_PER_ROW = 10
MOST_SAMPLE_ROWS = 20


def _vae_pictures(model: Any, history: Any, X: Any, labels: Optional[Any], image_shape: Tuple[int, int]) -> Dict[str, Any]:
    """A VAE's pictures by file name: generated samples (one row per class, at most
    MOST_SAMPLE_ROWS, when conditional), the KL per latent dimension, and with a 2-D latent
    space the codes of the data and, unconditional, the decoded manifold."""
    from steepest import plot

    # Samples share the data's range: a Bernoulli VAE's lie in [0, 1], a Gaussian one's anywhere.
    value_range = (0.0, 1.0) if model.reconstruction == "bernoulli" else (float(X.min()), float(X.max()))
    if model.n_classes:
        classes = np.repeat(np.arange(min(model.n_classes, MOST_SAMPLE_ROWS)), SAMPLES_PER_ROW)
        grid = plot.samples_grid(
            model.sample(len(classes), seed=0, labels=classes),
            image_shape,
            labels=classes,
            value_range=value_range,
            title="Generated samples, one row per class",
        )
    else:
        grid = plot.samples_grid(
            model.sample(SAMPLES_PER_ROW * 5, seed=0),
            image_shape,
            rows=5,
            value_range=value_range,
            title="Generated samples: decoded draws of the prior N(0, I)",
        )
    pictures = {"samples.png": grid.figure, "latent_kl.png": plot.latent_kl(history)}
    if model.latent_features == 2:
        pictures["latent_2d.png"] = plot.latent_space(model.encode(X, labels if model.n_classes else None), labels).figure
        if not model.n_classes:
            pictures["manifold_2d.png"] = plot.latent_manifold(model, image_shape=image_shape).figure
    return pictures
