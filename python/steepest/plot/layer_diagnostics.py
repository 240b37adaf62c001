"""The per-layer training diagnostics of a History: gradient norms, update ratios, dead and
saturated units, epoch by epoch; and a VAE's KL per latent dimension.

(Not ``diagnostics.py``: the package re-exports the function :func:`diagnostics`, and a
submodule of the same name would shadow it or be shadowed.)"""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence, cast

import numpy as np

from steepest.plot._figures import log_y_axis, pyplot
from steepest.train.history import History

# What each per-layer diagnostic of a History means, for the panel titles.
DIAGNOSTIC_TITLES = {
    "gradient_norm": "gradient norm (mean over the batches of the epoch)",
    "update_ratio": "update-to-weight ratio ‖ΔW‖/‖W‖",
    "dead_fraction": "dead ReLU units (never active in the epoch)",
    "saturated_fraction": "saturated sigmoid/tanh units",
    "zero_fraction": "weights exactly zero (as L1 makes them)",
}

# Diagnostics whose values span decades: drawn on a log scale.
_LOG_SCALE_DIAGNOSTICS = ("gradient_norm", "update_ratio")
# Why a panel has no line: the layers a diagnostic is recorded for. Any other diagnostic
# without a line gets the general reason.
_EMPTY_REASONS = {
    "dead_fraction": "no ReLU layer:\ndead units are counted in ReLU layers only",
    "saturated_fraction": "no sigmoid or tanh layer:\nsaturation is counted in those only",
}
# A fraction's axis: all of [0, 1], a little more so that lines at 0 and 1 show.
_FRACTION_LIMITS = (-0.03, 1.03)


