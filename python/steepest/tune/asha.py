"""Asynchronous successive halving (Li et al. 2018, "A System for Massively Parallel
Hyperparameter Tuning", Algorithm 2) with epochs as the budget.

Whenever a slot is free, the highest rung with a trial in the top ``1/factor`` of its finished
results that has not been promoted yet promotes it; otherwise the next candidate starts in
the lowest rung. There is no barrier between rungs: a promotion needs only ``factor`` results
in its rung, not the whole rung. A promoted trial continues from its fitted models (their
pickles, fitted again with ``warm_start=True`` for the epochs the next rung adds) instead of
training again from the start; an estimator without ``warm_start`` trains the next rung's
whole budget anew.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Set, Tuple

from steepest.tune.budget import Budget
from steepest.tune.results import trial_row
from steepest.tune.trial import Job


class AsynchronousHalving:
    """The scheduler: ``next_job`` and ``finished`` for :func:`steepest.tune.executors.drive`;
    the rows of the trials in ``rows``, one per fit of a candidate at a rung."""

    def __init__(self, candidates: List[Dict[str, Any]], budgets: List[int], factor: int, budget: Budget) -> None:
        self.candidates, self.budgets, self.factor, self.budget = candidates, budgets, factor, budget
        self.started = 0  # candidates started in the lowest rung
        self.next_index = 0
        # Per rung, (score, trial) of each finished trial, and the trials promoted from it.
        self.results: List[List[Tuple[float, int]]] = [[] for _ in budgets]
        self.promoted: List[Set[int]] = [set() for _ in budgets]
        self.jobs: Dict[int, Tuple[int, int, int]] = {}  # trial -> (candidate, rung, trial it continues or -1)
        self.models: Dict[int, List[bytes]] = {}  # a finished trial's fitted fold models
        self.epochs: Dict[int, float] = {}  # epochs its models have trained in all
        self.rows: List[Dict[str, Any]] = []

    def next_job(self) -> Optional[Job]:
        for rung in reversed(range(len(self.budgets) - 1)):
            finished = self.results[rung]
            ranked = sorted((-score, trial) for score, trial in finished if math.isfinite(score))
            for _, trial in ranked[: len(finished) // self.factor]:
                if trial not in self.promoted[rung]:
                    self.promoted[rung].add(trial)
                    return self._job(self.jobs[trial][0], rung + 1, trial)
        if self.started == len(self.candidates):
            return None
        self.started += 1
        return self._job(self.started - 1, 0, -1)

    def _job(self, candidate: int, rung: int, previous: int) -> Job:
        index, self.next_index = self.next_index, self.next_index + 1
        budget = self.budgets[rung]
        params = {**self.candidates[candidate], self.budget.parameter: budget}
        keep = rung < len(self.budgets) - 1
        if previous < 0 or self.budget.warm_start is None:
            self.jobs[index] = (candidate, rung, -1)
            return Job(index, params, keep_models=keep and self.budget.warm_start is not None)
        self.jobs[index] = (candidate, rung, previous)
        more = {self.budget.warm_start: True, self.budget.parameter: budget - self.budgets[rung - 1]}
        # A trial is promoted once: its models are not needed after this.
        return Job(index, params, resume=self.models.pop(previous), continue_with=more, keep_models=keep)

    def finished(self, record: Dict[str, Any]) -> None:
        trial = record["trial"]
        candidate, rung, previous = self.jobs[trial]
        if previous >= 0:
            record["epochs"] += self.epochs.get(previous, math.nan)
        self.epochs[trial] = record["epochs"]
        if "models" in record:
            self.models[trial] = record.pop("models")
        row = trial_row(record, {"rung": rung, "epochs_budget": self.budgets[rung], "resumed_from": previous})
        self.rows.append(row)
        self.results[rung].append((row["mean_test_score"], trial))

    def last_rung_rows(self) -> List[Dict[str, Any]]:
        """The rows of the highest rung any trial reached, where the best is chosen."""
        if not self.rows:
            return []
        top = max(row["rung"] for row in self.rows)
        return [row for row in self.rows if row["rung"] == top]
