"""steepest.tune: candidates, scores against scikit-learn's own searches, halving, failures,
interruption, the results table, and the same results from joblib processes and a real
Dask LocalCluster as from a sequential search."""

import math
import os
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import FitFailedWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold  # noqa: E402

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
    """The rows without what legitimately differs between runs (wall times)."""
    return [{k: v for k, v in row.items() if not k.endswith("_time")} for row in results]


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


# hidden_layer_sizes=(0,) fails, and max_fun does nothing with solver="adam": the grid has
# failed trials and exact ties, the two cases where ranking has rules to follow.
GRID = {"hidden_layer_sizes": [(0,), (4,), (8,)], "alpha": [1e-4, 1e-1], "max_fun": [15000, 20000]}


@pytest.fixture(scope="module")
def grid_searches(iris):
    """steepest.tune's and scikit-learn's grid search over GRID: same data, folds, estimator."""
    X, y = iris
    folds = list(StratifiedKFold(3).split(X, y))
    estimator = small_classifier(random_state=0)
    ours = tune.search(estimator, GRID, X, y, cv=folds)
    with warnings.catch_warnings():
        # What scikit-learn says of the failing candidates; steepest records them as rows.
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", "One or more of the test scores are non-finite", UserWarning)
        theirs = GridSearchCV(estimator, GRID, cv=folds).fit(X, y)
    return ours, theirs


def by_params(params_column, values):
    return {repr(sorted(params.items())): value for params, value in zip(params_column, values)}


def test_the_results_have_the_columns_of_sklearn_cv_results(grid_searches):
    ours, theirs = grid_searches
    steepest_only = {"trial", "epochs", "threads", "warnings", "error"}
    assert set(ours.cv_results_) == set(theirs.cv_results_) | steepest_only
    assert ours.results.columns[0] == "trial"
    assert {type(column) for column in (ours.cv_results_["params"], theirs.cv_results_["params"])} == {list}
    assert ours.cv_results_["rank_test_score"].dtype == theirs.cv_results_["rank_test_score"].dtype
    assert isinstance(ours.cv_results_["param_hidden_layer_sizes"], np.ma.MaskedArray)


def test_grid_scores_and_ranks_equal_sklearn_grid_search(grid_searches, iris):
    ours, theirs = grid_searches
    results = theirs.cv_results_
    assert len(ours.results) == len(results["params"]) == 12
    for name in ["mean_test_score", "std_test_score", "split0_test_score", "split2_test_score", "rank_test_score"]:
        expected = by_params(results["params"], results[name])
        got = by_params(ours.cv_results_["params"], ours.cv_results_[name])
        assert got.keys() == expected.keys()
        np.testing.assert_allclose([got[key] for key in expected], list(expected.values()), rtol=0, atol=1e-12, err_msg=name)
    ranks = ours.results.column("rank_test_score")
    # The grid's ties and failures are there, so the comparison above tested their ranks:
    # tied trials share the better rank, the 4 failed trials come last, together.
    assert sorted(ranks) == [1, 1, 1, 1, 5, 5, 5, 5, 9, 9, 9, 9]
    assert {rank for rank, error in zip(ranks, ours.results.column("error")) if error} == {9}
    assert ours.best_score_ == pytest.approx(theirs.best_score_, abs=1e-12)
    assert ours.best_params_ == theirs.best_params_ == ours.cv_results_["params"][ours.best_index_]
    X, _ = iris
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
        assert row["mean_test_score"] == row["split0_test_score"] == fitted.score(X[held_out], y[held_out])
        assert "split1_test_score" not in row


def test_halving_keeps_the_best_third_and_triples_the_epochs(iris):
    space = {"learning_rate_init": tune.loguniform(1e-4, 3e-1)}
    result = tune.search(small_classifier(), space, *iris, method="halving", n_trials=9, max_epochs=27)
    rows = result.results
    assert rows.column("rung") == [0] * 9 + [1] * 3 + [2]
    assert rows.column("epochs_budget") == [3] * 9 + [9] * 3 + [27]
    for rung, kept in ((0, 3), (1, 1)):
        this = [r for r in rows if r["rung"] == rung]
        best = sorted(this, key=lambda r: -r["mean_test_score"])[:kept]
        promoted = [r["param_learning_rate_init"] for r in rows if r["rung"] == rung + 1]
        assert sorted(promoted) == sorted(r["param_learning_rate_init"] for r in best)
    # Each trial's params are what it was fitted with: its epoch budget as max_iter.
    assert rows.column("param_max_iter") == rows.column("epochs_budget")
    assert result.best_params_["max_iter"] == 27 and result.best_index_ == len(rows) - 1
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
    assert math.isnan(result.results[1]["mean_test_score"]) and math.isnan(result.results[1]["split0_test_score"])
    assert result.results.column("rank_test_score")[1] == 3
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


