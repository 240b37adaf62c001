"""Training: the native fit loop (``fit`` and ``partial_fit``), its targets, optimizers,
learning-rate schedules, callbacks, history and progress. Models live in :mod:`steepest.nn`."""

from steepest.train.callbacks import Callback, EarlyStopping, ReduceLROnDeadUnits, ReduceLROnPlateau
from steepest.train.errors import DeadNetworkWarning, TrainingDivergedError
from steepest.train.history import History
from steepest.train.optimizers import SGD, Adam, Optimizer
from steepest.train.schedules import CosineDecay, ExponentialDecay, StepDecay
from steepest.train.targets import check_sample_weight

__all__ = [
    "SGD",
    "Adam",
    "Callback",
    "CosineDecay",
    "DeadNetworkWarning",
    "EarlyStopping",
    "ExponentialDecay",
    "History",
    "Optimizer",
    "ReduceLROnDeadUnits",
    "ReduceLROnPlateau",
    "StepDecay",
    "TrainingDivergedError",
    "check_sample_weight",
]
