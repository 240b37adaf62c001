"""What a fit minimises beyond the mean loss of a model's outputs: a loss summed over each
sample's outputs, a KL term's weight (a variational autoencoder's β, per epoch), and the
corruption of the inputs that makes an autoencoder denoising."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

import numpy as np

from steepest.engine import INPUT_NOISES

NOISES = tuple(name for name in INPUT_NOISES if name != "none")


@dataclass(frozen=True)
class Objective:
    #: The loss and its gradient times this (the output count: a loss summed over each
    #: sample's outputs, then averaged over the batch).
    loss_scale: float = 1.0
    #: The inputs' corruption while training: ("gaussian", σ), ("mask", p) or ("none", 0).
    noise: Tuple[str, float] = ("none", 0.0)
    #: β of the model's KL term for an epoch of its life (counted from 0), if it has one.
    kl_weight: Optional[Callable[[int], float]] = None
    #: The optimizer's l1 and l2 per unit of sample weight: each step divides them by its
    #: batch's total weight (its rows without weights), scikit-learn's ``alpha / n``.
    penalty_per_weight: bool = False


def check_noise(noise: Any) -> Tuple[str, float]:
    """``noise`` as (kind, amount): None, ``("gaussian", σ)`` with σ >= 0, or ``("mask", p)``
    with p in [0, 1); ValueError or TypeError naming what is wrong."""
    if noise is None:
        return ("none", 0.0)
    if not isinstance(noise, (tuple, list)) or len(noise) != 2 or not isinstance(noise[0], str):
        raise TypeError(f"noise must be None, ('gaussian', std) or ('mask', rate), got {noise!r}")
    kind, amount = noise
    if kind not in NOISES:
        raise ValueError(f"unknown noise {kind!r}; expected one of: {', '.join(NOISES)}")
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.integer, np.floating)):
        raise TypeError(f"the amount of {kind} noise must be a number, got {type(amount).__name__}")
    number = float(amount)  # checked after the conversion, as the trainer gets it
    if not math.isfinite(number) or number < 0 or (kind == "mask" and number >= 1):
        bounds = "in [0, 1)" if kind == "mask" else "a finite number >= 0"
        raise ValueError(f"the amount of {kind} noise must be {bounds}, got {amount!r}")
    return (kind, number)
