"""MLPRegressor: scikit-learn's, trained by steepest's native loop."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union, cast

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from steepest._validation import converted
from steepest.sklearn._base import ACCEPT_SPARSE, BaseMLP, checked_data
from steepest.sklearn._parameters import FITTED_ATTRIBUTES, MAX_FUN_PARAMETER, SOLVER_PARAMETERS


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multilayer perceptron regressor, a drop-in replacement for
        ``sklearn.neural_network.MLPRegressor``: the same parameters, defaults and fitted
        attributes; training runs in steepest's native loop.

        Trains an identity output on the squared error, or an exponential output on half the
        Poisson deviance; ``y`` may have several columns (multi-output regression).

        Parameters
        ----------
        loss : {"squared_error", "poisson"}, default "squared_error"
            "poisson" predicts ``exp`` of the last layer (a mean, for counts or rates) and needs
            ``y >= 0``.
        hidden_layer_sizes : int or tuple of int, default (100,)
        activation : str or list of str, default "relu"
            Of the hidden layers: "identity", "logistic" (or "sigmoid"), "tanh", "relu"; a list
            gives one per hidden layer (not in scikit-learn).
    {solver_parameters}
        Attributes
        ----------
    {fitted_attributes}
        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.preprocessing import StandardScaler
        >>> from steepest.sklearn import MLPRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> X = StandardScaler().fit_transform(X)
        >>> reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=500, random_state=0)
        >>> reg.fit(X, y / 100).score(X, y / 100) > 0.4
        True
    """

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: Union[str, Sequence[str]] = "relu",
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
        max_fun: int = 15000,
        l1: float = 0.0,
        dtype: Any = None,
        n_threads: Optional[int] = None,
        diagnostics: bool = False,
        precision: Optional[str] = None,
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
        self.max_fun = max_fun
        self.l1 = l1
        self.dtype = dtype
        self.n_threads = n_threads
        self.diagnostics = diagnostics
        self.precision = precision

    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, X_val: Any = None, y_val: Any = None, sample_weight_val: Any = None) -> "MLPRegressor":
        """Train on ``X`` and targets ``y`` (a vector, or a matrix for several outputs), each
        row weighted by ``sample_weight`` (scikit-learn's semantics: the loss is the weighted
        mean, the L2 penalty divided by the sum of the weights). With ``early_stopping``,
        ``X_val`` and ``y_val`` (and ``sample_weight_val``) are the held-out rows instead of
        a ``validation_fraction`` of ``X`` (not in scikit-learn; its issue 18748)."""
        validation = None if X_val is None and y_val is None else (X_val, y_val, sample_weight_val)
        return self._fit(X, y, incremental=False, sample_weight=sample_weight, validation_set=validation)

    def _can_partial_fit(self) -> bool:
        return self.solver != "lbfgs"

    @available_if(_can_partial_fit)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """One epoch over ``(X, y)``. Not available with ``solver="lbfgs"``, as in
        scikit-learn."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _check_parameters(self) -> None:
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"loss must be 'squared_error' or 'poisson', got {self.loss!r}")
        super()._check_parameters()

    def _targets(self, X: np.ndarray, y: Any) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (np.asarray(y) < 0).any():
            raise ValueError("loss='poisson' needs y >= 0 (counts or rates)")
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        return converted(targets, "y", X.dtype.type)

    def _validate_fit_data(self, X: Any, y: Any, reset: bool, incremental: bool) -> Tuple[np.ndarray, Any, np.ndarray]:
        X, y = checked_data(self, X, y, multi_output=True, y_numeric=True, dtype=self._data_dtype(), reset=reset, accept_sparse=ACCEPT_SPARSE)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, self._targets(X, y)

    def _validate_validation_data(self, X: Any, y: Any) -> Tuple[np.ndarray, Any, np.ndarray]:
        X = checked_data(self, X, reset=False, dtype=self.model_.dtype.type, accept_sparse=ACCEPT_SPARSE)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(f"y_val has {len(y)} rows but X_val has {X.shape[0]}")
        return X, y, self._targets(X, y)

    def _engine_output(self, targets: np.ndarray) -> Tuple[int, str, str]:
        if self.loss == "poisson":
            return targets.shape[1], "exp", "poisson"
        return targets.shape[1], "identity", "mse"

    def _validation_score(self, output: np.ndarray, y: Any, sample_weight: Optional[np.ndarray]) -> float:
        return float(r2_score(y, output.ravel() if self.n_outputs_ == 1 else output, sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets: ``(n_samples,)``, or ``(n_samples, n_outputs)`` for several."""
        output = self._forward(X)
        return output.ravel() if self.n_outputs_ == 1 else output


MLPRegressor.__doc__ = (
    cast(str, MLPRegressor.__doc__).replace("{solver_parameters}", SOLVER_PARAMETERS + MAX_FUN_PARAMETER).replace("{fitted_attributes}", FITTED_ATTRIBUTES)
)
