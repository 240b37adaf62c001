"""Tune an MLP on scikit-learn's digits: a learning-rate range test, then a search in this
process and the same search on a Dask cluster, then asynchronous halving there.

The same call runs both ways; on a real cluster pass its Client (or scheduler address)
instead of the LocalCluster started here. Run: python examples/tune_mlp_digits.py
"""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from steepest import tune
from steepest.sklearn import MLPClassifier


def main() -> None:
    # The search records each trial's warnings in its table; the short budgets of the first
    # rounds end before convergence on purpose, so the refit of the best may warn too.
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0)
    space = {
        "learning_rate_init": tune.loguniform(1e-4, 1e-1),
        "alpha": tune.loguniform(1e-6, 1e-2),
        "hidden_layer_sizes": tune.choice([(32,), (64,), (64, 32)]),
        "activation": tune.choice(["relu", "tanh"]),
    }
    estimator = MLPClassifier(max_iter=27)

    found = tune.lr_find(MLPClassifier(hidden_layer_sizes=(64,), random_state=0), X_train, y_train)
    print(f"lr_find: learning_rate_init {found.suggestion:.3g} (steepest descent), {found.lr_min:.3g} (minimum / 10)")

    local = tune.search(estimator, space, X_train, y_train, method="halving", n_trials=9)
    print("local:", local.best_params_, f"cv accuracy {local.best_score_:.3f}, test accuracy {local.best_estimator_.score(X_test, y_test):.3f}")
    local.results.to_csv("tune_digits_trials.csv")
    try:
        local.results.plot("tune_digits_scores.png")
    except ImportError:
        print("(pip install matplotlib for the plot)")

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("pip install 'dask[distributed]' to run the same search on a cluster")
        return
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        distributed = tune.search(estimator, space, X_train, y_train, method="halving", n_trials=9, client=client)
        # No barrier between rounds, and promoted trials continue their fitted models.
        asynchronous = tune.search(estimator, space, X_train, y_train, method="asha", n_trials=9, client=client)
    print("dask: ", distributed.best_params_, f"cv accuracy {distributed.best_score_:.3f}")
    same = local.results.column("mean_test_score") == distributed.results.column("mean_test_score")
    print("same trials and scores as the local search:", same)
    print("asha:", asynchronous.best_params_, f"cv accuracy {asynchronous.best_score_:.3f}, {len(asynchronous.results)} rung fits")


if __name__ == "__main__":
    main()
