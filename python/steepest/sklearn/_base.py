"""What the scikit-learn estimators share: their parameters turned into a steepest model and
optimizer, and scikit-learn's solvers replayed on the native training loop.

The stochastic solvers (``sklearn.neural_network``'s ``_fit_stochastic``) start from
scikit-learn's initial weights, drawn from the same ``random_state``, visit the rows in the
order its ``shuffle`` gives them and take the same steps: a float64 fit gives scikit-learn's
``coefs_`` to rounding. Per epoch, scikit-learn's bookkeeping runs between the engine's epochs
from a callback: ``loss_curve_``, the ``tol`` / ``n_iter_no_change`` test on the training
loss or on the validation score (``early_stopping``), the "invscaling" and "adaptive" learning
rates, and the ConvergenceWarning when ``max_iter`` is reached.

"lbfgs" hands scikit-learn's packing of the coefficients to SciPy's L-BFGS-B, each loss and
gradient one native pass over all rows (``Sequential.full_batch``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, cast

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils import shuffle as shuffle_rows
from sklearn.utils.validation import check_is_fitted, validate_data

from steepest._validation import checked_cast, require_unmasked
from steepest._warnings import warn
from steepest.nn import Dense, Sequential
from steepest.runtime import local_threads
from steepest.sklearn._conventions import LossConvention, loss_convention, reported_loss
from steepest.train import SGD, Adam, Callback, Optimizer, TrainingDivergedError, check_sample_weight

if TYPE_CHECKING:
    import onnx

    from steepest.export.onnx import Estimator
    from steepest.train import History

#: scikit-learn's activation names (and steepest's "sigmoid") to the engine's.
ENGINE_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: The engine's output activations by scikit-learn's names, for ``out_activation_``.
SKLEARN_ACTIVATIONS = {"identity": "identity", "sigmoid": "logistic", "softmax": "softmax", "tanh": "tanh", "relu": "relu", "exp": "exp"}

#: The sparse formats the estimators take, as scikit-learn's: read natively as CSR rows.
ACCEPT_SPARSE = ["csr", "csc"]
# scikit-learn's words, which its tests match.
NONFINITE_WEIGHTS = "Solver produced non-finite parameter weights. The input data may contain large values and need to be preprocessed."

# scikit-learn's SGD stops lowering an "adaptive" learning rate below this (sklearn's
# _stochastic_optimizers.SGDOptimizer.trigger_stopping).
_SMALLEST_ADAPTIVE_RATE = 1e-6
# The start of steepest.train.loop's warning about a rising training loss.
_RISING_LOSS_WARNING = "the training loss has risen"


def checked_data(estimator: Any, *arrays: Any, **settings: Any) -> Any:
    """scikit-learn's ``validate_data``, refusing masked arrays first: its conversion would
    drop their mask, training on the values under it as if they were data."""
    for name, array in zip(("X", "y"), arrays):
        require_unmasked(array, name)
    return validate_data(estimator, *arrays, **settings)


class CurrentLearningRate:
    """The learning rate scikit-learn's schedules set between epochs; the optimizer reads it
    at the start of each epoch.

    Its repr is fixed so that ``Sequential.partial_fit``, which keeps the optimizer's state
    while the optimizer's repr is unchanged, keeps momentum and Adam's moments when the rate
    changes between calls (as scikit-learn does).
    """

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, epoch: int) -> float:
        return self.value

    def __repr__(self) -> str:
        return "CurrentLearningRate()"


class _EpochBookkeeping(Callback):
    """Runs the estimator's per-epoch bookkeeping inside ``Sequential.fit``."""

    def __init__(self, end_epoch: Any) -> None:
        super().__init__()
        self._end_epoch = end_epoch

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        assert self.model is not None and logs is not None
        if self._end_epoch(logs):
            self.model.stop_training = True


