"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates for Training Neural
Networks", section 3.3; fastai's ``lr_find``): one training run whose learning rate grows
exponentially batch by batch, recording each batch's loss, stopped once the smoothed loss
exceeds four times its best. The model's parameters are put back afterwards.

The run is native (``Trainer.run`` grows the rate itself); it returns to Python only between
chunks of batches, to apply the stopping rule and honour Ctrl-C.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from steepest._validation import as_matrix, positive_int
from steepest.engine import Engine
from steepest.train.loop import _optimizer
from steepest.train.optimizers import Optimizer
from steepest.train.protocol import Model
from steepest.train.targets import check_loss, prepare_targets

# fastai's smoothing of the loss (an exponential moving average, bias-corrected) and its
# stopping rule: the smoothed loss above 4 times its best so far has diverged.
SMOOTHING = 0.98
STOP_FACTOR = 4.0
# As the fit loop's chunks: short enough that a diverged run stops promptly.
_CHUNK_SECONDS = 0.1


@dataclass(frozen=True)
class RangeTest:
    """The curve of a range test, one point per batch run."""

    lrs: np.ndarray  # the learning rate of each batch
    losses: np.ndarray  # each batch's mean loss (before its step)
    smoothed: np.ndarray  # their exponential moving average, bias-corrected
    stopped_early: bool  # the smoothed loss passed STOP_FACTOR x its best, or a loss was not finite


def range_test(
    model: Model,
    engine: Engine,
    X: object,
    y: object,
    *,
    start: float,
    end: float,
    steps: int,
    batch_size: int,
    optimizer: Optional[Optimizer],
    loss: str,
    shuffle: bool,
) -> RangeTest:
    """Train ``model`` (whose parameters are ``engine``'s) for ``steps`` batches at rates
    growing from ``start`` to ``end``, epoch after epoch as needed; its parameters are
    restored bit for bit afterwards, and nothing of its training state changes (a new trainer,
    so partial_fit's optimizer state is untouched)."""
    with engine.training():
        for value, name in ((start, "start"), (end, "end")):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (0 < value < math.inf):
                raise ValueError(f"{name} must be a finite learning rate > 0, got {value!r}")
        if not start < end:
            raise ValueError(f"start must be smaller than end (the rate grows from start to end), got start={start!r}, end={end!r}")
        steps = positive_int(steps, "steps")
        if steps < 2:
            raise ValueError(f"steps must be >= 2 (a curve needs two points), got {steps}")
        batch_size = positive_int(batch_size, "batch_size")
        settings = _optimizer(optimizer).engine_settings()
        loss = check_loss(model, loss)
        X = as_matrix(X, "X", model.dtype.type, features=model.input_features)
        targets = prepare_targets(model, loss, y, len(X))
        samples = len(X)
        if samples < batch_size:
            raise ValueError(f"X has {samples} samples, fewer than one batch of {batch_size}; use batch_size <= {samples}")
        if samples < steps:
            raise ValueError(
                f"X has {samples} samples, too few for steps={steps}: a range test needs at least one sample per step "
                "so that its batches are not the same few samples over and over; lower steps or give more data"
            )

        growth = (float(end) / float(start)) ** (1.0 / (steps - 1))
        batches_per_epoch = math.ceil(samples / batch_size)
        trainer = engine.trainer(batch_size, loss, settings, model.seed, False)
        saved = engine.get_parameters()
        lrs: List[float] = []
        losses: List[float] = []
        smoothed: List[float] = []
        average, best, stopped = 0.0, math.inf, False
        chunk = 1
        try:
            epoch = 0
            while len(lrs) < steps and not stopped:
                if shuffle:
                    order = np.random.default_rng([model.seed, epoch, 2]).permutation(samples).astype(np.int64)
                else:
                    order = np.arange(samples, dtype=np.int64)
                done = 0
                while done < batches_per_epoch and len(lrs) < steps and not stopped:
                    end_batch = min(batches_per_epoch, done + chunk, done + steps - len(lrs))
                    rate = float(start) * growth ** len(lrs)
                    batch_losses = np.full(end_batch - done, np.nan)
                    began = time.perf_counter()
                    result = trainer.run(X, targets, order, done, end_batch, rate, growth, batch_losses)
                    per_batch = (time.perf_counter() - began) / max(1, result.batches)
                    for k, batch_loss in enumerate(batch_losses[: result.batches + (result.nonfinite_batch >= 0)]):
                        if not math.isfinite(batch_loss):
                            stopped = True
                            break
                        lrs.append(rate * growth**k)
                        losses.append(float(batch_loss))
                        average = SMOOTHING * average + (1 - SMOOTHING) * batch_loss
                        smooth = average / (1 - SMOOTHING ** len(losses))
                        smoothed.append(smooth)
                        best = min(best, smooth)
                        if smooth > STOP_FACTOR * best:
                            stopped = True
                            break
                    if result.nonfinite_batch >= 0:
                        stopped = True
                    done = end_batch
                    chunk = max(1, int(_CHUNK_SECONDS / per_batch) if per_batch > 0 else batches_per_epoch)
                epoch += 1
        finally:
            engine.set_parameters(saved)
        return RangeTest(np.asarray(lrs), np.asarray(losses), np.asarray(smoothed), stopped)
