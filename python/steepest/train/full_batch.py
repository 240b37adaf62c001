"""The loss over every row and its gradient in one native call, for full-batch optimizers
such as L-BFGS (``scipy.optimize.minimize(..., jac=True)``)."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from steepest._validation import as_input, positive_int
from steepest.engine import Engine
from steepest.train.objective import Objective
from steepest.train.optimizers import SGD
from steepest.train.protocol import Model
from steepest.train.targets import check_loss, check_sample_weight, prepare_targets


class FullBatch:
    """``f(parameters) -> (loss, gradient)`` over all rows of ``(X, y)``.

    Each call writes ``parameters`` (the model's block layout, :meth:`get_parameters`'s)
    into the model and runs forward, loss and backward over every row natively, in batches
    of ``batch_size`` rows with the GIL released, into buffers made once. The loss is the
    mean over the rows (Σ w·loss / Σ w with ``sample_weight``), as ``fit`` reports it, with
    dropout and input noise off and no optimizer penalty. The gradient returned is the same
    array on every call: copy it to keep it.
    """

    def __init__(
        self, model: Model, engine: Engine, X: Any, y: Any, *, loss: str, sample_weight: Any = None, batch_size: int = 4096, objective: Objective = Objective()
    ) -> None:
        self._engine = engine
        loss = check_loss(model, loss)
        self._X = as_input(X, "X", model.dtype.type, features=model.input_features)
        self._targets = prepare_targets(model, loss, y, len(self._X))
        self._targets.weights = check_sample_weight(sample_weight, len(self._X), model.dtype.type)
        rows = min(positive_int(batch_size, "batch_size"), len(self._X))
        self._trainer = engine.trainer(rows, loss, SGD(lr=1.0).engine_settings(), model.seed, False, loss_scale=objective.loss_scale)
        self._gradient = np.empty(engine.parameter_count, dtype=engine.dtype)

    def __call__(self, parameters: Any) -> Tuple[float, np.ndarray]:
        self._engine.set_parameters(parameters)
        loss = self._trainer.loss_and_gradient(self._X, self._targets, self._gradient)
        return loss, self._gradient
