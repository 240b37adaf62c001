"""What training did, epoch by epoch."""

from __future__ import annotations

import csv
import json
import math
from io import StringIO
from typing import Any, Dict, ItemsView, Iterator, KeysView, List, Optional, Tuple, ValuesView

from steepest import io


class History:
    """Per-epoch record of a ``fit``: metrics and per-layer training diagnostics.

    It reads like the dict of its metrics (:attr:`history`): ``"val_loss" in history``,
    ``history["loss"]``, ``keys()``, ``values()``, ``items()``, ``get()``, iteration over
    the metric names; ``len(history)`` is the number of epochs, and :meth:`to_dataframe`
    gives a pandas DataFrame.

    Attributes
    ----------
    history : dict of str to list
        One list per metric, one entry per epoch: ``loss``, ``val_loss`` (with validation
        data), ``accuracy`` / ``val_accuracy`` (classification losses), a VAE's
        ``reconstruction`` and ``kl`` (and their ``val_`` forms), ``lr`` and ``time``
        (seconds).
    diagnostics : list of list of dict
        Per epoch, per layer (``None`` for dropout and a VAE's condition layers):
        ``gradient_norm`` (mean over the epoch's batches), ``update_ratio`` (‖ΔW‖/‖W‖ of
        the epoch's last step), ``dead_fraction`` (ReLU units never active on the epoch's
        data), ``saturated_fraction`` (sigmoid/tanh outputs within 1% of their bounds) and
        ``zero_fraction`` (weights exactly zero at the epoch's end, as L1 makes them);
        for a VAE's sampling layer ``kl_per_dimension`` (each latent dimension's mean KL to
        the prior, in nats) and ``active_dimensions`` (those above 0.01 nats), drawn by
        ``steepest.plot.latent_kl``.
    epochs : list of int
        The epochs recorded (continued training keeps counting).

    Examples
    --------
    >>> from steepest.train.history import History
    >>> h = History()
    >>> h.record(0, {"loss": 0.5, "lr": 0.1, "time": 0.01}, [])
    >>> h.history["loss"], h.best("loss")
    ([0.5], (0, 0.5))
    >>> "val_loss" in h, list(h.keys())
    (False, ['loss', 'lr', 'time'])
    """

    def __init__(self) -> None:
        self.history: Dict[str, List[float]] = {}
        self.diagnostics: List[List[Optional[Dict[str, Any]]]] = []
        self.epochs: List[int] = []

    def record(self, epoch: int, metrics: Dict[str, float], diagnostics: List[Optional[Dict[str, Any]]]) -> None:
        """Append one epoch's metrics and diagnostics."""
        self.epochs.append(epoch)
        for key, value in metrics.items():
            column = self.history.setdefault(key, [math.nan] * (len(self.epochs) - 1))
            column.append(float(value))
        for column in self.history.values():
            if len(column) < len(self.epochs):
                column.append(math.nan)
        self.diagnostics.append(diagnostics)

    def __len__(self) -> int:
        """The number of epochs recorded (not of metrics: ``len(history.keys())`` is that)."""
        return len(self.epochs)

    def __getitem__(self, key: str) -> List[float]:
        return self.history[key]

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __iter__(self) -> Iterator[str]:
        """The metric names, as iterating over :attr:`history` gives them."""
        return iter(self.history)

    def keys(self) -> KeysView[str]:
        return self.history.keys()

    def values(self) -> ValuesView[List[float]]:
        return self.history.values()

    def items(self) -> ItemsView[str, List[float]]:
        return self.history.items()

    def get(self, key: str, default: Optional[List[float]] = None) -> Optional[List[float]]:
        return self.history.get(key, default)

    def to_dataframe(self) -> Any:
        """The metrics as a pandas DataFrame, one row per epoch (indexed by epoch), one
        column per metric. Needs pandas (``pip install pandas``)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("History.to_dataframe needs pandas: pip install pandas (or use to_dict / to_csv)") from None
        return pandas.DataFrame(dict(self.history), index=pandas.Index(list(self.epochs), name="epoch"))

    def best(self, monitor: str = "loss", mode: str = "min") -> Tuple[int, float]:
        """``(epoch, value)`` of the best value of ``monitor``."""
        values = self.history[monitor]
        pick = min if mode == "min" else max
        index = pick(range(len(values)), key=lambda i: values[i] if not math.isnan(values[i]) else (math.inf if mode == "min" else -math.inf))
        return self.epochs[index], values[index]

    def layer_diagnostic(self, name: str) -> List[List[Optional[float]]]:
        """One diagnostic per epoch and layer, e.g. ``layer_diagnostic("dead_fraction")``."""
        return [[None if layer is None else layer.get(name) for layer in epoch] for epoch in self.diagnostics]

    def dead_layers(self, epoch: int = -1) -> List[int]:
        """The layers every ReLU unit of which was inactive on the data of the ``epoch``-th
        recorded epoch (the last by default): a dead network (see
        :class:`steepest.DeadNetworkWarning`). Empty without diagnostics."""
        if not self.diagnostics:
            return []
        return [i for i, layer in enumerate(self.diagnostics[epoch]) if layer is not None and layer.get("dead_fraction") == 1.0]

    def to_dict(self) -> Dict[str, Any]:
        return {"epochs": list(self.epochs), "history": {k: list(v) for k, v in self.history.items()}, "diagnostics": self.diagnostics}

    def to_json(self, path: str) -> None:
        """Write the whole history (metrics and diagnostics) as strict JSON: a metric missing
        from an epoch (NaN here), or any other non-finite number, is written as null. Written
        atomically, as a model is saved: a failure leaves the previous file as it was."""
        io.write_atomically(json.dumps(_finite_or_null(self.to_dict()), indent=1, allow_nan=False), path)

    def to_csv(self, path: str) -> None:
        """Write one row per epoch with every metric, atomically (as :meth:`to_json`)."""
        keys = list(self.history)
        text = StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(["epoch"] + keys)
        for i, epoch in enumerate(self.epochs):
            writer.writerow([epoch] + [self.history[k][i] for k in keys])
        io.write_atomically(text.getvalue(), path)

    def __repr__(self) -> str:
        metrics = ", ".join(self.history)
        return f"History({len(self)} epochs: {metrics})"


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(item) for item in value]
    return value
