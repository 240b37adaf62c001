"""The fit loop: Python steps in only between chunks of batches that the native trainer
runs with the GIL released, to report progress, honour Ctrl-C and run callbacks."""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, cast

import numpy as np

from steepest import _core, ops
from steepest._validation import as_matrix, positive_int
from steepest.callbacks import Callback
from steepest.history import History
from steepest.optimizers import SGD, Optimizer
from steepest.progress import Progress

if TYPE_CHECKING:
    from steepest.models import Sequential

LOSSES = ("mse", "binary_cross_entropy", "softmax_cross_entropy")

# A chunk of batches should take about this long: short enough for a live progress bar and
# a prompt Ctrl-C, long enough that returning to Python costs nothing measurable.
_CHUNK_SECONDS = 0.1
# A divergence warning needs this many epochs in a row whose loss rose by more than
# _RISE (relative), ending above _ABOVE_BEST times the best loss so far: mini-batch noise
# on a plateau wobbles by less.
_RISING_EPOCHS = 3
_RISE = 0.01
_ABOVE_BEST = 1.2


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite. The model is back to the last weights that gave a
    finite loss (at most two chunks of about 0.1 s of batches back); ``history``
    holds the epochs completed before."""

    def __init__(self, message: str, history: History, epoch: int, batch: int) -> None:
        super().__init__(message)
        self.history = history
        self.epoch = epoch
        self.batch = batch


class Targets:
    """Training targets in the form the native trainer takes: float rows, or integer labels
    for softmax cross entropy."""

    def __init__(self, dense: Optional[np.ndarray], labels: Optional[np.ndarray]) -> None:
        self.dense, self.labels = dense, labels

    def subset(self, rows: slice) -> "Targets":
        return Targets(None if self.dense is None else self.dense[rows], None if self.labels is None else self.labels[rows])


def check_loss(model: "Sequential", loss: Any) -> str:
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of: {', '.join(LOSSES)}")
    output = model.output_activation
    if loss == "binary_cross_entropy" and output != "sigmoid":
        raise ValueError(f"binary_cross_entropy needs a sigmoid output layer (probabilities); this model's output is {output!r}")
    if loss != "softmax_cross_entropy" and output == "softmax":
        raise ValueError(f"a softmax output layer goes with loss='softmax_cross_entropy', not {loss!r}")
    return loss


def prepare_targets(model: "Sequential", loss: str, y: Any, samples: int, name: str = "y") -> Targets:
    """Checks ``y`` against the model and the loss and converts it (see :class:`Targets`)."""
    outputs = model.output_features
    if y is None:
        raise ValueError(f"{name} is required for {type(model).__name__}.fit (only an Autoencoder defaults y to X)")
    array = y if isinstance(y, np.ndarray) else np.asarray(y)
    if array.ndim == 0:
        raise ValueError(f"{name} must hold one target per sample of X, got shape {array.shape}")
    if len(array) != samples:
        raise ValueError(f"{name} has {len(array)} rows but X has {samples}")
    if loss == "softmax_cross_entropy" and array.ndim == 1:
        if array.dtype.kind not in "iu":
            if array.dtype.kind != "f" or not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
                raise TypeError(f"{name} must hold integer class labels (or one-hot rows) for softmax_cross_entropy, got dtype {array.dtype}")
        labels = array.astype(np.int64)
        bad = np.flatnonzero((labels < 0) | (labels >= outputs))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] = {labels[bad[0]]} is not a class of this model's {outputs} outputs (labels must be in [0, {outputs}))")
        return Targets(None, np.ascontiguousarray(labels))
    if array.ndim == 1 and outputs == 1:
        array = array.reshape(-1, 1)
    dense = as_matrix(array, name, model.dtype.type, features=None)
    if dense.shape[1] != outputs:
        raise ValueError(f"{name} has {dense.shape[1]} columns but the model has {outputs} outputs")
    if loss == "binary_cross_entropy" and ((dense < 0) | (dense > 1)).any():
        raise ValueError(f"{name} must be in [0, 1] for binary_cross_entropy")
    return Targets(dense, None)


def evaluate(model: "Sequential", loss: str, X: np.ndarray, targets: Targets) -> Dict[str, float]:
    """Loss (and accuracy for classification) of the model on (X, targets), as fit reports them."""
    prediction = model.predict(X)
    # Targets hold either labels or dense rows: where labels is None, dense is set.
    metrics: Dict[str, float] = {}
    if loss == "softmax_cross_entropy":
        labels = targets.labels if targets.labels is not None else None
        if model.output_activation == "softmax":
            log_p = np.log(np.maximum(prediction.astype(np.float64), np.finfo(np.float64).tiny))
            if labels is not None:
                value = -float(np.mean(log_p[np.arange(len(labels)), labels]))
            else:
                value = -float(np.mean(np.sum(targets.dense * log_p, axis=1)))
        else:
            value = ops.loss(loss, prediction, labels if labels is not None else cast(np.ndarray, targets.dense))[0]
        expected = labels if labels is not None else np.argmax(cast(np.ndarray, targets.dense), axis=1)
        metrics["loss"] = value
        metrics["accuracy"] = float(np.mean(np.argmax(prediction, axis=1) == expected))
        return metrics
    metrics["loss"] = ops.loss(loss, prediction, cast(np.ndarray, targets.dense))[0]
    if loss == "binary_cross_entropy":
        metrics["accuracy"] = float(np.mean((prediction > 0.5) == (cast(np.ndarray, targets.dense) > 0.5)))
    return metrics


def _split_validation(
    X: np.ndarray, targets: Targets, validation_split: float
) -> Tuple[np.ndarray, Targets, Optional[np.ndarray], Optional[Targets]]:
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if validation_split == 0:
        return X, targets, None, None
    # The last rows, before any shuffling (Keras's convention): the same rows every epoch.
    held_out = int(round(len(X) * validation_split))
    if held_out < 1 or held_out >= len(X):
        raise ValueError(f"validation_split={validation_split} leaves {len(X) - held_out} training and {held_out} validation samples")
    cut = len(X) - held_out
    return X[:cut], targets.subset(slice(0, cut)), X[cut:], targets.subset(slice(cut, None))


def _engine_trainer(model: "Sequential", batch_size: int, loss: str, optimizer: Optimizer, seed: int, diagnostics: bool) -> Any:
    engine = _core.TrainerF32 if model.dtype == np.float32 else _core.TrainerF64
    return engine(model._network, batch_size, loss, seed=seed, diagnostics=diagnostics, **optimizer._engine_settings())


# Models inside fit or partial_fit. The engine refuses a training run while another holds
# the model, but a fit lets go between chunks, so two fits of one model from two threads
# would take turns and interleave their updates (issue 8).
_models_in_training: "weakref.WeakSet[Sequential]" = weakref.WeakSet()
_models_in_training_lock = threading.Lock()


@contextlib.contextmanager
def training_exclusively(model: "Sequential") -> Any:
    with _models_in_training_lock:
        if model in _models_in_training:
            raise RuntimeError("this model is being trained by another thread; train a copy, or wait for the other fit to finish")
        _models_in_training.add(model)
    try:
        yield
    finally:
        with _models_in_training_lock:
            _models_in_training.discard(model)


def fit(model: "Sequential", X: Any, y: Any, **settings: Any) -> History:
    with training_exclusively(model):
        return _fit(model, X, y, **settings)


def _fit(
    model: "Sequential",
    X: Any,
    y: Any,
    *,
    epochs: int,
    batch_size: int,
    optimizer: Optional[Optimizer],
    loss: str,
    shuffle: bool,
    validation_data: Optional[Tuple[Any, Any]],
    validation_split: float,
    callbacks: Sequence[Callback],
    verbose: int,
    diagnostics: bool,
) -> History:
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    optimizer = optimizer if optimizer is not None else SGD(lr=0.01)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a steepest optimizer (steepest.SGD, steepest.Adam), got {type(optimizer).__name__}")
    loss = check_loss(model, loss)
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be steepest.callbacks.Callback instances, got {type(callback).__name__}")

    X = as_matrix(X, "X", model.dtype.type, features=model.input_features)
    targets = prepare_targets(model, loss, y, len(X))
    X, targets, X_val, targets_val = _split_validation(X, targets, validation_split)
    if validation_data is not None:
        if X_val is not None:
            raise ValueError("give validation_data or validation_split, not both")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val = as_matrix(validation_data[0], "validation X", model.dtype.type, features=model.input_features)
        targets_val = prepare_targets(model, loss, validation_data[1], len(X_val), name="validation y")
    samples = len(X)
    if batch_size > samples:
        raise ValueError(f"batch_size={batch_size} is larger than the {samples} training samples; use batch_size <= {samples}")

    # Each epoch's shuffle derives from the model's seed and the epoch's number over the
    # model's whole life, so the same model, data and settings replay bit for bit, and
    # fit(epochs=2) shuffles as fit(epochs=1) twice does.
    dropout_seed = np.random.SeedSequence([model.seed, model._epochs_trained, 1]).generate_state(1, np.uint64)[0]
    trainer = _engine_trainer(model, batch_size, loss, optimizer, int(dropout_seed), diagnostics)
    batches = math.ceil(samples / batch_size)
    every_n = min([c.every_n_batches for c in callbacks if c.every_n_batches > 0], default=0)
    history = History()
    progress = Progress(verbose, epochs, batches)
    model.stop_training = False
    for callback in callbacks:
        callback.model = model
        callback.on_train_begin()

    rising, previous_loss, best_loss, warned = 0, math.inf, math.inf, False
    chunk = 1
    try:
        for epoch in range(epochs):
            scale = math.prod(c.learning_rate_factor() for c in callbacks)
            lr = optimizer.learning_rate(epoch) * scale
            if shuffle:
                order = np.random.default_rng([model.seed, model._epochs_trained]).permutation(samples).astype(np.int64)
            else:
                order = np.arange(samples, dtype=np.int64)
            trainer.reset_diagnostics()
            progress.epoch_begin(epoch)
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            started = time.perf_counter()
            done, loss_sum, seen, judged, correct = 0, 0.0, 0, 0, 0
            while done < batches:
                end = min(batches, done + chunk)
                if every_n:
                    end = min(end, (done // every_n + 1) * every_n)
                chunk_started = time.perf_counter()
                result = trainer.run(X, targets.dense, targets.labels, order, done, end, lr)
                loss_sum += result["loss_sum"]
                seen += result["samples"]
                judged += result["judged"]
                correct += result["correct"]
                if result["nonfinite_batch"] >= 0:
                    raise _diverged(history, epoch, result["nonfinite_batch"], lr)
                elapsed = time.perf_counter() - chunk_started
                per_batch = elapsed / max(1, end - done)
                chunk = max(1, min(batches, int(_CHUNK_SECONDS / per_batch) if per_batch > 0 else batches))
                done = end
                progress.batches_done(done, seen, loss_sum / max(1, seen))
                if every_n and done % every_n == 0:
                    for callback in callbacks:
                        callback.on_batches_end(epoch, done, {"loss": loss_sum / max(1, seen)})
            took = time.perf_counter() - started
            logs: Dict[str, float] = {"loss": loss_sum / seen}
            if judged:
                logs["accuracy"] = correct / judged
            if X_val is not None and targets_val is not None:
                for key, value in evaluate(model, loss, X_val, targets_val).items():
                    logs["val_" + key] = value
            logs["lr"] = lr
            logs["time"] = took
            logs["samples_per_second"] = seen / took if took > 0 else math.inf
            history.record(epoch, logs, trainer.diagnostics())
            model._epochs_trained += 1
            progress.epoch_end(logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)

            rising = rising + 1 if logs["loss"] > previous_loss * (1 + _RISE) else 0
            previous_loss = logs["loss"]
            best_loss = min(best_loss, logs["loss"])
            if rising >= _RISING_EPOCHS and logs["loss"] > _ABOVE_BEST * best_loss and not warned:
                warned = True
                warnings.warn(
                    f"the training loss has risen for {rising} epochs in a row (now {logs['loss']:.4g}): "
                    "the learning rate may be too high",
                    RuntimeWarning,
                    stacklevel=3,
                )
            if model.stop_training:
                break
    except KeyboardInterrupt:
        # The trainer returns only between batches, so the weights are whole; keep what was
        # learned and let the interrupt through.
        progress.interrupted()
        model.history_ = history
        raise
    for callback in callbacks:
        callback.on_train_end()
    model.history_ = history
    return history


def _diverged(history: History, epoch: int, batch: int, lr: float) -> TrainingDivergedError:
    message = (
        f"the loss became NaN or infinite at epoch {epoch + 1}, batch {batch + 1}; the model is back to the last "
        f"weights that gave a finite loss. Likely causes: a learning rate too high (lr={lr:.3g}: try 10x lower) or "
        "inputs that are not scaled (standardize features to mean 0, variance 1)."
    )
    return TrainingDivergedError(message, history, epoch, batch)

