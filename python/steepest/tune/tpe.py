"""Bayesian search with Optuna's TPE sampler (Bergstra et al. 2011), the weak trials pruned at
the epoch rungs of asynchronous halving by Optuna's successive-halving pruner.

The study lives in the caller, which asks it for each new trial when a slot is free (so
every sample sees every result so far, wherever the trials ran) and tells it each rung's
score; the workers only fit. A trial that survives a rung continues from its fitted models,
as in asynchronous halving.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
from typing import Any, Deque, Dict, Iterator, List, Mapping, Optional, Tuple

from steepest.tune.budget import Budget
from steepest.tune.distributions import Choice, LogUniform, Uniform, as_distribution
from steepest.tune.results import trial_row
from steepest.tune.trial import Job

OPTUNA_MISSING = "method='tpe' needs Optuna, which is not installed: pip install 'steepest[optuna]' (or pip install optuna)"
_OPTUNA_VALUES = (type(None), bool, int, float, str)


def import_optuna() -> Any:
    """The optuna module, or an ImportError that says what to install."""
    try:
        import optuna
    except ImportError as error:
        raise ImportError(OPTUNA_MISSING) from error
    return optuna


class Suggest:
    """The search space as Optuna's suggestions. A choice among values Optuna cannot store
    (tuples of layer sizes, ...) is offered as their reprs and mapped back."""

    def __init__(self, space: Mapping[str, Any]) -> None:
        self.distributions = {name: as_distribution(name, value) for name, value in space.items()}
        self.labels: Dict[str, List[Any]] = {}
        for name, distribution in self.distributions.items():
            if isinstance(distribution, Choice):
                labels = [value if isinstance(value, _OPTUNA_VALUES) else repr(value) for value in distribution.values]
                self.labels[name] = labels if len({repr(label) for label in labels}) == len(labels) else list(range(len(labels)))
            elif not isinstance(distribution, (LogUniform, Uniform)):
                raise TypeError(f"method='tpe' cannot sample space[{name!r}] = {distribution!r}: use loguniform, uniform, choice or a list")

    def __call__(self, trial: Any) -> Dict[str, Any]:
        params: Dict[str, Any] = {}
        for name, distribution in self.distributions.items():
            if isinstance(distribution, Choice):
                labels = self.labels[name]
                params[name] = distribution.values[labels.index(trial.suggest_categorical(name, labels))]
            else:
                assert isinstance(distribution, (LogUniform, Uniform))
                params[name] = trial.suggest_float(name, distribution.low, distribution.high, log=isinstance(distribution, LogUniform))
        return params


class BayesianSearch:
    """The scheduler: ``next_job`` and ``finished`` for :func:`steepest.tune.executors.drive`;
    one row per Optuna trial in ``rows``, with the rung it reached and whether it was pruned.
    ``budgets`` None: no rungs, each trial fits once with the estimator's own budget."""

    def __init__(
        self, space: Mapping[str, Any], n_trials: int, budgets: Optional[List[int]], factor: int, budget: Optional[Budget], seed: Optional[int]
    ) -> None:
        optuna = import_optuna()
        self.optuna = optuna
        self.suggest = Suggest(space)
        self.n_trials, self.budgets, self.budget = n_trials, budgets or [], budget
        pruner = (
            optuna.pruners.SuccessiveHalvingPruner(min_resource=self.budgets[0], reduction_factor=factor, min_early_stopping_rate=0)
            if len(self.budgets) > 1
            else optuna.pruners.NopPruner()
        )
        with quiet(optuna):
            self.study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
        self.trials: Dict[int, Tuple[Any, Dict[str, Any], int]] = {}  # number -> (optuna trial, params, rung)
        self.continuing: Deque[int] = collections.deque()  # survived a rung, waiting for a slot
        self.models: Dict[int, List[bytes]] = {}
        self.records: Dict[int, Dict[str, Any]] = {}  # the last finished rung of each trial
        self.rows_by_trial: Dict[int, Dict[str, Any]] = {}

    @property
    def rows(self) -> List[Dict[str, Any]]:
        return [self.rows_by_trial[number] for number in sorted(self.rows_by_trial)]

    def next_job(self) -> Optional[Job]:
        if self.continuing:
            number = self.continuing.popleft()
            trial, params, rung = self.trials[number]
            self.trials[number] = (trial, params, rung + 1)
            budget = self.budgets[rung + 1]
            job_params = {**params, self._budget_name(): budget}
            if self.budget is not None and self.budget.warm_start is not None:
                more = {self.budget.warm_start: True, self._budget_name(): budget - self.budgets[rung]}
                return Job(number, job_params, resume=self.models.pop(number), continue_with=more, keep_models=rung + 2 < len(self.budgets))
            return Job(number, job_params, keep_models=False)
        if len(self.trials) == self.n_trials:
            return None
        with quiet(self.optuna):
            trial = self.study.ask()
        params = self.suggest(trial)
        self.trials[trial.number] = (trial, params, 0)
        if not self.budgets:
            return Job(trial.number, params)
        warm = self.budget is not None and self.budget.warm_start is not None
        return Job(trial.number, {**params, self._budget_name(): self.budgets[0]}, keep_models=warm and len(self.budgets) > 1)

    def _budget_name(self) -> str:
        assert self.budget is not None
        return self.budget.parameter

    def finished(self, record: Dict[str, Any]) -> None:
        number = record["trial"]
        trial, params, rung = self.trials[number]
        record = self._with_earlier_rungs(record)
        score = float(sum(record["scores"]) / len(record["scores"])) if record["scores"] else math.nan
        TrialState = self.optuna.trial.TrialState
        last = not self.budgets or rung == len(self.budgets) - 1
        pruned = False
        with quiet(self.optuna):
            if record["error"] or not math.isfinite(score):
                self.study.tell(trial, state=TrialState.FAIL)
            elif last:
                self.study.tell(trial, score)
            else:
                trial.report(score, step=self.budgets[rung])
                if trial.should_prune():
                    pruned = True
                    self.study.tell(trial, state=TrialState.PRUNED)
                else:
                    self.models[number] = record.pop("models", None) or []
                    self.continuing.append(number)
        record.pop("models", None)
        self.records[number] = record
        extra: Dict[str, Any] = {"rung": rung, "epochs_budget": self.budgets[rung]} if self.budgets else {}
        self.rows_by_trial[number] = {**trial_row(record, extra), "pruned": pruned}

    def _with_earlier_rungs(self, record: Dict[str, Any]) -> Dict[str, Any]:
        """A rung's record with the trial's earlier rungs folded in: times and epochs add up
        when the models continued (else the rung trained from the start and is the whole)."""
        earlier = self.records.get(record["trial"])
        if earlier is None or self.budget is None or self.budget.warm_start is None or record["error"]:
            return record
        combined = dict(record)
        for key in ("fit_times", "score_times"):
            combined[key] = [a + b for a, b in zip(earlier[key], record[key])]
        combined["epochs"] = earlier["epochs"] + record["epochs"]
        combined["warnings"] = sorted(set(earlier["warnings"]) | set(record["warnings"]))
        return combined

    def last_rung_rows(self) -> List[Dict[str, Any]]:
        """The rows of the trials that reached the highest rung (completed, with pruning)."""
        rows = self.rows
        if not rows or not self.budgets:
            return rows
        top = max(row["rung"] for row in rows)
        return [row for row in rows if row["rung"] == top]


@contextlib.contextmanager
def quiet(optuna: Any) -> Iterator[None]:
    """Optuna logs every trial at INFO: quiet inside the block, its level restored after."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
