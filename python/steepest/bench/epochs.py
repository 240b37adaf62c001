"""What every training benchmark shares: one library's epoch ready to time, the same start
for every library when their results are compared, the thread limits every library runs
under, and the interleaved timing of them all."""

from __future__ import annotations

import contextlib
import os
import statistics
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np

import steepest

# One epoch of each library: a callable that trains one epoch over the data and returns
# the seconds it took.
Epoch = Callable[[], float]

#: A network's parameters, layer by layer: (weight (in_features, out_features), bias).
Parameters = List[Tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Start:
    """The same start for every library: float32 parameters, and one permutation of the
    rows per epoch, taken in turn (batches are consecutive slices of the permuted rows).
    For comparing results, not speed: steepest's epoch then also times copying the rows
    into that order."""

    parameters: Parameters
    orders: Sequence[np.ndarray]


@dataclass(frozen=True)
class Trainer:
    """One library ready to train. Calling it is its :data:`Epoch`; ``parameters()`` reads
    its current parameters back as NumPy arrays (never inside the timed epoch)."""

    epoch: Epoch
    parameters: Callable[[], Parameters]

    def __call__(self) -> float:
        return self.epoch()


@contextlib.contextmanager
def thread_limits(threads: int) -> Iterator[None]:
    """Every library at ``threads``: NumPy's BLAS through threadpoolctl, and at one thread the
    whole process pinned to one CPU, so that no library (XLA sizes its pool by itself) can
    borrow a second core. steepest's own setting is put back afterwards."""
    with contextlib.ExitStack() as stack:
        stack.callback(steepest.set_num_threads, steepest.get_num_threads())
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(threads))
        except ImportError:
            print("threadpoolctl is not installed: NumPy's BLAS may use more threads than asked")
        if threads == 1 and hasattr(os, "sched_setaffinity"):
            cpus = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {min(cpus)})
            stack.callback(os.sched_setaffinity, 0, cpus)
        yield


def steepest_trainer(model: "steepest.Sequential", epoch: Epoch, start: "Start | None") -> Trainer:
    """steepest's :class:`Trainer` of ``model``, its dense layers set to ``start``'s
    parameters first when given."""
    dense = [layer for layer in model.layers if isinstance(layer, steepest.Dense)]
    if start is not None:
        for layer, (weight, bias) in zip(dense, start.parameters):
            layer.weight[...] = weight
            layer.bias[...] = bias
    return Trainer(epoch, lambda: [(layer.weight.copy(), layer.bias.copy()) for layer in dense])


def median_rates(libraries: Dict[str, Trainer], samples: int, repeats: int) -> Dict[str, float]:
    """Samples per second of each library: a warm-up epoch each (first touch of buffers,
    lazy initialisation), then ``repeats`` rounds of one epoch each, interleaved so that a
    change in the machine's load falls on every library alike; the median epoch of each."""
    for epoch in libraries.values():
        epoch()
    times: Dict[str, List[float]] = {name: [] for name in libraries}
    for _ in range(repeats):
        for name, epoch in libraries.items():
            times[name].append(epoch())
    return {name: samples / statistics.median(values) for name, values in times.items()}
