"""Pictures of training: loss curves, latent spaces, reconstructions, diagnostics, tuning.

Every function draws with matplotlib (the optional extra ``steepest[plot]``) and returns
the matplotlib ``Axes`` or ``Figure`` it drew on, so a picture can be adjusted before it
is shown or saved; :func:`save` writes a figure to a file and closes it. Without
matplotlib, every function raises an ``ImportError`` that names the extra to install.

Examples
--------
>>> import os, tempfile, numpy as np, steepest, steepest.plot
>>> X = np.random.default_rng(0).random((200, 16)).astype(np.float32)
>>> ae = steepest.Autoencoder([16, 8, 2], seed=0)
>>> history = ae.fit(X, epochs=5, validation_split=0.2, verbose=0)
>>> ax = steepest.plot.loss_curves(history)
>>> [line.get_label() for line in ax.get_lines()]
['loss', 'val_loss']
>>> steepest.plot.save(ax.figure, os.path.join(tempfile.mkdtemp(), "loss.png"))
"""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, cast

import numpy as np

from steepest.train.history import History

__all__ = [
    "diagnostics",
    "image_grid",
    "latent_space",
    "loss_curves",
    "reconstruction_grid",
    "save",
    "tuning_results",
]

# What each per-layer diagnostic of a History means, for the panel titles.
DIAGNOSTIC_TITLES = {
    "gradient_norm": "gradient norm (mean over the batches of the epoch)",
    "update_ratio": "update-to-weight ratio ‖ΔW‖/‖W‖",
    "dead_fraction": "dead ReLU units (never active in the epoch)",
    "saturated_fraction": "saturated sigmoid/tanh units",
}

# Diagnostics whose values span decades: drawn on a log scale.
_LOG_SCALE_DIAGNOSTICS = ("gradient_norm", "update_ratio")


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as pyplot
    except ImportError as error:
        raise ImportError(
            "steepest.plot needs matplotlib, which is not installed: pip install 'steepest[plot]'"
        ) from error
    return pyplot


