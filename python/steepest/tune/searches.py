"""steepest.tune.search: grid, random, successive-halving, asynchronous-halving and Bayesian
(TPE) searches over hyperparameters, run in this process, in local processes or on a Dask
cluster with the same call."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv

from steepest._validation import int_at_least
from steepest.tune.asha import AsynchronousHalving
from steepest.tune.budget import Budget, budget_parameter, check_epochs, rung_budgets
from steepest.tune.distributions import as_distribution
from steepest.tune.executors import DaskPool, Inputs, Pool, ProcessPool, SequentialPool, drive, run_jobs
from steepest.tune.results import Results, trial_row
from steepest.tune.space import grid_candidates, random_candidates
from steepest.tune.tpe import BayesianSearch, import_optuna
from steepest.tune.trial import Job

METHODS = ("grid", "random", "halving", "asha", "tpe")
_DEFAULT_TRIALS = {"random": 10, "halving": 27, "asha": 27, "tpe": 20}


class SearchResult:
    """What a search found, under the names of scikit-learn's searches.

    Attributes
    ----------
    best_params_ : dict
        The best trial's parameters (with halving, asha and tpe, ``max_iter`` is its epoch
        budget).
    best_score_ : float
        Its mean score over the folds (or on the validation set).
    best_index_ : int or None
        Its row in ``results`` and ``cv_results_`` (None when no trial finished). With
        halving, the best of the last round, as scikit-learn's halving searches choose; with
        asha and tpe, the best of the highest rung reached (the full budget).
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
    estimator : a scikit-learn estimator (steepest's, any other, or a Pipeline)
    space : dict of str to list or distribution
        Parameter name to a list of values or :func:`loguniform`, :func:`uniform`,
        :func:`choice` (a Pipeline's as ``<step>__<name>``). A grid needs lists or choices.
    X, y : training data
    method : {"grid", "random", "halving", "asha", "tpe"}
        "grid" tries every combination; "random" draws ``n_trials`` candidates (default 10).
        The others give epochs as the budget, to ``max_iter`` (a Pipeline's step's
        ``<step>__max_iter``): "halving" (successive halving) draws ``n_trials`` (default
        27), trains them all for a few epochs, keeps the best ``1/factor`` and multiplies the
        epochs by ``factor``, round after round. "asha" (asynchronous successive halving, Li
        et al. 2018) draws the same candidates but promotes a trial to the next rung as soon
        as it is in the top ``1/factor`` of its rung's results so far, with no barrier between
        rounds, and the promoted trial continues from its fitted models (``warm_start``)
        instead of training again. "tpe" (needs Optuna) samples ``n_trials`` (default 20)
        with Optuna's TPE sampler, each sample informed by every result so far, and prunes
        weak trials at asha's rungs (Optuna's successive-halving pruner); an estimator without
        ``max_iter`` is searched without pruning.
    n_trials : int, optional
        Candidates for "random", "halving", "asha" and "tpe".
    cv : int, cross-validation generator or iterable, default 3
        As scikit-learn's (stratified folds for classifiers).
    scoring : str or callable, optional
        A scikit-learn scorer; default the estimator's ``score``.
    client : dask.distributed.Client or str, optional
        Run the trials on this Dask cluster (a str is a scheduler address to connect to).
        A trial whose worker dies is run once more; if that fails too, it is recorded as
        failed and the search goes on.
    n_jobs : int, optional
        Without ``client``: run the trials in this many local processes (joblib; -1 for one
        per core). Default: one after another in this process.
    random_state : int or None, default 0
        Seeds the candidate draws (and TPE's sampler), and the estimator (a Pipeline's
        steps) when its ``random_state`` is None, so the same call gives the same results
        sequentially, with joblib or on Dask (asha and tpe: in this process; in parallel their
        choices follow the order in which trials finish).
    validation_data : (X_val, y_val), optional
        Score each trial on this set after fitting on all of ``X`` instead of cross-validating.
    factor : int, default 3
        Halving, asha, tpe: the fraction kept and the growth of the budget per rung.
    min_epochs, max_epochs : int, optional
        Halving, asha, tpe: the first and the largest budget (default: the estimator's
        ``max_iter`` for the largest, and the first such that ``n_trials`` candidates can be
        halved down to one at it). asha and tpe end their last rung at ``max_epochs``;
        ``min_epochs=max_epochs`` makes one rung (tpe without pruning).
    refit : bool, default True
        Fit the best candidate on all of ``X`` (in this process) as ``best_estimator_``.

    Returns
    -------
    SearchResult

    Raises
    ------
    SearchInterrupted
        On Ctrl-C, with the finished trials in ``.result``.
    ImportError
        method="tpe" without Optuna installed (``pip install 'steepest[optuna]'``).

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
    for name, value in space.items():
        as_distribution(name, value)
    if method == "tpe":
        import_optuna()
    rng = np.random.default_rng(random_state)
    candidates: List[Dict[str, Any]] = []
    if method == "grid":
        if n_trials is not None:
            raise ValueError("n_trials is for the methods that draw candidates; a grid tries every combination")
        candidates = grid_candidates(space)
        trials = len(candidates)
    else:
        trials = _DEFAULT_TRIALS[method] if n_trials is None else n_trials
        trials = int_at_least(trials, "n_trials", 1)
        if method != "tpe":
            candidates = random_candidates(space, trials, rng)

    budget = _budget(estimator, space, method)
    budgets: Optional[List[int]] = None
    if method in ("asha", "tpe") and budget is not None:
        budgets = rung_budgets(trials, factor, min_epochs, max_epochs, budget)
    elif method == "halving":
        assert budget is not None
        budgets = _halving_budgets(len(candidates), factor, min_epochs, max_epochs, budget)

    estimator = _seeded(estimator, random_state)
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
    last_rung = rows
    interrupted = False
    pool: Optional[Pool] = None
    scheduler: Any = None
    try:
        if client is not None:
            pool = DaskPool(inputs, client, folds)
        elif n_jobs is not None and n_jobs != 1:
            pool = ProcessPool(inputs, n_jobs, trials)
        else:
            pool = SequentialPool(inputs)
        if method == "asha":
            assert budget is not None and budgets is not None
            scheduler = AsynchronousHalving(candidates, budgets, factor, budget)
        elif method == "tpe":
            scheduler = BayesianSearch(space, trials, budgets, factor, budget, random_state)
        if scheduler is not None:
            drive(pool, scheduler.next_job, scheduler.finished)
        elif method == "halving":
            assert budget is not None and budgets is not None
            last_rung = _halving(candidates, budgets, factor, budget, pool, rows)
        else:
            run_jobs(pool, [Job(index, candidate) for index, candidate in enumerate(candidates)], lambda record: rows.append(trial_row(record, {})))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if pool is not None:
            pool.close(interrupted)
        if own_client is not None:
            own_client.close()
    if scheduler is not None:
        rows, last_rung = scheduler.rows, scheduler.last_rung_rows()
    elif interrupted:
        last_rung = rows

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


def _budget(estimator: Any, space: Mapping[str, Any], method: str) -> Optional[Budget]:
    """The epoch budget's parameter for the methods that train in rungs (None for tpe on an
    estimator without one: it is searched without pruning)."""
    if method in ("grid", "random"):
        return None
    if method == "tpe" and not any(name == "max_iter" or name.endswith("__max_iter") for name in estimator.get_params()):
        return None
    budget = budget_parameter(estimator, method)
    if budget.parameter in space:
        raise ValueError(f"space sets {budget.parameter!r}, which method={method!r} sets itself as each trial's epoch budget; use min_epochs and max_epochs")
    return budget


def _seeded(estimator: Any, random_state: Optional[int]) -> Any:
    """``estimator`` with every unset ``random_state`` (its own, its steps') set to the
    search's: every trial starts from the same seed, so candidates differ only by their
    parameters."""
    if random_state is None:
        return estimator
    unset = {
        name: random_state for name, value in estimator.get_params().items() if (name == "random_state" or name.endswith("__random_state")) and value is None
    }
    return clone(estimator).set_params(**unset) if unset else estimator


def _ranked(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Finished rows, best mean score first (ties: the earlier trial)."""
    finished = [row for row in rows if not row["error"] and math.isfinite(row["mean_test_score"])]
    return sorted(finished, key=lambda row: (-row["mean_test_score"], row["trial"]))


def _halving_budgets(candidates: int, factor: int, min_epochs: Optional[int], max_epochs: Optional[int], budget: Budget) -> List[int]:
    """Successive halving's epochs per round: ``min_epochs`` times ``factor`` per round, as
    many rounds as ``candidates`` can be divided by ``factor``, none past ``max_epochs``."""
    factor = int_at_least(factor, "factor", 2)
    largest = check_epochs(max_epochs if max_epochs is not None else budget.largest, "max_epochs" if max_epochs is not None else budget.parameter)
    rounds = 1 + int(math.floor(math.log(candidates) / math.log(factor) + 1e-9))
    smallest = check_epochs(min_epochs, "min_epochs") if min_epochs is not None else max(1, largest // factor ** (rounds - 1))
    if smallest > largest:
        raise ValueError(f"the budget of {largest} epochs (max_epochs) is smaller than one rung of min_epochs={smallest}; lower min_epochs or raise max_epochs")
    budgets: List[int] = []
    for rung in range(rounds):
        budgets.append(min(largest, smallest * factor**rung))
        if budgets[-1] == largest:
            break
    return budgets


def _halving(candidates: List[Dict[str, Any]], budgets: List[int], factor: int, budget: Budget, pool: Pool, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Successive halving with epochs as the budget; returns the last round's rows."""
    survivors = candidates
    next_index = 0
    round_rows: List[Dict[str, Any]] = []
    for rung, epochs in enumerate(budgets):
        jobs = [Job(next_index + k, {**candidate, budget.parameter: epochs}) for k, candidate in enumerate(survivors)]
        start = len(rows)
        extra = {"rung": rung, "epochs_budget": epochs}
        run_jobs(pool, jobs, lambda record: rows.append(trial_row(record, extra)))
        round_rows = rows[start:]
        ranked = _ranked(round_rows)
        if rung == len(budgets) - 1 or not ranked:
            break
        first = next_index
        next_index += len(jobs)
        survivors = [survivors[row["trial"] - first] for row in ranked[: max(1, len(survivors) // factor)]]
    return round_rows
