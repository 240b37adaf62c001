"""What a training run that cannot go on raises."""

from __future__ import annotations

from typing import List

from steepest.train.history import History


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite. The model is back to the last weights that gave a
    finite loss (at most two chunks of about 0.1 s of batches back); ``history``
    holds the epochs completed before."""

    def __init__(self, message: str, history: History, epoch: int, batch: int) -> None:
        super().__init__(message)
        self.history = history
        self.epoch = epoch
        self.batch = batch


class DeadNetworkWarning(RuntimeWarning):
    """Every ReLU unit of a layer was inactive on a whole epoch's data: the layer's output is
    zero for every input, so the network's output no longer depends on its input and no
    gradient reaches the layer or those before it. Training cannot recover from this (the
    loss stays at what the layers after it can fit of a constant). ``fit`` warns once per
    call, with diagnostics on; :meth:`steepest.History.dead_layers` names the layers."""


def dead_network_message(layers: List[int], epoch: int) -> str:
    which = f"layer {layers[0]}" if len(layers) == 1 else "layers " + ", ".join(str(i) for i in layers)
    return (
        f"every ReLU unit of {which} was inactive on all of epoch {epoch + 1}'s data: the network's output no "
        "longer depends on its input and no gradient reaches the layers before, so training cannot recover. "
        "Likely causes: a learning rate too high, or inputs that are not scaled; lower the rate or standardize "
        "the features, and train again from a fresh model."
    )


def diverged(history: History, epoch: int, batch: int, lr: float) -> TrainingDivergedError:
    message = (
        f"the loss became NaN or infinite at epoch {epoch + 1}, batch {batch + 1}; the model is back to the last "
        f"weights that gave a finite loss. Likely causes: a learning rate too high (lr={lr:.3g}: try 10x lower) or "
        "inputs that are not scaled (standardize features to mean 0, variance 1)."
    )
    return TrainingDivergedError(message, history, epoch, batch)
