"""steepest.tune.search: grid, random and successive-halving searches over hyperparameters,
run in this process, in local processes or on a Dask cluster with the same call."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv

from steepest.tune.executors import Inputs, Trials, run_on_dask, run_sequentially, run_with_joblib, scatter_inputs
from steepest.tune.results import Results, trial_row
from steepest.tune.space import grid_candidates, random_candidates

METHODS = ("grid", "random", "halving")
_DEFAULT_TRIALS = {"random": 10, "halving": 27}
#: The parameter successive halving gives its epoch budget to.
BUDGET_PARAMETER = "max_iter"


class SearchResult:
    """What a search found, under the names of scikit-learn's searches.

    Attributes
    ----------
    best_params_ : dict
        The best trial's parameters (with halving, ``max_iter`` is its epoch budget).
    best_score_ : float
        Its mean score over the folds (or on the validation set).
    best_index_ : int or None
        Its row in ``results`` and ``cv_results_`` (None when no trial finished). With
        halving, the best of the last round, as scikit-learn's halving searches choose.
    best_estimator_ : estimator or None
        A clone with ``best_params_`` refit on all the data (None with ``refit=False`` or
        when the search was interrupted or every trial failed).
    results : Results
        One row per trial (see :class:`steepest.tune.results.Results`).
    cv_results_ : dict
        The same table as scikit-learn's ``cv_results_``: a dict of columns, for
        ``pandas.DataFrame(result.cv_results_)`` (see :meth:`Results.to_dict`).
    interrupted : bool
    """

    def __init__(self, results: Results, best_index: Optional[int], interrupted: bool) -> None:
        self.results = results
        self.interrupted = interrupted
        self.best_index_ = best_index
        best = None if best_index is None else results[best_index]
        self.best_params_: Dict[str, Any] = {} if best is None else dict(best["params"])
        self.best_score_ = math.nan if best is None else best["mean_test_score"]
        self.best_estimator_: Any = None

    @property
    def cv_results_(self) -> Dict[str, Any]:
        return self.results.to_dict()

    def __repr__(self) -> str:
        return f"SearchResult(best_score_={self.best_score_:.4g}, best_params_={self.best_params_}, {len(self.results)} trials)"


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the search; ``result`` holds the trials that had finished."""

    def __init__(self, result: SearchResult) -> None:
        super().__init__(f"search interrupted after {len(result.results)} finished trials")
        self.result = result


