"""Candidates from a search space: every combination (grid) or independent draws (random)."""

from __future__ import annotations

import itertools
from typing import Any, Dict, List, Mapping

import numpy as np

from steepest.tune.distributions import as_distribution


def grid_candidates(space: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Every combination of the values of ``space``, the first parameter varying slowest."""
    names = list(space)
    values = [as_distribution(name, space[name]).grid_values() for name in names]
    return [dict(zip(names, combination)) for combination in itertools.product(*values)]


def random_candidates(space: Mapping[str, Any], n_trials: int, rng: np.random.Generator) -> List[Dict[str, Any]]:
    """``n_trials`` candidates, each parameter drawn independently, in the order of ``space``."""
    distributions = {name: as_distribution(name, value) for name, value in space.items()}
    return [{name: distribution.sample(rng) for name, distribution in distributions.items()} for _ in range(n_trials)]
