"""The scores of a hyperparameter search against the parameters it tried, one panel per
parameter: from steepest.tune's results, scikit-learn's ``cv_results_``, a pandas
DataFrame of either, or a list of dicts."""

from __future__ import annotations

import math
import sys
import textwrap
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from steepest.plot._figures import pyplot

#: The score columns looked for, in order, when none is named.
SCORE_COLUMNS = ("mean_test_score", "score", "val_loss", "loss")
# Wider than three panels a row the picture no longer fits a page or a notebook cell.
_PANELS_PER_ROW = 3
_PANEL_INCHES = (4.2, 3.2)
# A lone panel gets the room of a plain plot, and its title the width to be read.
_LONE_PANEL_INCHES = (6.0, 4.0)
_MEDIAN_LABEL = "median of each value"
# Whole-number parameters of at most this many values are drawn as categories.
_MOST_INTEGER_CATEGORIES = 5


def tuning_results(results: Any, param: Optional[str] = None, score: Optional[str] = None, *, ax: Any = None, title: Optional[str] = None) -> Any:
    """The score of every trial of a hyperparameter search against each parameter it
    searched, one panel per parameter (at most three a row), the best trial marked with a
    red star (its score in the legend).

    A parameter whose values are numbers is drawn on a numeric axis, logarithmic when they
    are positive and span more than a factor 100; other values (strings, tuples of layer
    sizes, booleans), and integers of at most five distinct values (batch sizes, a grid's
    few epochs), are categories, each with a grey bar at the median of its scores.
    The title says which way is better, how many trials failed (they are left out: no
    finite score) and, on a second line, the best trial's parameters, so that the picture
    answers "what should I use" at a glance.

    Parameters
    ----------
    results : steepest.tune Results, mapping of columns, DataFrame, or list of dicts
        One entry per trial: ``result.results`` of :func:`steepest.tune.search`, the
        ``cv_results_`` of a scikit-learn search, a ``pandas.DataFrame`` of either, or
        records such as ``[{"params": {"alpha": 0.1}, "score": 0.93}, ...]``.
    param : str, optional
        Draw only this parameter (``alpha`` or ``param_alpha``). Default: every parameter,
        from the ``param_<name>`` columns or else the ``params`` dicts.
    score : str, optional
        The column holding the score; default the first of ``mean_test_score``, ``score``,
        ``val_loss``, ``loss`` present. A ``std_`` column beside a ``mean_`` one
        (``std_test_score``) adds error bars. Higher is better, except for a score whose
        name says ``loss`` or ``error`` and is not one of scikit-learn's (``mean_test_*``,
        ``neg_*``), such as ``val_loss``.
    ax : matplotlib Axes, optional
        Draw the one panel here (needs ``param`` when the search has several parameters).
    title : str, optional
        Default: the score and the number of trials.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import steepest.plot
    >>> trials = [{"params": {"lr": lr, "activation": a}, "score": s}
    ...           for lr, a, s in [(0.001, "relu", 0.8), (0.01, "tanh", 0.9), (0.1, "relu", float("nan"))]]
    >>> figure = steepest.plot.tuning_results(trials)
    >>> [(ax.get_xlabel(), ax.get_xscale()) for ax in figure.axes]
    [('lr', 'linear'), ('activation', 'linear')]
    >>> steepest.plot.tuning_results(trials + [{"params": {"lr": 1.0}, "score": 0.5}], param="lr").axes[0].get_xscale()
    'log'
    """
    columns = _result_columns(results)
    score = _score_column(columns, score)
    scores = np.asarray([_as_float(value) for value in columns[score]])
    spread = "std_" + score[len("mean_") :] if score.startswith("mean_") else None
    errors = np.asarray([_as_float(value) for value in columns[spread]]) if spread in columns else None
    finished = np.isfinite(scores)
    names = [param.removeprefix("param_")] if param is not None else _parameter_names(columns)
    if not names:
        raise KeyError(f"no parameters found in the tuning results (no param_<name> columns or params dicts); pass param= one of: {', '.join(columns)}")
    values = {name: _parameter_values(columns, name) for name in names}
    if ax is not None and len(names) > 1:
        raise ValueError(f"ax= holds one panel, and the search has {len(names)} parameters: pass param= one of {', '.join(names)}")
    # scikit-learn's test scores are higher-is-better, mean_test_neg_log_loss too; a plain
    # loss column (val_loss) is not.
    lower_is_better = ("loss" in score or "error" in score) and "test_" not in score and "neg_" not in score
    best = None
    if finished.any():
        candidates = np.where(finished, scores, np.nan)
        best = int(np.nanargmin(candidates) if lower_is_better else np.nanargmax(candidates))

    if ax is None:
        # As few rows as three panels a row allow, filled evenly: four panels are 2 x 2.
        rows_of_panels = math.ceil(len(names) / _PANELS_PER_ROW)
        columns_of_panels = math.ceil(len(names) / rows_of_panels)
        width, height = _PANEL_INCHES if len(names) > 1 else _LONE_PANEL_INCHES
        figure, grid = pyplot().subplots(
            rows_of_panels,
            columns_of_panels,
            figsize=(width * columns_of_panels, height * rows_of_panels + 0.4),
            squeeze=False,
            sharey=True,
            layout="constrained",
        )
        panels = list(grid.flat)
        for unused in panels[len(names) :]:
            figure.delaxes(unused)
        for row in grid:
            row[0].set_ylabel(score)
    else:
        figure, panels = ax.figure, [ax]
        ax.set_ylabel(score)
    for panel, name in zip(panels, names):
        _draw_panel(panel, name, values[name], scores, errors, finished, best)
    # Every panel stars the same trial and bars categories alike: one legend, on the first
    # panel with the star (else the first with a bar), says what the star and the bars are.
    entries = {label: handle for panel in panels for handle, label in zip(*panel.get_legend_handles_labels())}
    entries = dict(sorted(entries.items(), key=lambda entry: not entry[0].startswith("best")))
    if entries:
        keyed = [panel for panel in panels if any(label.startswith("best") for label in panel.get_legend_handles_labels()[1])]
        (keyed or [panel for panel in panels if panel.get_legend_handles_labels()[0]])[0].legend(
            list(entries.values()), list(entries), loc="best", fontsize="small"
        )

    failed = int(np.sum(~finished))
    if title is not None:
        heading = title
    else:
        better = "lower" if lower_is_better else "higher"
        heading = f"{score} ({better} is better) of {len(scores)} trial{'' if len(scores) == 1 else 's'}"
        heading += f" ({failed} failed, left out)" if failed else ""
        if best is not None:
            chosen = [f"{name}={_shown(values[name][best])}" for name in names if _is_present(values[name][best])]
            heading += f"\nbest (★ {scores[best]:.4g}): " + ", ".join(chosen)
    if ax is None:
        # Wrapped to the figure's width (about 12 characters an inch at the title's size).
        width = int(figure.get_size_inches()[0] * 12)
        figure.suptitle("\n".join(textwrap.fill(line, width) for line in heading.split("\n")))
    else:
        ax.set_title(heading)
    return figure


