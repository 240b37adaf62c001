"""The variational autoencoder: an encoder to a distribution over a latent space, a decoder
back, and new data drawn by decoding samples of the prior (Kingma & Welling, "Auto-Encoding
Variational Bayes", 2014); conditional on a class when ``n_classes`` is set (Sohn, Lee & Yan,
2015)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, cast

import numpy as np

from steepest._validation import as_matrix, non_negative_float, positive_int
from steepest._warnings import warn
from steepest.nn import saving
from steepest.nn.layers import Condition, Dense, GaussianSample, Layer, check_activation
from steepest.nn.sequential import Sequential
from steepest.nn.sizes import decoder_sizes_of, layer_sizes_of
from steepest.train import loop
from steepest.train.callbacks import Callback
from steepest.train.history import History
from steepest.train.objective import Objective, check_noise
from steepest.train.optimizers import SGD, Optimizer
from steepest.train.targets import Targets

RECONSTRUCTIONS = ("bernoulli", "gaussian")
# Most latent dimensions collapsed (KL to the prior below 0.01 nats) is worth a warning:
# their codes carry nothing, and a smaller latent space or a lower beta would do as well.
_COLLAPSED_SHARE = 0.5


@saving.register
class VAE(Sequential):
    """A variational autoencoder: the encoder maps each sample to a Gaussian over the latent
    space (a mean and a log-variance per dimension), a sample of it is decoded back, and
    ``sample`` draws new data by decoding samples of the prior N(0, I).

    Parameters
    ----------
    layer_sizes : sequence of int
        The encoder: ``[64, 128, 8]`` is 64 inputs through 128 hidden units to two heads of
        8 (the mean and the log-variance); the decoder mirrors it, 8→128→64, unless
        ``decoder_sizes`` is given.
    activation : str, default "relu"
        Of the hidden layers.
    output_activation : str, default "sigmoid"
        Of the decoder's output (``"bernoulli"`` needs a sigmoid: its loss is computed from
        the logits).
    reconstruction : {"bernoulli", "gaussian"}, default "bernoulli"
        The likelihood of the data: binary cross entropy, for data in [0, 1], or ½‖x − x̂‖²
        with unit variance, for real data; summed over features.
    beta : float, default 1.0
        The weight of the KL term (β-VAE, Higgins et al. 2017; 1 is the ELBO).
    decoder_sizes : sequence of int, optional
        From the latent size back to the input size.
    n_classes : int, optional
        Conditional generation: a one-hot label of this many classes joins the encoder's
        input and the latent code, so ``fit(X, y)`` learns and ``sample(n, labels=...)``
        draws a chosen class.
    seed, dtype, precision : see :class:`Sequential`

    The objective is the negative ELBO per sample in nats, averaged over the batch (PyTorch's
    examples/vae convention, there summed): the reconstruction summed over features plus
    ``beta`` times KL(q(z|x) ‖ N(0, I)) in closed form, summed over latent dimensions. The
    sampling z = μ + exp(½·log σ²)·ε runs natively, with ε drawn from the seed, step, row and
    dimension only: training is bitwise reproducible for any thread count.

    Examples
    --------
    >>> import numpy as np, steepest
    >>> X = np.random.default_rng(0).random((256, 16)).astype(np.float32)
    >>> vae = steepest.VAE([16, 32, 2], seed=0)
    >>> history = vae.fit(X, epochs=5, verbose=0)
    >>> sorted(key for key in history.history if key in ("loss", "reconstruction", "kl"))
    ['kl', 'loss', 'reconstruction']
    >>> vae.sample(3, seed=0).shape, vae.encode(X[:4]).shape
    ((3, 16), (4, 2))
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        output_activation: str = "sigmoid",
        reconstruction: str = "bernoulli",
        beta: float = 1.0,
        decoder_sizes: Optional[Sequence[int]] = None,
        n_classes: Optional[int] = None,
        seed: int = 0,
        dtype: Any = "float32",
        precision: Optional[str] = None,
    ) -> None:
        encoder_sizes = layer_sizes_of(layer_sizes)
        decoder = decoder_sizes_of(encoder_sizes, decoder_sizes)
        check_activation(activation)
        check_activation(output_activation, "output_activation")
        if output_activation == "softmax":
            raise ValueError("output_activation='softmax' does not suit a VAE's reconstruction; use 'sigmoid' or 'identity'")
        self.reconstruction = _check_reconstruction(reconstruction, output_activation)
        self.beta = non_negative_float(beta, "beta")
        self.n_classes = None if n_classes is None else _check_classes(n_classes)
        classes = self.n_classes or 0
        features, latent = encoder_sizes[0], encoder_sizes[-1]
        layers: List[Layer] = [Condition(features, classes)] if classes else []
        widths = [features + classes] + encoder_sizes[1:-1]
        layers += [Dense(a, b, activation) for a, b in zip(widths[:-1], widths[1:])]
        layers += [Dense(widths[-1], 2 * latent, "identity"), GaussianSample(latent)]
        if classes:
            layers.append(Condition(latent, classes))
        widths = [latent + classes] + decoder[1:]
        layers += [Dense(a, b, activation) for a, b in zip(widths[:-2], widths[1:-1])]
        layers.append(Dense(widths[-2], widths[-1], output_activation))
        self._start(layers, seed, dtype, precision)

    # ------------------------------------------------------------------ structure ----

    @property
    def latent_features(self) -> int:
        return self.layers[self._sampling].out_features

    @property
    def _sampling(self) -> int:
        return next(i for i, layer in enumerate(self.layers) if isinstance(layer, GaussianSample))

    @property
    def encoder(self) -> Sequential:
        """The encoder as a model of its own, sharing this model's weights: rows of
        ``[X | one-hot class]`` (conditional) or X to ``[mean | log_var]``."""
        return self._part(1 if self.n_classes else 0, self._sampling)

    @property
    def decoder(self) -> Sequential:
        """The decoder as a model of its own, sharing this model's weights: rows of
        ``[Z | one-hot class]`` (conditional) or Z to the data."""
        return self._part(self._sampling + (2 if self.n_classes else 1), len(self.layers))

    # ------------------------------------------------------------------- latent space ----

    def encode_distribution(self, X: Any, y: Any = None) -> Tuple[np.ndarray, np.ndarray]:
        """``(mean, log_var)``, each ``(samples, latent_features)``: q(z|x) of each row."""
        X = as_matrix(X, "X", self.dtype.type, features=self.input_features)
        heads = self.encoder.predict(self._with_classes(X, y, "y"))
        return heads[:, : self.latent_features], heads[:, self.latent_features :]

    def encode(self, X: Any, y: Any = None) -> np.ndarray:
        """The latent means ``(samples, latent_features)`` of the rows of ``X``."""
        return self.encode_distribution(X, y)[0]

    def decode(self, Z: Any, y: Any = None) -> np.ndarray:
        """The decoder's output ``(samples, input_features)`` for latent points ``Z``."""
        Z = as_matrix(Z, "Z", self.dtype.type, features=self.latent_features)
        return self.decoder.predict(self._with_classes(Z, y, "y"))

    def reconstruct(self, X: Any, y: Any = None) -> np.ndarray:
        """Decode the latent means: the model's reconstruction of ``X``."""
        return self.decode(self.encode(X, y), y)

    def predict(self, X: Any, y: Any = None, *, batch_size: int = 1024) -> np.ndarray:
        """The reconstruction of ``X`` (see :meth:`reconstruct`)."""
        positive_int(batch_size, "batch_size")
        return self.reconstruct(X, y)

    def sample(self, n: int, seed: Optional[int] = None, labels: Any = None) -> np.ndarray:
        """``n`` new data points: decoded samples z ~ N(0, I) of the prior.

        ``labels`` (a class, or one per sample) chooses what a conditional model draws.
        ``seed`` makes the draw repeatable; None draws fresh samples each call.
        """
        n = positive_int(n, "n")
        if self.n_classes and labels is not None and np.ndim(labels) == 0:
            labels = np.full(n, labels)
        Z = np.random.default_rng(seed).standard_normal((n, self.latent_features))
        return self.decode(Z, labels)

    def interpolate(self, x_a: Any, x_b: Any, steps: int = 10, labels: Any = None) -> np.ndarray:
        """``steps`` decoded points ``(steps, input_features)`` along the straight path
        between the latent means of the samples ``x_a`` and ``x_b`` (ends included)."""
        steps = positive_int(steps, "steps")
        if steps < 2:
            raise ValueError(f"steps must be >= 2 (the two ends), got {steps}")
        ends = []
        for name, x in (("x_a", x_a), ("x_b", x_b)):
            row = np.asarray(x)
            if row.ndim == 1:
                row = row.reshape(1, -1)
            if row.shape[0] != 1:
                raise ValueError(f"{name} must be one sample of {self.input_features} features, got shape {np.shape(x)}")
            ends.append(as_matrix(row, name, self.dtype.type, features=self.input_features))
        if self.n_classes and labels is not None and np.ndim(labels) == 0:
            labels = np.full(1, labels)
        start, end = (self.encode(x, labels) for x in ends)
        t = np.linspace(0.0, 1.0, steps).reshape(-1, 1)
        path = (1 - t) * start + t * end
        return self.decode(path, None if labels is None else np.full(steps, np.asarray(labels).reshape(-1)[0]))

    def elbo(self, X: Any, y: Any = None, n_samples: int = 1, seed: Optional[int] = None) -> np.ndarray:
        """The evidence lower bound of each row in nats, ``(samples,)``: the log-likelihood of
        its reconstruction minus KL(q(z|x) ‖ N(0, I)) (β = 1 whatever the model's ``beta``),
        estimated with ``n_samples`` draws of z. Low for what the model finds unusual: minus it
        is an anomaly score."""
        n_samples = positive_int(n_samples, "n_samples")
        X = self._check_data(X)
        targets = Targets(X, None, self._classes(y, len(X), "y"))
        trainer = self._engine.trainer(
            min(len(X), 1024), self._loss, SGD().engine_settings(), self.seed if seed is None else _check_seed(seed), False, loss_scale=self._loss_scale
        )
        trainer.set_kl_weight(1.0)
        total = np.zeros(len(X))
        for _ in range(n_samples):
            total += trainer.loss_per_row(X, targets)
        return -total / n_samples

    # -------------------------------------------------------------------- training ----

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any = None,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: Optional[Optimizer] = None,
        shuffle: bool = True,
        validation_data: Any = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        verbose: int = 1,
        diagnostics: bool = True,
        kl_warmup_epochs: int = 0,
        noise: Optional[Tuple[str, float]] = None,
    ) -> History:
        """Train on ``X`` (and, for a conditional model, its integer class labels ``y``) to
        minimise the negative ELBO per sample; the whole epoch runs natively.

        Parameters are those of :meth:`Sequential.fit`, and:

        validation_data : X_val, or (X_val, y_val) for a conditional model
        kl_warmup_epochs : int, default 0
            Raise the KL term's weight linearly from beta/kl_warmup_epochs to beta over the
            model's first epochs (Bowman et al., 2016): it keeps the KL term from collapsing
            the posterior before the decoder has learned anything.
        noise : ("gaussian", std) or ("mask", rate), optional
            A denoising VAE: each batch's inputs are corrupted natively, the reconstruction
            target stays the clean input.

        Returns
        -------
        History
            ``loss`` (the negative ELBO with ``beta``), ``reconstruction`` and ``kl`` per
            sample, each also as ``val_*`` with validation data; the diagnostics of the
            sampling layer give each latent dimension's mean KL and the count of active
            dimensions (KL above 0.01 nats), and a warning says when most have collapsed.
        """
        X = self._check_data(X)
        classes = self._classes(y, len(X), "y")
        validation = None
        if validation_data is not None:
            X_val, y_val = (
                (validation_data, None) if isinstance(validation_data, np.ndarray) or not isinstance(validation_data, (tuple, list)) else _pair(validation_data)
            )
            X_val = self._check_data(X_val, "validation X")
            validation = (X_val, X_val) if classes is None else (X_val, X_val, self._classes(y_val, len(X_val), "validation y"))
        warmup = _check_warmup(kl_warmup_epochs)
        history = self._fit(
            X,
            X,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            loss=self._loss,
            shuffle=shuffle,
            validation_data=validation,
            validation_split=validation_split,
            callbacks=callbacks,
            verbose=verbose,
            diagnostics=diagnostics,
            objective=Objective(loss_scale=self._loss_scale, noise=check_noise(noise), kl_weight=self._kl_weight(warmup)),
            conditions=classes,
        )
        self._warn_on_collapse(history)
        return history

    def partial_fit(
        self,
        X: Any,
        y: Any = None,
        *,
        batch_size: int = 32,
        optimizer: Optional[Optimizer] = None,
        loss: str = "",
        sample_weight: Any = None,
        order: Any = None,
        penalty_per_weight: bool = False,
        metrics: bool = False,
    ) -> Any:
        """One pass over the chunk ``X`` (and its classes ``y``), in order (or in ``order``);
        returns its mean negative ELBO (or, with ``metrics``, the dict fit logs for an
        epoch). ``loss`` is the model's own and cannot be chosen, and a VAE takes no sample
        weights (its KL term is a mean over the batch's rows)."""
        if loss:
            raise ValueError("a VAE's loss is its negative ELBO: choose reconstruction= when building it")
        if sample_weight is not None:
            raise ValueError("a VAE takes no sample_weight: its KL term is a mean over each batch's rows")
        X = self._check_data(X)
        objective = Objective(loss_scale=self._loss_scale, kl_weight=self._kl_weight(0), penalty_per_weight=bool(penalty_per_weight))
        logs = loop.partial_fit(
            self,
            self._engine,
            self._state,
            X,
            X,
            batch_size=batch_size,
            optimizer=optimizer,
            loss=self._loss,
            objective=objective,
            conditions=self._classes(y, len(X), "y"),
            order=order,
        )
        return logs if metrics else logs["loss"]

    @property
    def _loss(self) -> str:
        # A sigmoid output with binary cross entropy is computed from the logits.
        return "binary_cross_entropy" if self.reconstruction == "bernoulli" else "mse"

    @property
    def _loss_scale(self) -> float:
        # The kernels average over every output; the ELBO sums over a sample's features
        # (and ½‖x − x̂‖² halves the squared error).
        features = float(self.input_features)
        return features if self.reconstruction == "bernoulli" else features / 2

    def _kl_weight(self, warmup: int) -> Any:
        beta = self.beta

        def weight(epoch: int) -> float:
            return beta if warmup == 0 else beta * min(1.0, (epoch + 1) / warmup)

        return weight

    def _warn_on_collapse(self, history: History) -> None:
        if not history.diagnostics:
            return
        report = history.diagnostics[-1][self._sampling]
        if report is None:
            return
        active, latent = int(report["active_dimensions"]), self.latent_features
        if active < _COLLAPSED_SHARE * latent:
            warn(
                f"posterior collapse: {latent - active} of the {latent} latent dimensions carry almost no information "
                "(KL to the prior below 0.01 nats in the last epoch); a smaller latent space, a lower beta or "
                "kl_warmup_epochs may help",
                RuntimeWarning,
            )

    # ------------------------------------------------------------------- the data ----

    def _check_data(self, X: Any, name: str = "X") -> np.ndarray:
        rows = as_matrix(X, name, self.dtype.type, features=self.input_features)
        if self.reconstruction == "bernoulli" and (rows.min() < 0 or rows.max() > 1):
            raise ValueError(
                f"reconstruction='bernoulli' needs {name} in [0, 1] (found values in [{rows.min():.4g}, {rows.max():.4g}]): "
                "use reconstruction='gaussian' for real-valued data, or scale the data to [0, 1]"
            )
        return rows

    def _classes(self, y: Any, samples: int, name: str) -> Optional[np.ndarray]:
        """The integer classes of a conditional model's rows; ValueError if missing or out of
        range, or given to a model that is not conditional."""
        if not self.n_classes:
            if y is not None:
                raise ValueError(f"{name} is given but this VAE is not conditional: build it with n_classes= to learn from labels")
            return None
        if y is None:
            raise ValueError(f"this VAE is conditional (n_classes={self.n_classes}): give the class of every sample as {name}")
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != samples:
            raise ValueError(f"{name} must hold one class per sample ({samples}), got shape {labels.shape}")
        if labels.dtype.kind not in "iu" and not (labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))):
            raise TypeError(f"{name} must hold integer classes, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
        bad = np.flatnonzero((labels < 0) | (labels >= self.n_classes))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] = {labels[bad[0]]} is not a class of this model (classes are 0 to {self.n_classes - 1})")
        return np.ascontiguousarray(labels)

    def _with_classes(self, rows: np.ndarray, y: Any, name: str) -> np.ndarray:
        """``rows`` with the one-hot rows of their classes appended (a conditional model)."""
        classes = self._classes(y, len(rows), name)
        if classes is None:
            return rows
        one_hot = np.zeros((len(rows), cast(int, self.n_classes)), dtype=rows.dtype)
        one_hot[np.arange(len(rows)), classes] = 1
        return np.hstack([rows, one_hot])

    # ---------------------------------------------------------------- persistence ----

    def to_onnx(self, path: Any = None, *, part: str = "decoder", opset: Optional[int] = None) -> Any:
        """The decoder as a generator, or the encoder's mean, as an ONNX graph (see
        :meth:`Sequential.to_onnx`); written atomically to ``path`` too when it is given.

        ``part="decoder"`` takes ``input`` ``(batch, latent_features [+ n_classes])``, the
        latent points with their one-hot classes for a conditional model, and gives the data;
        ``part="encoder"`` takes the data (with the one-hot classes) and gives the latent means.
        """
        from steepest.export import onnx as onnx_export  # onnx is optional: imported when used

        if part not in ("decoder", "encoder"):
            raise ValueError(f"part must be 'decoder' or 'encoder', got {part!r}")
        model = self.decoder if part == "decoder" else self.encoder
        dense = [layer for layer in model.layers if isinstance(layer, Dense)]
        columns = None if part == "decoder" else (0, self.latent_features)
        return onnx_export.dense_model(dense, self.dtype, columns=columns, opset=opset, path=path, name=f"VAE {part}")

    def _config(self) -> Dict[str, Any]:
        return {"reconstruction": self.reconstruction, "beta": self.beta, "n_classes": self.n_classes}

    @classmethod
    def _from_saved(cls, layers: List[Layer], dtype: np.dtype, seed: int, config: Dict[str, Any]) -> "VAE":
        n_classes = config.get("n_classes")
        classes = 0 if n_classes is None else _check_classes(n_classes)
        sampling = [i for i, layer in enumerate(layers) if isinstance(layer, GaussianSample)]
        conditions = [i for i, layer in enumerate(layers) if isinstance(layer, Condition)]
        expected_conditions = [0, sampling[0] + 1] if classes and sampling else []
        if len(sampling) != 1 or conditions != expected_conditions or any(cast(Condition, layers[i]).classes != classes for i in conditions):
            raise ValueError("a VAE has one sampling layer, and condition layers before its encoder and its decoder when it is conditional")
        dense = [layer for layer in layers if not isinstance(layer, (Condition, GaussianSample))]
        if not all(isinstance(layer, Dense) for layer in dense) or sampling[0] < 1 or not isinstance(layers[sampling[0] - 1], Dense):
            raise ValueError("a VAE is dense layers around its sampling layer")
        output = cast(Dense, layers[-1])
        model = cls._build(layers, dtype, seed)
        model.reconstruction = _check_reconstruction(config.get("reconstruction"), output.activation)
        model.beta = non_negative_float(config.get("beta"), "beta")
        model.n_classes = classes or None
        return model


def _check_reconstruction(reconstruction: Any, output_activation: str) -> str:
    if reconstruction not in RECONSTRUCTIONS:
        raise ValueError(f"unknown reconstruction {reconstruction!r}; expected one of: {', '.join(RECONSTRUCTIONS)}")
    if reconstruction == "bernoulli" and output_activation != "sigmoid":
        raise ValueError(f"reconstruction='bernoulli' needs output_activation='sigmoid' (its loss is computed from the logits), got {output_activation!r}")
    return cast(str, reconstruction)


def _check_classes(n_classes: Any) -> int:
    n_classes = positive_int(n_classes, "n_classes")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2 for a conditional VAE (or None), got {n_classes}")
    return int(n_classes)


def _check_warmup(epochs: Any) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"kl_warmup_epochs must be an int >= 0, got {epochs!r}")
    return int(epochs)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}")
    return int(seed)


def _pair(validation_data: Sequence[Any]) -> Tuple[Any, Any]:
    if len(validation_data) != 2:
        raise ValueError("validation_data must be X_val, or (X_val, y_val) for a conditional VAE")
    return validation_data[0], validation_data[1]
