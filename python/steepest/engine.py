"""The one adapter to the compiled engine: the only Python code that touches the core's
networks and trainers (``steepest._core.Network*`` and ``Trainer*``).

It owns the float32/float64 switch, the parameter block and its views, predictions,
training runs and evaluations, and the one rule for a model being trained: one fit at a time
over a parameter block (a model and the parts that share its weights); while it runs, other
threads' predictions and copies wait for a batch boundary, and their writes are refused.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any, ContextManager, Dict, List, Optional, Protocol, Sequence, Tuple, Union, cast

import numpy as np

from steepest import _core
from steepest._validation import SparseRows
from steepest._warnings import warn

#: The names of the core's choices, listed once in C++ (cpp/names.cpp).
ACTIVATIONS: Tuple[str, ...] = tuple(_core.activations)
LOSSES: Tuple[str, ...] = tuple(_core.losses)
OPTIMIZERS: Tuple[str, ...] = tuple(_core.optimizers)
INPUT_NOISES: Tuple[str, ...] = tuple(_core.input_noises)

_NETWORKS: Dict[Any, Any] = {np.dtype(np.float32): _core.NetworkF32, np.dtype(np.float64): _core.NetworkF64}
_TRAINERS: Dict[Any, Any] = {np.dtype(np.float32): _core.TrainerF32, np.dtype(np.float64): _core.TrainerF64}

NO_FAST_BFLOAT16 = (
    "precision='bfloat16': this CPU has no fast bfloat16 path (steepest.runtime.bfloat16_level() is 'emulated'), "
    "so the model trains in float32 instead, which is faster here"
)

BEING_TRAINED = "this model is being trained by another thread; train a copy, or wait for the other fit to finish"

#: A layer as the engine takes it: ("dense", in, out, activation) or ("dropout", features, rate).
LayerSpec = Tuple[Any, ...]


@dataclass(frozen=True)
class RunResult:
    """What a training run (or an evaluation) over some batches did."""

    loss_sum: float  # Σ over batches of (batch loss · batch rows)
    # A network with a sampling layer (a VAE): the loss is the reconstruction plus the KL
    # weight times the KL divergence, each summed the same way.
    reconstruction_sum: float
    kl_sum: float
    # Σ over batches of (the step's l1/l2 penalty, as the update applied it, · batch rows).
    penalty_sum: float
    samples: int
    batches: int
    nonfinite_batch: int  # the batch whose loss was not finite (its update not applied), or -1
    judged: int  # classification losses: predictions judged, and judged right
    correct: int

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / max(1, self.samples)


class TrainingTargets(Protocol):
    """What a model learns to output for each row: float rows ``dense`` or integer
    ``labels`` (softmax cross entropy; one of the two is None), a conditional model's
    ``conditions`` (each row's class, or None), and each row's ``weights`` (None: all 1)."""

    dense: Optional[np.ndarray]
    labels: Optional[np.ndarray]
    conditions: Optional[np.ndarray]
    weights: Optional[np.ndarray]


#: The rows a model reads: a dense matrix, or a sparse one's CSR arrays.
Rows = Union[np.ndarray, SparseRows]


def _rows(X: Rows) -> Any:
    """X as the core takes it: the array, or a sparse matrix's (indptr, indices, values)."""
    return X.parts if isinstance(X, SparseRows) else X


def _without(result: Dict[str, Any], key: str) -> Dict[str, Any]:
    result.pop(key, None)
    return result


class Trainer:
    """The native training loop over one network, with its buffers and optimizer state."""

    def __init__(self, trainer: Any) -> None:
        self._trainer = trainer

    def run(
        self,
        X: Rows,
        targets: "TrainingTargets",
        order: np.ndarray,
        first_batch: int,
        last_batch: int,
        lr: float,
        lr_growth: float = 1.0,
        batch_losses: Optional[np.ndarray] = None,
    ) -> RunResult:
        """Batches [first_batch, last_batch) of an epoch visiting the rows of X in ``order``,
        with the GIL released. Batch b steps with ``lr * lr_growth ** (b - first_batch)``;
        ``batch_losses`` (float64, one entry per batch) receives each batch's loss."""
        return RunResult(
            **self._trainer.run(
                _rows(X), targets.dense, targets.labels, targets.conditions, targets.weights, order, first_batch, last_batch, lr, lr_growth, batch_losses
            )
        )

    def evaluate(self, X: Rows, targets: "TrainingTargets") -> RunResult:
        """The loss over all rows without training (dropout and input noise off), with the
        training's kernels."""
        return RunResult(**_without(self._trainer.evaluate(_rows(X), targets.dense, targets.labels, targets.conditions, targets.weights, False), "per_row"))

    def loss_per_row(self, X: Rows, targets: "TrainingTargets") -> np.ndarray:
        """Each row's loss, as :meth:`evaluate` computes it (a sampling layer samples once
        per call, from draws of its own)."""
        return cast(np.ndarray, self._trainer.evaluate(_rows(X), targets.dense, targets.labels, targets.conditions, targets.weights, True)["per_row"])

    def loss_and_gradient(self, X: Rows, targets: "TrainingTargets", gradient: np.ndarray) -> float:
        """The loss over all rows (weighted mean with weights) and its gradient with respect
        to the whole parameter block, written into ``gradient``, with the GIL released;
        dropout and input noise off, the optimizer's penalties left out."""
        return float(self._trainer.loss_and_gradient(_rows(X), targets.dense, targets.labels, targets.conditions, targets.weights, gradient))

    def copy_state(self) -> Tuple[int, np.ndarray, List[np.ndarray]]:
        """The steps taken, a copy of the parameters and of the optimizer's arrays (the
        velocity, or Adam's first and second moments; none for plain SGD), all of one batch
        boundary."""
        steps, parameters, arrays = self._trainer.copy_state()
        return int(steps), parameters, list(arrays)

    def restore_state(self, steps: int, arrays: Sequence[np.ndarray]) -> None:
        """Put back the steps and optimizer arrays :meth:`copy_state` gave, for a trainer of
        the same settings; ValueError if they are not this optimizer's."""
        self._trainer.restore_state(steps, list(arrays))

    def set_kl_weight(self, weight: float) -> None:
        """β, the weight of a sampling layer's KL divergence in the loss, from now on."""
        self._trainer.set_kl_weight(weight)

    def set_fixed_noise(self, noise: Optional[np.ndarray]) -> None:
        """A test hook: the sampling layer uses row r of ``noise`` (batch_size x latent) as
        the ε of each batch's row r instead of drawing it; None goes back to drawing."""
        self._trainer.set_fixed_noise(noise)

    def diagnostics(self) -> List[Optional[Dict[str, Any]]]:
        """Per layer since the last reset (None for dropout): see :class:`steepest.History`."""
        return cast(List[Optional[Dict[str, Any]]], self._trainer.diagnostics())

    def reset_diagnostics(self) -> None:
        self._trainer.reset_diagnostics()


class Engine:
    """A network's parameter block in the compiled core, in one precision."""

    def __init__(self, network: Any, dtype: np.dtype, bfloat16: bool = False) -> None:
        self._network = network
        self.dtype = dtype
        # Training's dense products take bfloat16 operands (precision="bfloat16"); predict
        # stays in dtype.
        self.bfloat16 = bfloat16
        # A network's widths never change: read once, not on every predict (each read is a
        # call into the core, a tenth of a one-row prediction's Python overhead).
        self._widths = (int(network.input_features), int(network.output_features))

    @classmethod
    def build(cls, layers: Sequence[LayerSpec], dtype: Any, parameter_count: int) -> "Engine":
        """A new network of ``layers`` with every parameter zero; MemoryError that says how
        much a model too large for this machine would need."""
        dtype = np.dtype(dtype)
        size = parameter_count * dtype.itemsize
        try:
            # Sizes past the address space would not even reach the engine as 64-bit ints.
            if size > sys.maxsize:
                raise MemoryError
            return cls(_NETWORKS[dtype](list(layers)), dtype)
        except MemoryError:
            raise MemoryError(
                f"a model of {parameter_count:,} parameters needs {size / 2**30:,.1f} GiB in {dtype.name}, more than can be allocated here; use smaller layers"
            ) from None

    def part(self, first: int, last: int) -> "Engine":
        """Layers [first, last) as an engine of their own, sharing this one's parameters and its
        training rule (an autoencoder's encoder and decoder)."""
        return Engine(self._network.layers_between(first, last), self.dtype, self.bfloat16)

    @property
    def input_features(self) -> int:
        return self._widths[0]

    @property
    def output_features(self) -> int:
        return self._widths[1]

    @property
    def parameter_count(self) -> int:
        return int(self._network.parameter_count)

    # ------------------------------------------------------------------- parameters ----

    def parameters(self) -> np.ndarray:
        """A writable view of the whole parameter block (no copy, no lock: the caller's)."""
        return cast(np.ndarray, self._network.parameters)

    def weight(self, layer: int) -> np.ndarray:
        """A writable view of dense layer ``layer``'s weights ``(in_features, out_features)``."""
        return cast(np.ndarray, self._network.weight(layer))

    def bias(self, layer: int) -> np.ndarray:
        return cast(np.ndarray, self._network.bias(layer))

    def get_parameters(self) -> np.ndarray:
        """A copy of the parameters, taken at a batch boundary if a fit is running."""
        return cast(np.ndarray, self._network.copy_parameters())

    def set_parameters(self, values: np.ndarray) -> None:
        """Overwrite the parameters at a batch boundary; RuntimeError if another thread is
        training them (a write would mix into its steps). The training thread itself (its
        callbacks) may write. Checked by the core under the parameter lock, so no write lands
        inside a fit that began before it."""
        if not self._network.assign_parameters(np.ascontiguousarray(values, dtype=self.dtype), threading.get_ident()):
            raise RuntimeError(BEING_TRAINED)

    # ------------------------------------------------------------------------ work ----

    def predict(self, X: Rows, batch_size: int) -> np.ndarray:
        """The network's output for the rows of X (C-contiguous, this dtype, or sparse rows), batch by batch
        with the GIL released; Ctrl-C stops it within about a batch."""
        return cast(np.ndarray, self._network.predict(_rows(X), batch_size))

    def trainer(
        self,
        batch_size: int,
        loss: str,
        optimizer: Dict[str, Any],
        seed: int,
        diagnostics: bool,
        *,
        loss_scale: float = 1.0,
        noise: Tuple[str, float] = ("none", 0.0),
        penalty_per_weight: bool = False,
    ) -> Trainer:
        """A training loop over this network; ``optimizer`` holds the optimizer's name and
        settings (see ``steepest.train.optimizers``). The loss and its gradient are multiplied
        by ``loss_scale`` (the output count, for a loss summed over a sample's outputs), each
        batch's inputs are corrupted by ``noise`` (one of INPUT_NOISES and its amount), and
        with ``penalty_per_weight`` each step divides l1 and l2 by its batch's total weight."""
        core = _TRAINERS[self.dtype](
            self._network,
            batch_size,
            loss,
            seed=seed,
            diagnostics=diagnostics,
            loss_scale=loss_scale,
            noise=noise[0],
            noise_amount=noise[1],
            penalty_per_weight=penalty_per_weight,
            **optimizer,
        )
        if self.bfloat16:
            if _core.bfloat16_trains():
                core.use_bfloat16_products()
            else:
                warn(NO_FAST_BFLOAT16, RuntimeWarning)
        return Trainer(core)

    def training(self) -> ContextManager[None]:
        """The training session for the block (one fit at a time), to hold with ``with``;
        entering raises RuntimeError if another fit holds it.

        The core marks and unmarks the block, each in one call (and unmarks it too if the
        session object is dropped without leaving): a Python-level try/finally around the
        mark leaves windows where a Ctrl-C lands after the mark is made but before Python
        knows it, and would leave the model "being trained" for good."""
        return cast(ContextManager[None], self._network.session(threading.get_ident(), BEING_TRAINED))
