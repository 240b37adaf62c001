"""One trial: a candidate's parameters fitted and scored on every fold, wherever it runs.

This runs in worker processes (joblib, Dask) as well as in the caller, so it takes
everything it needs as arguments and catches the candidate's errors into its record: a
failed trial is a row of the results, not the end of the search.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, cast

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing

from steepest.runtime import get_num_threads, set_num_threads

#: (train rows, test rows) of each fold; None scores on the validation set instead.
Folds = Optional[Sequence[Tuple[np.ndarray, np.ndarray]]]


def run_trial(
    index: int,
    params: Dict[str, Any],
    estimator: Any,
    X: Any,
    y: Any,
    folds: Folds,
    validation: Optional[Tuple[Any, Any]],
    scorer: Any,
    n_threads: Optional[int],
) -> Dict[str, Any]:
    """Fit a clone of ``estimator`` with ``params`` on each fold and score it.

    ``n_threads`` (when given) is set process-wide first, so that concurrent trials on one
    machine share its cores instead of each taking them all.
    """
    if n_threads is not None:
        set_num_threads(n_threads)
    record: Dict[str, Any] = {"trial": index, "params": params, "scores": [], "fit_times": [], "score_times": [], "epochs": math.nan, "threads": get_num_threads(), "error": None}
    epochs: List[float] = []
    n_splits = 1 if folds is None else len(folds)
    # Warnings go into the record: printed from many workers (where the caller's filters do
    # not reach) they drown the output, and a short budget's ConvergenceWarning is expected.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # Without folds the search passes a validation pair.
            pair = cast(Tuple[Any, Any], validation)
            splits = [(X, y, pair[0], pair[1])] if folds is None else [_fold(X, y, train, test) for train, test in folds]
            for X_train, y_train, X_test, y_test in splits:
                model = clone(estimator).set_params(**params)
                started = time.perf_counter()
                model.fit(X_train, y_train)
                fitted = time.perf_counter()
                record["scores"].append(float(scorer(model, X_test, y_test)))
                record["fit_times"].append(fitted - started)
                record["score_times"].append(time.perf_counter() - fitted)
                epochs.append(float(getattr(model, "n_iter_", math.nan)))
        except Exception as error:  # noqa: BLE001 - any failure of the candidate is its result
            record["error"] = f"{type(error).__name__}: {error}"
            # As scikit-learn's searches score a failed fit (error_score=np.nan): every split.
            record["scores"] = [math.nan] * n_splits
    record["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if epochs:
        record["epochs"] = float(np.mean(epochs))
    return record


def _fold(X: Any, y: Any, train: np.ndarray, test: np.ndarray) -> Tuple[Any, Any, Any, Any]:
    y_train = None if y is None else _safe_indexing(y, train)
    y_test = None if y is None else _safe_indexing(y, test)
    return _safe_indexing(X, train), y_train, _safe_indexing(X, test), y_test
