"""What an autoencoder shows: grids of small images (inputs, reconstructions, weights seen
as images) and the scatter of its 2-D latent space."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from steepest.plot._figures import new_axes, pyplot


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
    ax = new_axes(ax, (6, 5.5))
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=8, alpha=0.6)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(codes),):
            raise ValueError(f"labels must have shape ({len(codes)},) to match codes, got {labels.shape}")
        classes = np.unique(labels)
        colour_map = pyplot().get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for index, value in enumerate(classes):
            points = codes[labels == value]
            colour = colour_map(index % colour_map.N)
            ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6, color=colour, label=str(value))
            centre = np.median(points, axis=0)
            ax.annotate(
                str(value),
                centre,
                ha="center",
                va="center",
                fontsize=13,
                fontweight="bold",
                color=colour,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "edgecolor": colour},
            )
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
    figure, axes = pyplot().subplots(len(named), columns, figsize=(figure_width, figure_height), squeeze=False)
    figure.subplots_adjust(
        left=label_inches / figure_width,
        right=1 - 0.05 / figure_width,
        bottom=0.1 / figure_height,
        top=1 - title_inches / figure_height,
        wspace=0.08,
        hspace=0.08,
    )
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


def reconstruction_grid(
    originals: Any, reconstructions: Union[Any, Mapping[str, Any]], image_shape: Tuple[int, int], *, count: int = 10, title: Optional[str] = None
) -> Any:
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
