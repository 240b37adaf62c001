"""The per-layer training diagnostics of a History: gradient norms, update ratios, dead and
saturated units, epoch by epoch.

(Not ``diagnostics.py``: the package re-exports the function :func:`diagnostics`, and a
submodule of the same name would shadow it or be shadowed.)"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, cast

import numpy as np

from steepest.plot._figures import pyplot
from steepest.train.history import History

# What each per-layer diagnostic of a History means, for the panel titles.
DIAGNOSTIC_TITLES = {
    "gradient_norm": "gradient norm (mean over the batches of the epoch)",
    "update_ratio": "update-to-weight ratio ‖ΔW‖/‖W‖",
    "dead_fraction": "dead ReLU units (never active in the epoch)",
    "saturated_fraction": "saturated sigmoid/tanh units",
}

# Diagnostics whose values span decades: drawn on a log scale.
_LOG_SCALE_DIAGNOSTICS = ("gradient_norm", "update_ratio")


def diagnostics(history: History, names: Sequence[str] = ("gradient_norm", "update_ratio", "dead_fraction", "saturated_fraction"), *, title: Optional[str] = None) -> Any:
    """The per-layer training diagnostics of a History, one panel per diagnostic, one line
    per layer.

    Gradient norms that shrink towards the input show vanishing gradients; a dead ReLU
    fraction that climbs shows units that stopped learning (often a learning rate too high);
    saturated sigmoid/tanh units learn slowly.

    Parameters
    ----------
    history : History
        From ``fit(..., diagnostics=True)`` (the default).
    names : sequence of str
        Diagnostics to draw (see :attr:`steepest.History.diagnostics`); layers without a
        value (e.g. ``dead_fraction`` of a sigmoid layer) are left out of that panel.
    title : str, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np, steepest, steepest.plot
    >>> X = np.random.default_rng(0).random((64, 4)).astype(np.float32)
    >>> history = steepest.MLP([4, 8, 8, 4], seed=0).fit(X, X, epochs=3, verbose=0)
    >>> figure = steepest.plot.diagnostics(history, names=["gradient_norm", "dead_fraction"])
    >>> [ax.get_title() for ax in figure.axes]
    ['gradient norm (mean over the batches of the epoch)', 'dead ReLU units (never active in the epoch)']
    """
    if not isinstance(history, History):
        raise TypeError(f"diagnostics takes a steepest History, got {type(history).__name__}")
    if not history.diagnostics or not any(history.diagnostics):
        raise ValueError("this History holds no diagnostics: train with fit(..., diagnostics=True)")
    unknown = [name for name in names if name not in DIAGNOSTIC_TITLES]
    if unknown:
        raise ValueError(f"unknown diagnostic {unknown[0]!r}; expected one of: {', '.join(DIAGNOSTIC_TITLES)}")
    columns = min(2, len(names))
    panel_rows = math.ceil(len(names) / columns)
    figure, axes = pyplot().subplots(panel_rows, columns, figsize=(4.8 * columns, 3.0 * panel_rows), squeeze=False, layout="constrained")
    epochs = [epoch + 1 for epoch in history.epochs]
    for ax, name in zip(axes.flat, names):
        per_epoch = history.layer_diagnostic(name)
        for layer in range(len(per_epoch[0])):
            values = [np.nan if row[layer] is None else cast(float, row[layer]) for row in per_epoch]
            if not np.all(np.isnan(values)):
                ax.plot(epochs, values, label=f"layer {layer}")
        ax.set_title(DIAGNOSTIC_TITLES[name], fontsize=10)
        ax.set_xlabel("epoch")
        if name in _LOG_SCALE_DIAGNOSTICS:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "no layer of this kind", ha="center", va="center", transform=ax.transAxes, color="grey")
    for ax in list(axes.flat)[len(names):]:
        ax.set_axis_off()
    if title:
        figure.suptitle(title)
    return figure
