"""Loss curves: the metrics of one or several training runs, epoch by epoch."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from steepest.plot._figures import log_y_axis, new_axes, pyplot
from steepest.train.history import History


def loss_curves(
    histories: Union[History, Mapping[str, History]],
    metrics: Optional[Sequence[str]] = None,
    *,
    ax: Any = None,
    log_scale: Optional[bool] = None,
    title: Optional[str] = None,
) -> Any:
    """Metrics per epoch: the training loss and, when recorded, the validation loss.

    Parameters
    ----------
    histories : History or mapping of str to History
        One training run, or several to compare (e.g. ``{"lr=0.01": h1, "lr=0.1": h2}``):
        each run keeps its colour, validation curves are dashed.
    metrics : sequence of str, optional
        Keys of ``History.history`` to draw; default ``loss`` and ``val_loss`` (those recorded).
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    log_scale : bool, optional
        A logarithmic y axis. By default, one when the curves span more than a decade
        (the largest value over 10 times the smallest, all positive) and none of them is an
        accuracy (a fraction, read best on a linear axis).
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import steepest.plot
    >>> from steepest import History
    >>> h = History()
    >>> for epoch, (loss, val) in enumerate([(1.0, 1.1), (0.5, 0.7), (0.3, 0.6)]):
    ...     h.record(epoch, {"loss": loss, "val_loss": val}, [])
    >>> ax = steepest.plot.loss_curves({"run": h}, log_scale=True)
    >>> [line.get_label() for line in ax.get_lines()]
    ['run: loss', 'run: val_loss']
    """
    runs = {"": histories} if isinstance(histories, History) else dict(histories)
    if not runs:
        raise ValueError("loss_curves needs at least one History")
    ax = new_axes(ax, (6, 4))
    drawn = []
    colours = pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, history) in enumerate(runs.items()):
        if not isinstance(history, History):
            raise TypeError(f"loss_curves takes steepest History objects, got {type(history).__name__} for {name!r}")
        wanted = list(metrics) if metrics is not None else [key for key in ("loss", "val_loss") if key in history.history]
        missing = [key for key in wanted if key not in history.history]
        if missing:
            raise KeyError(f"the History{f' {name!r}' if name else ''} has no {missing[0]!r}; it recorded: {', '.join(history.history)}")
        epochs = [epoch + 1 for epoch in history.epochs]
        for key in wanted:
            label = f"{name}: {key}" if name else key
            style = "--" if key.startswith("val_") else "-"
            ax.plot(epochs, history.history[key], style, color=colours[index % len(colours)], label=label)
            drawn.append((key, history.history[key]))
    ax.set_xlabel("epoch")
    ax.set_ylabel(", ".join(metrics) if metrics is not None else "loss")
    if log_scale is None:
        log_scale = spans_decades(drawn)
    if log_scale:
        log_y_axis(ax)
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def spans_decades(curves: Sequence[Tuple[str, Sequence[float]]]) -> bool:
    """Whether ``(name, values)`` curves read better on a log axis: all finite values
    positive, the largest over ten times the smallest, and no accuracy among them."""
    if any("accuracy" in name for name, _ in curves):
        return False
    values = np.array([value for _, column in curves for value in column], dtype=np.float64)
    values = values[np.isfinite(values)]
    return bool(values.size and values.min() > 0 and values.max() > 10 * values.min())
