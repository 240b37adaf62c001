"""Optimizers: how the gradient of each mini-batch changes the weights.

Both run in the native training loop as one fused SIMD pass over all parameters; L1/L2
regularization applies to weights, never to biases. L1 is a proximal step by default
(``l1_step="proximal"``): after each step every weight moves ``lr·l1`` towards zero and stops
there, so weights that the data does not hold away from zero become exactly zero (the
diagnostics' ``zero_fraction``). ``l1_step="subgradient"`` adds ``l1·sign(w)`` to the gradient
instead, as autograd of ``l1·|w|`` does in PyTorch: no weight then rests at zero.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Union

from steepest._validation import l1_step as l1_step_form
from steepest._validation import non_negative_float

#: A learning rate: a number, or a schedule giving the rate for each epoch (see
#: :mod:`steepest.train.schedules`).
LearningRate = Union[float, Callable[[int], float]]


class Optimizer:
    """Base of the optimizers: a learning rate (or schedule) and L1/L2 penalties."""

    name = ""

    def __init__(self, lr: LearningRate, l1: float, l2: float, l1_step: str = "proximal") -> None:
        if not callable(lr):
            non_negative_float(lr, "lr", positive=True)
        self.lr = lr
        self.l1 = non_negative_float(l1, "l1")
        self.l2 = non_negative_float(l2, "l2")
        self.l1_step = l1_step_form(l1_step)

    def learning_rate(self, epoch: int) -> float:
        """The learning rate for ``epoch`` (counted from 0)."""
        lr = self.lr(epoch) if callable(self.lr) else self.lr
        return non_negative_float(lr, f"learning rate of epoch {epoch}")

    def engine_settings(self) -> Dict[str, Any]:
        """The optimizer's name and settings as the native trainer takes them (see
        :meth:`steepest.engine.Engine.trainer`); the learning rate goes to each run."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's conventions.

    Each step computes ``g = grad + l2·w``; with momentum, ``v = momentum·v + g`` and the
    step is ``v`` (``g + momentum·v`` with Nesterov); then ``w -= lr·step`` and L1's proximal
    step ``w = sign(w)·max(|w| - lr·l1, 0)``. With ``l1_step="subgradient"``, ``l1·sign(w)``
    is added to ``g`` instead.

    Parameters
    ----------
    lr : float or callable
        Learning rate, or a schedule ``epoch -> rate``.
    momentum : float, default 0
    nesterov : bool, default False
    l1, l2 : float, default 0
        Penalties on the weights (L2 is "weight decay").
    l1_step : {"proximal", "subgradient"}, default "proximal"
        How L1 steps: a soft-threshold after the step (exact zeros), or ``l1·sign(w)`` in the
        gradient (PyTorch's, through autograd).

    Examples
    --------
    >>> import steepest
    >>> steepest.SGD(lr=0.1, momentum=0.9)
    SGD(lr=0.1, l1=0.0, l2=0.0, l1_step='proximal', momentum=0.9, nesterov=False)
    """

    name = "sgd"

    def __init__(
        self, lr: LearningRate = 0.01, momentum: float = 0.0, nesterov: bool = False, l1: float = 0.0, l2: float = 0.0, *, l1_step: str = "proximal"
    ) -> None:
        super().__init__(lr, l1, l2, l1_step)
        self.momentum = non_negative_float(momentum, "momentum")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)

    def engine_settings(self) -> Dict[str, Any]:
        return dict(
            optimizer="sgd",
            momentum=self.momentum,
            nesterov=self.nesterov,
            beta1=0.9,
            beta2=0.999,
            eps=1e-8,
            eps_before_correction=False,
            l1=self.l1,
            l2=self.l2,
            l1_proximal=self.l1_step == "proximal",
        )


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with PyTorch's conventions (``weight_decay`` = ``l2``).

    ``eps_before_correction=True`` adds ``eps`` to ``sqrt(v)`` before the bias correction
    (the efficient form of the paper's section 2, which scikit-learn uses) instead of to the
    corrected ``sqrt(v_hat)``; the two differ while ``1 - beta2**t`` is far from 1.

    L1's proximal step (``l1_step="proximal"``, the default) soft-thresholds each weight by
    ``lr·l1`` divided by Adam's denominator ``sqrt(v_hat) + eps``, as Adam divides its step:
    its fixed points are then those of ``loss + l1·|w|``, as with ``l1_step="subgradient"``
    (``l1·sign(w)`` added to the gradient), but weights reach exact zeros.

    Examples
    --------
    >>> import steepest
    >>> steepest.Adam(lr=1e-3).beta2
    0.999
    """

    name = "adam"

    def __init__(
        self,
        lr: LearningRate = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        l1: float = 0.0,
        l2: float = 0.0,
        *,
        eps_before_correction: bool = False,
        l1_step: str = "proximal",
    ) -> None:
        super().__init__(lr, l1, l2, l1_step)
        self.beta1 = non_negative_float(beta1, "beta1", below_one=True)
        self.beta2 = non_negative_float(beta2, "beta2", below_one=True)
        self.eps = non_negative_float(eps, "eps", positive=True)
        self.eps_before_correction = bool(eps_before_correction)

    def engine_settings(self) -> Dict[str, Any]:
        return dict(
            optimizer="adam",
            momentum=0.0,
            nesterov=False,
            beta1=self.beta1,
            beta2=self.beta2,
            eps=self.eps,
            eps_before_correction=self.eps_before_correction,
            l1=self.l1,
            l2=self.l2,
            l1_proximal=self.l1_step == "proximal",
        )