def _draw_panel(ax: Any, name: str, values: List[Any], scores: np.ndarray, errors: Optional[np.ndarray], finished: np.ndarray, best: Optional[int]) -> None:
    """One parameter's panel: each finished trial that has the parameter, at its value."""
    shown = [i for i in range(len(scores)) if finished[i] and _is_present(values[i])]
    shown_values = [values[i] for i in shown]
    numbers = bool(shown_values) and all(_is_number(value) for value in shown_values)
    # A few whole numbers (batch sizes 32, 64, 128) read better side by side than spread
    # over a numeric axis.
    few_integers = numbers and len(set(shown_values)) <= _MOST_INTEGER_CATEGORIES and all(isinstance(value, (int, np.integer)) for value in shown_values)
    if numbers and not few_integers:
        x = np.asarray(shown_values, dtype=np.float64)
        if x.min() > 0 and x.max() > 100 * x.min():
            ax.set_xscale("log")
    else:
        categories = _categories(shown_values)
        labels = [_shown(category) for category in categories]
        x = np.asarray([categories.index(value) for value in shown_values], dtype=np.float64)
        long_labels = sum(map(len, labels)) > 30
        ax.set_xticks(range(len(categories)), labels, rotation=30 if long_labels else 0, ha="right" if long_labels else "center")
        ax.set_xlim(-0.5, len(categories) - 0.5)
        medians = [np.median(scores[shown][x == index]) for index in range(len(categories))]
        ax.hlines(medians, np.arange(len(categories)) - 0.25, np.arange(len(categories)) + 0.25, colors="grey", linewidth=2, zorder=1, label=_MEDIAN_LABEL)
    ax.errorbar(x, scores[shown], yerr=None if errors is None else errors[shown], fmt="o", markersize=5, alpha=0.7, elinewidth=0.8, color="tab:blue")
    if best is not None and best in shown:
        at = shown.index(best)
        ax.plot(
            [x[at]],
            [scores[best]],
            marker="*",
            markersize=15,
            color="tab:red",
            markeredgecolor="white",
            linestyle="none",
            zorder=3,
            label=f"best: {scores[best]:.4g}",
        )
    ax.set_xlabel(name)
    ax.grid(True, alpha=0.3)


