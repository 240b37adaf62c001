"""``steepest demo``: what steepest does, in a few seconds, on data that ships with
scikit-learn (no download).

Autoencoders compress scikit-learn's 8×8 digits to 2-D and 8-D latent spaces and are
compared with PCA keeping the same number of components; an MLP classifies the same
digits; variational autoencoders (one conditional on the digit's label) generate new
digits. Results are printed and written, with pictures, to an output folder.

Needs scikit-learn (for the digits) and matplotlib (for the pictures): the extra
``steepest[demo]``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Tuple, Union, cast

import numpy as np

from steepest import io
from steepest.train import Callback

__all__ = ["DemoResult", "load_digits_scaled", "pca_reconstruction", "run"]

# The digits are 8×8 images with pixel values 0..16.
IMAGE_SHAPE = (8, 8)
PIXEL_MAX = 16.0
TEST_FRACTION = 0.2
LATENT_SIZES = (2, 8)
# Tuned on this data: 100 epochs of Adam with a cosine schedule reach a clearly lower error
# than PCA at both latent sizes in about a second each; the schedule's falling rate also
# keeps the last epochs from the noise that makes a constant rate's loss wobble.
AUTOENCODER_HIDDEN = (128, 32)
AUTOENCODER_EPOCHS = 100
AUTOENCODER_LR = 0.005
# The VAEs share the autoencoders' hidden layers. 100 epochs reach a test negative ELBO within
# about half a nat of what 300 reach; the KL warm-up keeps more latent dimensions in use
# (7 of 8 rather than 4 here, Bowman et al. 2016). The 2-D one draws the latent manifold.
VAE_LATENT_SIZES = (2, 8)
VAE_EPOCHS = 100
VAE_LR = 0.005
VAE_WARMUP_EPOCHS = 20
# Draws of z per test image in the ELBO's estimate: enough for two decimals of its mean.
ELBO_SAMPLES = 10
# Test digits whose interpolations are drawn: the first test image of each digit of a pair.
# Digits the 8-D VAE reconstructs clearly: its 1s and 8s come out blurred, and a path from a
# blur shows little.
INTERPOLATED_DIGITS = ((0, 6), (2, 3), (4, 9))
CLASSIFIER_HIDDEN = 128
CLASSIFIER_EPOCHS = 20
CLASSIFIER_LR = 0.003
BATCH_SIZE = 32

PICTURES = {
    "loss.png": "training (solid) and validation (dashed) loss per epoch",
    "latent_2d.png": "every digit placed by the 2-D autoencoder, coloured by its label",
    "reconstructions.png": "test digits beside their reconstructions (autoencoders and PCA)",
    "diagnostics.png": "per layer: gradient norms, update ratios, dead ReLU and saturated units",
    "vae_samples.png": "new digits: the 8-D VAE decodes samples of its prior",
    "generated.png": "digits of a chosen class, one row per label, from the conditional VAE",
    "manifold_2d.png": "what the 2-D VAE decodes across its latent space",
    "interpolation.png": "the 8-D VAE's path between pairs of test digits",
    "latent_kl.png": "the 8-D VAE's KL per latent dimension: dimensions in use and collapsed",
}


@dataclass
class AutoencoderResult:
    """One autoencoder of the demo against PCA with as many components."""

    latent_size: int
    layer_sizes: List[int]
    autoencoder_error: float
    pca_error: float
    seconds: float
    samples_per_second: float


@dataclass
class VAEResult:
    """One variational autoencoder of the demo, measured on the test images."""

    name: str
    latent_size: int
    layer_sizes: List[int]
    conditional: bool
    #: The negative ELBO per test image in nats (of the image given its label for the
    #: conditional VAE), estimated with ELBO_SAMPLES draws of z.
    test_negative_elbo: float
    #: Its KL part: KL(q(z|x) ‖ N(0, I)) per test image, in nats.
    test_kl: float
    active_dimensions: int
    seconds: float
    samples_per_second: float


@dataclass
class DemoResult:
    """What the demo measured; :func:`run` also writes it to ``summary.json``.

    Attributes
    ----------
    autoencoders : list of AutoencoderResult
        Per latent size: mean squared reconstruction error per pixel on the test images of
        the autoencoder and of PCA, training time and samples/s.
    classifier_accuracy : float
        The MLP's accuracy on the test images.
    classifier_seconds, classifier_samples_per_second : float
    vaes : list of VAEResult
        Per variational autoencoder: the test negative ELBO per image and its KL part, in
        nats, the latent dimensions in use, training time and samples/s.
    pictures : list of str
        Paths of the pictures written.
    seconds : float
        The whole demo, data loading and pictures included.
    """

    autoencoders: List[AutoencoderResult] = field(default_factory=list)
    classifier_accuracy: float = 0.0
    classifier_seconds: float = 0.0
    classifier_samples_per_second: float = 0.0
    vaes: List[VAEResult] = field(default_factory=list)
    pictures: List[str] = field(default_factory=list)
    seconds: float = 0.0


def _require_extras() -> None:
    missing = []
    for module, package in (("sklearn", "scikit-learn"), ("matplotlib", "matplotlib")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise ImportError(f"steepest demo needs {' and '.join(missing)}: pip install 'steepest[demo]'")


def load_digits_scaled(seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 1797 digits as float32 pixels in [0, 1], shuffled and split.

    Returns
    -------
    X_train, X_test : ndarray, shape (samples, 64)
    y_train, y_test : ndarray of int64
        The digit each image shows; the last 20% of the shuffled images are the test set.

    Examples
    --------
    >>> from steepest.cli.digits_demo import load_digits_scaled
    >>> X_train, X_test, y_train, y_test = load_digits_scaled()
    >>> X_train.shape, X_test.shape, float(X_train.max())
    ((1438, 64), (359, 64), 1.0)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data / PIXEL_MAX).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    X, y = X[order], y[order]
    cut = len(X) - int(len(X) * TEST_FRACTION)
    return X[:cut], X[cut:], y[:cut], y[cut:]


def pca_reconstruction(X_train: np.ndarray, X: np.ndarray, components: int) -> np.ndarray:
    """Reconstruct ``X`` from its first ``components`` principal components, fitted on
    ``X_train``: the best any linear encoder of that size can do (in squared error).

    Examples
    --------
    >>> import numpy as np
    >>> from steepest.cli.digits_demo import pca_reconstruction
    >>> X = np.random.default_rng(0).random((100, 5))
    >>> bool(np.allclose(pca_reconstruction(X, X, 5), X))
    True
    """
    mean, axes = _principal_axes(X_train)
    return _project(X, mean, axes[:components])


def _principal_axes(X_train: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The mean of ``X_train`` and its principal axes (rows), most variance first."""
    X_train = np.asarray(X_train, dtype=np.float64)
    mean = X_train.mean(axis=0)
    _, _, axes = np.linalg.svd(X_train - mean, full_matrices=False)
    return mean, axes


