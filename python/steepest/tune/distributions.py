"""What a hyperparameter may be: a list of values (searched exhaustively by a grid) or a
distribution that random search and halving draw from."""

from __future__ import annotations

import math
from typing import Any, List, Sequence

import numpy as np


class Distribution:
    """A hyperparameter's distribution: ``sample(rng)`` draws one value."""

    def sample(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def grid_values(self) -> List[Any]:
        """The values a grid search tries; only discrete distributions have them."""
        raise ValueError(f"{self!r} is continuous: a grid needs lists or choice([...]); use method='random' or 'halving' to sample it")


class LogUniform(Distribution):
    """Uniform in log space between ``low`` and ``high``: learning rates, penalties."""

    def __init__(self, low: float, high: float) -> None:
        if not (0 < low < high and math.isfinite(high)):
            raise ValueError(f"loguniform needs 0 < low < high, got ({low}, {high})")
        self.low, self.high = float(low), float(high)

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def __repr__(self) -> str:
        return f"loguniform({self.low!r}, {self.high!r})"


class Uniform(Distribution):
    """Uniform between ``low`` and ``high``."""

    def __init__(self, low: float, high: float) -> None:
        if not (low < high and math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"uniform needs finite low < high, got ({low}, {high})")
        self.low, self.high = float(low), float(high)

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def __repr__(self) -> str:
        return f"uniform({self.low!r}, {self.high!r})"


class Choice(Distribution):
    """One of ``values``, equally likely: layer sizes, activations, batch sizes."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = list(values)
        if not self.values:
            raise ValueError("choice needs at least one value")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def grid_values(self) -> List[Any]:
        return list(self.values)

    def __repr__(self) -> str:
        return f"choice({self.values!r})"


def loguniform(low: float, high: float) -> LogUniform:
    """Values whose logarithm is uniform in ``[log low, log high]``.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest.tune import loguniform
    >>> 1e-4 <= loguniform(1e-4, 1e-1).sample(np.random.default_rng(0)) <= 1e-1
    True
    """
    return LogUniform(low, high)


def uniform(low: float, high: float) -> Uniform:
    """Values uniform in ``[low, high]``."""
    return Uniform(low, high)


def choice(values: Sequence[Any]) -> Choice:
    """One of ``values``, each equally likely (a grid tries them all)."""
    return Choice(values)


def as_distribution(name: str, value: Any) -> Distribution:
    """A space entry as a Distribution: lists and tuples become choices."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, (list, tuple)):
        return Choice(value)
    raise TypeError(f"space[{name!r}] must be a list of values or a steepest.tune distribution, got {type(value).__name__}")
