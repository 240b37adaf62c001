"""What every picture shares: matplotlib, imported only when a picture is drawn (it is the
optional extra ``steepest[plot]``), new axes when the caller gives none, and :func:`save`.

``save``'s example is in the package docstring: doctests skip private modules."""

from __future__ import annotations

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
        raise ImportError(
            "steepest.plot needs matplotlib, which is not installed: pip install 'steepest[plot]'"
        ) from error
    return plt


def new_axes(ax: Any, figsize: Tuple[float, float]) -> Any:
    """``ax``, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    figure, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def save(figure: Any, path: Union[str, "os.PathLike[str]"], *, dpi: int = 100) -> None:
    """Write ``figure`` to ``path`` (the format follows the extension: .png, .svg, .pdf),
    atomically as a model is saved, and close it, so that a script drawing many pictures
    does not keep them all in memory.
    """
    picture = BytesIO()
    figure.savefig(picture, format=Path(os.fspath(path)).suffix[1:] or None, dpi=dpi)
    io.write_atomically(picture.getvalue(), path)
    pyplot().close(figure)
