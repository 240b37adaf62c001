"""Hyperparameter search for steepest's (and any scikit-learn) estimators, from one laptop
to a Dask cluster with the same call.

>>> from steepest import tune
>>> space = {"learning_rate_init": tune.loguniform(1e-4, 1e-1), "hidden_layer_sizes": [(32,), (64,)]}

Then ``tune.search(MLPClassifier(), space, X, y, method="asha", n_trials=27, client=...)``
(methods "grid", "random", "halving", "asha", "tpe"), and ``tune.lr_find(MLPClassifier(), X, y)``
for the learning-rate range test. Needs scikit-learn; Dask (``dask[distributed]``), Optuna
(for "tpe"), pandas and matplotlib are optional.
"""

from steepest.tune.distributions import choice, loguniform, uniform
from steepest.tune.lr_find import LRFinderResult, lr_find
from steepest.tune.results import Results
from steepest.tune.searches import SearchInterrupted, SearchResult, search

__all__ = ["LRFinderResult", "Results", "SearchInterrupted", "SearchResult", "choice", "loguniform", "lr_find", "search", "uniform"]