def search(
    estimator: Any,
    space: Mapping[str, Any],
    X: Any,
    y: Any = None,
    *,
    method: str = "grid",
    n_trials: Optional[int] = None,
    cv: Any = 3,
    scoring: Any = None,
    client: Any = None,
    n_jobs: Optional[int] = None,
    random_state: Optional[int] = 0,
    validation_data: Optional[Tuple[Any, Any]] = None,
    factor: int = 3,
    min_epochs: Optional[int] = None,
    max_epochs: Optional[int] = None,
    refit: bool = True,
) -> SearchResult:
    """Search ``space`` for the hyperparameters of ``estimator`` that score best.

    Parameters
    ----------
    estimator : a scikit-learn estimator (steepest's, or any other)
    space : dict of str to list or distribution
        Parameter name to a list of values or :func:`loguniform`, :func:`uniform`,
        :func:`choice`. A grid needs lists or choices.
    X, y : training data
    method : {"grid", "random", "halving"}
        "grid" tries every combination; "random" draws ``n_trials`` candidates (default 10);
        "halving" draws ``n_trials`` (default 27) and trains them for a small number of
        epochs, keeps the best ``1/factor`` and multiplies the epochs by ``factor``, until
        one remains or ``max_epochs`` is reached.
    n_trials : int, optional
        Candidates for "random" and "halving".
    cv : int, cross-validation generator or iterable, default 3
        As scikit-learn's (stratified folds for classifiers).
    scoring : str or callable, optional
        A scikit-learn scorer; default the estimator's ``score``.
    client : dask.distributed.Client or str, optional
        Run the trials on this Dask cluster (a str is a scheduler address to connect to).
    n_jobs : int, optional
        Without ``client``: run the trials in this many local processes (joblib; -1 for one
        per core). Default: one after another in this process.
    random_state : int or None, default 0
        Seeds the candidate draws, and the estimator when its ``random_state`` is None, so
        the same call gives the same results sequentially, with joblib or on Dask.
    validation_data : (X_val, y_val), optional
        Score each trial on this set after fitting on all of ``X`` instead of cross-validating.
    factor : int, default 3
        Halving: the fraction kept and the growth of the budget per round.
    min_epochs, max_epochs : int, optional
        Halving: the first and the largest budget (default: ``estimator.max_iter`` for the
        largest, and the first such that the rounds end at it).
    refit : bool, default True
        Fit the best candidate on all of ``X`` (in this process) as ``best_estimator_``.

    Returns
    -------
    SearchResult

    Raises
    ------
    SearchInterrupted
        On Ctrl-C, with the finished trials in ``.result``.

    Notes
    -----
    Threads per trial x concurrent trials never exceed a machine's cores: with ``n_jobs``
    each trial gets ``cores // n_jobs`` threads, and on Dask the cores of a worker's machine
    divided by the task threads of all the workers on it. Results do not depend on it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from steepest.sklearn import MLPClassifier
    >>> from steepest import tune
    >>> X, y = load_iris(return_X_y=True)
    >>> result = tune.search(MLPClassifier(max_iter=1000, random_state=0), {"learning_rate_init": [0.003, 0.03]}, X, y)
    >>> sorted(result.best_params_), len(result.results)
    (['learning_rate_init'], 2)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(space, Mapping) or not space:
        raise ValueError("space must be a non-empty dict of parameter name to values or distribution")
    unknown = sorted(set(space) - set(estimator.get_params()))
    if unknown:
        raise ValueError(f"{type(estimator).__name__} has no parameters {unknown}")
    rng = np.random.default_rng(random_state)
    if method == "grid":
        if n_trials is not None:
            raise ValueError("n_trials is for method='random' or 'halving'; a grid tries every combination")
        candidates = grid_candidates(space)
    else:
        trials = _DEFAULT_TRIALS[method] if n_trials is None else n_trials
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
        candidates = random_candidates(space, trials, rng)

    params = estimator.get_params()
    if "random_state" in params and params["random_state"] is None and random_state is not None:
        # Every trial starts from the same seed: candidates differ only by their parameters.
        estimator = clone(estimator).set_params(random_state=random_state)
    if validation_data is not None:
        folds = None
        validation: Optional[Tuple[Any, Any]] = (validation_data[0], validation_data[1])
    else:
        folds = list(check_cv(cv, y, classifier=is_classifier(estimator)).split(X, y))
        validation = None
    inputs = Inputs(estimator, X, y, folds, validation, check_scoring(estimator, scoring))

    own_client = None
    if isinstance(client, str):
        from distributed import Client

        client = own_client = Client(client)
    rows: List[Dict[str, Any]] = []
    interrupted = False
    try:
        trial_inputs = inputs if client is None else scatter_inputs(inputs, client)
        if method == "halving":
            last_rung = _halving(candidates, params, factor, min_epochs, max_epochs, trial_inputs, client, n_jobs, rows)
        else:
            _run([(index, candidate) for index, candidate in enumerate(candidates)], trial_inputs, client, n_jobs, rows, {})
            last_rung = rows
    except KeyboardInterrupt:
        interrupted = True
        last_rung = rows
    finally:
        if own_client is not None:
            own_client.close()

    rows.sort(key=lambda row: row["trial"])
    results = Results(rows)
    ranked = _ranked(last_rung)
    best_index = results.column("trial").index(ranked[0]["trial"]) if ranked else None
    result = SearchResult(results, best_index, interrupted)
    if interrupted:
        raise SearchInterrupted(result)
    if refit and ranked:
        result.best_estimator_ = clone(estimator).set_params(**result.best_params_).fit(X, y)
    return result


def _run(trials: Trials, inputs: Inputs, client: Any, n_jobs: Optional[int], rows: List[Dict[str, Any]], extra: Dict[int, Dict[str, Any]]) -> None:
    """Runs ``trials`` and appends their rows to ``rows`` as they finish."""
    records: Iterator[Dict[str, Any]]
    if client is not None:
        records = run_on_dask(trials, inputs, client)
    elif n_jobs is not None and n_jobs != 1:
        records = run_with_joblib(trials, inputs, n_jobs)
    else:
        records = run_sequentially(trials, inputs)
    for record in records:
        rows.append(trial_row(record, extra.get(record["trial"], {})))


def _ranked(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Finished rows, best mean score first (ties: the earlier trial)."""
    finished = [row for row in rows if not row["error"] and math.isfinite(row["mean_test_score"])]
    return sorted(finished, key=lambda row: (-row["mean_test_score"], row["trial"]))


def _halving(
    candidates: List[Dict[str, Any]],
    params: Dict[str, Any],
    factor: int,
    min_epochs: Optional[int],
    max_epochs: Optional[int],
    inputs: Inputs,
    client: Any,
    n_jobs: Optional[int],
    rows: List[Dict[str, Any]],
) -> List[Dict[str, Any]]:
    """Successive halving with epochs as the budget; returns the last round's rows."""
    if BUDGET_PARAMETER not in params:
        raise ValueError(f"method='halving' gives its epoch budget to {BUDGET_PARAMETER!r}, which {type(inputs.estimator).__name__} does not have")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise ValueError(f"factor must be an int >= 2, got {factor!r}")
    largest = int(max_epochs if max_epochs is not None else params[BUDGET_PARAMETER])
    rounds = 1 + int(math.floor(math.log(len(candidates)) / math.log(factor) + 1e-9))
    smallest = int(min_epochs) if min_epochs is not None else max(1, largest // factor ** (rounds - 1))
    if not 1 <= smallest <= largest:
        raise ValueError(f"need 1 <= min_epochs <= max_epochs, got {smallest} and {largest}")
    survivors = candidates
    next_index = 0
    round_rows: List[Dict[str, Any]] = []
    for rung in range(rounds):
        budget = min(largest, smallest * factor**rung)
        trials = [(next_index + k, {**candidate, BUDGET_PARAMETER: budget}) for k, candidate in enumerate(survivors)]
        extra = {index: {"rung": rung, "epochs_budget": budget} for index, _ in trials}
        start = len(rows)
        _run(trials, inputs, client, n_jobs, rows, extra)
        round_rows = rows[start:]
        next_index += len(trials)
        ranked = _ranked(round_rows)
        keep = max(1, len(survivors) // factor)
        if rung == rounds - 1 or budget == largest or not ranked:
            break
        by_index = {index: candidate for index, candidate in enumerate(survivors)}
        first = trials[0][0]
        survivors = [by_index[row["trial"] - first] for row in ranked[:keep]]
    return round_rows
