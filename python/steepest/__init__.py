"""steepest: fast dense neural networks on the CPU.

SIMD C++ kernels chosen at import for this CPU, a training loop that runs natively with the
GIL released, autoencoders, and scikit-learn estimators.

Examples
--------
>>> import numpy as np, steepest
>>> X = np.random.default_rng(0).random((256, 4)).astype(np.float32)
>>> y = (X.sum(axis=1) > 2).astype(np.int64)
>>> model = steepest.MLP([4, 16, 2], seed=0)
>>> history = model.fit(X, y, loss="softmax_cross_entropy", epochs=30,
...                     optimizer=steepest.Adam(lr=0.01), verbose=0)
>>> history["accuracy"][-1] > 0.9
True
"""

from steepest import ops
from steepest._core import __version__
from steepest.nn import MLP, VAE, Autoencoder, Dense, Dropout, Sequential, load
from steepest.runtime import get_num_threads, set_num_threads, show_config, simd_level
from steepest.train import (
    SGD,
    Adam,
    Callback,
    CosineDecay,
    DeadNetworkWarning,
    EarlyStopping,
    ExponentialDecay,
    History,
    ReduceLROnDeadUnits,
    ReduceLROnPlateau,
    StepDecay,
    TrainingDivergedError,
)

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "Autoencoder",
    "Callback",
    "CosineDecay",
    "DeadNetworkWarning",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "ExponentialDecay",
    "History",
    "ReduceLROnDeadUnits",
    "ReduceLROnPlateau",
    "Sequential",
    "VAE",
    "StepDecay",
    "TrainingDivergedError",
    "__version__",
    "get_num_threads",
    "load",
    "ops",
    "set_num_threads",
    "show_config",
    "simd_level",
]
