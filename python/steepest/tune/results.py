"""The table of trials a search returns: one row per trial, in trial order, under the
column names of scikit-learn's ``cv_results_``, so that what works on a GridSearchCV's
results (pandas, plotting, ``params[best_index_]``) works on it too."""

from __future__ import annotations

import csv
import math
from io import StringIO
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np

from steepest import io


class Results:
    """One row per trial, with scikit-learn's ``cv_results_`` columns:

    ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``, ``std_score_time``
        Seconds per fold (fitting, then scoring), mean and standard deviation over the folds.
    ``param_<name>``, ``params``
        Each parameter, and the dict of all of them the trial was fitted with (with
        halving, ``max_iter`` is the trial's epoch budget).
    ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``
        The score on each fold (or the validation set, as ``split0``), their mean and
        standard deviation; NaN for a failed trial, as scikit-learn's ``error_score=np.nan``.
    ``rank_test_score``
        1 for the best mean score, as scikit-learn ranks: tied scores share the better
        rank, failed trials rank together after every finished one.

    and steepest's own: ``trial`` (its number, first), ``rung`` and ``epochs_budget``
    (the round and its epochs, with halving, asha and tpe), ``resumed_from`` (asha: the
    trial whose fitted models this one trained on, -1 for a fresh start), ``pruned`` (tpe:
    stopped at its rung), ``epochs`` (mean epochs its models trained, earlier rungs
    included), ``threads`` (steepest threads the trial ran with), ``warnings`` (raised while
    fitting and scoring, e.g. a ConvergenceWarning) and ``error`` (the exception of a failed
    trial, else empty). A tpe row is a whole trial (its fit times add up its rungs); an asha
    row is one rung of a candidate (its fit times are that rung's).

    Examples
    --------
    >>> from steepest.tune.results import Results
    >>> table = Results([{"trial": 0, "params": {"alpha": 0.1}, "mean_test_score": 0.8},
    ...                  {"trial": 1, "params": {"alpha": 1.0}, "mean_test_score": 0.9}])
    >>> table.column("rank_test_score")
    [2, 1]
    >>> table.to_dict()["mean_test_score"]
    array([0.8, 0.9])
    """

    def __init__(self, rows: Sequence[Dict[str, Any]]) -> None:
        rows = list(rows)
        # The rank is the table's: it depends on every trial, so it is given here.
        ranks = rank_test_scores([row["mean_test_score"] for row in rows])
        self.rows: List[Dict[str, Any]] = [_with_rank(row, rank) for row, rank in zip(rows, ranks)]

    @property
    def columns(self) -> List[str]:
        names: List[str] = []
        for row in self.rows:
            names += [name for name in row if name not in names]
        return names

    @property
    def parameters(self) -> List[str]:
        """The searched parameters' names."""
        return [name[len("param_") :] for name in self.columns if name.startswith("param_")]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        return self.rows[index]

    def column(self, name: str) -> List[Any]:
        return [row.get(name) for row in self.rows]

    def to_dict(self) -> Dict[str, Any]:
        """The table as scikit-learn's ``cv_results_``: a dict of columns, each a NumPy
        array (``rank_test_score`` of int32), except ``params``, a list of dicts, and each
        ``param_<name>``, a masked array (masked where a trial lacks the parameter).
        ``pandas.DataFrame(results.to_dict())`` therefore has every column that
        ``pandas.DataFrame(search.cv_results_)`` has, and steepest's beside them."""
        columns: Dict[str, Any] = {}
        for name in self.columns:
            if name == "params":
                columns[name] = self.column(name)
            elif name.startswith("param_"):
                columns[name] = _masked_parameter_column(self.rows, name)
            elif name == "rank_test_score":
                columns[name] = np.asarray(self.column(name), dtype=np.int32)
            else:
                columns[name] = np.asarray(self.column(name))
        return columns

    def to_csv(self, path: Any) -> None:
        """Write the table as CSV, one row per trial (parameters written as their repr when
        they are not numbers or strings)."""
        columns = self.columns
        text = StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        for row in self.rows:
            writer.writerow([_cell(row.get(name)) for name in columns])
        io.write_atomically(text.getvalue(), path)

    def to_dataframe(self) -> Any:
        """The table as a pandas DataFrame (needs pandas), the same as
        ``pandas.DataFrame(results.to_dict())``."""
        import pandas

        return pandas.DataFrame(self.to_dict())

    def plot(self, path: Optional[Any] = None, *, param: Optional[str] = None, title: Optional[str] = None) -> Any:
        """The mean test score against each searched parameter (or only ``param``): see
        :func:`steepest.plot.tuning_results`. Written to ``path`` when given (the format
        follows the extension) and closed; returns the matplotlib Figure."""
        from steepest import plot

        figure = plot.tuning_results(self, param=param, title=title)
        if path is not None:
            plot.save(figure, path)
        return figure

    def __repr__(self) -> str:
        failed = sum(1 for row in self.rows if row.get("error"))
        return f"Results({len(self)} trials, {failed} failed; columns: {', '.join(self.columns)})"


