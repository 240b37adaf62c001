"""The fit loop, for ``fit`` and ``partial_fit`` alike: Python steps in only between chunks
of batches that the native trainer runs with the GIL released, to report progress, honour
Ctrl-C and run callbacks."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from steepest._validation import SparseRows, as_input, fraction, non_negative_float, positive_int
from steepest._warnings import warn
from steepest.engine import Engine, Rows, RunResult, Trainer
from steepest.train.callbacks import Callback
from steepest.train.errors import DeadNetworkWarning, dead_network_message, diverged
from steepest.train.history import History
from steepest.train.objective import Objective
from steepest.train.optimizers import SGD, Optimizer
from steepest.train.progress import Progress
from steepest.train.protocol import Model
from steepest.train.state import TrainingState
from steepest.train.targets import Targets, check_loss, check_sample_weight, prepare_targets

# A chunk of batches should take about this long: short enough for a live progress bar and
# a prompt Ctrl-C, long enough that returning to Python costs nothing measurable.
_CHUNK_SECONDS = 0.1
# A divergence warning needs this many epochs in a row whose loss rose by more than
# _RISE (relative), ending above _ABOVE_BEST times the best loss so far: mini-batch noise
# on a plateau wobbles by less.
_RISING_EPOCHS = 3
_RISE = 0.01
_ABOVE_BEST = 1.2


@dataclass
class _Totals:
    """An epoch's sums so far."""

    loss_sum: float = 0.0
    reconstruction_sum: float = 0.0
    kl_sum: float = 0.0
    penalty_sum: float = 0.0
    samples: int = 0
    judged: int = 0
    correct: int = 0
    nonfinite_batch: int = -1

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / max(1, self.samples)

    def add(self, result: RunResult) -> None:
        self.loss_sum += result.loss_sum
        self.reconstruction_sum += result.reconstruction_sum
        self.kl_sum += result.kl_sum
        self.penalty_sum += result.penalty_sum
        self.samples += result.samples
        self.judged += result.judged
        self.correct += result.correct


