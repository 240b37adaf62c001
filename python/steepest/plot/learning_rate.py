"""The learning-rate range test: the loss against a learning rate growing batch by batch."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from steepest.plot._figures import new_axes


def lr_range(result: Any, *, ax: Any = None, title: Optional[str] = None) -> Any:
    """Each batch's loss (faint) and the smoothed loss against the learning rate, on a log
    axis, with the suggested rates marked.

    Parameters
    ----------
    result : steepest.tune.LRFinderResult
        Or anything with ``lrs``, ``losses`` and ``smoothed`` arrays, and ``lr_steep`` and
        ``lr_min`` rates (NaN: not marked).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np, steepest.plot
    >>> from types import SimpleNamespace
    >>> lrs = np.geomspace(1e-4, 1, 50)
    >>> loss = 1 / (1 + lrs * 100) + lrs**2
    >>> found = SimpleNamespace(lrs=lrs, losses=loss, smoothed=loss, lr_steep=0.003, lr_min=0.01)
    >>> ax = steepest.plot.lr_range(found)
    >>> [line.get_label() for line in ax.get_lines()]
    ['loss of each batch', 'smoothed loss', 'steepest descent: 0.003', 'minimum / 10: 0.01']
    """
    lrs, losses, smoothed = (np.asarray(getattr(result, name), dtype=np.float64) for name in ("lrs", "losses", "smoothed"))
    if not len(lrs) == len(losses) == len(smoothed) or len(lrs) == 0:
        raise ValueError(f"lr_range needs lrs, losses and smoothed of one length (at least 1), got {len(lrs)}, {len(losses)}, {len(smoothed)}")
    ax = new_axes(ax, (6, 4))
    ax.plot(lrs, losses, color="0.75", linewidth=0.8, label="loss of each batch")
    ax.plot(lrs, smoothed, color="C0", linewidth=2, label="smoothed loss")
    for name, label, marker in (("lr_steep", "steepest descent", "o"), ("lr_min", "minimum / 10", "s")):
        rate = float(getattr(result, name))
        if np.isfinite(rate):
            ax.plot([rate], [np.interp(np.log(rate), np.log(lrs), smoothed)], marker=marker, linestyle="none", markersize=8, label=f"{label}: {rate:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    # The raw losses of the last, diverging batches would flatten the rest: the top of the y
    # range is the smoothed curve's (which the stopping rule keeps below 4 times its best).
    finite = smoothed[np.isfinite(smoothed)]
    if len(finite):
        low, high = float(min(finite.min(), np.nanmin(losses))), float(finite.max())
        margin = 0.05 * (high - low) if high > low else 0.05 * abs(high) + 1e-12
        ax.set_ylim(low - margin, high + margin)
    ax.legend()
    ax.set_title(title if title is not None else "learning-rate range test")
    return ax
