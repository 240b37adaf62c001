"""Learning-rate schedules: pass one as ``lr`` to an optimizer; it is called with the epoch
(counted from 0) and returns the rate for that epoch."""

from __future__ import annotations

import math

from steepest._validation import non_negative_float, positive_int


class StepDecay:
    """``initial_lr · gamma^(epoch // step_size)``.

    Examples
    --------
    >>> from steepest import StepDecay
    >>> [StepDecay(0.1, step_size=2, gamma=0.5)(e) for e in range(4)]
    [0.1, 0.1, 0.05, 0.05]
    """

    def __init__(self, initial_lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.initial_lr = non_negative_float(initial_lr, "initial_lr", positive=True)
        self.step_size = positive_int(step_size, "step_size")
        self.gamma = non_negative_float(gamma, "gamma", positive=True)

    def __call__(self, epoch: int) -> float:
        return self.initial_lr * self.gamma ** (epoch // self.step_size)

    def __repr__(self) -> str:
        return f"StepDecay(initial_lr={self.initial_lr}, step_size={self.step_size}, gamma={self.gamma})"


class ExponentialDecay:
    """``initial_lr · gamma^epoch``.

    Examples
    --------
    >>> from steepest import ExponentialDecay
    >>> ExponentialDecay(1.0, gamma=0.5)(3)
    0.125
    """

    def __init__(self, initial_lr: float, gamma: float) -> None:
        self.initial_lr = non_negative_float(initial_lr, "initial_lr", positive=True)
        self.gamma = non_negative_float(gamma, "gamma", positive=True)

    def __call__(self, epoch: int) -> float:
        return self.initial_lr * self.gamma**epoch

    def __repr__(self) -> str:
        return f"ExponentialDecay(initial_lr={self.initial_lr}, gamma={self.gamma})"


class CosineDecay:
    """Half a cosine from ``initial_lr`` down to ``min_lr`` over ``epochs``, then ``min_lr``.

    Examples
    --------
    >>> from steepest import CosineDecay
    >>> schedule = CosineDecay(1.0, epochs=10)
    >>> schedule(0), schedule(5), schedule(10)
    (1.0, 0.5, 0.0)
    """

    def __init__(self, initial_lr: float, epochs: int, min_lr: float = 0.0) -> None:
        self.initial_lr = non_negative_float(initial_lr, "initial_lr", positive=True)
        self.epochs = positive_int(epochs, "epochs")
        self.min_lr = non_negative_float(min_lr, "min_lr")

    def __call__(self, epoch: int) -> float:
        progress = min(epoch, self.epochs) / self.epochs
        return self.min_lr + (self.initial_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    def __repr__(self) -> str:
        return f"CosineDecay(initial_lr={self.initial_lr}, epochs={self.epochs}, min_lr={self.min_lr})"
