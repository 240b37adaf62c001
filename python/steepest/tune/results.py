"""The table of trials a search returns: one row per trial, in trial order."""

from __future__ import annotations

import csv
import math
from typing import Any, Dict, Iterator, List, Optional, Sequence


class Results:
    """One row per trial: ``trial``, ``rung`` and ``epochs_budget`` (halving), the
    parameters (``param_<name>``), ``mean_score``, ``std_score``, ``split<k>_score``,
    ``fit_time`` (seconds, all folds), ``epochs`` (mean epochs run), ``threads`` (steepest
    threads the trial ran with), ``warnings`` (raised while fitting and scoring, e.g. a
    ConvergenceWarning) and ``error`` (the exception of a failed trial, else empty).

    Examples
    --------
    >>> from steepest.tune.results import Results
    >>> table = Results([{"trial": 0, "param_alpha": 0.1, "mean_score": 0.9, "error": ""}])
    >>> len(table), table[0]["mean_score"]
    (1, 0.9)
    """

    def __init__(self, rows: Sequence[Dict[str, Any]]) -> None:
        self.rows: List[Dict[str, Any]] = list(rows)

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

    def to_csv(self, path: Any) -> None:
        """Write the table as CSV, one row per trial (parameters written as their repr when
        they are not numbers or strings)."""
        columns = self.columns
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in self.rows:
                writer.writerow([_cell(row.get(name)) for name in columns])

    def to_dataframe(self) -> Any:
        """The table as a pandas DataFrame (needs pandas)."""
        import pandas

        return pandas.DataFrame(self.rows, columns=self.columns)

    def plot(self, path: Optional[Any] = None) -> Any:
        """Score against each hyperparameter (see :func:`steepest.tune.plot.plot_scores`)."""
        from steepest.tune.plot import plot_scores

        return plot_scores(self, path)

    def __repr__(self) -> str:
        failed = sum(1 for row in self.rows if row.get("error"))
        return f"Results({len(self)} trials, {failed} failed; columns: {', '.join(self.columns)})"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return "" if isinstance(value, float) and math.isnan(value) else value
    return repr(value)
