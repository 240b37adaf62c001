"""steepest.tune.lr_find: the learning-rate range test (Smith 2015; fastai's ``lr_find``) for
steepest's models and scikit-learn estimators, with the rates it suggests and a plot."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from steepest._warnings import warn
from steepest.nn import Sequential
from steepest.sklearn import AutoencoderTransformer, MLPClassifier, MLPRegressor
from steepest.sklearn.lr_range import lr_range_test
from steepest.train import Optimizer
from steepest.train.lr_range import RangeTest

# fastai's trimming before suggesting: the first tenth of the curve (the smoothing's warm-up)
# and its last points (the divergence that stopped it) say nothing about a good rate.
_SKIP_START_FRACTION = 0.1
_SKIP_END = 5


class LRFinderResult:
    """What a range test found.

    Attributes
    ----------
    lrs, losses, smoothed : ndarray
        Per batch run: its learning rate, its mean loss (before its step) and the
        exponential moving average of the losses (bias-corrected, as fastai's).
    stopped_early : bool
        The smoothed loss passed 4 times its best (or a loss was not finite) before ``end``.
    lr_steep : float
        The rate where the smoothed loss falls fastest (per decade of learning rate): the
        suggestion, :attr:`suggestion`.
    lr_min : float
        The rate of the smallest smoothed loss divided by 10, the other common choice.
    """

    def __init__(self, curve: RangeTest) -> None:
        self.lrs, self.losses, self.smoothed = curve.lrs, curve.losses, curve.smoothed
        self.stopped_early = curve.stopped_early
        self.lr_steep, self.lr_min = suggestions(self.lrs, self.smoothed)

    @property
    def suggestion(self) -> float:
        """The suggested learning rate: :attr:`lr_steep`."""
        return self.lr_steep

    def plot(self, path: Optional[Any] = None, *, title: Optional[str] = None) -> Any:
        """The curve with both suggestions marked (:func:`steepest.plot.lr_range`); written to
        ``path`` when given (and closed). Returns the matplotlib Figure."""
        from steepest import plot

        figure = plot.lr_range(self, title=title).figure
        if path is not None:
            plot.save(figure, path)
        return figure

    def __repr__(self) -> str:
        return f"LRFinderResult(lr_steep={self.lr_steep:.3g}, lr_min={self.lr_min:.3g}, {len(self.lrs)} batches, stopped_early={self.stopped_early})"


def suggestions(lrs: np.ndarray, smoothed: np.ndarray) -> "tuple[float, float]":
    """``(lr_steep, lr_min)`` of a curve: the rate of the most negative slope of the smoothed
    loss against log(rate) (measured across a tenth of the curve), up to the curve's minimum,
    and the minimum's rate / 10.

    >>> lrs = np.geomspace(1e-5, 1.0, 61)
    >>> loss = 2 - np.tanh(np.log10(lrs) + 3) + 2 * lrs  # falls fastest at 1e-3, lowest at 0.038
    >>> steep, low = suggestions(lrs, loss)
    >>> print(f"{steep:.1e} {low:.1e}")
    1.0e-03 3.8e-03
    """
    first = int(len(lrs) * _SKIP_START_FRACTION)
    last = len(lrs) - _SKIP_END if len(lrs) - _SKIP_END - first >= 3 else len(lrs)
    rates, values = lrs[first:last], smoothed[first:last]
    lowest = int(np.argmin(values))
    lr_min = float(rates[lowest]) / 10
    if lowest < 1:
        warn(
            f"the loss did not decrease between {lrs[0]:.3g} and {lrs[-1]:.3g}: no steepest descent to suggest "
            "(lr_steep is the lowest rate); start the range test at a smaller rate",
            RuntimeWarning,
        )
        return float(rates[0]), lr_min
    # The slope across a window of a tenth of the curve, not between neighbours: early on the
    # smoothed loss still follows single batches (its average spans few of them yet), and
    # their noise would pass for the steepest descent.
    half = max(1, len(values) // 20)
    log_rates = np.log(rates)
    points = np.arange(lowest + 1)
    before, after = np.maximum(points - half, 0), np.minimum(points + half, lowest)
    slopes = (values[after] - values[before]) / np.maximum(log_rates[after] - log_rates[before], 1e-300)
    return float(rates[int(np.argmin(slopes))]), lr_min


def lr_find(
    model_or_estimator: Any,
    X: Any,
    y: Any = None,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    batch_size: Optional[int] = None,
    optimizer: Optional[Optimizer] = None,
    loss: Optional[str] = None,
    shuffle: bool = True,
) -> LRFinderResult:
    """The learning-rate range test: ``steps`` batches of training whose learning rate grows
    exponentially from ``start`` to ``end``, in one native run, stopped once the smoothed loss
    exceeds four times its best. The model is left exactly as it was (its parameters are put
    back bit for bit; an estimator is not touched at all).

    Parameters
    ----------
    model_or_estimator : steepest.Sequential (MLP, Autoencoder, ...) or steepest.sklearn estimator
        A core model trains from its current weights with ``optimizer``, ``loss`` and
        ``batch_size``. An estimator uses its own solver settings (``solver``, ``batch_size``,
        ``momentum``, ``beta_1``, ...) from the weights its next ``fit`` starts from (its
        fitted ones with ``warm_start=True``, else a new initialisation); its rates are
        ``learning_rate_init`` values.
    X, y : training data (``y`` may be omitted for an autoencoder)
    start, end : float, default 1e-7 and 10
        The first and the last learning rate.
    steps : int, default 100
        Batches to run (epoch after epoch, reshuffled, when the data has fewer).
    batch_size : int, optional
        Core models only (default 32).
    optimizer : steepest.SGD or steepest.Adam, optional
        Core models only (default ``SGD()``); its learning rate is ignored.
    loss : str, optional
        Core models only (default "mse", as ``fit``).
    shuffle : bool, default True

    Returns
    -------
    LRFinderResult
        The curve, ``suggestion`` (the steepest descent of the smoothed loss), ``lr_min``
        (the minimum's rate / 10) and ``plot()``.

    Examples
    --------
    >>> import numpy as np, steepest
    >>> from steepest import tune
    >>> X = np.random.default_rng(0).normal(size=(512, 4)).astype(np.float32)
    >>> y = (X[:, :1] - 2 * X[:, 1:2]).astype(np.float32)
    >>> model = steepest.MLP([4, 16, 1], seed=0)
    >>> before = model.get_parameters()
    >>> found = tune.lr_find(model, X, y, optimizer=steepest.SGD(momentum=0.9), start=1e-5, end=10)
    >>> 1e-5 < found.suggestion < 10, bool((model.get_parameters() == before).all())
    (True, True)
    """
    for value, name in ((start, "start"), (end, "end")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (0 < value < math.inf):
            raise ValueError(f"{name} must be a finite learning rate > 0, got {value!r}")
    if not start < end:
        raise ValueError(f"start must be smaller than end (the rate grows from start to end), got start={start!r}, end={end!r}")
    if isinstance(model_or_estimator, (MLPClassifier, MLPRegressor, AutoencoderTransformer)):
        given = [name for name, value in (("batch_size", batch_size), ("optimizer", optimizer), ("loss", loss)) if value is not None]
        if given:
            raise ValueError(
                f"{type(model_or_estimator).__name__} trains with its own solver settings: set them on the estimator instead of passing {', '.join(given)} to lr_find"
            )
        curve = lr_range_test(model_or_estimator, X, y, start=float(start), end=float(end), steps=steps, shuffle=shuffle)
    elif isinstance(model_or_estimator, Sequential):
        curve = model_or_estimator.lr_range_test(
            X,
            y,
            start=float(start),
            end=float(end),
            steps=steps,
            batch_size=32 if batch_size is None else batch_size,
            optimizer=optimizer,
            loss="mse" if loss is None else loss,
            shuffle=shuffle,
        )
    else:
        raise TypeError(
            f"lr_find takes a steepest model (steepest.MLP, steepest.Sequential, ...) or a steepest.sklearn estimator, got {type(model_or_estimator).__name__}"
            + ("; for a Pipeline, transform X with its first steps and pass its last step" if hasattr(model_or_estimator, "steps") else "")
        )
    if len(curve.lrs) < 2:
        raise RuntimeError(f"the range test diverged at its first batches (rate {start:g}): start it at a smaller rate")
    return LRFinderResult(curve)
