"""MLPClassifier: scikit-learn's, trained by steepest's native loop."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union, cast

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from steepest.sklearn._base import ACCEPT_SPARSE, BaseMLP, checked_data
from steepest.sklearn._parameters import FITTED_ATTRIBUTES, MAX_FUN_PARAMETER, SOLVER_PARAMETERS


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multilayer perceptron classifier, a drop-in replacement for
        ``sklearn.neural_network.MLPClassifier``: the same parameters, defaults and fitted
        attributes; training runs in steepest's native loop.

        Binary and multi-label targets get sigmoid outputs trained with the log loss; more than
        two classes a softmax output, as in scikit-learn.

        Parameters
        ----------
        hidden_layer_sizes : int or tuple of int, default (100,)
        activation : str or list of str, default "relu"
            Of the hidden layers: "identity", "logistic" (or "sigmoid"), "tanh", "relu"; a list
            gives one per hidden layer (not in scikit-learn).
    {solver_parameters}
        class_weight : dict, "balanced" or None, default None
            Weights of the classes (not in scikit-learn's MLPClassifier; its issue 9113):
            each training row's weight is multiplied by its class's, ``{label: weight}`` or
            "balanced" (``n_samples / (n_classes · count of the class)`` in the ``y`` given to
            ``fit``). Single-label targets only; "balanced" is refused by ``partial_fit``,
            whose chunks would each balance differently.

        Attributes
        ----------
        classes_ : ndarray
    {fitted_attributes}
        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from steepest.sklearn import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=600, random_state=0)
        >>> clf.fit(X, y).score(X, y) > 0.9
        True
        >>> clf.predict_proba(X[:2]).shape
        (2, 3)
    """

    def __init__(
        self,
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
        class_weight: Any = None,
    ) -> None:
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
        self.class_weight = class_weight

    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, X_val: Any = None, y_val: Any = None, sample_weight_val: Any = None) -> "MLPClassifier":
        """Train on ``X`` and labels ``y`` (a label vector, or an indicator matrix for
        multi-label classification), each row weighted by ``sample_weight`` (scikit-learn's
        semantics: the loss is the weighted mean, the L2 penalty divided by the sum of the
        weights). With ``early_stopping``, ``X_val`` and ``y_val`` (and
        ``sample_weight_val``) are the held-out rows instead of a ``validation_fraction`` of
        ``X`` (not in scikit-learn; its issue 18748)."""
        validation = None if X_val is None and y_val is None else (X_val, y_val, sample_weight_val)
        return self._fit(X, y, incremental=False, sample_weight=sample_weight, validation_set=validation)

    def _can_partial_fit(self) -> bool:
        return self.solver != "lbfgs"

    @available_if(_can_partial_fit)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Optional[Any] = None) -> "MLPClassifier":
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call.
        Not available with ``solver="lbfgs"``, as in scikit-learn."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _fit_weights(self, y: Any, sample_weight: Any, incremental: bool) -> Any:
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is for single-label targets; weight multi-label rows with sample_weight")
        if incremental and isinstance(self.class_weight, str):
            raise ValueError("class_weight='balanced' would balance each partial_fit chunk differently; give a dict of the classes' weights")
        if not (self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict of label: weight, got {self.class_weight!r}")
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * np.asarray(sample_weight, dtype=np.float64)

    def _validate_validation_data(self, X: Any, y: Any) -> Tuple[np.ndarray, Any, np.ndarray]:
        X = checked_data(self, X, reset=False, dtype=self.model_.dtype.type, accept_sparse=ACCEPT_SPARSE)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(f"y_val has {len(y)} rows but X_val has {X.shape[0]}")
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y_val has classes not seen in y: {unknown}")
        return X, y, self._engine_targets(y, self.model_.dtype.type)

    def _engine_targets(self, y: Any, dtype: type) -> np.ndarray:
        indicator = self._label_binarizer.transform(y)
        if self._label_binarizer.y_type_ == "multiclass":
            # Integer labels: the engine's softmax cross entropy takes them without one-hot rows.
            return cast(np.ndarray, np.argmax(indicator, axis=1).astype(np.int64))
        return np.ascontiguousarray(indicator, dtype=dtype)

    def _validate_fit_data(self, X: Any, y: Any, reset: bool, incremental: bool) -> Tuple[np.ndarray, Any, np.ndarray]:
        X, y = checked_data(self, X, y, multi_output=True, dtype=self._data_dtype(), reset=reset, accept_sparse=ACCEPT_SPARSE)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        # scikit-learn's rules (_multilayer_perceptron.MLPClassifier._validate_input): a new
        # fit learns the classes; warm_start and partial_fit must see known ones.
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        f"warm_start can only be used where `y` has the same classes as in the previous call to fit. "
                        f"Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}.")
        return X, y, self._engine_targets(y, X.dtype.type)

    def _engine_output(self, targets: np.ndarray) -> Tuple[int, str, str]:
        if targets.ndim == 1:
            return len(self.classes_), "softmax", "softmax_cross_entropy"
        return targets.shape[1], "sigmoid", "binary_cross_entropy"

    def _labels(self, output: np.ndarray) -> np.ndarray:
        # LabelBinarizer.inverse_transform's rules, written out for the two common cases:
        # its checks take six times as long as predicting one row.
        if self._label_binarizer.y_type_ == "multiclass":
            return cast(np.ndarray, self.classes_[np.argmax(output, axis=1)])
        if self.n_outputs_ == 1 and len(self.classes_) == 2:
            return cast(np.ndarray, self.classes_[(output.ravel() > 0.5).astype(np.intp)])
        if self.n_outputs_ == 1:
            output = output.ravel()
        return cast(np.ndarray, self._label_binarizer.inverse_transform(output))

    def _validation_score(self, output: np.ndarray, y: Any, sample_weight: Optional[np.ndarray]) -> float:
        return float(accuracy_score(y, self._labels(output), sample_weight=sample_weight))

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class of each row (an indicator row for multi-label targets)."""
        return self._labels(self._forward(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, in the order of ``classes_``."""
        output = self._forward(X)
        if self.n_outputs_ == 1:
            p = output.ravel()
            return np.vstack([1 - p, p]).T
        return output

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        probabilities = self.predict_proba(X)
        return cast(np.ndarray, np.log(probabilities, out=probabilities))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags


MLPClassifier.__doc__ = (
    cast(str, MLPClassifier.__doc__).replace("{solver_parameters}", SOLVER_PARAMETERS + MAX_FUN_PARAMETER).replace("{fitted_attributes}", FITTED_ATTRIBUTES)
)
