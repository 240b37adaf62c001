"""steepest.tune: candidates, scores against scikit-learn's own searches, halving, failures,
interruption, the results table, and the same results from joblib processes and a real
Dask LocalCluster as from a sequential search."""

import math
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, ParameterGrid  # noqa: E402

from steepest import tune  # noqa: E402
from steepest.sklearn import MLPClassifier  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def small_classifier(**params):
    return MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, learning_rate_init=0.01, **params)


def comparable(results):
    """The rows without what legitimately differs between runs (wall time)."""
    return [{k: v for k, v in row.items() if k != "fit_time"} for row in results]


# ------------------------------------------------------------------ candidates ----


def test_loguniform_is_uniform_in_log_space():
    rng = np.random.default_rng(1)
    draws = np.array([tune.loguniform(1e-4, 1.0).sample(rng) for _ in range(4000)])
    assert draws.min() >= 1e-4 and draws.max() <= 1.0
    # A quarter of the log range per decade: a uniform draw would put ~0 below 1e-2.
    assert abs(np.mean(draws < 1e-2) - 0.5) < 0.03
    assert abs(np.mean(draws < 1e-3) - 0.25) < 0.03


def test_uniform_and_choice_draws():
    rng = np.random.default_rng(2)
    draws = np.array([tune.uniform(2.0, 4.0).sample(rng) for _ in range(4000)])
    assert 2.0 <= draws.min() and draws.max() <= 4.0 and abs(draws.mean() - 3.0) < 0.05
    picks = [tune.choice(["a", "b"]).sample(rng) for _ in range(1000)]
    assert abs(picks.count("a") - 500) < 60


def test_grid_tries_what_sklearn_parameter_grid_tries():
    from steepest.tune.space import grid_candidates

    space = {"alpha": [0.1, 0.2, 0.3], "activation": tune.choice(["relu", "tanh"]), "batch_size": [16, 32]}
    ours = grid_candidates(space)
    theirs = list(ParameterGrid({"alpha": [0.1, 0.2, 0.3], "activation": ["relu", "tanh"], "batch_size": [16, 32]}))
    assert len(ours) == len(theirs) == 12
    assert sorted(map(repr, map(sorted, (c.items() for c in ours)))) == sorted(map(repr, map(sorted, (c.items() for c in theirs))))


def test_a_grid_refuses_continuous_distributions(iris):
    with pytest.raises(ValueError, match="continuous"):
        tune.search(small_classifier(), {"alpha": tune.loguniform(1e-4, 1e-1)}, *iris)


def test_unknown_parameters_are_refused(iris):
    with pytest.raises(ValueError, match="no parameters \\['hidden_size'\\]"):
        tune.search(small_classifier(), {"hidden_size": [1]}, *iris)


# ------------------------------------------------------------------ searching ----


def test_grid_scores_equal_sklearn_grid_search(iris):
    X, y = iris
    space = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (8,)]}
    estimator = small_classifier(random_state=0)
    ours = tune.search(estimator, space, X, y, cv=3)
    theirs = GridSearchCV(estimator, space, cv=3).fit(X, y)
    by_params = {repr(sorted(p.items())): s for p, s in zip(theirs.cv_results_["params"], theirs.cv_results_["mean_test_score"])}
    for row in ours.results:
        key = repr(sorted({name: row["param_" + name] for name in space}.items()))
        assert row["mean_score"] == pytest.approx(by_params[key], abs=1e-12)
    assert ours.best_score_ == pytest.approx(theirs.best_score_, abs=1e-12)
    np.testing.assert_array_equal(ours.best_estimator_.predict(X), theirs.best_estimator_.predict(X))


def test_random_search_is_reproducible_and_seeded(iris):
    space = {"learning_rate_init": tune.loguniform(1e-3, 1e-1), "alpha": tune.uniform(0, 0.01)}
    first = tune.search(small_classifier(), space, *iris, method="random", n_trials=3, random_state=5, refit=False)
    again = tune.search(small_classifier(), space, *iris, method="random", n_trials=3, random_state=5, refit=False)
    other = tune.search(small_classifier(), space, *iris, method="random", n_trials=3, random_state=6, refit=False)
    assert comparable(first.results) == comparable(again.results)
    assert first.results.column("param_alpha") != other.results.column("param_alpha")
    assert first.best_estimator_ is None


def test_validation_set_instead_of_cross_validation(iris):
    X, y = iris
    order = np.random.default_rng(0).permutation(len(X))
    train, held_out = order[:100], order[100:]
    result = tune.search(small_classifier(random_state=0), {"alpha": [1e-4, 1e-2]}, X[train], y[train], validation_data=(X[held_out], y[held_out]))
    for row in result.results:
        fitted = small_classifier(random_state=0, alpha=row["param_alpha"]).fit(X[train], y[train])
        assert row["mean_score"] == fitted.score(X[held_out], y[held_out])
        assert "split1_score" not in row


