"""The estimators against scikit-learn's own MLPs: same parameters, same steps from the same
weights, same solver semantics; and the behaviour scikit-learn users rely on.

scikit-learn is the oracle: both sides start from identical weights (copied into
scikit-learn's MLP through warm_start) and train full-batch or in order, so their
trajectories must agree to float64 rounding.
"""

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import steepest  # noqa: E402
from steepest.sklearn import AutoencoderTransformer, MLPClassifier, MLPRegressor  # noqa: E402

SKLEARN_TWIN = {MLPClassifier: neural_network.MLPClassifier, MLPRegressor: neural_network.MLPRegressor}


def data(task, samples=60, features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, features))
    w = rng.standard_normal((features, 3))
    if task == "regression":
        return X, X @ w[:, 0]
    if task == "multi-output regression":
        return X, X @ w
    if task == "binary":
        return X, (X @ w[:, 0] > 0).astype(int)
    if task == "multiclass":
        return X, np.argmax(X @ w, axis=1)
    if task == "multilabel":
        return X, (X @ w > 0).astype(int)
    raise ValueError(task)


def twins(task, **params):
    """Ours (float64) and scikit-learn's, fitted once and then set to the same weights."""
    ours_class = MLPRegressor if "regression" in task else MLPClassifier
    X, y = data(task)
    common = dict(hidden_layer_sizes=(7, 4), random_state=0, warm_start=True, max_iter=1, shuffle=False, **params)
    ours = ours_class(dtype="float64", **common)
    theirs = SKLEARN_TWIN[ours_class](**common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        their[...] = mine
    # The stopping test carries over from the first fit, which started from other weights.
    theirs.loss_curve_, theirs.best_loss_ = list(ours.loss_curve_), ours.best_loss_
    return ours, theirs, X, y


def fit_both(ours, theirs, X, y, max_iter):
    ours.set_params(max_iter=max_iter)
    theirs.set_params(max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)


def assert_same_weights(ours, theirs, rtol, atol=1e-12):
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, their, rtol=rtol, atol=atol)


# ------------------------------------------------------------------- drop-in API ----


@pytest.mark.parametrize("ours_class", [MLPClassifier, MLPRegressor])
def test_every_sklearn_parameter_exists_with_the_same_default(ours_class):
    theirs = SKLEARN_TWIN[ours_class]().get_params()
    mine = ours_class().get_params()
    assert {name: mine.get(name, "missing") for name in theirs} == theirs


