"""One trial: a candidate's parameters fitted (or its fitted models trained further) and
scored on every fold, wherever it runs.

This runs in worker processes (joblib, Dask) as well as in the caller, so it takes
everything it needs as arguments and catches the candidate's errors into its record: a
failed trial is a row of the results, not the end of the search.
"""

from __future__ import annotations

import math
import pickle
import time
import warnings
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, cast

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing

from steepest.runtime import get_num_threads, local_threads

#: (train rows, test rows) of each fold; None scores on the validation set instead.
Folds = Optional[Sequence[Tuple[np.ndarray, np.ndarray]]]


class Job(NamedTuple):
    """One trial to run: a candidate's parameters set on fresh clones of the estimator, or,
    with ``resume``, fold models fitted before that continue training (asynchronous halving
    and pruned Bayesian search promote a trial that way instead of training it again)."""

    trial: int  # the trial's number (its row)
    params: Dict[str, Any]  # what the trial is fitted with (recorded as its params)
    resume: Optional[List[bytes]] = None  # pickled fitted models, one per split, to continue
    continue_with: Optional[Dict[str, Any]] = None  # set on them first (warm start, epochs to add)
    keep_models: bool = False  # return the fitted models pickled, to continue them later


def run_trial(
    job: Job,
    estimator: Any,
    X: Any,
    y: Any,
    folds: Folds,
    validation: Optional[Tuple[Any, Any]],
    scorer: Any,
    n_threads: Optional[int],
) -> Dict[str, Any]:
    """Fit a clone of ``estimator`` with the job's parameters on each fold (or continue its
    fitted models) and score it.

    ``n_threads`` (when given) is the trial's thread count, so that concurrent trials on one
    machine share its cores instead of each taking them all; it holds for this thread only,
    so trials running at once in one process (a Dask worker's task threads) keep theirs.
    """
    with local_threads(n_threads):
        return _run_trial(job, estimator, X, y, folds, validation, scorer)


def _run_trial(job: Job, estimator: Any, X: Any, y: Any, folds: Folds, validation: Optional[Tuple[Any, Any]], scorer: Any) -> Dict[str, Any]:
    record = new_record(job, folds)
    epochs: List[float] = []
    models: List[bytes] = []
    # Warnings go into the record: printed from many workers (where the caller's filters do
    # not reach) they drown the output, and a short budget's ConvergenceWarning is expected.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # Without folds the search passes a validation pair.
            pair = cast(Tuple[Any, Any], validation)
            splits = [(X, y, pair[0], pair[1])] if folds is None else [_fold(X, y, train, test) for train, test in folds]
            for k, (X_train, y_train, X_test, y_test) in enumerate(splits):
                if job.resume is None:
                    model = clone(estimator).set_params(**job.params)
                else:
                    model = pickle.loads(job.resume[k]).set_params(**(job.continue_with or {}))
                started = time.perf_counter()
                model.fit(X_train, y_train)
                fitted = time.perf_counter()
                record["scores"].append(float(scorer(model, X_test, y_test)))
                record["fit_times"].append(fitted - started)
                record["score_times"].append(time.perf_counter() - fitted)
                epochs.append(epochs_run(model))
                if job.keep_models:
                    models.append(pickle.dumps(model))
        except Exception as error:  # noqa: BLE001 - any failure of the candidate is its result
            record["error"] = f"{type(error).__name__}: {error}"
            # As scikit-learn's searches score a failed fit (error_score=np.nan): every split.
            record["scores"] = [math.nan] * record["n_splits"]
            models = []
    record["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if epochs:
        record["epochs"] = float(np.mean(epochs))
    if models:
        record["models"] = models
    return record


def new_record(job: Job, folds: Folds) -> Dict[str, Any]:
    """A trial's record before it runs: no scores, times or error yet."""
    n_splits = 1 if folds is None else len(folds)
    return {
        "trial": job.trial,
        "params": job.params,
        "n_splits": n_splits,
        "scores": [],
        "fit_times": [],
        "score_times": [],
        "epochs": math.nan,
        "threads": get_num_threads(),
        "warnings": [],
        "error": None,
    }


def failed_record(job: Job, folds: Folds, error: str) -> Dict[str, Any]:
    """The record of a trial that could not run at all (its worker died, twice)."""
    record = new_record(job, folds)
    record.update(scores=[math.nan] * record["n_splits"], error=error, threads=math.nan)
    return record


def epochs_run(model: Any) -> float:
    """The epochs of the model's last fit (``n_iter_``; a Pipeline's final step's), or NaN."""
    if not hasattr(model, "n_iter_") and hasattr(model, "steps"):
        model = model.steps[-1][1]
    return float(getattr(model, "n_iter_", math.nan))


def _fold(X: Any, y: Any, train: np.ndarray, test: np.ndarray) -> Tuple[Any, Any, Any, Any]:
    y_train = None if y is None else _safe_indexing(y, train)
    y_test = None if y is None else _safe_indexing(y, test)
    return _safe_indexing(X, train), y_train, _safe_indexing(X, test), y_test
