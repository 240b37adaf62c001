"""What the scikit-learn estimators share: their parameters turned into a steepest model and
optimizer, and scikit-learn's stochastic solver (``sklearn.neural_network``'s
``_fit_stochastic``) replayed on the native training loop.

Per epoch, scikit-learn's bookkeeping runs between the engine's epochs from a callback:
``loss_curve_``, the ``tol`` / ``n_iter_no_change`` test on the training loss or on the
validation score (``early_stopping``), the "invscaling" and "adaptive" learning rates, and the
ConvergenceWarning when ``max_iter`` is reached.
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
from sklearn.utils.validation import check_is_fitted, validate_data

from steepest.runtime import get_num_threads, set_num_threads
from steepest.nn import Dense, Sequential
from steepest.train import SGD, Adam, Callback, Optimizer
from steepest.sklearn._conventions import LossConvention, loss_convention

if TYPE_CHECKING:
    import onnx

    from steepest.export.onnx import Estimator
    from steepest.train import History

#: scikit-learn's activation names (and steepest's "sigmoid") to the engine's.
ENGINE_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: The engine's output activations by scikit-learn's names, for ``out_activation_``.
SKLEARN_ACTIVATIONS = {"identity": "identity", "sigmoid": "logistic", "softmax": "softmax", "tanh": "tanh", "relu": "relu"}

LBFGS_UNSUPPORTED = (
    "solver='lbfgs' is not supported: steepest trains with mini-batch gradient descent in its native "
    "loop. Use solver='adam' (scikit-learn's default) or solver='sgd'; on small datasets where lbfgs "
    "shines, raise max_iter or learning_rate_init instead."
)

# scikit-learn's SGD stops lowering an "adaptive" learning rate below this (sklearn's
# _stochastic_optimizers.SGDOptimizer.trigger_stopping).
_SMALLEST_ADAPTIVE_RATE = 1e-6
# The start of steepest.train.loop's warning about a rising training loss.
_RISING_LOSS_WARNING = "the training loss has risen"


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

    def __init__(self, begin_epoch: Any, end_epoch: Any) -> None:
        super().__init__()
        self._begin_epoch = begin_epoch
        self._end_epoch = end_epoch

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._begin_epoch()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        assert self.model is not None and logs is not None
        if self._end_epoch(logs["loss"]):
            self.model.stop_training = True


@contextmanager
def threads(n_threads: Optional[int]) -> Iterator[None]:
    """Use ``n_threads`` steepest threads inside the block (process-wide), then restore."""
    if n_threads is None:
        yield
        return
    before = get_num_threads()
    set_num_threads(int(n_threads))
    try:
        yield
    finally:
        set_num_threads(before)


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

    def _check_parameters(self) -> None:
        """ValueError naming the first invalid parameter (scikit-learn checks at fit too)."""
        self._hidden_activations(len(self._hidden_sizes()))
        _require(self.solver != "lbfgs", LBFGS_UNSUPPORTED)
        _require(self.solver in ("sgd", "adam"), f"solver must be 'adam' or 'sgd', got {self.solver!r}")
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
        _require(_is_int(self.n_iter_no_change) and self.n_iter_no_change >= 1, f"n_iter_no_change must be an int >= 1, got {self.n_iter_no_change!r}")
        _require(self.dtype in ("float32", "float64", np.float32, np.float64), f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        _require(self.n_threads is None or (_is_int(self.n_threads) and self.n_threads >= 1), f"n_threads must be None or an int >= 1, got {self.n_threads!r}")

    def _numpy_dtype(self) -> type:
        return np.float32 if np.dtype(self.dtype) == np.float32 else np.float64

    def _batch_size(self, samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, samples)
        if self.batch_size > samples:
            # scikit-learn's warning, word for word.
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return min(int(self.batch_size), samples)

    def _engine_rate(self, rate: float) -> float:
        return rate / self._convention.gradient_scale if self.solver == "sgd" else rate

    def _new_optimizer(self, batch_size: int) -> Optimizer:
        scale = self._convention.gradient_scale
        l1, l2 = scale * self.l1 / batch_size, scale * self.alpha / batch_size
        if self.solver == "sgd":
            nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
            return SGD(lr=self._rate, momentum=float(self.momentum), nesterov=nesterov, l1=l1, l2=l2)
        return Adam(lr=self._rate, beta1=float(self.beta_1), beta2=float(self.beta_2), eps=float(self.epsilon) * scale, l1=l1, l2=l2)

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

    def _build_model(self, features: int, outputs: int, output_activation: str, seed: int) -> Sequential:
        hidden = self._hidden_sizes()
        widths = [features] + hidden
        activations = self._hidden_activations(len(hidden))
        layers = [Dense(a, b, act) for a, b, act in zip(widths[:-1], widths[1:], activations)]
        layers.append(Dense(widths[-1], outputs, output_activation))
        return Sequential(layers, seed=seed, dtype=self._numpy_dtype())

    def _validation_score(self, X: np.ndarray, y: Any) -> float:
        """Higher is better; the early-stopping criterion (scikit-learn's ``_score``)."""
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
            X = validate_data(self, X, reset=False, dtype=self._numpy_dtype())
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

        return Estimator(self._dense_layers(), np.dtype(self._numpy_dtype()), getattr(self, "classes_", None))

    # -------------------------------------------------------------------- training ----

    def _fit(self, X: Any, y: Any, incremental: bool) -> "BaseMLP":
        self._check_parameters()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y, targets = self._validate_fit_data(X, y, first_pass, incremental)
        outputs, output_activation, engine_loss = self._engine_output(targets)
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], outputs, output_activation, engine_loss, rng)
        elif self.model_.output_features != outputs:
            raise ValueError(f"the targets need {outputs} outputs but the fitted model has {self.model_.output_features}")
        with threads(self.n_threads):
            if incremental:
                self._partial_pass(X, targets, rng)
            else:
                self._fit_epochs(X, y, targets, rng)
        return self

    def _initialize(self, features: int, outputs: int, output_activation: str, engine_loss: str, rng: np.random.RandomState) -> None:
        self.model_ = self._build_model(features, outputs, output_activation, int(rng.randint(np.iinfo(np.int32).max)))
        self.n_outputs_ = outputs
        self.n_layers_ = len(self._hidden_sizes()) + 2
        self.out_activation_ = SKLEARN_ACTIVATIONS[output_activation]
        self._convention: LossConvention = loss_convention(engine_loss, outputs)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: List[float] = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_: Optional[List[float]] = []
            self.best_validation_score_: Optional[float] = -np.inf
            self.best_loss_: Optional[float] = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self.history_: Optional[History] = None
        self._optimizer: Optional[Optimizer] = None

    def _fit_epochs(self, X: np.ndarray, y: Any, targets: np.ndarray, rng: np.random.RandomState) -> None:
        validation = None
        if self.early_stopping:
            # scikit-learn stratifies only when there is one output (binary classification).
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            train, held_out = train_test_split(np.arange(len(X)), random_state=rng, test_size=self.validation_fraction, stratify=stratify)
            if len(held_out) < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your dataset.")
            validation = (X[held_out], y[held_out])
            X, targets = X[train], targets[train]
            self._best_parameters = self.model_.get_parameters()
        samples = len(X)
        batch_size = self._batch_size(samples)
        # A fit starts a new optimizer, as scikit-learn's does (warm_start keeps only weights).
        self._rate = CurrentLearningRate(0.0)
        self._set_learning_rate(float(self.learning_rate_init))
        self._optimizer = self._new_optimizer(batch_size)
        self._optimizer_batch_size = batch_size
        batches = -(-samples // batch_size)
        self.n_iter_ = 0

        def end_epoch(engine_loss: float) -> bool:
            return self._end_epoch(engine_loss, samples, batches, validation, incremental=False)

        with warnings.catch_warnings():
            # The engine warns after 3 epochs of rising loss; mini-batch noise on a plateau
            # does that, and scikit-learn's MLPs stay silent there (its conformance checks on
            # random labels trip it). Divergence to NaN still raises.
            warnings.filterwarnings("ignore", message=_RISING_LOSS_WARNING, category=RuntimeWarning)
            self.history_ = self.model_.fit(
                X,
                targets,
                epochs=int(self.max_iter),
                batch_size=batch_size,
                optimizer=self._optimizer,
                loss=self._convention.engine_loss,
                shuffle=bool(self.shuffle),
                callbacks=[_EpochBookkeeping(self._begin_epoch, end_epoch)],
                verbose=0,
                diagnostics=bool(self.diagnostics),
            )
        if self.early_stopping:
            self.model_.set_parameters(self._best_parameters)

    def _partial_pass(self, X: np.ndarray, targets: np.ndarray, rng: np.random.RandomState) -> None:
        samples = len(X)
        batch_size = self._batch_size(samples)
        if self._optimizer is None:
            self._rate = CurrentLearningRate(0.0)
            self._set_learning_rate(float(self.learning_rate_init))
        if self._optimizer is None or self._optimizer_batch_size != batch_size:
            # The penalties are per batch (see _conventions), so a new batch size needs them anew.
            self._optimizer = self._new_optimizer(batch_size)
            self._optimizer_batch_size = batch_size
        if self.shuffle:
            order = rng.permutation(samples)
            X, targets = X[order], targets[order]
        self.n_iter_ = 0
        self._begin_epoch()
        engine_loss = self.model_.partial_fit(X, targets, batch_size=batch_size, optimizer=self._optimizer, loss=self._convention.engine_loss)
        self._end_epoch(engine_loss, samples, -(-samples // batch_size), None, incremental=True)

    def _begin_epoch(self) -> None:
        """Computes the penalty scikit-learn adds to each batch's loss (times the batch size)
        from the weights before the epoch: exact for full batches, and as close as the last
        batch's weights would be otherwise."""
        penalty = 0.0
        for weight in self.coefs_:
            values = weight.astype(np.float64).ravel()
            penalty += 0.5 * self.alpha * float(values @ values) + self.l1 * float(np.abs(values).sum())
        self._epoch_penalty = penalty

    def _end_epoch(self, engine_loss: float, samples: int, batches: int, validation: Optional[Tuple[np.ndarray, Any]], incremental: bool) -> bool:
        """scikit-learn's bookkeeping after an epoch; True to stop training."""
        self.n_iter_ += 1
        # scikit-learn averages batch losses weighted by batch size, each with penalty/batch
        # size added: the penalty counts batches/samples times.
        self.loss_ = self._convention.reported_scale * engine_loss + self._epoch_penalty * batches / samples
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
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
            )
        return False

    def _update_no_improvement_count(self, validation: Optional[Tuple[np.ndarray, Any]]) -> None:
        # A validation set means early stopping: validation_scores_ and best_validation_score_
        # are set; without it best_loss_ is.
        if validation is not None:
            score = self._validation_score(*validation)
            cast(List[float], self.validation_scores_).append(score)
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