@pytest.mark.parametrize("ours_class", [MLPClassifier, MLPRegressor])
def test_fitted_attributes_match_sklearn(ours_class):
    X, y = data("multiclass" if ours_class is MLPClassifier else "regression")
    params = dict(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SKLEARN_TWIN[ours_class](**params).fit(X, y)
        ours = ours_class(**params).fit(X, y)
    public = lambda est: {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}  # noqa: E731
    missing = {name for name in public(theirs) if not hasattr(ours, name)}
    assert missing == set()
    for name in ("n_iter_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_", "t_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]


# --------------------------------------------------- the same steps as scikit-learn ----

TASKS = ["regression", "multi-output regression", "binary", "multiclass", "multilabel"]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_sgd_epochs_match_sklearn(task, activation):
    # Full batch, momentum and Nesterov, L2: a mistake in the loss scale conversions changes
    # every step.
    ours, theirs, X, y = twins(task, solver="sgd", batch_size=60, learning_rate_init=0.05, alpha=0.3, activation=activation)
    fit_both(ours, theirs, X, y, max_iter=5)
    assert_same_weights(ours, theirs, rtol=1e-9)
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-9)


@pytest.mark.parametrize("task", TASKS)
def test_adam_epochs_match_sklearn(task):
    # Mini-batches in order (60 = 4 x 15). scikit-learn divides eps by its bias correction
    # sqrt(1 - beta_2^t), so weights whose gradients are near eps take steps of a different
    # size (at most lr): hence the absolute tolerance of a small fraction of lr.
    ours, theirs, X, y = twins(task, solver="adam", batch_size=15, learning_rate_init=0.01, alpha=0.1)
    fit_both(ours, theirs, X, y, max_iter=4)
    assert_same_weights(ours, theirs, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_learning_rate_schedules_match_sklearn(schedule):
    # tol=0.5 makes every epoch "not improving", so "adaptive" lowers the rate every 3 epochs.
    # Without momentum: the engine applies the rate to the accumulated velocity (PyTorch),
    # scikit-learn to each gradient before accumulating, which differ once the rate changes.
    ours, theirs, X, y = twins(
        "regression", solver="sgd", momentum=0.0, batch_size=60, learning_rate=schedule, power_t=0.3, learning_rate_init=0.02, tol=0.5, n_iter_no_change=2
    )
    fit_both(ours, theirs, X, y, max_iter=12)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert_same_weights(ours, theirs, rtol=1e-9)


def test_l1_is_a_proximal_step_scaled_like_alpha():
    # One full-batch SGD step: scikit-learn's step (no l1), then every weight moved
    # lr * l1 / batch towards 0, stopping there.
    ours, theirs, X, y = twins("regression", solver="sgd", momentum=0.0, batch_size=60, learning_rate_init=0.05)
    ours.set_params(l1=0.7)
    fit_both(ours, theirs, X, y, max_iter=1)
    threshold = 0.05 * 0.7 / 60
    for mine, their in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(mine, np.sign(their) * np.maximum(np.abs(their) - threshold, 0), rtol=1e-9, atol=1e-12)


def test_partial_fit_matches_sklearn_chunk_by_chunk():
    X, y = data("multiclass", samples=90)
    chunks = [(X[i : i + 30], y[i : i + 30]) for i in range(0, 90, 30)]
    params = dict(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, learning_rate="invscaling", learning_rate_init=0.1, shuffle=False, random_state=0)
    ours = MLPClassifier(dtype="float64", **params).partial_fit(*chunks[0], classes=[0, 1, 2])
    theirs = neural_network.MLPClassifier(**params).partial_fit(*chunks[0], classes=[0, 1, 2])
    for mine, their in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        their[...] = mine
    for chunk in chunks[1:]:
        ours.partial_fit(*chunk)
        theirs.partial_fit(*chunk)
    assert ours.t_ == theirs.t_ == 90
    assert_same_weights(ours, theirs, rtol=1e-9)


def test_partial_fit_needs_classes_first():
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(*data("binary"))


# ------------------------------------------------------- stopping and warnings ----


def test_max_iter_gives_a_convergence_warning():
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(*data("binary"))


@pytest.mark.parametrize("early_stopping", [False, True])
def test_stops_after_the_same_epoch_as_sklearn(early_stopping):
    # With a huge tol no epoch improves: both stop once n_iter_no_change is exceeded.
    X, y = data("binary", samples=100)
    params = dict(hidden_layer_sizes=(6,), tol=1e6, n_iter_no_change=4, early_stopping=early_stopping, max_iter=50, random_state=0)
    ours = MLPClassifier(**params).fit(X, y)
    theirs = neural_network.MLPClassifier(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 50
    assert (ours.validation_scores_ is None) == (theirs.validation_scores_ is None)
    assert (ours.best_loss_ is None) == (theirs.best_loss_ is None)


def test_early_stopping_keeps_the_best_epochs_weights():
    X, y = data("regression", samples=200)
    params = dict(hidden_layer_sizes=(8,), early_stopping=True, learning_rate_init=0.05, random_state=0)
    est = MLPRegressor(tol=1e6, n_iter_no_change=6, **params).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_ == 8
    best_epoch = int(np.argmax(est.validation_scores_)) + 1
    assert est.best_validation_score_ == max(est.validation_scores_)
    # Training is deterministic, so a fit that stops at the best epoch ends on those weights.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        until_best = MLPRegressor(max_iter=best_epoch, **params).fit(X, y)
    np.testing.assert_array_equal(est.predict(X), until_best.predict(X))


# ----------------------------------------------------------- targets and dtypes ----


def test_multilabel_classification_predicts_indicator_rows():
    X, Y = data("multilabel", samples=200)
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1000, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.8


def test_multi_output_regression():
    X, Y = data("multi-output regression", samples=200)
    reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1000, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == Y.shape
    assert reg.score(X, Y) > 0.9


def test_string_labels_and_probabilities():
    X, y = data("multiclass", samples=150)
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1000, random_state=0).fit(X, labels)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(clf.predict(X)) <= {"cat", "dog", "eel"}
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[np.argmax(proba, axis=1)], clf.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_computes_in_the_requested_dtype(dtype):
    X, y = data("binary")
    with pytest.warns(ConvergenceWarning):
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype=dtype, random_state=0).fit(X.astype(np.float64), y)
    assert clf.predict_proba(X).dtype == np.dtype(dtype)
    assert clf.coefs_[0].dtype == np.dtype(dtype)


def test_per_layer_activations():
    X, y = data("binary")
    with pytest.warns(ConvergenceWarning):
        clf = MLPClassifier(hidden_layer_sizes=(4, 3), activation=["tanh", "logistic"], max_iter=2).fit(X, y)
    assert [layer.activation for layer in clf.model_.layers] == ["tanh", "sigmoid", "sigmoid"]
    with pytest.raises(ValueError, match="one name per hidden layer"):
        MLPClassifier(hidden_layer_sizes=(4, 3), activation=["tanh"]).fit(X, y)


def test_coefs_are_views_onto_the_model():
    X, y = data("regression")
    with pytest.warns(ConvergenceWarning):
        reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    reg.coefs_[-1][...] = 0
    reg.intercepts_[-1][...] = 3.0
    np.testing.assert_array_equal(reg.predict(X), 3.0)


def test_n_threads_does_not_change_results_and_is_restored():
    X, y = data("multiclass", samples=300)
    before = steepest.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = [MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, n_threads=n, random_state=0, tol=0).fit(X, y) for n in (1, 2)]
    assert steepest.get_num_threads() == before
    np.testing.assert_array_equal(fitted[0].predict_proba(X), fitted[1].predict_proba(X))