def _new_axes(ax: Any, figsize: Tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    figure, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def save(figure: Any, path: Union[str, "os.PathLike[str]"], *, dpi: int = 100) -> None:
    """Write ``figure`` to ``path`` (the format follows the extension: .png, .svg, .pdf)
    and close it, so that a script drawing many pictures does not keep them all in memory.

    Examples
    --------
    >>> import os, tempfile, numpy as np, steepest.plot
    >>> grid = steepest.plot.image_grid({"noise": np.random.default_rng(0).random((3, 4))}, (2, 2))
    >>> path = os.path.join(tempfile.mkdtemp(), "grid.png")
    >>> steepest.plot.save(grid, path)
    >>> os.path.getsize(path) > 0
    True
    """
    figure.savefig(os.fspath(path), dpi=dpi)
    _pyplot().close(figure)


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
    >>> from steepest.train.history import History
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
    ax = _new_axes(ax, (6, 4))
    colours = _pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
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


def latent_space(codes: Any, labels: Any = None, *, ax: Any = None, title: Optional[str] = None) -> Any:
    """A scatter plot of 2-D latent codes, coloured by class when ``labels`` are given.

    Each class's label is also written at the centre of its points, so clusters can be
    read without the legend.

    Parameters
    ----------
    codes : array-like, shape (samples, 2)
        E.g. ``autoencoder.encode(X)`` of an autoencoder with a 2-D latent space.
    labels : array-like, shape (samples,), optional
        Class of each sample (integers or strings).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np, steepest.plot
    >>> codes = np.random.default_rng(0).normal(size=(100, 2))
    >>> ax = steepest.plot.latent_space(codes, labels=np.arange(100) % 3)
    >>> len(ax.collections)
    3
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"latent_space draws 2-D codes, shape (samples, 2); got shape {codes.shape}")
    ax = _new_axes(ax, (6, 5.5))
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=8, alpha=0.6)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(codes),):
            raise ValueError(f"labels must have shape ({len(codes)},) to match codes, got {labels.shape}")
        classes = np.unique(labels)
        colour_map = _pyplot().get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for index, value in enumerate(classes):
            points = codes[labels == value]
            colour = colour_map(index % colour_map.N)
            ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6, color=colour, label=str(value))
            centre = np.median(points, axis=0)
            ax.annotate(str(value), centre, ha="center", va="center", fontsize=13, fontweight="bold",
                        color=colour, bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "edgecolor": colour})
        ax.legend(title="class", markerscale=2, fontsize="small", loc="best")
    ax.set_xlabel("latent dimension 1")
    ax.set_ylabel("latent dimension 2")
    if title:
        ax.set_title(title)
    return ax


def image_grid(
    rows: Mapping[str, Any],
    image_shape: Tuple[int, int],
    *,
    columns: Optional[int] = None,
    value_range: Optional[Tuple[float, float]] = (0.0, 1.0),
    title: Optional[str] = None,
) -> Any:
    """Rows of small grey images, one row per named array: originals beside
    reconstructions, or the weights of a layer seen as images.

    Parameters
    ----------
    rows : mapping of str to array-like, shape (images, height * width)
        Each row's name is written on its left. Rows may hold different numbers of images.
    image_shape : (int, int)
        Height and width of one image.
    columns : int, optional
        Images per row (default: the longest row).
    value_range : (float, float) or None, default (0, 1)
        The values drawn white and black, shared by every image so they can be compared
        (values outside are clipped); ``None`` stretches each image to its own range, as
        suits weights.
    title : str, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np, steepest.plot
    >>> images = np.random.default_rng(0).random((5, 64))
    >>> figure = steepest.plot.image_grid({"a": images, "b": images[:3]}, (8, 8))
    >>> len(figure.axes)
    10
    """
    named = {name: np.asarray(images, dtype=np.float64) for name, images in rows.items()}
    if not named:
        raise ValueError("image_grid needs at least one row")
    height, width = image_shape
    for name, images in named.items():
        if images.ndim != 2 or images.shape[1] != height * width:
            raise ValueError(f"row {name!r} must have shape (images, {height * width}) for images of {height}x{width}, got {images.shape}")
    columns = columns if columns is not None else max(len(images) for images in named.values())
    # Fixed margins rather than constrained layout: laying out dozens of small axes that way
    # takes seconds, and every cell here has the same size anyway.
    label_inches, cell_inches, title_inches = 1.4, 0.9, 0.5 if title else 0.1
    figure_width = label_inches + cell_inches * columns
    figure_height = title_inches + cell_inches * len(named) + 0.1
    figure, axes = _pyplot().subplots(len(named), columns, figsize=(figure_width, figure_height), squeeze=False)
    figure.subplots_adjust(left=label_inches / figure_width, right=1 - 0.05 / figure_width, bottom=0.1 / figure_height,
                           top=1 - title_inches / figure_height, wspace=0.08, hspace=0.08)
    for row, (name, images) in enumerate(named.items()):
        for column in range(columns):
            ax = axes[row, column]
            ax.set_xticks([])
            ax.set_yticks([])
            if column < len(images):
                low, high = value_range if value_range is not None else (None, None)
                ax.imshow(images[column].reshape(height, width), cmap="gray_r", vmin=low, vmax=high)
            else:
                ax.set_axis_off()
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        figure.suptitle(title)
    return figure


def reconstruction_grid(originals: Any, reconstructions: Union[Any, Mapping[str, Any]], image_shape: Tuple[int, int], *, count: int = 10, title: Optional[str] = None) -> Any:
    """The first ``count`` originals in the top row, their reconstructions below.

    Parameters
    ----------
    originals : array-like, shape (samples, height * width)
    reconstructions : array-like of the same shape, or mapping of str to such arrays
        One reconstruction per original, e.g. ``autoencoder.reconstruct(originals)``; a
        mapping draws one row per model (``{"autoencoder": ..., "PCA": ...}``).
    image_shape : (int, int)
    count : int, default 10
    title : str, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np, steepest.plot
    >>> X = np.random.default_rng(0).random((20, 64))
    >>> figure = steepest.plot.reconstruction_grid(X, X.round(), (8, 8), count=4)
    >>> [ax.get_ylabel() for ax in figure.axes[::4]]
    ['original', 'reconstruction']
    """
    originals = np.asarray(originals)
    named = dict(reconstructions) if isinstance(reconstructions, Mapping) else {"reconstruction": reconstructions}
    rows: Dict[str, Any] = {"original": originals[:count]}
    for name, images in named.items():
        images = np.asarray(images)
        if images.shape != originals.shape:
            raise ValueError(f"reconstructions {name!r} have shape {images.shape} but the originals {originals.shape}")
        rows[name] = images[:count]
    return image_grid(rows, image_shape, title=title)


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
    figure, axes = _pyplot().subplots(panel_rows, columns, figsize=(4.8 * columns, 3.0 * panel_rows), squeeze=False, layout="constrained")
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


def _result_columns(results: Any) -> Dict[str, List[Any]]:
    """Tuning results as columns: a mapping of columns (scikit-learn's ``cv_results_``, a
    pandas DataFrame) or a sequence of records (dicts); a ``params`` column or field of
    dicts is spread into one column per parameter."""
    if isinstance(results, Mapping) or hasattr(results, "columns"):
        columns = {str(key): list(results[key]) for key in (results.columns if hasattr(results, "columns") else results)}
    else:
        records = list(results)
        if not records or not all(isinstance(record, Mapping) for record in records):
            raise TypeError("tuning results must be a mapping of columns (e.g. cv_results_, a DataFrame) or a list of dicts")
        keys = list(dict.fromkeys(key for record in records for key in record))
        columns = {str(key): [record.get(key) for record in records] for key in keys}
    if "params" in columns:
        for params in columns["params"]:
            for name in params:
                columns.setdefault(str(name), [p.get(name) for p in columns["params"]])
    return columns


def tuning_results(results: Any, param: Optional[str] = None, score: Optional[str] = None, *, ax: Any = None, title: Optional[str] = None) -> Any:
    """Scores of a hyperparameter search: against one parameter, or every trial ranked.

    Parameters
    ----------
    results : mapping of columns, DataFrame, or list of dicts
        One entry per trial, e.g. scikit-learn's ``search.cv_results_`` or
        ``[{"params": {"alpha": 0.1}, "score": 0.93}, ...]``.
    param : str, optional
        Draw the score against this parameter (a log axis when its positive values span
        two decades or more). Default: every trial as a bar, best at the top, labelled by
        its parameters.
    score : str, optional
        The column holding the score; default the first of ``mean_test_score``, ``score``,
        ``val_loss``, ``loss`` present. A ``std_test_score`` column adds error bars.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import steepest.plot
    >>> trials = [{"params": {"lr": lr}, "score": s} for lr, s in [(0.001, 0.8), (0.01, 0.9), (0.1, 0.7)]]
    >>> steepest.plot.tuning_results(trials, param="lr").get_xscale()
    'log'
    >>> [t.get_text() for t in steepest.plot.tuning_results(trials).get_yticklabels()]
    ['lr=0.1', 'lr=0.001', 'lr=0.01']
    """
    columns = _result_columns(results)
    if score is None:
        score = next((key for key in ("mean_test_score", "score", "val_loss", "loss") if key in columns), None)
        if score is None:
            raise KeyError(f"no score column found; pass score= one of: {', '.join(columns)}")
    if score not in columns:
        raise KeyError(f"no column {score!r} in the tuning results; columns: {', '.join(columns)}")
    scores = np.asarray(columns[score], dtype=np.float64)
    errors = np.asarray(columns["std_test_score"], dtype=np.float64) if score == "mean_test_score" and "std_test_score" in columns else None
    lower_is_better = "loss" in score or "error" in score
    if param is None:
        labels = _trial_labels(columns, len(scores))
        order = np.argsort(scores if not lower_is_better else -scores)
        ax = _new_axes(ax, (6.5, 0.3 * len(scores) + 1.5))
        ax.barh(np.arange(len(scores)), scores[order], xerr=None if errors is None else errors[order], color="tab:blue", alpha=0.8)
        ax.set_yticks(np.arange(len(scores)), [labels[i] for i in order], fontsize=8)
        ax.set_xlabel(score)
        ax.grid(True, axis="x", alpha=0.3)
    else:
        key = param if param in columns else f"param_{param}"
        if key not in columns:
            raise KeyError(f"no parameter {param!r} in the tuning results; columns: {', '.join(columns)}")
        values = columns[key]
        ax = _new_axes(ax, (6, 4))
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
            x = np.asarray(values, dtype=np.float64)
            ax.errorbar(x, scores, yerr=errors, fmt="o", alpha=0.8)
            positive = x[x > 0]
            if positive.size == x.size and positive.max() >= 100 * positive.min():
                ax.set_xscale("log")
        else:
            categories = list(dict.fromkeys(str(v) for v in values))
            x = np.asarray([categories.index(str(v)) for v in values])
            ax.errorbar(x, scores, yerr=errors, fmt="o", alpha=0.8)
            ax.set_xticks(range(len(categories)), categories)
        ax.set_xlabel(param)
        ax.set_ylabel(score)
        ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def _trial_labels(columns: Dict[str, List[Any]], trials: int) -> List[str]:
    if "params" in columns:
        return [", ".join(f"{k}={v}" for k, v in params.items()) for params in columns["params"]]
    names = [key for key in columns if key.startswith("param_")]
    if names:
        return [", ".join(f"{key[len('param_'):]}={columns[key][i]}" for key in names) for i in range(trials)]
    return [f"trial {i}" for i in range(trials)]