def _project(X: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, (np.asarray(X, dtype=np.float64) - mean) @ axes.T @ axes + mean)


class _WholeFitBar(Callback):
    """One live line for a whole fit on a terminal (the demo's epochs last milliseconds,
    so the per-epoch lines of ``verbose=1`` would scroll hundreds of lines); nothing when
    the output is not a terminal, so a log holds no control codes."""

    _width = 30

    def __init__(self, label: str, epochs: int, stream: IO[str], quiet: bool) -> None:
        super().__init__()
        self.label, self.epochs, self.stream = label, epochs, stream
        self.live = not quiet and getattr(stream, "isatty", lambda: False)()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        if not self.live or logs is None:
            return
        filled = self._width * (epoch + 1) // self.epochs
        bar = "=" * filled + "." * (self._width - filled)
        self.stream.write(f"\r  {self.label} [{bar}] epoch {epoch + 1}/{self.epochs}  loss {logs['loss']:.4g}  {logs['samples_per_second']:,.0f} samples/s ")
        self.stream.flush()

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        if self.live:
            self.stream.write("\r" + " " * (self._width + 90) + "\r")
            self.stream.flush()


def _training_rate(history: Any) -> float:
    """Samples per second over the whole fit, training steps only."""
    seconds = sum(history["time"])
    samples = sum(rate * took for rate, took in zip(history["samples_per_second"], history["time"]))
    return samples / seconds if seconds > 0 else float("inf")


