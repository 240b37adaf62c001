"""What a training run that cannot go on raises."""

from __future__ import annotations

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


def diverged(history: History, epoch: int, batch: int, lr: float) -> TrainingDivergedError:
    message = (
        f"the loss became NaN or infinite at epoch {epoch + 1}, batch {batch + 1}; the model is back to the last "
        f"weights that gave a finite loss. Likely causes: a learning rate too high (lr={lr:.3g}: try 10x lower) or "
        "inputs that are not scaled (standardize features to mean 0, variance 1)."
    )
    return TrainingDivergedError(message, history, epoch, batch)