def test_diagnostics_reach_history():
    X, y = data("binary")
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, tol=1e6, n_iter_no_change=1, diagnostics=True, random_state=0).fit(X, y)
    assert len(clf.history_) == clf.n_iter_
    assert clf.history_.layer_diagnostic("dead_fraction")[0][0] is not None


def test_warm_start_continues_the_loss_curve():
    X, y = data("regression")
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, tol=0, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    first = list(reg.loss_curve_)
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    assert reg.loss_curve_[:3] == first and len(reg.loss_curve_) == 6 and reg.n_iter_ == 3


# --------------------------------------------------------------- autoencoder ----


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_convergence_warnings_point_at_the_users_line(solver):
    X, y = data("regression")
    with pytest.warns(ConvergenceWarning) as caught:
        MLPRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=1, random_state=0).fit(X, y)
    assert caught[0].filename == __file__


def test_autoencoder_transformer_encodes_decodes_and_scores():
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((400, 2))
    X = latent @ rng.standard_normal((2, 6))  # rank 2: a 2-D code reconstructs it
    ae = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=300, random_state=0).fit(X)
    codes = ae.transform(X)
    assert codes.shape == (400, 2)
    reconstruction = ae.inverse_transform(codes)
    assert np.mean((reconstruction - X) ** 2) < 0.05 * np.var(X)
    outliers = rng.standard_normal((20, 6)) * 3
    assert np.median(ae.score_samples(outliers)) < np.median(ae.score_samples(X))
    assert list(ae.get_feature_names_out()) == ["autoencodertransformer0", "autoencodertransformer1"]
    with pytest.raises(ValueError, match="latent features"):
        ae.inverse_transform(codes[:, :1])


# ---------------------------------------------------- scikit-learn tooling ----


@pytest.mark.parametrize("estimator", [MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0), AutoencoderTransformer(max_iter=3, random_state=0)])
def test_pickle_and_clone(estimator):
    X, y = data("binary")
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    method = "predict_proba" if hasattr(estimator, "predict_proba") else "transform"
    np.testing.assert_array_equal(getattr(restored, method)(X), getattr(estimator, method)(X))
    fresh = clone(estimator)
    assert fresh.get_params() == estimator.get_params() and not hasattr(fresh, "model_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_and_searches_in_parallel_processes():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data("multiclass", samples=240)
    pipe = make_pipeline(
        StandardScaler(),
        AutoencoderTransformer(n_components=3, max_iter=20, random_state=0),
        MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0),
    )
    assert cross_val_score(pipe, X, y, cv=3, n_jobs=2).mean() > 0.5
    grid = GridSearchCV(
        MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0), {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(8,), (16,)]}, cv=3, n_jobs=2
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4 and grid.best_score_ > 0.5
    randomized = RandomizedSearchCV(MLPClassifier(max_iter=30, random_state=0), {"learning_rate_init": [1e-3, 1e-2]}, n_iter=2, cv=3, random_state=0).fit(X, y)
    assert randomized.best_estimator_.n_iter_ >= 1
    halving = HalvingRandomSearchCV(
        MLPClassifier(random_state=0),
        {"learning_rate_init": [1e-3, 3e-3, 1e-2]},
        n_candidates=3,
        resource="max_iter",
        min_resources=5,
        max_resources=40,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert halving.best_estimator_.max_iter >= 5
