"""What a generative model shows: a grid of the data it generates (one row per class for a
conditional model), the decoded manifold of a 2-D latent space, and interpolations between
two samples.

Each picture is one mosaic image on one Axes, not an Axes per small image: a hundred digits
draw and save in a fraction of a second, and the cells can be read back from
``ax.images[0].get_array()``."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, List, Optional, Sequence, Tuple, cast

import numpy as np

from steepest.nn.vae import VAE
from steepest.plot._figures import new_axes, pyplot

# Pixels of background between two cells of a mosaic, and its colour: a grey apart from both
# ends of the grey scale, so that blank cells and gaps show against white and black pixels.
GAP = 1
GAP_COLOUR = "#b8c4d0"
# Inches per cell of a mosaic, and the margin around it for labels and a title.
CELL_INCHES = 0.45
MARGIN_INCHES = 1.0


def samples_grid(
    images: Any,
    image_shape: Tuple[int, int],
    *,
    rows: Optional[int] = None,
    labels: Any = None,
    value_range: Optional[Tuple[float, float]] = (0.0, 1.0),
    ax: Any = None,
    title: Optional[str] = None,
) -> Any:
    """Generated samples as a grid of small grey images, e.g. ``vae.sample(100)``; one row
    per class when ``labels`` are given (what a conditional model was asked for).

    Parameters
    ----------
    images : array-like, shape (samples, height * width)
    image_shape : (int, int)
        Height and width of one image.
    rows : int, optional
        Without labels: the number of rows, filled left to right (default: as square a
        grid as the count allows).
    labels : array-like, shape (samples,), optional
        The class of each image: one row per class, in sorted order, named on its left;
        rows may differ in length (the rest of a row is left blank).
    value_range : (float, float) or None, default (0, 1)
        The values drawn white and black, shared by every image (values outside are
        clipped); ``None`` uses the range of all the images.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
        One image: the cells with a gap of one pixel between them.

    Examples
    --------
    >>> import numpy as np, steepest.plot
    >>> images = np.random.default_rng(0).random((6, 4))
    >>> ax = steepest.plot.samples_grid(images, (2, 2), labels=[0, 1, 0, 1, 1, 1])
    >>> ax.images[0].get_array().shape, [t.get_text() for t in ax.get_yticklabels()]
    ((5, 11), ['0', '1'])
    """
    height, width = _check_shape(image_shape)
    images = _check_images(images, height * width, "images")
    if labels is not None:
        if rows is not None:
            raise ValueError("give rows or labels, not both: with labels there is one row per class")
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},), one per image, got {labels.shape}")
        classes = np.unique(labels)
        cells: List[List[Optional[np.ndarray]]] = [list(images[labels == value]) for value in classes]
        names = [str(value) for value in classes]
    else:
        if rows is None:
            rows = max(1, math.isqrt(len(images)))
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
            raise ValueError(f"rows must be an int >= 1, got {rows!r}")
        per_row = math.ceil(len(images) / rows)
        cells = [list(images[start : start + per_row]) for start in range(0, per_row * rows, per_row)]
        names = []
    columns = max(len(row) for row in cells)
    ax = _draw(ax, _mosaic(cells, (height, width), columns), (height, width), value_range, title)
    if names:
        ax.set_yticks([_centre(row, height) for row in range(len(names))], names)
        ax.tick_params(axis="y", length=0)
    return ax


def latent_manifold(
    model: VAE,
    *,
    grid: int = 15,
    span: float = 0.9,
    label: Any = None,
    image_shape: Optional[Tuple[int, int]] = None,
    ax: Any = None,
    title: Optional[str] = None,
) -> Any:
    """What a VAE with a 2-D latent space decodes across it: a ``grid`` × ``grid`` mosaic of
    decoded points, as in Kingma & Welling's figure 4.

    The points are quantiles of the prior N(0, 1) in each dimension, evenly spaced in
    probability over its central ``span``, so that every cell covers as much of the prior's
    mass as every other. Columns go along z₁, rows along z₂ (upwards, as in
    :func:`latent_space`'s scatter of the codes).

    Parameters
    ----------
    model : steepest.VAE
        With a 2-D latent space (``layer_sizes`` ending in 2).
    grid : int, default 15
        Points per dimension (at least 2).
    span : float, default 0.9
        The central probability of each dimension's prior covered, in (0, 1): 0.9 goes from
        its 5% to its 95% quantile (z from −1.64 to 1.64).
    label : int, optional
        The class to draw, for a conditional VAE (and only for one).
    image_shape : (int, int), optional
        Height and width of one decoded sample; default square (64 features: 8×8).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np, steepest, steepest.plot
    >>> vae = steepest.VAE([16, 8, 2], seed=0)
    >>> ax = steepest.plot.latent_manifold(vae, grid=5)
    >>> ax.images[0].get_array().shape   # 5 cells of 4 pixels and 4 gaps of 1, each way
    (24, 24)
    """
    if not isinstance(model, VAE):
        raise TypeError(f"latent_manifold draws a steepest.VAE (its prior gives the grid's points), got {type(model).__name__}")
    if model.latent_features != 2:
        raise ValueError(
            f"latent_manifold draws a 2-D latent space, but this VAE's has {model.latent_features} dimensions: "
            "build one with layer_sizes ending in 2, or show samples_grid(vae.sample(n), ...)"
        )
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ValueError(f"grid must be an int >= 2 (points per latent dimension), got {grid!r}")
    if isinstance(span, bool) or not isinstance(span, (int, float, np.floating)) or not 0 < span < 1:
        raise ValueError(f"span must be a probability in (0, 1), the central mass of the prior covered; got {span!r}")
    height, width = _image_shape_of(model, image_shape)
    labels = _labels_for(model, label, grid * grid, "label", "point of the grid")
    z = latent_grid(grid, span)
    # Top row: the largest z2; left column: the smallest z1.
    points = np.array([(z1, z2) for z2 in z[::-1] for z1 in z])
    decoded = model.decode(points, labels)
    cells: List[List[Optional[np.ndarray]]] = [list(decoded[row * grid : (row + 1) * grid]) for row in range(grid)]
    ax = _draw(ax, _mosaic(cells, (height, width), grid), (height, width), (0.0, 1.0) if model.reconstruction == "bernoulli" else None, title)
    shown = sorted({int(i) for i in np.linspace(0, grid - 1, 5).round()})
    ax.set_xticks([_centre(i, width) for i in shown], [_coordinate(z[i]) for i in shown])
    ax.set_yticks([_centre(i, height) for i in shown], [_coordinate(z[::-1][i]) for i in shown])
    ax.set_xlabel("latent dimension 1 (z₁)")
    ax.set_ylabel("latent dimension 2 (z₂)")
    return ax


def latent_grid(grid: int, span: float) -> np.ndarray:
    """The ``grid`` coordinates along each latent dimension that :func:`latent_manifold`
    decodes: the prior's quantiles at probabilities evenly spaced over its central ``span``.

    Examples
    --------
    >>> from steepest.plot.generation import latent_grid
    >>> latent_grid(3, 0.9).round(3).tolist()
    [-1.645, 0.0, 1.645]
    """
    prior = NormalDist()
    z = np.array([prior.inv_cdf(p) for p in np.linspace((1 - span) / 2, (1 + span) / 2, grid)])
    # Symmetric about 0 as the prior is, to the last bit (the middle of an odd grid exactly 0).
    return cast(np.ndarray, (z - z[::-1]) / 2)


def interpolation_strips(
    model: VAE,
    pairs: Any,
    steps: int = 10,
    *,
    labels: Any = None,
    image_shape: Optional[Tuple[int, int]] = None,
    ax: Any = None,
    title: Optional[str] = None,
) -> Any:
    """One strip per pair of samples: the first sample, ``steps`` points decoded along the
    straight line between their latent means (:meth:`steepest.VAE.interpolate`), and the
    second sample; the two originals are framed.

    Parameters
    ----------
    model : steepest.VAE
    pairs : sequence of (x_a, x_b), or array-like of shape (pairs, 2, features)
    steps : int, default 10
        Decoded points per strip, the two ends included (at least 2).
    labels : int or array-like of one class per pair, optional
        For a conditional VAE: the class each path is decoded with.
    image_shape : (int, int), optional
        Default square.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np, steepest, steepest.plot
    >>> X = np.random.default_rng(0).random((4, 16))
    >>> ax = steepest.plot.interpolation_strips(steepest.VAE([16, 8, 2], seed=0), [(X[0], X[1]), (X[2], X[3])], steps=5)
    >>> ax.images[0].get_array().shape, len(ax.patches)
    ((9, 34), 4)
    """
    if not isinstance(model, VAE):
        raise TypeError(f"interpolation_strips draws a steepest.VAE's interpolations, got {type(model).__name__}")
    height, width = _image_shape_of(model, image_shape)
    try:
        ends = np.asarray(pairs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("pairs must be a sequence of (x_a, x_b) pairs of samples of the same length") from None
    if ends.ndim != 3 or ends.shape[1] != 2 or ends.shape[2] != model.input_features or len(ends) == 0:
        raise ValueError(
            f"pairs must have shape (pairs, 2, {model.input_features}): pairs (x_a, x_b) of samples of the model's features, got shape {ends.shape}"
        )
    labels = _labels_for(model, labels, len(ends), "labels", "pair")
    cells: List[List[Optional[np.ndarray]]] = []
    for index, (x_a, x_b) in enumerate(ends):
        path = model.interpolate(x_a, x_b, steps=steps, labels=None if labels is None else labels[index])
        cells.append([x_a, *path, x_b])
    columns = steps + 2
    value_range = (0.0, 1.0) if model.reconstruction == "bernoulli" else None
    ax = _draw(ax, _mosaic(cells, (height, width), columns), (height, width), value_range, title)
    rectangle = pyplot().Rectangle
    for row in range(len(cells)):
        for column in (0, columns - 1):
            left, top = column * (width + GAP) - 0.5, row * (height + GAP) - 0.5
            ax.add_patch(rectangle((left, top), width, height, fill=False, edgecolor="tab:red", linewidth=1.5))
    ax.set_xticks([_centre(0, width), _centre(columns - 1, width)], ["x_a", "x_b"])
    ax.set_xlabel(f"{steps} points decoded along the line between the latent means of x_a and x_b")
    return ax


def _check_shape(image_shape: Any) -> Tuple[int, int]:
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 2
        or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in image_shape)
    ):
        raise ValueError(f"image_shape must be (height, width), two ints >= 1; got {image_shape!r}")
    return int(image_shape[0]), int(image_shape[1])


def _check_images(images: Any, pixels: int, name: str) -> np.ndarray:
    array = np.asarray(images, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != pixels or len(array) == 0:
        raise ValueError(f"{name} must have shape (images, {pixels}) for the image_shape given, got {array.shape}")
    return array


def _image_shape_of(model: VAE, image_shape: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    """``image_shape``, checked against the model's features, or the square it defaults to."""
    features = model.input_features
    if image_shape is None:
        side = math.isqrt(features)
        if side * side != features:
            raise ValueError(f"the model's {features} features are not a square image: pass image_shape=(height, width)")
        return side, side
    height, width = _check_shape(image_shape)
    if height * width != features:
        raise ValueError(f"image_shape {height}x{width} holds {height * width} pixels but the model has {features} features")
    return height, width


def _labels_for(model: VAE, labels: Any, count: int, name: str, per: str) -> Optional[np.ndarray]:
    """A conditional model's ``count`` classes from ``labels`` (one class for all, or one
    each); None for a model that is not conditional. ValueError naming ``name`` otherwise."""
    if not model.n_classes:
        if labels is not None:
            raise ValueError(f"{name}= is for a conditional VAE (built with n_classes=); this one is not")
        return None
    if labels is None:
        raise ValueError(f"this VAE is conditional (n_classes={model.n_classes}): pass {name}=, the class to draw")
    array = np.asarray(labels)
    if array.ndim > 1 or (array.ndim == 1 and len(array) != count):
        raise ValueError(f"{name} must be one class, or one per {per} ({count}), got shape {array.shape}")
    return np.broadcast_to(array, (count,))


def _mosaic(cells: Sequence[Sequence[Optional[np.ndarray]]], image_shape: Tuple[int, int], columns: int) -> np.ndarray:
    """One image of ``len(cells)`` rows × ``columns`` cells, NaN (drawn in the gap colour)
    between cells and where a row is short."""
    height, width = image_shape
    rows, gap = len(cells), GAP
    out = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for row, images in enumerate(cells):
        for column, image in enumerate(images):
            if image is not None:
                top, left = row * (height + gap), column * (width + gap)
                out[top : top + height, left : left + width] = np.reshape(image, (height, width))
    return out


def _coordinate(value: float) -> str:
    """A latent coordinate as a tick label: two decimals, and 0 rather than -0.00 or 1e-16."""
    return f"{round(value, 2) + 0.0:g}"


def _centre(index: int, size: int) -> float:
    """The pixel coordinate of the centre of cell ``index`` along an axis of cells of ``size``."""
    return index * (size + GAP) + (size - 1) / 2


def _draw(ax: Any, mosaic: np.ndarray, image_shape: Tuple[int, int], value_range: Optional[Tuple[float, float]], title: Optional[str]) -> Any:
    # The longer side of a cell gets CELL_INCHES, so that rows of 1 x 5 images are as
    # tall as they need and no taller.
    inches_per_pixel = CELL_INCHES / (max(image_shape) + GAP)
    ax = new_axes(ax, (MARGIN_INCHES + inches_per_pixel * mosaic.shape[1], MARGIN_INCHES + inches_per_pixel * mosaic.shape[0]))
    colours = pyplot().get_cmap("gray_r").with_extremes(bad=GAP_COLOUR)
    low, high = value_range if value_range is not None else (np.nanmin(mosaic), np.nanmax(mosaic))
    ax.imshow(mosaic, cmap=colours, vmin=low, vmax=high, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return ax
