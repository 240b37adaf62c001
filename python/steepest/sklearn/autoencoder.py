"""AutoencoderTransformer: a steepest Autoencoder as a scikit-learn transformer, for pipelines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple, Union, cast

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from steepest._validation import int_at_least
from steepest.nn import Autoencoder, Dense, Sequential
from steepest.sklearn._base import ENGINE_ACTIVATIONS, BaseMLP, checked_data, threads
from steepest.sklearn._parameters import FITTED_ATTRIBUTES, SOLVER_PARAMETERS

if TYPE_CHECKING:
    from steepest.export.onnx import Estimator


class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseMLP):
    """Learns to compress the features into ``n_components`` latent ones and back.

        ``transform`` encodes, ``inverse_transform`` decodes, ``score_samples`` is minus each
        sample's mean squared reconstruction error (higher for more normal samples, as scikit-learn's
        outlier detectors score them; its negative is an anomaly score) and
        ``score`` its mean, so searches can tune an autoencoder without a scorer.

        Parameters
        ----------
        n_components : int, default 2
            Latent features.
        hidden_layer_sizes : int or tuple of int, default (100,)
            The encoder's hidden layers; the decoder mirrors them.
        activation : str, default "relu"
            Of the hidden layers: "identity", "logistic" (or "sigmoid"), "tanh", "relu".
        latent_activation : str, default "identity"
        output_activation : str, default "identity"
            "logistic" suits features scaled to [0, 1].
    {solver_parameters}
        Attributes
        ----------
    {fitted_attributes}
        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from steepest.sklearn import AutoencoderTransformer
        >>> X = load_digits().data / 16
        >>> ae = AutoencoderTransformer(n_components=8, hidden_layer_sizes=(32,), max_iter=300, random_state=0)
        >>> ae.fit_transform(X).shape
        (1797, 8)
        >>> ae.get_feature_names_out()[:2].tolist()
        ['autoencodertransformer0', 'autoencodertransformer1']
    """

    model_: Autoencoder  # built by _build_model below

    def __init__(
        self,
        n_components: int = 2,
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: str = "relu",
        latent_activation: str = "identity",
        output_activation: str = "identity",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, str] = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Union[int, np.random.RandomState, None] = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        l1: float = 0.0,
        dtype: Any = "float32",
        n_threads: Optional[int] = None,
        diagnostics: bool = False,
        precision: Optional[str] = None,
    ) -> None:
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.latent_activation = latent_activation
        self.output_activation = output_activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.l1 = l1
        self.dtype = dtype
        self.n_threads = n_threads
        self.diagnostics = diagnostics
        self.precision = precision

    def fit(self, X: Any, y: Any = None) -> "AutoencoderTransformer":
        """Train to reconstruct ``X`` (``y`` is ignored)."""
        return self._fit(X, None, incremental=False)

    def partial_fit(self, X: Any, y: Any = None) -> "AutoencoderTransformer":
        """One epoch over ``X``."""
        return self._fit(X, None, incremental=True)

    # No scikit-learn twin to match: steepest's initialisation, and the stochastic solvers.
    _sklearn_initialisation = False

    def _solvers(self) -> Tuple[str, ...]:
        return ("adam", "sgd")

    def _check_parameters(self) -> None:
        int_at_least(self.n_components, "n_components", 1)
        if not isinstance(self.activation, str):
            raise ValueError(f"an AutoencoderTransformer takes one activation name for its hidden layers, got {self.activation!r}")
        for name in ("latent_activation", "output_activation"):
            if getattr(self, name) not in ENGINE_ACTIVATIONS:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; expected one of: identity, logistic, tanh, relu")
        super()._check_parameters()

    def _validate_fit_data(self, X: Any, y: Any, reset: bool, incremental: bool) -> Tuple[np.ndarray, Any, np.ndarray]:
        X = checked_data(self, X, dtype=self._numpy_dtype(), reset=reset)
        return X, X, X

    def _engine_output(self, targets: np.ndarray) -> Tuple[int, str, str]:
        return targets.shape[1], ENGINE_ACTIVATIONS[self.output_activation], "mse"

    def _build_model(self, features: int, outputs: int, output_activation: str, seed: int, dtype: type) -> Sequential:
        return Autoencoder(
            [features, *self._hidden_sizes(), self.n_components],
            activation=ENGINE_ACTIVATIONS[self.activation],
            latent_activation=ENGINE_ACTIVATIONS[self.latent_activation],
            output_activation=output_activation,
            seed=seed,
            dtype=dtype,
            precision=self.precision,
        )

    def _validation_score(self, output: np.ndarray, y: Any, sample_weight: Optional[np.ndarray]) -> float:
        return -float(np.average(np.mean((output.astype(np.float64) - y) ** 2, axis=1), weights=sample_weight))

    @property
    def _n_features_out(self) -> int:
        return self.n_components

    def transform(self, X: Any) -> np.ndarray:
        """Latent codes ``(n_samples, n_components)``."""
        if not self._passes_as_is(X):
            check_is_fitted(self)
            X = checked_data(self, X, reset=False, dtype=self._numpy_dtype())
        with threads(self.n_threads):
            return self.model_.encode(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Reconstructed features ``(n_samples, n_features_in_)`` from latent codes."""
        check_is_fitted(self)
        Z = check_array(X, dtype=self._numpy_dtype())
        if Z.shape[1] != self.n_components:
            raise ValueError(f"X has {Z.shape[1]} features, but inverse_transform expects {self.n_components} latent features")
        with threads(self.n_threads):
            return self.model_.decode(Z)

    def score_samples(self, X: Any) -> np.ndarray:
        """Minus each sample's mean squared reconstruction error: higher for more normal samples
        (scikit-learn's convention for ``score_samples``); negate it for an anomaly score."""
        check_is_fitted(self)
        X = checked_data(self, X, reset=False, dtype=self._numpy_dtype())
        with threads(self.n_threads):
            return -self.model_.reconstruction_error(X)

    def _onnx_facts(self) -> "Estimator":
        # The transformer's graph is its transform: the encoder.
        from steepest.export.onnx import Estimator

        return Estimator([layer for layer in self.model_.encoder.layers if isinstance(layer, Dense)], self.model_.dtype)

    def score(self, X: Any, y: Any = None) -> float:
        """The mean of :meth:`score_samples`: minus the mean reconstruction error."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [np.dtype(self.dtype).name]
        return tags


AutoencoderTransformer.__doc__ = (
    cast(str, AutoencoderTransformer.__doc__).replace("{solver_parameters}", SOLVER_PARAMETERS).replace("{fitted_attributes}", FITTED_ATTRIBUTES)
)