def _result_columns(results: Any) -> Dict[str, List[Any]]:
    """The results as columns of equal length: from a mapping of columns (``cv_results_``),
    a pandas DataFrame, or rows (dicts: steepest.tune's Results iterates over its rows)."""
    pandas = sys.modules.get("pandas")  # a DataFrame means pandas is imported already
    if isinstance(results, Mapping):
        return {str(name): list(results[name]) for name in results}
    if pandas is not None and isinstance(results, pandas.DataFrame):
        return {str(name): results[name].tolist() for name in results.columns}
    records = list(results)
    if not records or not all(isinstance(record, Mapping) for record in records):
        raise TypeError("tuning results must be a mapping of columns (e.g. cv_results_, a DataFrame), steepest.tune Results or a list of dicts")
    names = list(dict.fromkeys(name for record in records for name in record))
    return {str(name): [record.get(name) for record in records] for name in names}


def _score_column(columns: Dict[str, List[Any]], score: Optional[str]) -> str:
    if score is None:
        found = next((name for name in SCORE_COLUMNS if name in columns), None)
        if found is None:
            raise KeyError(f"no score column found; pass score= one of: {', '.join(columns)}")
        return found
    if score not in columns:
        raise KeyError(f"no column {score!r} in the tuning results; columns: {', '.join(columns)}")
    return score


def _parameter_names(columns: Dict[str, List[Any]]) -> List[str]:
    names = [name[len("param_") :] for name in columns if name.startswith("param_")]
    if names or "params" not in columns:
        return names
    return list(dict.fromkeys(name for params in columns["params"] if isinstance(params, Mapping) for name in params))


def _parameter_values(columns: Dict[str, List[Any]], name: str) -> List[Any]:
    """Each trial's value of ``name`` (``np.ma.masked`` where a trial lacks it)."""
    for column in ("param_" + name, name):
        if column in columns:
            return columns[column]
    if "params" in columns:
        every = [params for params in columns["params"] if isinstance(params, Mapping)]
        if any(name in params for params in every):
            return [params.get(name, np.ma.masked) if isinstance(params, Mapping) else np.ma.masked for params in columns["params"]]
    raise KeyError(f"no parameter {name!r} in the tuning results; columns: {', '.join(columns)}")


def _categories(values: List[Any]) -> List[Any]:
    """The distinct values in their own order (32 before 64, "relu" before "tanh") when they
    have one, else in the order the trials met them. Compared by equality, not hashed:
    a parameter's value may be a list."""
    distinct: List[Any] = []
    for value in values:
        if value not in distinct:
            distinct.append(value)
    try:
        return sorted(distinct)
    except TypeError:  # e.g. None beside numbers
        return distinct


def _is_present(value: Any) -> bool:
    """False for what stands for a missing parameter: scikit-learn's masked entries, and the
    NaN that pandas makes of them."""
    return value is not np.ma.masked and not (isinstance(value, float) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _shown(value: Any) -> str:
    """A parameter's value as the title shows it: floats to 3 digits."""
    return f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value)


def _as_float(value: Any) -> float:
    """A score as a float: NaN for a trial without one (None, masked)."""
    return math.nan if value is None or value is np.ma.masked else float(value)