class _Batches:
    """Runs an epoch's batches through a trainer in chunks sized to take about
    _CHUNK_SECONDS (the size learnt from the chunks before), calling back after each."""

    def __init__(self, trainer: Trainer, X: Rows, targets: Targets, batch_size: int, every_n: int = 0) -> None:
        self.trainer, self.X, self.targets = trainer, X, targets
        self.count = math.ceil(len(X) / batch_size)
        self.every_n = every_n
        self.chunk = 1

    def epoch(self, order: np.ndarray, lr: float, after_chunk: Callable[[int, _Totals], None]) -> _Totals:
        """Every batch of an epoch visiting the rows in ``order``; stops at the first batch
        whose loss is not finite (``nonfinite_batch``), the model back to finite weights."""
        totals = _Totals()
        done = 0
        while done < self.count:
            end = min(self.count, done + self.chunk)
            if self.every_n:
                end = min(end, (done // self.every_n + 1) * self.every_n)
            started = time.perf_counter()
            result = self.trainer.run(self.X, self.targets, order, done, end, lr)
            totals.add(result)
            if result.nonfinite_batch >= 0:
                totals.nonfinite_batch = result.nonfinite_batch
                return totals
            per_batch = (time.perf_counter() - started) / max(1, end - done)
            self.chunk = max(1, min(self.count, int(_CHUNK_SECONDS / per_batch) if per_batch > 0 else self.count))
            done = end
            after_chunk(done, totals)
        return totals


def _split_validation(X: Rows, targets: Targets, validation_split: float) -> Tuple[Rows, Targets, Optional[Rows], Optional[Targets]]:
    validation_split = fraction(validation_split, "validation_split")
    if validation_split == 0:
        return X, targets, None, None
    if isinstance(X, SparseRows):
        raise ValueError("validation_split takes dense X; for sparse X give validation_data")
    # The last rows, before any shuffling (Keras's convention): the same rows every epoch.
    held_out = int(round(len(X) * validation_split))
    if held_out < 1 or held_out >= len(X):
        raise ValueError(f"validation_split={validation_split} leaves {len(X) - held_out} training and {held_out} validation samples")
    cut = len(X) - held_out
    return X[:cut], targets.subset(slice(0, cut)), X[cut:], targets.subset(slice(cut, None))


def _metrics(totals: _Totals, objective: Objective) -> Dict[str, float]:
    """Loss, and accuracy for classification losses (or the reconstruction and the KL
    divergence, per sample, for a model with a KL term), as fit reports them; and the
    optimizer's penalty per sample when it has one."""
    metrics = {"loss": totals.mean_loss}
    if totals.penalty_sum:
        metrics["penalty"] = totals.penalty_sum / max(1, totals.samples)
    if objective.kl_weight is not None:
        metrics["reconstruction"] = totals.reconstruction_sum / max(1, totals.samples)
        metrics["kl"] = totals.kl_sum / max(1, totals.samples)
    elif totals.judged:
        metrics["accuracy"] = totals.correct / totals.judged
    return metrics


def fit(
    model: Model,
    engine: Engine,
    state: TrainingState,
    X: Any,
    y: object,
    *,
    epochs: int,
    batch_size: int,
    optimizer: Optional[Optimizer],
    loss: str,
    shuffle: Union[bool, Callable[[int], np.ndarray]],
    validation_data: Optional[Sequence[object]],
    validation_split: float,
    callbacks: Sequence[Callback],
    verbose: int,
    diagnostics: bool,
    objective: Objective = Objective(),
    conditions: Optional[np.ndarray] = None,
    sample_weight: Optional[object] = None,
) -> History:
    """Train ``model`` (whose parameters are ``engine``'s) for ``epochs`` epochs: see
    :meth:`steepest.Sequential.fit`. The History is also kept in ``state``, whole or (after
    Ctrl-C) up to the last finished epoch.

    ``shuffle`` may also be a function of the epoch (counted from 0 in this fit) that gives
    its order of the rows, a permutation of ``range(len(X))`` (a caller replaying another
    library's shuffles). A conditional model gives each row's class in ``conditions``, and
    its validation data as a triple (X_val, y_val, classes_val)."""
    with engine.training():
        epochs = positive_int(epochs, "epochs")
        batch_size = positive_int(batch_size, "batch_size")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        optimizer = _optimizer(optimizer)
        loss = check_loss(model, loss)
        callbacks = list(callbacks)
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be steepest.Callback instances, got {type(callback).__name__}")

        X = as_input(X, "X", model.dtype.type, features=model.input_features)
        targets = prepare_targets(model, loss, y, len(X))
        targets.conditions = conditions
        targets.weights = check_sample_weight(sample_weight, len(X), model.dtype.type)
        X, targets, X_val, targets_val = _split_validation(X, targets, validation_split)
        if validation_data is not None:
            if X_val is not None:
                raise ValueError("give validation_data or validation_split, not both")
            pair = 2 if conditions is None else 3
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != pair:
                raise ValueError(
                    "validation_data must be a pair (X_val, y_val)" if pair == 2 else "validation_data must be (X_val, y_val, classes of the rows)"
                )
            X_val = as_input(validation_data[0], "validation X", model.dtype.type, features=model.input_features)
            targets_val = prepare_targets(model, loss, validation_data[1], len(X_val), name="validation y")
            if conditions is not None:
                targets_val.conditions = validation_data[2]
        samples = len(X)
        if batch_size > samples:
            raise ValueError(f"batch_size={batch_size} is larger than the {samples} training samples; use batch_size <= {samples}")

        # Each epoch's shuffle derives from the model's seed and the epoch's number over the
        # model's whole life, so the same model, data and settings replay bit for bit, and
        # fit(epochs=2) shuffles as fit(epochs=1) twice does.
        dropout_seed = np.random.SeedSequence([model.seed, state.epochs_trained, 1]).generate_state(1, np.uint64)[0]
        trainer = engine.trainer(
            batch_size,
            loss,
            optimizer.engine_settings(),
            int(dropout_seed),
            diagnostics,
            loss_scale=objective.loss_scale,
            noise=objective.noise,
            penalty_per_weight=objective.penalty_per_weight,
        )
        every_n = min([c.every_n_batches for c in callbacks if c.every_n_batches > 0], default=0)
        batches = _Batches(trainer, X, targets, batch_size, every_n)
        history = History()
        progress = Progress(verbose, epochs, batches.count)
        model.stop_training = False
        for callback in callbacks:
            callback.model = model
            callback.on_train_begin()

        rising, previous_loss, best_loss, warned, warned_dead = 0, math.inf, math.inf, False, False
        try:
            for epoch in range(epochs):
                lr = optimizer.learning_rate(epoch) * math.prod(
                    # A negative factor would step up the gradient, a NaN train nothing.
                    non_negative_float(c.learning_rate_factor(), f"{type(c).__name__}.learning_rate_factor()")
                    for c in callbacks
                )
                if objective.kl_weight is not None:
                    trainer.set_kl_weight(objective.kl_weight(state.epochs_trained))
                if callable(shuffle):
                    order = _given_order(shuffle(epoch), samples)
                elif shuffle:
                    order = np.random.default_rng([model.seed, state.epochs_trained]).permutation(samples).astype(np.int64)
                else:
                    order = np.arange(samples, dtype=np.int64)
                trainer.reset_diagnostics()
                progress.epoch_begin(epoch)
                for callback in callbacks:
                    callback.on_epoch_begin(epoch)

                def after_chunk(done: int, totals: _Totals) -> None:
                    progress.batches_done(done, totals.samples, totals.mean_loss)
                    if every_n and done % every_n == 0:
                        for callback in callbacks:
                            callback.on_batches_end(epoch, done, {"loss": totals.mean_loss})

                started = time.perf_counter()
                totals = batches.epoch(order, lr, after_chunk)
                if totals.nonfinite_batch >= 0:
                    raise diverged(history, epoch, totals.nonfinite_batch, lr)
                took = time.perf_counter() - started
                logs = _metrics(totals, objective)
                if X_val is not None and targets_val is not None:
                    validation = _Totals()
                    validation.add(trainer.evaluate(X_val, targets_val))
                    logs.update({"val_" + key: value for key, value in _metrics(validation, objective).items()})
                logs["lr"] = lr
                logs["time"] = took
                logs["samples_per_second"] = totals.samples / took if took > 0 else math.inf
                layers = trainer.diagnostics()
                history.record(epoch, logs, layers)
                state.epochs_trained += 1
                progress.epoch_end(logs)
                # Callbacks see the layers' diagnostics too, to act on them (issue 19).
                callback_logs: Dict[str, Any] = dict(logs, diagnostics=layers) if diagnostics else logs
                for callback in callbacks:
                    callback.on_epoch_end(epoch, callback_logs)

                dead = history.dead_layers() if diagnostics else []
                if dead and not warned_dead:
                    warned_dead = True
                    warn(dead_network_message(dead, epoch), DeadNetworkWarning)

                # The training loss only: a rising validation loss is overfitting, not divergence.
                rising = rising + 1 if logs["loss"] > previous_loss * (1 + _RISE) else 0
                previous_loss = logs["loss"]
                best_loss = min(best_loss, logs["loss"])
                if rising >= _RISING_EPOCHS and logs["loss"] > _ABOVE_BEST * best_loss and not warned:
                    warned = True
                    warn(
                        f"the training loss has risen for {rising} epochs in a row (now {logs['loss']:.4g}): the learning rate may be too high",
                        RuntimeWarning,
                    )
                if model.stop_training:
                    break
        except KeyboardInterrupt:
            # The trainer returns only between batches, so the weights are whole; keep what
            # was learned and let the interrupt through.
            progress.interrupted()
            state.history = history
            raise
        for callback in callbacks:
            callback.on_train_end()
        state.history = history
        return history


def partial_fit(
    model: Model,
    engine: Engine,
    state: TrainingState,
    X: Any,
    y: object,
    *,
    batch_size: int,
    optimizer: Optional[Optimizer],
    loss: str,
    objective: Objective = Objective(),
    conditions: Optional[np.ndarray] = None,
    sample_weight: Optional[object] = None,
    order: Optional[np.ndarray] = None,
) -> Dict[str, float]:
    """One pass over the chunk ``(X, y)`` in order (or in ``order``, a permutation of its
    rows): see :meth:`steepest.Sequential.partial_fit`. Returns the pass's metrics as fit
    logs an epoch's (its mean loss, and the penalty per sample if any)."""
    with engine.training():
        optimizer = _optimizer(optimizer)
        loss = check_loss(model, loss)
        X = as_input(X, "X", model.dtype.type, features=model.input_features)
        targets = prepare_targets(model, loss, y, len(X))
        targets.conditions = conditions
        targets.weights = check_sample_weight(sample_weight, len(X), model.dtype.type)
        batch_size = min(positive_int(batch_size, "batch_size"), len(X))
        # The learning rate goes to each run, so a schedule keeps the optimizer's state.
        settings = optimizer.engine_settings()
        # What the trainer is made of, and nothing else: a saved model keeps it (see
        # TrainingState.saved), so plain values only.
        key = (batch_size, loss, tuple(sorted(settings.items())), objective.loss_scale, objective.noise, objective.penalty_per_weight)
        if state.partial is None or state.partial[1] != key:
            trainer = engine.trainer(
                batch_size,
                loss,
                settings,
                model.seed,
                False,
                loss_scale=objective.loss_scale,
                noise=objective.noise,
                penalty_per_weight=objective.penalty_per_weight,
            )
            saved, state.saved = state.saved, None
            if saved is not None and saved.settings == key:
                try:
                    trainer.restore_state(saved.steps, saved.arrays)
                except ValueError as error:  # a file that names settings its arrays do not fit
                    raise ValueError(f"the optimizer state this model was loaded with does not fit its settings ({error}); it is dropped") from None
            state.partial = (trainer, key)
        if objective.kl_weight is not None:
            state.partial[0].set_kl_weight(objective.kl_weight(state.epochs_trained))
        lr = optimizer.learning_rate(0)
        rows = np.arange(len(X), dtype=np.int64) if order is None else _given_order(order, len(X))
        totals = _Batches(state.partial[0], X, targets, batch_size).epoch(rows, lr, lambda done, totals: None)
        if totals.nonfinite_batch >= 0:
            raise diverged(History(), 0, totals.nonfinite_batch, lr)
        return _metrics(totals, objective)


def _given_order(order: object, samples: int) -> np.ndarray:
    """A caller's order of the rows as int64, checked to be a permutation of them."""
    rows = np.asarray(order)
    if rows.shape != (samples,) or rows.dtype.kind not in "iu" or not np.array_equal(np.sort(rows), np.arange(samples)):
        raise ValueError(f"an epoch's order must be a permutation of the {samples} rows")
    return np.ascontiguousarray(rows, dtype=np.int64)


def _optimizer(optimizer: Optional[Optimizer]) -> Optimizer:
    if optimizer is None:
        return SGD(lr=0.01)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a steepest optimizer (steepest.SGD, steepest.Adam), got {type(optimizer).__name__}")
    return optimizer