@contextmanager
def threads(n_threads: Optional[int]) -> Iterator[None]:
    """Use ``n_threads`` steepest threads inside the block on this thread only: estimators
    fitting at once in other threads keep their own counts, and the process's is untouched."""
    with local_threads(None if n_threads is None else int(n_threads)):
        yield


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class BaseMLP(BaseEstimator):
    """The parameters and training loop of :class:`MLPClassifier`, :class:`MLPRegressor` and
    :class:`AutoencoderTransformer`. Subclasses give the data checks, targets and model."""

    #: Start from scikit-learn's initial weights (Glorot-uniform weights and biases from
    #: ``random_state``); the autoencoder, with no scikit-learn twin, keeps steepest's.
    _sklearn_initialisation = True

    # ----------------------------------------------------------------- parameters ----

    def _hidden_sizes(self) -> List[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        _require(all(_is_int(size) and size > 0 for size in sizes), f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes!r}")
        return [int(size) for size in sizes]

    def _hidden_activations(self, layers: int) -> List[str]:
        names = [self.activation] * layers if isinstance(self.activation, str) else list(self.activation)
        _require(
            len(names) == layers,
            f"activation is a list of {len(names)} names but there are {layers} hidden layers; give one name per hidden layer or a single name",
        )
        for name in names:
            _require(name in ENGINE_ACTIVATIONS, f"unknown activation {name!r}; expected one of: identity, logistic, tanh, relu")
        return [ENGINE_ACTIVATIONS[name] for name in names]

    def _solvers(self) -> Tuple[str, ...]:
        return ("adam", "sgd", "lbfgs")

    def _check_parameters(self) -> None:
        """ValueError naming the first invalid parameter (scikit-learn checks at fit too)."""
        self._hidden_activations(len(self._hidden_sizes()))
        solvers = self._solvers()
        _require(self.solver in solvers, f"solver must be one of {', '.join(repr(s) for s in solvers)}, got {self.solver!r}")
        _require(_is_number(self.alpha) and self.alpha >= 0, f"alpha must be a number >= 0, got {self.alpha!r}")
        _require(_is_number(self.l1) and self.l1 >= 0, f"l1 must be a number >= 0, got {self.l1!r}")
        _require(
            self.batch_size == "auto" or (_is_int(self.batch_size) and self.batch_size >= 1),
            f"batch_size must be 'auto' or an int >= 1, got {self.batch_size!r}",
        )
        _require(
            self.learning_rate in ("constant", "invscaling", "adaptive"),
            f"learning_rate must be 'constant', 'invscaling' or 'adaptive', got {self.learning_rate!r}",
        )
        _require(_is_number(self.learning_rate_init) and self.learning_rate_init > 0, f"learning_rate_init must be > 0, got {self.learning_rate_init!r}")
        _require(_is_number(self.power_t) and self.power_t >= 0, f"power_t must be >= 0, got {self.power_t!r}")
        _require(_is_int(self.max_iter) and self.max_iter >= 1, f"max_iter must be an int >= 1, got {self.max_iter!r}")
        _require(_is_number(self.tol) and self.tol >= 0, f"tol must be >= 0, got {self.tol!r}")
        _require(_is_number(self.momentum) and 0 <= self.momentum <= 1, f"momentum must be in [0, 1], got {self.momentum!r}")
        _require(
            _is_number(self.validation_fraction) and 0 < self.validation_fraction < 1,
            f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}",
        )
        for name in ("beta_1", "beta_2"):
            value = getattr(self, name)
            _require(_is_number(value) and 0 <= value < 1, f"{name} must be in [0, 1), got {value!r}")
        _require(_is_number(self.epsilon) and self.epsilon > 0, f"epsilon must be > 0, got {self.epsilon!r}")
        _require(
            (_is_int(self.n_iter_no_change) and self.n_iter_no_change >= 1) or self.n_iter_no_change == math.inf,
            f"n_iter_no_change must be an int >= 1 or np.inf, got {self.n_iter_no_change!r}",
        )
        _require(
            _is_int(getattr(self, "max_fun", 1)) and getattr(self, "max_fun", 1) >= 1, f"max_fun must be an int >= 1, got {getattr(self, 'max_fun', None)!r}"
        )
        _require(
            self.dtype is None or self.dtype in ("float32", "float64", np.float32, np.float64),
            f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}",
        )
        _require(
            self.precision in (None, "bfloat16"),
            f"precision must be None or 'bfloat16', got {self.precision!r}",
        )
        _require(
            self.precision is None or self.dtype is None or np.dtype(self.dtype) == np.float32,
            f"precision='bfloat16' trains float32 models; dtype={self.dtype!r} asks for float64 (use dtype='float32' or None)",
        )
        _require(self.n_threads is None or (_is_int(self.n_threads) and self.n_threads >= 1), f"n_threads must be None or an int >= 1, got {self.n_threads!r}")

    def _forced_dtype(self) -> Any:
        """``dtype``, or float32 when only ``precision="bfloat16"`` (which trains float32
        models) decides it."""
        return "float32" if self.dtype is None and self.precision == "bfloat16" else self.dtype

    def _numpy_dtype(self) -> type:
        """The precision a forced ``dtype`` asks for (float64 for None: see _data_dtype)."""
        dtype = self._forced_dtype()
        return np.float32 if dtype is not None and np.dtype(dtype) == np.float32 else np.float64

    def _data_dtype(self) -> Any:
        """What validate_data converts X to: scikit-learn's rule (float32 stays float32,
        anything else becomes float64) unless ``dtype`` forces one."""
        return (np.float64, np.float32) if self._forced_dtype() is None else self._numpy_dtype()

    def _batch_size(self, samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, samples)
        if self.batch_size > samples:
            # scikit-learn's warning, word for word.
            warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped", UserWarning)
        return min(int(self.batch_size), samples)

    def _engine_rate(self, rate: float) -> float:
        return rate / self._convention.gradient_scale if self.solver == "sgd" else rate

    def _new_optimizer(self) -> Optimizer:
        # The penalties are per unit of batch weight (penalty_per_weight), as scikit-learn's
        # alpha / n: see _conventions.
        scale = self._convention.gradient_scale
        l1, l2 = scale * self.l1, scale * self.alpha
        if self.solver == "sgd":
            nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
            return SGD(lr=self._rate, momentum=float(self.momentum), nesterov=nesterov, l1=l1, l2=l2)
        return Adam(
            lr=self._rate, beta1=float(self.beta_1), beta2=float(self.beta_2), eps=float(self.epsilon) * scale, l1=l1, l2=l2, eps_before_correction=True
        )

    def _set_learning_rate(self, rate: float) -> None:
        self._learning_rate = rate
        self._rate.value = self._engine_rate(rate)

    # -------------------------------------------------------- subclass interface ----

    def _validate_fit_data(self, X: Any, y: Any, reset: bool, incremental: bool) -> Tuple[np.ndarray, Any, np.ndarray]:
        """``(X, y, targets)``: checked data, ``y`` as given (for scoring), engine targets."""
        raise NotImplementedError

    def _engine_output(self, targets: np.ndarray) -> Tuple[int, str, str]:
        """``(outputs, output activation, engine loss)`` for these targets."""
        raise NotImplementedError

    def _fit_weights(self, y: Any, sample_weight: Any, incremental: bool) -> Any:
        """The rows' weights for training: ``sample_weight`` (the classifier multiplies in
        its class weights)."""
        return sample_weight

    def _build_model(self, features: int, outputs: int, output_activation: str, seed: int, dtype: type) -> Sequential:
        hidden = self._hidden_sizes()
        widths = [features] + hidden
        activations = self._hidden_activations(len(hidden))
        layers = [Dense(a, b, act) for a, b, act in zip(widths[:-1], widths[1:], activations)]
        layers.append(Dense(widths[-1], outputs, output_activation))
        return Sequential(layers, seed=seed, dtype=dtype, precision=self.precision)

    def _validation_score(self, output: np.ndarray, y: Any, sample_weight: Optional[np.ndarray]) -> float:
        """Higher is better, from the model's output on the validation rows: the
        early-stopping criterion (scikit-learn's ``_score``)."""
        raise NotImplementedError

    # ---------------------------------------------------------- fitted attributes ----

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _dense_layers(self) -> List[Dense]:
        return [layer for layer in self.model_.layers if isinstance(layer, Dense)]

    @property
    def coefs_(self) -> List[np.ndarray]:
        """Weight matrices ``(in, out)`` per layer: writable views onto the model."""
        return [layer.weight for layer in self._dense_layers()]

    @property
    def intercepts_(self) -> List[np.ndarray]:
        """Bias vectors per layer: writable views onto the model."""
        return [layer.bias for layer in self._dense_layers()]

    def _forward(self, X: Any) -> np.ndarray:
        if self._passes_as_is(X):
            if self.n_threads is None:  # a context manager costs a microsecond
                return self.model_.predict(X)
        else:
            check_is_fitted(self)
            X = checked_data(self, X, reset=False, dtype=self.model_.dtype.type, accept_sparse=ACCEPT_SPARSE)
        with threads(self.n_threads):
            return self.model_.predict(X)

    def _passes_as_is(self, X: Any) -> bool:
        """True if ``X`` is what scikit-learn's checks (``validate_data``, ten times the cost
        of predicting one row) would pass unchanged: a finite, C-contiguous ndarray of the
        fitted width in the model's dtype, given to a fitted estimator that was not fitted
        with feature names (whose check warns about an ndarray). Anything else takes those
        checks, so that bad input gets scikit-learn's errors either way."""
        model = self.__dict__.get("model_")
        return (
            model is not None
            and type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype == model.dtype
            and X.flags.c_contiguous
            and X.shape[0] > 0
            and X.shape[1] == self.__dict__.get("n_features_in_")
            and "feature_names_in_" not in self.__dict__
            and bool(np.isfinite(X).all())
        )

    # ---------------------------------------------------------------------- export ----

    def to_onnx(self, path: Any = None, *, opset: Optional[int] = None) -> "onnx.ModelProto":
        """The fitted estimator as an ONNX graph under skl2onnx's names, for onnxruntime or any
        other ONNX runtime; written atomically to ``path`` too when it is given. Needs ``pip
        install 'steepest[onnx]'``.

        The graph takes ``X`` ``(batch, n_features_in_)`` in ``dtype``. A classifier gives
        ``label`` (its classes: int64 for numbers, string for strings; an int64 indicator
        matrix for multi-label targets) and ``probabilities`` (as ``predict`` and
        ``predict_proba``); a regressor ``variable`` ``(batch, n_outputs_)``; the autoencoder
        transformer ``variable`` ``(batch, n_components)``, the encoding. Inside a Pipeline,
        ``skl2onnx.to_onnx(pipeline, X)`` converts it too (steepest registers its converters
        with skl2onnx).

        Parameters
        ----------
        path : str or os.PathLike, optional
            The folder must exist; a failed export leaves no partial file.
        opset : int, default 17
            The ONNX operator set, 13 or newer.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self)
        from steepest.export import onnx as onnx_export  # onnx is optional: imported when used

        return onnx_export.estimator_model(self._onnx_facts(), opset=opset, path=path, name=type(self).__name__)

    def _onnx_facts(self) -> "Estimator":
        """What the ONNX graph of this fitted estimator is made from (also read by the
        skl2onnx converter registered in steepest.sklearn)."""
        from steepest.export.onnx import Estimator

        return Estimator(self._dense_layers(), self.model_.dtype, getattr(self, "classes_", None))

    # -------------------------------------------------------------------- training ----

    def _fit(self, X: Any, y: Any, incremental: bool, sample_weight: Any = None, validation_set: Optional[Tuple[Any, Any, Any]] = None) -> "BaseMLP":
        self._check_parameters()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if validation_set is not None and not self.early_stopping:
            raise ValueError("X_val and y_val are the early-stopping validation set: set early_stopping=True to use them")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y, targets = self._validate_fit_data(X, y, first_pass, incremental)
        weights = self._fit_weights(y, sample_weight, incremental)
        if weights is not None:
            weights = check_sample_weight(weights, X.shape[0], X.dtype.type)
        outputs, output_activation, engine_loss = self._engine_output(targets)
        # As scikit-learn: a fresh generator from random_state at each fit, drawn in its order
        # (initial weights on the first pass, the early-stopping split, each epoch's shuffle).
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], outputs, output_activation, engine_loss, rng, X.dtype.type)
        elif self.model_.output_features != outputs:
            raise ValueError(f"the targets need {outputs} outputs but the fitted model has {self.model_.output_features}")
        X, targets = self._in_model_dtype(X, targets)
        with threads(self.n_threads):
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, targets, weights)
            elif incremental:
                self._partial_pass(X, targets, weights, rng)
            else:
                self._fit_epochs(X, y, targets, weights, rng, validation_set)
        if not all(np.isfinite(p).all() for p in self.coefs_ + self.intercepts_):
            raise ValueError(NONFINITE_WEIGHTS)
        return self

    def _in_model_dtype(self, X: Any, targets: np.ndarray) -> Tuple[Any, np.ndarray]:
        """``X`` and the targets in the fitted model's dtype (a warm start may be given data
        of another precision), checked after the conversion: 1e300 into float32 is an
        error that says so."""
        dtype = self.model_.dtype.type
        if X.dtype == dtype:
            return X, targets
        return checked_cast(X, "X", dtype), targets if targets.dtype.kind == "i" else checked_cast(targets, "y", dtype)

    def _initialize(self, features: int, outputs: int, output_activation: str, engine_loss: str, rng: np.random.RandomState, dtype: type) -> None:
        if self._forced_dtype() is not None:
            dtype = self._numpy_dtype()
        if self._sklearn_initialisation:
            self.model_ = self._build_model(features, outputs, output_activation, 0, dtype)
            self._draw_initial_weights(rng)
        else:
            self.model_ = self._build_model(features, outputs, output_activation, int(rng.randint(np.iinfo(np.int32).max)), dtype)
        self.n_outputs_ = outputs
        self.n_layers_ = len(self._hidden_sizes()) + 2
        self.out_activation_ = SKLEARN_ACTIVATIONS[output_activation]
        self._convention: LossConvention = loss_convention(engine_loss, outputs)
        self.n_iter_ = 0
        self.t_ = 0
        self.history_: Optional[History] = None
        self._optimizer: Optional[Optimizer] = None
        if self.solver == "lbfgs":
            return
        self.loss_curve_: List[float] = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_: Optional[List[float]] = []
            self.validation_loss_curve_: Optional[List[float]] = []
            self.best_validation_score_: Optional[float] = -np.inf
            self.best_loss_: Optional[float] = None
        else:
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _draw_initial_weights(self, rng: np.random.RandomState) -> None:
        """scikit-learn's initialisation (Glorot & Bengio, 2010), drawn from ``rng`` in its
        order: per layer the weights, then the biases, uniform in ±√(6 / (fan_in + fan_out)),
        ±√(2 / ...) when the hidden activation is logistic. A list of activations uses 2 for
        the layers into a logistic one."""
        activations = [self.activation] * len(self._hidden_sizes()) if isinstance(self.activation, str) else list(self.activation)
        for index, (weight, bias) in enumerate(zip(self.coefs_, self.intercepts_)):
            fan_in, fan_out = weight.shape
            logistic = (
                self.activation in ("logistic", "sigmoid")
                if isinstance(self.activation, str)
                else index < len(activations) and activations[index] in ("logistic", "sigmoid")
            )
            bound = math.sqrt((2.0 if logistic else 6.0) / (fan_in + fan_out))
            weight[...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            bias[...] = rng.uniform(-bound, bound, fan_out)

    def _split_for_early_stopping(
        self, X: np.ndarray, y: Any, targets: np.ndarray, weights: Optional[np.ndarray], rng: np.random.RandomState
    ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Tuple[np.ndarray, Any, np.ndarray, Optional[np.ndarray]]]:
        """scikit-learn's held-out split: the same rows from the same generator, stratified
        on its binarized labels when there is one output (binary classification)."""
        stratify = None
        if is_classifier(self) and self.n_outputs_ == 1:
            stratify = self._label_binarizer.transform(y).astype(bool)
        train, held_out = train_test_split(np.arange(X.shape[0]), random_state=rng, test_size=self.validation_fraction, stratify=stratify)
        if len(held_out) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your dataset.")
        validation = (X[held_out], y[held_out], targets[held_out], None if weights is None else weights[held_out])
        return X[train], targets[train], None if weights is None else weights[train], validation

    def _given_validation_set(self, validation_set: Tuple[Any, Any, Any]) -> Tuple[np.ndarray, Any, np.ndarray, Optional[np.ndarray]]:
        X_val, y_val, sample_weight_val = validation_set
        if X_val is None or y_val is None:
            raise ValueError("give both X_val and y_val")
        X_val, y_val, targets_val = self._validate_validation_data(X_val, y_val)
        weights_val = None if sample_weight_val is None else check_sample_weight(sample_weight_val, X_val.shape[0], X_val.dtype.type, "sample_weight_val")
        return X_val, y_val, targets_val, weights_val

    def _validate_validation_data(self, X: Any, y: Any) -> Tuple[np.ndarray, Any, np.ndarray]:
        """A user's validation rows, checked as the training rows without refitting anything."""
        raise NotImplementedError

    def _fit_epochs(
        self,
        X: np.ndarray,
        y: Any,
        targets: np.ndarray,
        weights: Optional[np.ndarray],
        rng: np.random.RandomState,
        validation_set: Optional[Tuple[Any, Any, Any]],
    ) -> None:
        validation = None
        if self.early_stopping:
            if validation_set is not None:
                validation = self._given_validation_set(validation_set)
            else:
                X, targets, weights, validation = self._split_for_early_stopping(X, y, targets, weights, rng)
            self._best_parameters = self.model_.get_parameters()
        samples = X.shape[0]
        batch_size = self._batch_size(samples)
        # A fit starts a new optimizer, as scikit-learn's does (warm_start keeps only weights).
        self._rate = CurrentLearningRate(0.0)
        self._set_learning_rate(float(self.learning_rate_init))
        self._optimizer = self._new_optimizer()
        self.n_iter_ = 0
        rows = np.arange(samples, dtype=np.int64)

        def epoch_order(epoch: int) -> np.ndarray:
            # scikit-learn shuffles the previous epoch's order, with sklearn.utils.shuffle.
            nonlocal rows
            rows = cast(np.ndarray, shuffle_rows(rows, random_state=rng))
            return rows

        def end_epoch(logs: Dict[str, Any]) -> bool:
            return self._end_epoch(logs, samples, validation, incremental=False)

        try:
            with warnings.catch_warnings():
                # The engine warns after 3 epochs of rising loss; mini-batch noise on a plateau
                # does that, and scikit-learn's MLPs stay silent there (its conformance checks on
                # random labels trip it).
                warnings.filterwarnings("ignore", message=_RISING_LOSS_WARNING, category=RuntimeWarning)
                self.history_ = self.model_.fit(
                    X,
                    targets,
                    epochs=int(self.max_iter),
                    batch_size=batch_size,
                    optimizer=self._optimizer,
                    loss=self._convention.engine_loss,
                    shuffle=epoch_order if self.shuffle else False,
                    callbacks=[_EpochBookkeeping(end_epoch)],
                    verbose=0,
                    diagnostics=bool(self.diagnostics),
                    sample_weight=weights,
                    penalty_per_weight=True,
                )
        except TrainingDivergedError:
            if not self.early_stopping:
                raise ValueError(NONFINITE_WEIGHTS) from None
            # scikit-learn trains on with NaN weights, scoring NaN, until n_iter_no_change
            # stops it; the native loop stops at the first non-finite batch, the model back
            # to finite weights. Either way the best epoch's weights are kept.
            self.n_iter_ += 1
            self.loss_curve_.append(math.nan)
            cast(List[float], self.validation_scores_).append(math.nan)
            cast(List[float], self.validation_loss_curve_).append(math.nan)
        if self.early_stopping:
            self.model_.set_parameters(self._best_parameters)

    def _partial_pass(self, X: np.ndarray, targets: np.ndarray, weights: Optional[np.ndarray], rng: np.random.RandomState) -> None:
        samples = X.shape[0]
        batch_size = self._batch_size(samples)
        if self._optimizer is None:
            # scikit-learn keeps its optimizer across partial_fit calls, batch size and all.
            self._rate = CurrentLearningRate(0.0)
            self._set_learning_rate(float(self.learning_rate_init))
            self._optimizer = self._new_optimizer()
        order = shuffle_rows(np.arange(samples, dtype=np.int64), random_state=rng) if self.shuffle else None
        self.n_iter_ = 0
        try:
            logs = self.model_.partial_fit(
                X,
                targets,
                batch_size=batch_size,
                optimizer=self._optimizer,
                loss=self._convention.engine_loss,
                sample_weight=weights,
                order=order,
                penalty_per_weight=True,
                metrics=True,
            )
        except TrainingDivergedError:
            raise ValueError(NONFINITE_WEIGHTS) from None
        self._end_epoch(logs, samples, None, incremental=True)

    def _fit_lbfgs(self, X: np.ndarray, targets: np.ndarray, weights: Optional[np.ndarray]) -> None:
        """scikit-learn's ``_fit_lbfgs``: SciPy's L-BFGS-B over its packing of the parameters
        (every layer's weights, then every layer's biases), with the same options."""
        from scipy.optimize import minimize  # only this solver needs SciPy

        loss_and_gradient, start = self._lbfgs_objective(X, targets, weights)
        options: Dict[str, Any] = {"maxfun": int(self.max_fun), "maxiter": int(self.max_iter), "gtol": float(self.tol)}
        if _scipy_takes_iprint():
            options["iprint"] = 1 if self.verbose is True or self.verbose >= 1 else -1
        result = minimize(loss_and_gradient, start, method="L-BFGS-B", jac=True, options=options)
        if result.status != 0:
            warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): {result.message}\n\n"
                f"Increase the number of iterations (max_iter={self.max_iter}) or max_fun (max_fun={self.max_fun}), or scale the data.",
                ConvergenceWarning,
            )
        self.n_iter_ = min(int(result.nit), int(self.max_iter))
        self.loss_ = float(result.fun)
        block = self.model_.get_parameters()
        block[self._packing()] = result.x
        self.model_.set_parameters(block)

    def _lbfgs_objective(self, X: np.ndarray, targets: np.ndarray, weights: Optional[np.ndarray]) -> Tuple[Any, np.ndarray]:
        """``(f, x0)``: scikit-learn's ``_loss_grad_lbfgs`` as a function of its packed
        parameters (float64), each call one native pass over all rows, and the packed
        current parameters."""
        full_batch = self.model_.full_batch(X, targets, loss=self._convention.engine_loss, sample_weight=weights)
        packing = self._packing()
        coefficients = sum(weight.size for weight in self.coefs_)
        total_weight = float(X.shape[0] if weights is None else weights.sum(dtype=np.float64))
        block = self.model_.get_parameters()
        convention = self._convention

        def loss_and_gradient(packed: np.ndarray) -> Tuple[float, np.ndarray]:
            block[packing] = packed
            loss, gradient = full_batch(block)
            # On scikit-learn's scale, plus its penalty alpha / (2 Σw) · ||W||² (and steepest's l1).
            weights_part = packed[:coefficients]
            penalty = 0.5 * self.alpha * float(weights_part @ weights_part) + self.l1 * float(np.abs(weights_part).sum())
            packed_gradient = gradient[packing].astype(np.float64) / convention.gradient_scale
            packed_gradient[:coefficients] += (self.alpha * weights_part + self.l1 * np.sign(weights_part)) / total_weight
            return convention.reported_scale * loss + penalty / total_weight, packed_gradient

        return loss_and_gradient, block[packing].astype(np.float64)

    def _packing(self) -> np.ndarray:
        """Where scikit-learn's packed vector (all weights, then all biases) sits in the
        model's parameter block ([W0, b0, W1, b1, ...])."""
        weights, biases, at = [], [], 0
        for weight in self.coefs_:
            weights.append(np.arange(at, at + weight.size))
            at += weight.size
            biases.append(np.arange(at, at + weight.shape[1]))
            at += weight.shape[1]
        return np.concatenate(weights + biases)

    def _end_epoch(
        self, logs: Dict[str, Any], samples: int, validation: Optional[Tuple[np.ndarray, Any, np.ndarray, Optional[np.ndarray]]], incremental: bool
    ) -> bool:
        """scikit-learn's bookkeeping after an epoch; True to stop training."""
        self.n_iter_ += 1
        # scikit-learn's loss_: its scale of the mean loss, plus its penalty, which the engine
        # applied as gradient_scale times scikit-learn's.
        self.loss_ = self._convention.reported_scale * logs["loss"] + logs.get("penalty", 0.0) / self._convention.gradient_scale
        self.t_ += samples
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        self._update_no_improvement_count(validation)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._set_learning_rate(self.learning_rate_init / (self.t_ + 1) ** self.power_t)
        if self._no_improvement_count > self.n_iter_no_change:
            if self._stop_or_lower_rate():
                return True
            self._no_improvement_count = 0
        if not incremental and self.n_iter_ == self.max_iter:
            warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
            )
        return False

    def _update_no_improvement_count(self, validation: Optional[Tuple[np.ndarray, Any, np.ndarray, Optional[np.ndarray]]]) -> None:
        # A validation set means early stopping: validation_scores_ and best_validation_score_
        # are set; without it best_loss_ is.
        if validation is not None:
            X_val, y_val, targets_val, weights_val = validation
            output = self.model_.predict(X_val)
            finite = bool(np.isfinite(output).all())
            score = self._validation_score(output, y_val, weights_val) if finite else math.nan
            cast(List[float], self.validation_scores_).append(score)
            loss = reported_loss(self._convention, output, targets_val, weights_val) if finite else math.nan
            cast(List[float], self.validation_loss_curve_).append(loss)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > cast(float, self.best_validation_score_):
                self.best_validation_score_ = score
                self._best_parameters = self.model_.get_parameters()
            return
        loss = self.loss_curve_[-1]
        if loss > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if loss < cast(float, self.best_loss_):
            self.best_loss_ = loss

    def _stop_or_lower_rate(self) -> bool:
        what = "Validation score" if self.early_stopping else "Training loss"
        message = f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive epochs."
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(message + " Stopping.")
            return True
        if self._learning_rate <= _SMALLEST_ADAPTIVE_RATE:
            if self.verbose:
                print(message + " Learning rate too small. Stopping.")
            return True
        self._set_learning_rate(self._learning_rate / 5.0)
        if self.verbose:
            print(message + f" Setting learning rate to {self._learning_rate:f}")
        return False


def _scipy_takes_iprint() -> bool:
    """SciPy's L-BFGS-B ignores iprint from 1.15 on (and warns that it does)."""
    import scipy

    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    return (major, minor) < (1, 15)
