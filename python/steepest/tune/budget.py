"""The epoch budget of the searches that train in rungs (successive halving, asynchronous
halving, pruned Bayesian search): which parameter takes it, through a Pipeline's steps, and
the epochs of each rung."""

from __future__ import annotations

import math
import numbers
from typing import Any, List, NamedTuple, Optional

from steepest._validation import int_at_least

#: The name of the parameter the budget goes to (a Pipeline's step has it as ``<step>__max_iter``).
BUDGET_PARAMETER = "max_iter"


class Budget(NamedTuple):
    parameter: str  # e.g. "max_iter" or "mlpclassifier__max_iter"
    warm_start: Optional[str]  # the same estimator's warm_start parameter, if it has one
    largest: int  # the epochs of the last rung, as the estimator has them unless max_epochs says


def budget_parameter(estimator: Any, method: str) -> Budget:
    """The parameter of ``estimator`` (or of one of its steps) that takes the epoch budget."""
    params = estimator.get_params()
    names = [name for name in params if name == BUDGET_PARAMETER or name.endswith("__" + BUDGET_PARAMETER)]
    if not names:
        raise ValueError(
            f"method={method!r} gives its epoch budget to {BUDGET_PARAMETER!r}, which {type(estimator).__name__} does not have, nor any of its steps"
        )
    if len(names) > 1:
        raise ValueError(
            f"method={method!r} gives its epoch budget to {BUDGET_PARAMETER!r}, and {type(estimator).__name__} has several: {names}; only one of its steps may train for epochs"
        )
    name = names[0]
    warm_start = name[: -len(BUDGET_PARAMETER)] + "warm_start"
    return Budget(name, warm_start if warm_start in params else None, params[name])


def rung_budgets(candidates: int, factor: int, min_epochs: Optional[int], max_epochs: Optional[int], budget: Budget) -> List[int]:
    """The epochs of each rung for asynchronous halving and pruned Bayesian search: the first
    ``min_epochs`` (default: the largest divided by ``factor`` once per halving that
    ``candidates`` allow), each next ``factor`` times more, the last ``max_epochs`` (default
    the estimator's own budget).

    >>> from steepest.tune.budget import Budget
    >>> rung_budgets(27, 3, None, 81, Budget("max_iter", "warm_start", 200))
    [3, 9, 27, 81]
    >>> rung_budgets(27, 3, None, None, Budget("max_iter", "warm_start", 200))
    [7, 21, 63, 200]
    >>> rung_budgets(10, 3, 2, 20, Budget("max_iter", "warm_start", 200))
    [2, 6, 20]
    >>> rung_budgets(40, 3, None, 2, Budget("max_iter", "warm_start", 200))  # no rung above the largest
    [1, 2]
    """
    factor = int_at_least(factor, "factor", 2)
    largest = check_epochs(max_epochs if max_epochs is not None else budget.largest, "max_epochs" if max_epochs is not None else budget.parameter)
    if min_epochs is None:
        rungs = 1 + int(math.floor(math.log(candidates) / math.log(factor) + 1e-9))
        smallest = max(1, largest // factor ** (rungs - 1))
    else:
        smallest = check_epochs(min_epochs, "min_epochs")
        if smallest > largest:
            raise ValueError(
                f"the budget of {largest} epochs (max_epochs) is smaller than one rung of min_epochs={smallest}; lower min_epochs or raise max_epochs"
            )
        rungs = 1 + int(math.floor(math.log(largest / smallest) / math.log(factor) + 1e-9))
    budgets = [smallest * factor**rung for rung in range(rungs - 1) if smallest * factor**rung < largest]
    return budgets + [largest]


def check_epochs(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1 (epochs), got {value!r}")
    return int(value)
