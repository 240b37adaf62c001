"""How scikit-learn's MLP losses relate to the engine's, so the same ``learning_rate_init``,
``alpha`` and ``epsilon`` take the same steps as in scikit-learn.

scikit-learn's gradients are those of half the squared error summed over outputs, or of the
log loss summed over outputs, each averaged over the samples of the batch, plus
``alpha · W / batch_size`` (``_multilayer_perceptron._backprop``: ``deltas[last] = p - y``).
The engine follows PyTorch: losses are means over all elements and ``l2`` adds ``l2 · W``.
With ``s`` = engine gradient / scikit-learn gradient, scikit-learn's step is the engine's with

- SGD: ``lr = learning_rate_init / s`` (momentum accumulates the same scaled gradient);
- Adam: the same ``lr`` (Adam is invariant to the scale of the gradient) and ``eps = epsilon · s``
  (the one place the scale shows);
- both: ``l2 = s · alpha / batch_size`` and ``l1 = s · l1 / batch_size``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class LossConvention:
    engine_loss: str
    #: The engine's gradient divided by scikit-learn's, for the same weights and batch.
    gradient_scale: float
    #: scikit-learn's reported loss (``loss_``) divided by the engine's.
    reported_scale: float


def loss_convention(engine_loss: str, outputs: int) -> LossConvention:
    """The convention for an engine loss with ``outputs`` output units."""
    if engine_loss == "mse":
        # Engine: mean of (p - y)² over n·k elements, gradient 2(p - y)/(n·k).
        # scikit-learn: gradient (p - y)/n; reports 0.5 · mean over all elements.
        return LossConvention("mse", 2.0 / outputs, 0.5)
    if engine_loss == "binary_cross_entropy":
        # Engine: mean over n·k elements; scikit-learn: sum over outputs, mean over samples.
        return LossConvention("binary_cross_entropy", 1.0 / outputs, float(outputs))
    if engine_loss == "softmax_cross_entropy":
        return LossConvention("softmax_cross_entropy", 1.0, 1.0)
    if engine_loss == "poisson":
        # Engine: mean of the half deviance over n·k elements, gradient (exp(z) - y)/(n·k);
        # scikit-learn: summed over outputs, mean over samples, gradient (exp(z) - y)/n.
        return LossConvention("poisson", 1.0 / outputs, float(outputs))
    raise ValueError(f"no scikit-learn convention for loss {engine_loss!r}")


def reported_loss(convention: LossConvention, output: np.ndarray, targets: np.ndarray, sample_weight: Optional[np.ndarray]) -> float:
    """The loss of the model's ``output`` (probabilities, predictions or means) against the
    engine ``targets`` on scikit-learn's scale of ``loss_`` without its penalty: half the
    squared error averaged over samples and outputs; the log loss and half the Poisson
    deviance summed over outputs and averaged over samples; each average weighted by
    ``sample_weight``. Probabilities are clipped to [eps, 1 - eps] as scikit-learn does."""
    eps = np.finfo(output.dtype).eps
    output = output.astype(np.float64)
    if convention.engine_loss == "mse":
        per_sample = 0.5 * np.mean((targets - output) ** 2, axis=1)
    elif convention.engine_loss == "poisson":
        ratio = np.divide(targets, output, out=np.ones_like(output), where=targets > 0)
        per_sample = np.sum(targets * np.log(ratio) - targets + output, axis=1)
    else:
        p = np.clip(output, eps, 1 - eps)
        if convention.engine_loss == "softmax_cross_entropy":
            per_sample = -np.log(p[np.arange(len(p)), targets])
        else:
            per_sample = -np.sum(targets * np.log(p) + (1 - targets) * np.log(1 - p), axis=1)
    return float(np.average(per_sample, weights=sample_weight))
