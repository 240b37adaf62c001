"""Callbacks: code that runs between epochs of ``fit`` to watch or steer training."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import numpy as np

from steepest._validation import non_negative_float, non_negative_int

if TYPE_CHECKING:
    from steepest.train.protocol import Model


class Callback:
    """Base class: override the hooks you need. ``self.model`` is the model being trained.

    Setting ``model.stop_training = True`` from a hook ends ``fit`` after the epoch.
    ``every_n_batches`` > 0 asks ``fit`` to call :meth:`on_batches_end` that often.
    """

    every_n_batches = 0

    def __init__(self) -> None:
        self.model: Optional["Model"] = None

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        pass

    def on_batches_end(self, epoch: int, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        pass

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        pass

    def learning_rate_factor(self) -> float:
        """A factor on the optimizer's learning rate (see :class:`ReduceLROnPlateau`)."""
        return 1.0


class _Monitor(Callback):
    def __init__(self, monitor: Optional[str], min_delta: float, mode: str) -> None:
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.min_delta = non_negative_float(min_delta, "min_delta")
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf

    def _value(self, logs: Dict[str, Any]) -> Optional[float]:
        key = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
        if key not in logs:
            raise ValueError(f"{type(self).__name__} monitors {key!r}, which this fit does not record; recorded: {sorted(logs)}")
        value = logs[key]
        return None if value is None or math.isnan(value) else float(value)

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    monitor : str, optional
        A metric of the History (default: ``val_loss`` when validating, else ``loss``).
    patience : int, default 5
    min_delta : float, default 0
    mode : {"min", "max"}
    restore_best_weights : bool, default False
        Put back the weights of the best epoch when stopping (or at the end).

    Examples
    --------
    >>> import numpy as np, steepest
    >>> X = np.random.default_rng(0).random((64, 3)).astype(np.float32)
    >>> model = steepest.MLP([3, 8, 3], seed=0)
    >>> stop = steepest.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    >>> history = model.fit(X, X, epochs=50, callbacks=[stop], verbose=0)
    >>> len(history) <= 50
    True
    """

    def __init__(self, monitor: Optional[str] = None, patience: int = 5, min_delta: float = 0.0, mode: str = "min", restore_best_weights: bool = False) -> None:
        super().__init__(monitor, min_delta, mode)
        self.patience = non_negative_int(patience, "patience")
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.stopped_epoch: Optional[int] = None
        self.best_epoch: Optional[int] = None
        self._best_weights: Optional[np.ndarray] = None

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.stopped_epoch = None
        self._best_weights = None

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        assert self.model is not None
        value = self._value(logs or {})
        if value is not None and self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = self.model.get_parameters()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        if self.restore_best_weights and self._best_weights is not None and self.model is not None:
            self.model.set_parameters(self._best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    Examples
    --------
    >>> import steepest
    >>> steepest.ReduceLROnPlateau(factor=0.5, patience=3).factor
    0.5
    """

    def __init__(
        self, monitor: Optional[str] = None, factor: float = 0.1, patience: int = 5, min_delta: float = 1e-4, min_lr: float = 0.0, mode: str = "min"
    ) -> None:
        super().__init__(monitor, min_delta, mode)
        self.factor = non_negative_float(factor, "factor", positive=True, below_one=True)
        self.patience = non_negative_int(patience, "patience")
        self.min_lr = non_negative_float(min_lr, "min_lr")
        self.wait = 0
        self._scale = 1.0
        self._last_lr = math.inf

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        logs = logs or {}
        self._last_lr = float(logs.get("lr", self._last_lr))
        value = self._value(logs)
        if value is not None and self._improved(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait > self.patience and self._last_lr * self.factor >= self.min_lr:
            self._scale *= self.factor
            self.wait = 0

    def learning_rate_factor(self) -> float:
        return self._scale


class ReduceLROnDeadUnits(Callback):
    """Multiply the learning rate by ``factor`` whenever more ReLU units have died: some
    layer's ``dead_fraction`` (the units never active on the epoch's data) is above
    ``max_dead_fraction`` and above what it was when this callback last acted.

    A dead unit passes no gradient, so nothing moves it back; a step too large is the usual
    way units die (it pushes a unit's weights and bias to where no input activates it).
    A lower rate keeps more units from dying; it does not revive the dead ones. Reads the
    per-layer diagnostics from the logs of ``on_epoch_end`` (``logs["diagnostics"]``), so it
    needs ``fit(..., diagnostics=True)``, the default.

    Attributes
    ----------
    reductions : list of int
        The epochs after which it lowered the rate.

    Examples
    --------
    >>> import numpy as np, steepest
    >>> X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    >>> model = steepest.MLP([4, 8, 1], seed=0)
    >>> model.layers[0].bias[:4] = -100.0  # half the hidden units can never fire
    >>> guard = steepest.ReduceLROnDeadUnits(max_dead_fraction=0.25, factor=0.5)
    >>> history = model.fit(X, X[:, :1], epochs=3, optimizer=steepest.SGD(lr=0.1), callbacks=[guard], verbose=0)
    >>> history["lr"], guard.reductions
    ([0.1, 0.05, 0.05], [0])
    """

    def __init__(self, max_dead_fraction: float = 0.25, factor: float = 0.5, min_lr: float = 0.0) -> None:
        super().__init__()
        self.max_dead_fraction = non_negative_float(max_dead_fraction, "max_dead_fraction", below_one=True)
        self.factor = non_negative_float(factor, "factor", positive=True, below_one=True)
        self.min_lr = non_negative_float(min_lr, "min_lr")
        self.reductions: List[int] = []
        self._acted_at = self.max_dead_fraction
        self._scale = 1.0

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        logs = logs or {}
        if "diagnostics" not in logs:
            raise ValueError("ReduceLROnDeadUnits reads the per-layer diagnostics: train with fit(..., diagnostics=True)")
        dead = [layer["dead_fraction"] for layer in logs["diagnostics"] if layer is not None and layer.get("dead_fraction") is not None]
        worst = max(dead, default=0.0)
        if worst > self._acted_at and float(logs.get("lr", math.inf)) * self.factor >= self.min_lr:
            self._scale *= self.factor
            self._acted_at = worst
            self.reductions.append(epoch)

    def learning_rate_factor(self) -> float:
        return self._scale
