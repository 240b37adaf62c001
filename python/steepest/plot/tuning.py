"""The scores of a hyperparameter search against the parameters it tried."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from steepest.plot._figures import new_axes


def _result_columns(results: Any) -> Dict[str, List[Any]]:
    """Tuning results as columns: a mapping of columns (scikit-learn's ``cv_results_``, a
    pandas DataFrame) or a sequence of records (dicts); a ``params`` column or field of
    dicts is spread into one column per parameter."""
    if isinstance(results, Mapping) or hasattr(results, "columns"):
        columns = {str(key): list(results[key]) for key in (results.columns if hasattr(results, "columns") else results)}
    else:
        records = list(results)
        if not records or not all(isinstance(record, Mapping) for record in records):
            raise TypeError("tuning results must be a mapping of columns (e.g. cv_results_, a DataFrame) or a list of dicts")
        keys = list(dict.fromkeys(key for record in records for key in record))
        columns = {str(key): [record.get(key) for record in records] for key in keys}
    if "params" in columns:
        for params in columns["params"]:
            for name in params:
                columns.setdefault(str(name), [p.get(name) for p in columns["params"]])
    return columns


def tuning_results(results: Any, param: Optional[str] = None, score: Optional[str] = None, *, ax: Any = None, title: Optional[str] = None) -> Any:
    """Scores of a hyperparameter search: against one parameter, or every trial ranked.

    Parameters
    ----------
    results : mapping of columns, DataFrame, or list of dicts
        One entry per trial, e.g. scikit-learn's ``search.cv_results_`` or
        ``[{"params": {"alpha": 0.1}, "score": 0.93}, ...]``.
    param : str, optional
        Draw the score against this parameter (a log axis when its positive values span
        two decades or more). Default: every trial as a bar, best at the top, labelled by
        its parameters.
    score : str, optional
        The column holding the score; default the first of ``mean_test_score``, ``score``,
        ``val_loss``, ``loss`` present. A ``std_test_score`` column adds error bars.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import steepest.plot
    >>> trials = [{"params": {"lr": lr}, "score": s} for lr, s in [(0.001, 0.8), (0.01, 0.9), (0.1, 0.7)]]
    >>> steepest.plot.tuning_results(trials, param="lr").get_xscale()
    'log'
    >>> [t.get_text() for t in steepest.plot.tuning_results(trials).get_yticklabels()]
    ['lr=0.1', 'lr=0.001', 'lr=0.01']
    """
    columns = _result_columns(results)
    if score is None:
        score = next((key for key in ("mean_test_score", "score", "val_loss", "loss") if key in columns), None)
        if score is None:
            raise KeyError(f"no score column found; pass score= one of: {', '.join(columns)}")
    if score not in columns:
        raise KeyError(f"no column {score!r} in the tuning results; columns: {', '.join(columns)}")
    scores = np.asarray(columns[score], dtype=np.float64)
    errors = np.asarray(columns["std_test_score"], dtype=np.float64) if score == "mean_test_score" and "std_test_score" in columns else None
    lower_is_better = "loss" in score or "error" in score
    if param is None:
        labels = _trial_labels(columns, len(scores))
        order = np.argsort(scores if not lower_is_better else -scores)
        ax = new_axes(ax, (6.5, 0.3 * len(scores) + 1.5))
        ax.barh(np.arange(len(scores)), scores[order], xerr=None if errors is None else errors[order], color="tab:blue", alpha=0.8)
        ax.set_yticks(np.arange(len(scores)), [labels[i] for i in order], fontsize=8)
        ax.set_xlabel(score)
        ax.grid(True, axis="x", alpha=0.3)
    else:
        key = param if param in columns else f"param_{param}"
        if key not in columns:
            raise KeyError(f"no parameter {param!r} in the tuning results; columns: {', '.join(columns)}")
        values = columns[key]
        ax = new_axes(ax, (6, 4))
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
            x = np.asarray(values, dtype=np.float64)
            ax.errorbar(x, scores, yerr=errors, fmt="o", alpha=0.8)
            positive = x[x > 0]
            if positive.size == x.size and positive.max() >= 100 * positive.min():
                ax.set_xscale("log")
        else:
            categories = list(dict.fromkeys(str(v) for v in values))
            x = np.asarray([categories.index(str(v)) for v in values])
            ax.errorbar(x, scores, yerr=errors, fmt="o", alpha=0.8)
            ax.set_xticks(range(len(categories)), categories)
        ax.set_xlabel(param)
        ax.set_ylabel(score)
        ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def _trial_labels(columns: Dict[str, List[Any]], trials: int) -> List[str]:
    if "params" in columns:
        return [", ".join(f"{k}={v}" for k, v in params.items()) for params in columns["params"]]
    names = [key for key in columns if key.startswith("param_")]
    if names:
        return [", ".join(f"{key[len('param_'):]}={columns[key][i]}" for key in names) for i in range(trials)]
    return [f"trial {i}" for i in range(trials)]