class SlowToFit(ClassifierMixin, BaseEstimator):
    """Predicts the first class after a fit of ``seconds``: a known fit time per fold."""

    def __init__(self, seconds=0.1):
        self.seconds = seconds

    def fit(self, X, y):
        time.sleep(self.seconds)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_mean_fit_time_is_per_fold_as_in_sklearn(iris):
    space = {"seconds": [0.1]}
    ours = tune.search(SlowToFit(), space, *iris, cv=3, refit=False)
    theirs = GridSearchCV(SlowToFit(), space, cv=3, refit=False).fit(*iris)
    # Three folds of 0.1 s: 0.1 s a fold, not the 0.3 s of all three.
    for cv_results in (ours.cv_results_, theirs.cv_results_):
        assert 0.1 <= cv_results["mean_fit_time"][0] < 0.2
        assert cv_results["std_fit_time"][0] < 0.05 and cv_results["mean_score_time"][0] < 0.05


def test_results_to_csv_and_dataframe(iris, tmp_path):
    result = tune.search(small_classifier(), {"alpha": [1e-4, 1e-1], "activation": ["relu", "tanh"]}, *iris, refit=False)
    result.results.to_csv(tmp_path / "trials.csv")
    lines = (tmp_path / "trials.csv").read_text().splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("trial,mean_fit_time,std_fit_time,mean_score_time,std_score_time,param_alpha,param_activation,params,split0_test_score")
    assert "mean_test_score,std_test_score,rank_test_score,epochs,threads,warnings,error" in lines[0]
    pandas = pytest.importorskip("pandas")
    frame = result.results.to_dataframe()
    assert isinstance(frame, pandas.DataFrame) and list(frame["param_activation"]) == ["relu", "tanh", "relu", "tanh"]
    assert list(frame.columns) == result.results.columns and list(frame["params"]) == result.results.column("params")


def test_dataframes_of_our_results_and_sklearn_cv_results_line_up(grid_searches):
    pandas = pytest.importorskip("pandas")
    ours, theirs = grid_searches
    frame, expected = pandas.DataFrame(ours.cv_results_), pandas.DataFrame(theirs.cv_results_)
    assert frame[list(expected.columns)].shape == expected.shape == (12, 14)
    assert (frame.dtypes[expected.columns] == expected.dtypes).all()
    # The usual look at a search: the best rows by rank.
    best = frame.sort_values("rank_test_score").head(4)
    assert set(best["mean_test_score"]) == {ours.best_score_}


# ---------------------------------------------------------- plotting the results ----


def test_the_plotter_reads_our_results(grid_searches, tmp_path):
    """The bug of issue 12: tuning_results(result.results) raised TypeError (list indices
    must be integers), looking up columns in a table of rows."""
    plot = pytest.importorskip("steepest.plot")
    ours, _ = grid_searches
    figure = plot.tuning_results(ours.results)
    assert [ax.get_xlabel() for ax in figure.axes] == ["hidden_layer_sizes", "alpha", "max_fun"]
    assert "(4 failed, left out)" in figure.get_suptitle()
    layers = figure.axes[0]
    assert [t.get_text() for t in layers.get_xticklabels()] == ["(4,)", "(8,)"]  # (0,) failed
    # Results.plot is the same picture, saved.
    figure = ours.results.plot(tmp_path / "scores.png")
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [ax.get_xlabel() for ax in figure.axes] == ["hidden_layer_sizes", "alpha", "max_fun"]
    assert [ax.get_xlabel() for ax in ours.results.plot(param="alpha").axes] == ["alpha"]


@pytest.mark.parametrize("source", ["ours", "sklearn"])
@pytest.mark.parametrize("as_dataframe", [False, True], ids=["dict", "DataFrame"])
def test_the_plotter_reads_cv_results_and_their_dataframes(grid_searches, source, as_dataframe):
    plot = pytest.importorskip("steepest.plot")
    search = grid_searches[0 if source == "ours" else 1]
    results = search.cv_results_
    if as_dataframe:
        results = pytest.importorskip("pandas").DataFrame(results)
    figure = plot.tuning_results(results, param="alpha")
    (ax,) = figure.axes
    points, best = ax.get_lines()
    finished = np.isfinite(search.cv_results_["mean_test_score"])
    assert sorted(points.get_ydata()) == sorted(search.cv_results_["mean_test_score"][finished])
    assert ax.get_xscale() == "log"  # alpha 1e-4 and 1e-1
    assert list(best.get_ydata()) == [search.best_score_]


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
    assert by_address.results.column("mean_test_score") == sequential.results.column("mean_test_score")