def diagnostics(
    history: History, names: Sequence[str] = ("gradient_norm", "update_ratio", "dead_fraction", "saturated_fraction"), *, title: Optional[str] = None
) -> Any:
    """The per-layer training diagnostics of a History, one panel per diagnostic, one line
    per layer.

    Gradient norms that shrink towards the input show vanishing gradients; a dead ReLU
    fraction that climbs shows units that stopped learning (often a learning rate too high);
    saturated sigmoid/tanh units learn slowly. Fractions (every ``*_fraction``) are drawn
    on a fixed 0 to 1 axis, so that 2% dead looks like 2%; a panel with no layer to show
    says why it is empty.

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
        curves = {}
        for layer in range(len(per_epoch[0])):
            values = np.array([np.nan if row[layer] is None else cast(float, row[layer]) for row in per_epoch])
            if not np.all(np.isnan(values)):
                curves[layer] = values
        # A log axis has no place for 0 (a dead layer's gradient): such a curve is named in
        # the legend rather than silently missing; with nothing above 0 the axis stays linear.
        log_axis = name in _LOG_SCALE_DIAGNOSTICS and any(np.nanmax(values) > 0 for values in curves.values())
        for layer, values in curves.items():
            recorded = values[~np.isnan(values)]
            note = " (0 throughout)" if np.all(recorded == 0) else " (0 in some epochs: off the log axis)" if log_axis and np.any(recorded == 0) else ""
            ax.plot(epochs, values, label=f"layer {layer}{note}")
        ax.set_title(DIAGNOSTIC_TITLES[name], fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(pyplot().MaxNLocator(integer=True))
        if name.endswith("_fraction"):
            ax.set_ylim(*_FRACTION_LIMITS)
        elif log_axis:
            log_y_axis(ax)
        ax.grid(True, alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize="small")
        else:
            reason = _EMPTY_REASONS.get(name, "no layer of this model\nrecords this diagnostic")
            ax.text(0.5, 0.5, reason, ha="center", va="center", transform=ax.transAxes, color="dimgrey")
    # An empty panel's epochs span those of the others, so that the panels line up.
    drawn = [ax for ax in axes.flat if ax.get_lines()]
    for ax in list(axes.flat)[: len(names)]:
        if drawn and not ax.get_lines():
            ax.set_xlim(drawn[0].get_xlim())
    for ax in list(axes.flat)[len(names) :]:
        ax.set_axis_off()
    if title:
        figure.suptitle(title)
    return figure


# A latent dimension counts as active when its mean KL to the prior is above this many nats
# (cpp/include/steepest/trainer.h, LayerReport::kActiveKl; a History's active_dimensions).
ACTIVE_KL = 0.01
# KL values are drawn on a log scale, where a collapsed dimension's KL of (nearly) 0 has no
# place: they are drawn at this floor instead.
_KL_FLOOR = 1e-4


def latent_kl(history: History, *, title: Optional[str] = None) -> Any:
    """Each latent dimension's KL to the prior, from the History of a VAE's fit: per epoch
    (left) and in the last epoch (right), with the threshold above which a dimension counts
    as active.

    A dimension whose KL falls to zero carries no information about its input (the
    encoder's output for it is the prior whatever the input): *posterior collapse*, caused
    by a KL weight ``beta`` too high, a latent space larger than the data needs, or a
    decoder that learns to do without the code (``kl_warmup_epochs`` holds the KL term back
    while the decoder learns).

    Parameters
    ----------
    history : History
        From ``steepest.VAE.fit(..., diagnostics=True)`` (the default): the diagnostics of
        its sampling layer hold ``kl_per_dimension`` and ``active_dimensions``.
    title : str, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np, steepest, steepest.plot
    >>> X = np.random.default_rng(0).random((64, 8))
    >>> history = steepest.VAE([8, 8, 3], seed=0).fit(X, epochs=2, verbose=0)
    >>> per_epoch, last = steepest.plot.latent_kl(history).axes
    >>> len(per_epoch.get_lines()), len(last.patches)   # 3 dimensions and the threshold; 3 bars
    (4, 3)
    """
    if not isinstance(history, History):
        raise TypeError(f"latent_kl takes a steepest History, got {type(history).__name__}")
    per_epoch = history.layer_diagnostic("kl_per_dimension")
    layer = next((i for row in per_epoch for i, value in enumerate(row) if value is not None), None)
    if layer is None:
        raise ValueError("this History holds no per-dimension KL: it comes from steepest.VAE's fit with diagnostics=True")
    epochs = [epoch + 1 for epoch, row in zip(history.epochs, per_epoch) if row[layer] is not None]
    kl = np.array([cast(List[float], row[layer]) for row in per_epoch if row[layer] is not None])
    active = int(cast(float, history.layer_diagnostic("active_dimensions")[-1][layer]))
    dimensions = kl.shape[1]
    figure, (lines, bars) = pyplot().subplots(1, 2, figsize=(10, 3.6), layout="constrained", sharey=True)
    colour_map = pyplot().get_cmap("tab10" if dimensions <= 10 else "viridis")
    for d in range(dimensions):
        colour = colour_map(d % 10) if dimensions <= 10 else colour_map(d / max(1, dimensions - 1))
        lines.plot(epochs, np.maximum(kl[:, d], _KL_FLOOR), color=colour, label=f"dimension {d + 1}")
    lines.axhline(ACTIVE_KL, color="black", linestyle="--", linewidth=1, label=f"active above {ACTIVE_KL} nats")
    lines.set_yscale("log")
    lines.set_xlabel("epoch")
    lines.set_ylabel("KL(q(z|x) ‖ N(0, 1)) in nats, mean over samples")
    lines.set_title("per latent dimension, epoch by epoch", fontsize=10)
    lines.grid(True, alpha=0.3)
    if dimensions <= 10:
        lines.legend(fontsize="x-small", ncol=2)
    last = kl[-1]
    colours = ["tab:blue" if value > ACTIVE_KL else "tab:grey" for value in last]
    bars.bar(np.arange(1, dimensions + 1), np.maximum(last, _KL_FLOOR), color=colours)
    bars.axhline(ACTIVE_KL, color="black", linestyle="--", linewidth=1)
    bars.set_xlabel("latent dimension")
    bars.set_xticks(np.arange(1, dimensions + 1) if dimensions <= 16 else np.linspace(1, dimensions, 8).round())
    bars.set_title(f"last epoch: {active} of {dimensions} dimensions active (grey: collapsed)", fontsize=10)
    bars.grid(True, axis="y", alpha=0.3)
    if title:
        figure.suptitle(title)
    return figure
