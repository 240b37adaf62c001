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
    raise ValueError(f"no scikit-learn convention for loss {engine_loss!r}")