def trial_row(record: Dict[str, Any], extra: Dict[str, Any]) -> Dict[str, Any]:
    """A trial's row (without its rank, which the table gives) from what
    :func:`steepest.tune.trial.run_trial` recorded; ``extra`` holds the ``rung``,
    ``epochs_budget`` (and asha's ``resumed_from``) of the methods that train in rungs. The
    columns come in the order of scikit-learn's ``cv_results_``."""
    row: Dict[str, Any] = {"trial": record["trial"], **extra}
    row.update(_mean_and_std("fit_time", record["fit_times"]))
    row.update(_mean_and_std("score_time", record["score_times"]))
    row.update({"param_" + name: value for name, value in record["params"].items()})
    row["params"] = dict(record["params"])
    row.update({f"split{k}_test_score": score for k, score in enumerate(record["scores"])})
    row.update(_mean_and_std("test_score", record["scores"]))
    row["epochs"] = record["epochs"]
    row["threads"] = record["threads"]
    row["warnings"] = "; ".join(record["warnings"])
    row["error"] = record["error"] or ""
    return row


def rank_test_scores(mean_scores: Sequence[float]) -> List[int]:
    """scikit-learn's ``rank_test_score`` (``BaseSearchCV._format_results``): 1 for the
    highest mean score, tied scores share the better rank (scipy's rankdata ``"min"``),
    NaN scores (failed trials) tie just below the lowest finished one; all 1 when every
    trial failed.

    >>> rank_test_scores([0.5, 0.9, float("nan"), 0.9, 0.7])
    [4, 1, 5, 1, 3]
    """
    scores = np.asarray(mean_scores, dtype=np.float64)
    if np.isnan(scores).all():
        return [1] * len(scores)
    filled = np.where(np.isnan(scores), np.nanmin(scores) - 1, scores)
    return [1 + int(np.sum(filled > score)) for score in filled]


def _mean_and_std(name: str, values: List[float]) -> Dict[str, float]:
    # A trial that failed before any fold was timed has no times: NaN, as for its scores,
    # and without NumPy's warning about the mean of nothing.
    if not values:
        return {f"mean_{name}": math.nan, f"std_{name}": math.nan}
    return {f"mean_{name}": float(np.mean(values)), f"std_{name}": float(np.std(values))}


def _with_rank(row: Dict[str, Any], rank: int) -> Dict[str, Any]:
    """The row with ``rank_test_score`` where scikit-learn puts it: after ``std_test_score``
    (or last in a row without it)."""
    ranked: Dict[str, Any] = {}
    for name, value in row.items():
        if name != "rank_test_score":
            ranked[name] = value
        if name == "std_test_score":
            ranked["rank_test_score"] = rank
    ranked.setdefault("rank_test_score", rank)
    return ranked


def _masked_parameter_column(rows: List[Dict[str, Any]], name: str) -> Any:
    """A ``param_<name>`` column as scikit-learn makes it (``_yield_masked_array_for_each_param``):
    NumPy's own dtype for the values when they make a 1-D array of numbers or booleans,
    objects otherwise (strings, tuples of layer sizes); masked where a row lacks it."""
    values = [row[name] for row in rows if name in row]
    try:
        inferred = np.array(values)
        dtype = inferred.dtype if inferred.ndim == 1 and inferred.dtype.kind != "U" else np.dtype(object)
    except ValueError:  # sequences of different lengths, e.g. (64,) and (64, 32)
        dtype = np.dtype(object)
    column = np.ma.MaskedArray(np.empty(len(rows), dtype=dtype), mask=True)
    for index, row in enumerate(rows):
        if name in row:
            column[index] = row[name]  # which unmasks it
    return column


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return "" if isinstance(value, float) and math.isnan(value) else value
    return repr(value)
