"""The learning-rate range test of a scikit-learn estimator, with its own solver settings
(``solver``, ``batch_size``, ``momentum``, ``beta_1``..., ``alpha``), in scikit-learn's units:
rates are ``learning_rate_init`` values and losses are what ``loss_`` reports (without the
``alpha`` penalty, which does not depend on the rate)."""

from __future__ import annotations

import copy
from typing import Any

from sklearn.base import clone
from sklearn.utils import check_random_state

from steepest.sklearn._base import BaseMLP, CurrentLearningRate, threads
from steepest.train.lr_range import RangeTest


def lr_range_test(estimator: BaseMLP, X: Any, y: Any, *, start: float, end: float, steps: int, shuffle: bool) -> RangeTest:
    """The range test from the weights the estimator's next ``fit`` starts from: a fitted
    estimator's with ``warm_start=True``, else a new initialisation as ``fit`` makes it. It runs
    on a copy: the estimator itself is left as it was."""
    warm = bool(estimator.warm_start) and hasattr(estimator, "model_")
    work = copy.deepcopy(estimator) if warm else clone(estimator)
    work._check_parameters()
    X, y, targets = work._validate_fit_data(X, y, not warm, False)
    outputs, output_activation, engine_loss = work._engine_output(targets)
    if not warm:
        work._initialize(X.shape[1], outputs, output_activation, engine_loss, check_random_state(work.random_state), X.dtype.type)
    X, targets = work._in_model_dtype(X, targets)
    batch_size = work._batch_size(len(X))
    work._rate = CurrentLearningRate(0.0)
    work._set_learning_rate(float(work.learning_rate_init))
    optimizer = work._new_optimizer()
    # scikit-learn's rate r is the engine's r / gradient_scale with SGD (see _conventions).
    to_engine = work._engine_rate(1.0)
    with threads(work.n_threads):
        curve = work.model_.lr_range_test(
            X,
            targets,
            start=start * to_engine,
            end=end * to_engine,
            steps=steps,
            batch_size=batch_size,
            optimizer=optimizer,
            loss=work._convention.engine_loss,
            shuffle=shuffle,
        )
    scale = work._convention.reported_scale
    return RangeTest(curve.lrs / to_engine, curve.losses * scale, curve.smoothed * scale, curve.stopped_early)
