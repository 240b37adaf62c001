"""What every picture shares: matplotlib, imported only when a picture is drawn (it is the
optional extra ``steepest[plot]``), new axes when the caller gives none, and :func:`save`.

``save``'s example is in the package docstring: doctests skip private modules."""

from __future__ import annotations

import math
import os
from io import BytesIO
from pathlib import Path
from typing import Any, Tuple, Union

from steepest import io


def pyplot() -> Any:
    """matplotlib.pyplot, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("steepest.plot needs matplotlib, which is not installed: pip install 'steepest[plot]'") from error
    return plt


def new_axes(ax: Any, figsize: Tuple[float, float]) -> Any:
    """``ax``, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    figure, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def log_y_axis(ax: Any) -> None:
    """A logarithmic y axis labelled in plain numbers (0.3, 2, 1e-05), which read at a
    glance where matplotlib's default writes 3 × 10⁻¹; call it after drawing. Across two
    decades or less 2, 3 and 5 times each power of ten are labelled too, else only the
    powers (more labels would overlap)."""
    from matplotlib import ticker

    ax.set_yscale("log")
    low, high = ax.get_ylim()

    def between_powers(value: float, _: Any) -> str:
        # Only 2, 3 and 5 times a power of ten: all eight would crowd the top of a decade.
        mantissa = value / 10 ** math.floor(math.log10(value))
        return f"{value:g}" if any(abs(mantissa - m) < 1e-6 for m in (2, 3, 5)) else ""

    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(ticker.FuncFormatter(between_powers) if math.log10(high / low) <= 2 else ticker.NullFormatter())


def save(figure: Any, path: Union[str, "os.PathLike[str]"], *, dpi: int = 100) -> None:
    """Write ``figure`` to ``path`` (the format follows the extension: .png, .svg, .pdf),
    atomically as a model is saved, and close it, so that a script drawing many pictures
    does not keep them all in memory.
    """
    picture = BytesIO()
    figure.savefig(picture, format=Path(os.fspath(path)).suffix[1:] or None, dpi=dpi)
    io.write_atomically(picture.getvalue(), path)
    pyplot().close(figure)
