"""Training targets: checked against the model and the loss, in the form the native trainer
takes."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from steepest._validation import as_array, as_matrix, converted
from steepest.engine import LOSSES
from steepest.train.protocol import Model


class Targets:
    """Float rows ``dense``, or integer ``labels`` for softmax cross entropy (one is None),
    a conditional model's ``conditions`` (each row's class, or None), and each row's
    ``weights`` (None: every row weighs 1)."""

    def __init__(
        self, dense: Optional[np.ndarray], labels: Optional[np.ndarray], conditions: Optional[np.ndarray] = None, weights: Optional[np.ndarray] = None
    ) -> None:
        self.dense, self.labels, self.conditions, self.weights = dense, labels, conditions, weights

    def subset(self, rows: slice) -> "Targets":
        def part(array: Optional[np.ndarray]) -> Optional[np.ndarray]:
            return None if array is None else array[rows]

        return Targets(part(self.dense), part(self.labels), part(self.conditions), part(self.weights))


def check_loss(model: Model, loss: Any) -> str:
    """``loss`` if it is a loss name that suits the model's output layer, else ValueError."""
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of: {', '.join(LOSSES)}")
    output = model.output_activation
    if loss == "binary_cross_entropy" and output != "sigmoid":
        raise ValueError(f"binary_cross_entropy needs a sigmoid output layer (probabilities); this model's output is {output!r}")
    if loss == "binary_cross_entropy_with_logits" and output != "identity":
        raise ValueError(f"binary_cross_entropy_with_logits needs an identity output layer (logits); this model's output is {output!r}")
    if loss != "softmax_cross_entropy" and output == "softmax":
        raise ValueError(f"a softmax output layer goes with loss='softmax_cross_entropy', not {loss!r}")
    if loss == "poisson" and output != "exp":
        raise ValueError(f"poisson needs an exp output layer (the predicted mean); this model's output is {output!r}")
    return loss


def prepare_targets(model: Model, loss: str, y: Any, samples: int, name: str = "y") -> Targets:
    """Checks ``y`` against the model and the loss and converts it (see :class:`Targets`)."""
    outputs = model.output_features
    if y is None:
        raise ValueError(f"{name} is required for {type(model).__name__}.fit (only an Autoencoder defaults y to X)")
    array = as_array(y, name)
    if array.ndim == 0:
        raise ValueError(f"{name} must hold one target per sample of X, got shape {array.shape}")
    if len(array) != samples:
        raise ValueError(f"{name} has {len(array)} rows but X has {samples}")
    if loss == "softmax_cross_entropy" and array.ndim == 1:
        if array.dtype.kind not in "iu":
            if array.dtype.kind != "f" or not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise TypeError(f"{name} must hold integer class labels (or one-hot rows) for softmax_cross_entropy, got dtype {array.dtype}")
        labels = array.astype(np.int64)
        bad = np.flatnonzero((labels < 0) | (labels >= outputs))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] = {labels[bad[0]]} is not a class of this model's {outputs} outputs (labels must be in [0, {outputs}))")
        return Targets(None, np.ascontiguousarray(labels))
    if array.ndim == 1 and outputs == 1:
        array = array.reshape(-1, 1)
    dense = as_matrix(array, name, model.dtype.type, features=None)
    if dense.shape[1] != outputs:
        raise ValueError(f"{name} has {dense.shape[1]} columns but the model has {outputs} outputs")
    if loss.startswith("binary_cross_entropy") and ((dense < 0) | (dense > 1)).any():
        raise ValueError(f"{name} must be in [0, 1] for {loss}")
    if loss == "softmax_cross_entropy" and (dense < 0).any():
        row = int(np.argwhere(dense < 0)[0][0])
        raise ValueError(f"{name} must be one-hot rows or class probabilities (>= 0) for softmax_cross_entropy, but row {row} has a negative entry")
    if loss == "poisson" and (dense < 0).any():
        raise ValueError(f"{name} must be >= 0 for the poisson loss (counts or rates)")
    return Targets(dense, None)


def check_sample_weight(sample_weight: Any, samples: int, dtype: type, name: str = "sample_weight") -> Optional[np.ndarray]:
    """``sample_weight`` as a C-contiguous vector of ``samples`` finite weights >= 0 that do
    not all vanish, in ``dtype``; a number weighs every row alike; None stays None."""
    if sample_weight is None:
        return None
    array = as_array(sample_weight, name)
    if array.ndim == 0:
        array = np.full(samples, array)
    if array.ndim != 1 or len(array) != samples:
        raise ValueError(f"{name} must hold one weight per sample: expected shape ({samples},), got {array.shape}")
    if array.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be numbers, got dtype {array.dtype}")
    weights = converted(array, name, dtype)
    if (weights < 0).any():
        raise ValueError(f"{name} must be >= 0, got {weights.min()!r}")
    if not weights.any():
        raise ValueError(f"{name} must not be zero for every sample")
    return weights
