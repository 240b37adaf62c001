"""What the command line does to a table before training and again before predicting:
classes as indices, feature scaling, and the validation rows; kept in the model's
``metadata`` so that ``steepest predict`` repeats exactly what ``steepest train`` did.

Examples
--------
>>> import numpy as np
>>> from steepest.cli import preparation
>>> classes, indices = preparation.encode_classes(np.array(["cat", "dog", "cat"]))
>>> classes, indices
(['cat', 'dog'], array([0, 1, 0]))
>>> scaling = preparation.Scaling.fit(np.array([[0.0, 10.0], [2.0, 10.0]]), "standard")
>>> scaling.apply(np.array([[1.0, 10.0]]))          # a constant column is only centred
array([[0., 0.]])
>>> train, validation = preparation.split_rows(10, 0.2, seed=0, classes=np.repeat([0, 1], 5))
>>> np.repeat([0, 1], 5)[validation].tolist()          # one of each class, not the last two rows
[0, 1]
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

__all__ = ["SCALINGS", "Scaling", "encode_classes", "split_rows"]

#: The feature scalings ``[data] scale`` accepts.
SCALINGS = ("standard", "minmax")


def encode_classes(y: np.ndarray) -> Tuple[List[Any], np.ndarray]:
    """The distinct labels of ``y`` in sorted order (as JSON-able Python values), and each
    sample's index into them."""
    classes, indices = np.unique(y, return_inverse=True)
    return [label.item() for label in classes], indices.reshape(-1)


class Scaling:
    """Features scaled as ``(X - offset) / scale``, per column, with ``offset`` and
    ``scale`` fitted on the training rows: ``"standard"`` gives each column mean 0 and
    standard deviation 1, ``"minmax"`` the range [0, 1]. A constant column keeps scale 1
    (it is only shifted): dividing by its spread of 0 would make it infinite."""

    def __init__(self, method: str, offset: np.ndarray, scale: np.ndarray) -> None:
        self.method, self.offset, self.scale = method, offset, scale

    @classmethod
    def fit(cls, X: np.ndarray, method: str) -> "Scaling":
        if method not in SCALINGS:
            raise ValueError(f"scale must be one of {', '.join(map(repr, SCALINGS))}, got {method!r}")
        if method == "standard":
            offset, spread = X.mean(axis=0), X.std(axis=0)
        else:
            offset, spread = X.min(axis=0), X.max(axis=0) - X.min(axis=0)
        return cls(method, offset, np.where(spread > 0, spread, 1.0))

    def apply(self, X: np.ndarray) -> np.ndarray:
        return np.asarray((X - self.offset) / self.scale)

    def invert(self, X: np.ndarray) -> np.ndarray:
        """Scaled values back in the data's units (an autoencoder's reconstruction)."""
        return np.asarray(X * self.scale + self.offset)

    def to_metadata(self) -> Dict[str, Any]:
        return {"method": self.method, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_metadata(cls, saved: Any, features: int) -> "Scaling":
        """The scaling a model's metadata holds; ValueError if it is not one of ``features``
        columns (a file edited or written by something else)."""
        if not isinstance(saved, dict) or saved.get("method") not in SCALINGS:
            raise ValueError(f"its metadata's scaling is not one of {', '.join(SCALINGS)}")
        offset, scale = (np.asarray(saved.get(key), dtype=np.float64) for key in ("offset", "scale"))
        if offset.shape != (features,) or scale.shape != (features,) or not (np.isfinite(offset).all() and (np.isfinite(scale) & (scale > 0)).all()):
            raise ValueError(f"its metadata's scaling is not {features} finite offsets and positive scales")
        return cls(saved["method"], offset, scale)


def split_rows(rows: int, fraction: float, seed: int, classes: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices: a ``fraction`` of the rows drawn at random
    (from ``seed``), and with ``classes`` (each row's class index) that fraction of each
    class, so that a file sorted by class validates on every class, each at least once
    when it has two rows or more.

    Raises
    ------
    ValueError
        ``fraction`` leaves no training or no validation rows.
    """
    rng = np.random.default_rng(seed)
    groups = [np.arange(rows)] if classes is None else [np.flatnonzero(classes == c) for c in np.unique(classes)]
    validation = []
    for group in groups:
        held_out = int(round(len(group) * fraction))
        if classes is not None and len(group) >= 2:
            held_out = min(max(held_out, 1), len(group) - 1)
        validation.append(rng.permutation(group)[:held_out])
    held = np.sort(np.concatenate(validation))
    if len(held) == 0 or len(held) == rows:
        raise ValueError(f"validation_split={fraction} leaves {rows - len(held)} training and {len(held)} validation samples")
    train = np.setdiff1d(np.arange(rows), held)
    # Training rows in a random order too: fit(shuffle=False) then sees no sorted file.
    return rng.permutation(train), held