def _train_vaes(
    X_train: np.ndarray,
    X_test: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    epochs: int,
    result: DemoResult,
    stream: IO[str],
    quiet: bool,
    say: Any,
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Train the demo's VAEs (2-D and 8-D, and a conditional 8-D one), report their test
    negative ELBO, and return them and their histories by name ("2-D", "8-D", "conditional")."""
    from steepest.nn import VAE
    from steepest.train import Adam, CosineDecay

    features = X_train.shape[1]
    hidden = "-".join(str(size) for size in (features, *AUTOENCODER_HIDDEN))
    say(f"\nVariational autoencoders {hidden}-L (relu, Bernoulli likelihood): {epochs} epochs of Adam,")
    say(f"  cosine learning rate from {VAE_LR}, the KL term's weight warmed up over {VAE_WARMUP_EPOCHS} epochs")
    models: Dict[str, Any] = {}
    histories: Dict[str, Any] = {}
    runs = [
        ("2-D", "VAE", VAE_LATENT_SIZES[0], False),
        ("8-D", "VAE", VAE_LATENT_SIZES[1], False),
        ("conditional", "conditional VAE", VAE_LATENT_SIZES[1], True),
    ]
    for key, name, latent, conditional in runs:
        sizes = [features, *AUTOENCODER_HIDDEN, latent]
        model = VAE(sizes, n_classes=10 if conditional else None, seed=0)
        labels_train, labels_test = (y_train, y_test) if conditional else (None, None)
        test = (X_test, y_test) if conditional else X_test
        fit_started = time.perf_counter()
        with warnings.catch_warnings():
            # The report says how many latent dimensions each VAE uses, collapse included.
            warnings.filterwarnings("ignore", message="posterior collapse", category=RuntimeWarning)
            history = model.fit(
                X_train,
                labels_train,
                epochs=epochs,
                batch_size=BATCH_SIZE,
                optimizer=Adam(lr=CosineDecay(VAE_LR, epochs)),
                validation_data=test,
                kl_warmup_epochs=VAE_WARMUP_EPOCHS,
                callbacks=[_WholeFitBar(f"{name} {latent}-D", epochs, stream, quiet)],
                verbose=0,
            )
        seconds = time.perf_counter() - fit_started
        negative_elbo = -float(np.mean(model.elbo(X_test, labels_test, n_samples=ELBO_SAMPLES, seed=0)))
        # The sampling layer's diagnostics count the dimensions whose KL is above 0.01 nats.
        active = next(int(layer["active_dimensions"]) for layer in history.diagnostics[-1] if layer and "active_dimensions" in layer)
        result.vaes.append(VAEResult(name, latent, sizes, conditional, negative_elbo, history["val_kl"][-1], active, seconds, _training_rate(history)))
        models[key], histories[key] = model, history
    say(f"Negative ELBO per test image, in nats (lower is better; {ELBO_SAMPLES} draws of z per image):")
    say(f"  {'model':<16}  {'latent size':>11}  {'-ELBO':>6}  {'of it KL':>8}  {'dimensions in use':>17}  {'train time':>10}")
    for row in result.vaes:
        say(
            f"  {row.name:<16}  {row.latent_size:>11}  {row.test_negative_elbo:>6.2f}  {row.test_kl:>8.2f}  "
            f"{f'{row.active_dimensions} of {row.latent_size}':>17}  {row.seconds:>8.1f} s"
        )
    same_size, told_the_digit = result.vaes[1], result.vaes[2]
    say("  The conditional VAE's is a bound on -log p(image | its label): told the digit, its code keeps")
    say(f"  less (KL {told_the_digit.test_kl:.2f} nats against {same_size.test_kl:.2f}).")
    return models, histories


def _vae_pictures(models: Dict[str, Any], histories: Dict[str, Any], X_test: np.ndarray, y_test: np.ndarray) -> Dict[str, Any]:
    """The VAEs' pictures by file name (see PICTURES)."""
    from steepest import plot

    labels = np.repeat(np.arange(10), 10)
    pairs = [(X_test[np.flatnonzero(y_test == a)[0]], X_test[np.flatnonzero(y_test == b)[0]]) for a, b in INTERPOLATED_DIGITS]
    large = models["8-D"]
    return {
        "vae_samples.png": plot.samples_grid(
            large.sample(60, seed=0), IMAGE_SHAPE, rows=6, title=f"60 new digits: the {large.latent_features}-D VAE decodes z ~ N(0, I)"
        ).figure,
        "generated.png": plot.samples_grid(
            models["conditional"].sample(len(labels), seed=0, labels=labels),
            IMAGE_SHAPE,
            labels=labels,
            title="Digits of a chosen class: the conditional VAE, one row per label",
        ).figure,
        "manifold_2d.png": plot.latent_manifold(models["2-D"], title="What the 2-D VAE decodes across its latent space").figure,
        "interpolation.png": plot.interpolation_strips(
            large, pairs, steps=10, title=f"Between two test digits (framed): the {large.latent_features}-D VAE's path"
        ).figure,
        "latent_kl.png": plot.latent_kl(histories["8-D"], title=f"The {large.latent_features}-D VAE's latent dimensions"),
    }


def run(
    out: Union[str, "os.PathLike[str]"] = "steepest-demo",
    *,
    autoencoder_epochs: int = AUTOENCODER_EPOCHS,
    classifier_epochs: int = CLASSIFIER_EPOCHS,
    vae_epochs: int = VAE_EPOCHS,
    stream: Optional[IO[str]] = None,
    quiet: bool = False,
    dpi: int = 100,
) -> DemoResult:
    """Train the demo's autoencoders, classifier and variational autoencoders, print what
    they learned, and write the pictures and ``summary.json`` into ``out``.

    Parameters
    ----------
    out : path, default "steepest-demo"
        Created if needed; files of an earlier run are overwritten.
    autoencoder_epochs, classifier_epochs, vae_epochs : int
        Fewer epochs make a quicker, less accurate demo.
    stream : text file, default sys.stdout
        Where the report goes; a live progress line is drawn only when it is a terminal.
    quiet : bool, default False
        Print nothing (the results are still in ``summary.json``).
    dpi : int, default 100
        Resolution of the pictures, in dots per inch.

    Returns
    -------
    DemoResult

    Examples
    --------
    >>> import io, os, tempfile, steepest.cli.digits_demo
    >>> report = io.StringIO()
    >>> result = steepest.cli.digits_demo.run(tempfile.mkdtemp(), autoencoder_epochs=2, classifier_epochs=2, vae_epochs=2, stream=report)
    >>> sorted(os.path.basename(p) for p in result.pictures)  # doctest: +NORMALIZE_WHITESPACE
    ['diagnostics.png', 'generated.png', 'interpolation.png', 'latent_2d.png', 'latent_kl.png',
     'loss.png', 'manifold_2d.png', 'reconstructions.png', 'vae_samples.png']
    >>> [vae.name for vae in result.vaes]
    ['VAE', 'VAE', 'conditional VAE']
    >>> "\\x1b" in report.getvalue() or "\\r" in report.getvalue()   # no control codes off a terminal
    False
    """
    _require_extras()
    from steepest import __version__, plot, runtime
    from steepest.nn import MLP, Autoencoder
    from steepest.train import Adam, CosineDecay

    started = time.perf_counter()
    stream = stream if stream is not None else sys.stdout

    def say(text: str = "") -> None:
        if not quiet:
            stream.write(text + "\n")
            stream.flush()

    folder = Path(os.fspath(out))
    folder.mkdir(parents=True, exist_ok=True)
    X_train, X_test, y_train, y_test = load_digits_scaled()
    features = X_train.shape[1]
    say(f"steepest {__version__}: {runtime.simd_level()} kernels, {runtime.get_num_threads()} threads")
    say(
        f"Data: scikit-learn's digits, {len(X_train) + len(X_test)} images of {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]} pixels "
        f"scaled to [0, 1]; {len(X_train)} to train, {len(X_test)} to test."
    )
    result = DemoResult()
    mean, principal_axes = _principal_axes(X_train)
    autoencoders: Dict[int, Any] = {}
    histories: Dict[str, Any] = {}
    for latent in LATENT_SIZES:
        sizes = [features, *AUTOENCODER_HIDDEN, latent]
        model = Autoencoder(sizes, seed=0)
        architecture = "-".join(str(s) for s in sizes + sizes[-2::-1])
        say(
            f"\nAutoencoder {architecture} (relu, sigmoid output): {autoencoder_epochs} epochs of Adam, "
            f"cosine learning rate from {AUTOENCODER_LR}, batches of {BATCH_SIZE}"
        )
        fit_started = time.perf_counter()
        history = model.fit(
            X_train,
            epochs=autoencoder_epochs,
            batch_size=BATCH_SIZE,
            optimizer=Adam(lr=CosineDecay(AUTOENCODER_LR, autoencoder_epochs)),
            validation_data=(X_test, X_test),
            callbacks=[_WholeFitBar(f"{latent}-D", autoencoder_epochs, stream, quiet)],
            verbose=0,
        )
        seconds = time.perf_counter() - fit_started
        rate = _training_rate(history)
        error = float(np.mean(model.reconstruction_error(X_test)))
        pca_error = float(np.mean((_project(X_test, mean, principal_axes[:latent]) - X_test) ** 2))
        say(f"  trained in {seconds:.1f} s ({rate:,.0f} samples/s); test error {error:.4f}, PCA with {latent} components {pca_error:.4f}")
        result.autoencoders.append(AutoencoderResult(latent, sizes, error, pca_error, seconds, rate))
        autoencoders[latent] = model
        histories[f"autoencoder {latent}-D"] = history

    say(f"\nReconstruction error on the {len(X_test)} test images (mean squared error per pixel; lower is better):")
    say(f"  {'latent size':>11}  {'autoencoder':>11}  {'PCA':>7}  {'autoencoder/PCA':>15}  {'train time':>10}  {'samples/s':>10}")
    for row in result.autoencoders:
        say(
            f"  {row.latent_size:>11}  {row.autoencoder_error:>11.4f}  {row.pca_error:>7.4f}  "
            f"{row.autoencoder_error / row.pca_error:>14.2f}x  {row.seconds:>8.1f} s  {row.samples_per_second:>10,.0f}"
        )
    beaten = [row.latent_size for row in result.autoencoders if row.autoencoder_error < row.pca_error]
    if len(beaten) == len(result.autoencoders):
        say("  The nonlinear autoencoder beats PCA (the best linear encoding) at every latent size.")
    else:
        say(f"  The autoencoder beats PCA only at latent sizes {beaten or 'none'}: train longer (demo --epochs).")

    classifier_sizes = [features, CLASSIFIER_HIDDEN, 10]
    classifier = MLP(classifier_sizes, seed=0)
    fit_started = time.perf_counter()
    classifier_history = classifier.fit(
        X_train,
        y_train,
        epochs=classifier_epochs,
        batch_size=BATCH_SIZE,
        loss="softmax_cross_entropy",
        optimizer=Adam(lr=CosineDecay(CLASSIFIER_LR, classifier_epochs)),
        verbose=0,
    )
    result.classifier_seconds = time.perf_counter() - fit_started
    result.classifier_samples_per_second = _training_rate(classifier_history)
    result.classifier_accuracy = float(np.mean(np.argmax(classifier.predict(X_test), axis=1) == y_test))
    say(
        f"\nMLP classifier {'-'.join(map(str, classifier_sizes))} ({classifier_epochs} epochs): test accuracy "
        f"{100 * result.classifier_accuracy:.1f}% on {len(X_test)} images, trained in {result.classifier_seconds:.1f} s "
        f"({result.classifier_samples_per_second:,.0f} samples/s)"
    )

    vaes, vae_histories = _train_vaes(X_train, X_test, y_train, y_test, vae_epochs, result, stream, quiet, say)

    small, large = (autoencoders[size] for size in LATENT_SIZES)
    shown = X_test[:10]
    pictures = {
        "loss.png": plot.loss_curves(histories, log_scale=True, title="Autoencoders on the digits: reconstruction loss (MSE)").figure,
        "latent_2d.png": plot.latent_space(
            small.encode(np.concatenate([X_train, X_test])),
            np.concatenate([y_train, y_test]),
            title=f"All {len(X_train) + len(X_test)} digits in the autoencoder's 2-D latent space",
        ).figure,
        "reconstructions.png": plot.reconstruction_grid(
            shown,
            {
                "autoencoder 2-D": small.reconstruct(shown),
                "PCA 2": _project(shown, mean, principal_axes[:2]),
                "autoencoder 8-D": large.reconstruct(shown),
                "PCA 8": _project(shown, mean, principal_axes[:8]),
            },
            IMAGE_SHAPE,
            title="Test digits and their reconstructions",
        ),
        "diagnostics.png": plot.diagnostics(
            histories[f"autoencoder {LATENT_SIZES[-1]}-D"],
            title=f"Training diagnostics of the {LATENT_SIZES[-1]}-D autoencoder (layers 0-{len(large.layers) - 1}, input to output)",
        ),
        **_vae_pictures(vaes, vae_histories, X_test, y_test),
    }
    say(f"\nPictures in {folder}{os.sep}:")
    for name, figure in pictures.items():
        path = folder / name
        plot.save(figure, path, dpi=dpi)
        result.pictures.append(str(path))
        say(f"  {name:<20} {PICTURES[name]}")
    result.seconds = time.perf_counter() - started
    io.write_atomically(json.dumps(asdict(result), indent=1), folder / "summary.json")
    say(f"Done in {result.seconds:.1f} s.")
    return result