def test_halving_keeps_the_best_third_and_triples_the_epochs(iris):
    space = {"learning_rate_init": tune.loguniform(1e-4, 3e-1)}
    result = tune.search(small_classifier(), space, *iris, method="halving", n_trials=9, max_epochs=27)
    rows = result.results
    assert rows.column("rung") == [0] * 9 + [1] * 3 + [2]
    assert rows.column("epochs_budget") == [3] * 9 + [9] * 3 + [27]
    for rung, kept in ((0, 3), (1, 1)):
        this = [r for r in rows if r["rung"] == rung]
        best = sorted(this, key=lambda r: -r["mean_score"])[:kept]
        promoted = [r["param_learning_rate_init"] for r in rows if r["rung"] == rung + 1]
        assert sorted(promoted) == sorted(r["param_learning_rate_init"] for r in best)
    assert result.best_params_["max_iter"] == 27
    assert result.best_estimator_.max_iter == 27
    assert all(epochs <= budget for epochs, budget in zip(rows.column("epochs"), rows.column("epochs_budget")))


def test_warnings_are_recorded_per_trial(iris):
    result = tune.search(small_classifier(), {"max_iter": [2, 500]}, *iris, refit=False)
    assert "ConvergenceWarning: Stochastic Optimizer: Maximum iterations (2)" in result.results[0]["warnings"]
    assert result.results[1]["warnings"] == ""


def test_a_failed_trial_is_recorded_and_the_search_goes_on(iris):
    result = tune.search(small_classifier(), {"hidden_layer_sizes": [(4,), (0,), (8,)]}, *iris)
    errors = result.results.column("error")
    assert errors[0] == errors[2] == "" and "hidden_layer_sizes" in errors[1]
    assert math.isnan(result.results[1]["mean_score"])
    assert result.best_params_["hidden_layer_sizes"] in [(4,), (8,)]


def test_an_interrupted_search_keeps_the_finished_trials(iris):
    def interrupt_on_the_third(estimator, X, y):
        if estimator.alpha == 0.3:
            raise KeyboardInterrupt
        return estimator.score(X, y)

    with pytest.raises(tune.SearchInterrupted) as caught:
        tune.search(small_classifier(), {"alpha": [0.1, 0.2, 0.3, 0.4]}, *iris, scoring=interrupt_on_the_third)
    result = caught.value.result
    assert result.interrupted and result.results.column("param_alpha") == [0.1, 0.2]
    assert result.best_params_["alpha"] in (0.1, 0.2) and result.best_estimator_ is None


# -------------------------------------------------------------- results table ----


def test_results_to_csv_dataframe_and_plot(iris, tmp_path):
    result = tune.search(small_classifier(), {"alpha": [1e-4, 1e-1], "activation": ["relu", "tanh"]}, *iris, refit=False)
    result.results.to_csv(tmp_path / "trials.csv")
    lines = (tmp_path / "trials.csv").read_text().splitlines()
    assert len(lines) == 5 and lines[0].startswith("trial,param_alpha,param_activation,mean_score")
    pandas = pytest.importorskip("pandas")
    frame = result.results.to_dataframe()
    assert isinstance(frame, pandas.DataFrame) and list(frame["param_activation"]) == ["relu", "tanh", "relu", "tanh"]
    pytest.importorskip("matplotlib")
    figure = result.results.plot(tmp_path / "scores.png")
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [axis.get_xlabel() for axis in figure.axes] == ["alpha", "activation"]


# ------------------------------------------------------- parallel and distributed ----

SPACE = {"learning_rate_init": tune.loguniform(1e-3, 1e-1), "hidden_layer_sizes": [(4,), (8,)]}


def cores_per_slot(slots):
    return max(1, len(os.sched_getaffinity(0)) // slots)


def test_joblib_processes_give_the_sequential_results(iris):
    sequential = tune.search(small_classifier(), SPACE, *iris, method="random", n_trials=4, refit=False)
    parallel = tune.search(small_classifier(), SPACE, *iris, method="random", n_trials=4, n_jobs=2, refit=False)
    strip = lambda rows: [{k: v for k, v in row.items() if k != "threads"} for row in comparable(rows)]  # noqa: E731
    assert strip(parallel.results) == strip(sequential.results)
    assert set(parallel.results.column("threads")) == {cores_per_slot(2)}


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        # Dask warns about the dashboard port when another cluster holds it; not our concern.
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


def test_dask_cluster_gives_the_sequential_results(iris, dask_cluster):
    cluster, client = dask_cluster
    for method, n_trials in (("random", 4), ("halving", 4)):
        sequential = tune.search(small_classifier(), SPACE, *iris, method=method, n_trials=n_trials, max_epochs=8 if method == "halving" else None, refit=False)
        on_dask = tune.search(small_classifier(), SPACE, *iris, method=method, n_trials=n_trials, max_epochs=8 if method == "halving" else None, client=client)
        strip = lambda rows: [{k: v for k, v in row.items() if k != "threads"} for row in comparable(rows)]  # noqa: E731
        assert strip(on_dask.results) == strip(sequential.results), method
        # Two one-thread workers on this machine: each trial gets half its cores.
        assert set(on_dask.results.column("threads")) == {cores_per_slot(2)}
        assert on_dask.best_params_ == sequential.best_params_


def test_dask_by_scheduler_address(iris, dask_cluster):
    cluster, _ = dask_cluster
    by_address = tune.search(small_classifier(), {"alpha": [1e-4, 1e-1]}, *iris, client=cluster.scheduler_address, refit=False)
    sequential = tune.search(small_classifier(), {"alpha": [1e-4, 1e-1]}, *iris, refit=False)
    assert by_address.results.column("mean_score") == sequential.results.column("mean_score")
