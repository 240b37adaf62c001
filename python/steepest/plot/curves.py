"""Loss curves: the metrics of one or several training runs, epoch by epoch."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

from steepest.plot._figures import new_axes, pyplot
from steepest.train.history import History


def loss_curves(
    histories: Union[History, Mapping[str, History]],
    metrics: Optional[Sequence[str]] = None,
    *,
    ax: Any = None,
    log_scale: bool = False,
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
    log_scale : bool, default False
        A logarithmic y axis, for losses that fall by decades.
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
    ax.set_xlabel("epoch")
    ax.set_ylabel(", ".join(metrics) if metrics is not None else "loss")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax
