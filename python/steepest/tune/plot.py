"""A figure of the score against each searched hyperparameter (matplotlib)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, List, Optional

if TYPE_CHECKING:
    from steepest.tune.results import Results


def plot_scores(results: "Results", path: Optional[Any] = None) -> Any:
    """One panel per hyperparameter with each finished trial's mean score; a log axis for
    positive numbers spanning more than a factor 100, category labels for other values.
    Failed trials are left out. Saves a PNG to ``path`` when given; returns the Figure.
    """
    from matplotlib.figure import Figure

    names = results.parameters
    rows = [row for row in results if not row.get("error") and _is_finite(row.get("mean_score"))]
    figure = Figure(figsize=(4 * max(1, len(names)), 3.2), layout="constrained")
    axes = figure.subplots(1, max(1, len(names)), squeeze=False)[0]
    for axis, name in zip(axes, names):
        values: List[Any] = [row.get("param_" + name) for row in rows]
        scores = [row["mean_score"] for row in rows]
        if values and all(_is_finite(v) for v in values):
            axis.scatter(values, scores)
            if min(values) > 0 and max(values) > 100 * min(values):
                axis.set_xscale("log")
        else:
            labels: List[str] = sorted({repr(v) for v in values})
            axis.scatter([labels.index(repr(v)) for v in values], scores)
            axis.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        axis.set_xlabel(name)
        axis.set_ylabel("mean score")
    if path is not None:
        figure.savefig(path, format="png", dpi=100)
    return figure


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
