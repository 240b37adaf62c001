"""The estimators as true drop-ins, scikit-learn itself the reference (issue 14): its own
MLP test suite with the import swapped, and, from the same random_state in float64, its
coefs_ after sgd, adam and lbfgs fits, its lbfgs loss and gradient, its sample weights."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkRegressor  # noqa: E402
from sklearn.preprocessing import LabelBinarizer  # noqa: E402

from steepest.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS, Y_DIGITS = X_DIGITS[:240] / 16.0, Y_DIGITS[:240]
X_REG, Y_REG = make_regression(n_samples=150, n_features=7, n_targets=2, noise=5.0, random_state=0)
Y_REG = Y_REG / 100.0
COUNTS = np.random.default_rng(0).poisson(np.exp(X_REG[:, 0] / 3.0)).astype(np.float64)

# scikit-learn's tests that drive its private training internals, which a drop-in has no
# reason to have (steepest trains natively): each is named with what it reaches into.
PRIVATE_INTERNALS = {
    "test_fit": "assigns coefs_ lists and _coef_velocity / _intercept_velocity by hand, then partial_fit on them",
    "test_gradient": "calls _loss_grad_lbfgs with scikit-learn's own activations/deltas buffers",
    "test_learning_rate_warmstart": "reads _optimizer.learning_rate, scikit-learn's optimizer object",
    "test_adaptive_learning_rate": "reads _optimizer.learning_rate, scikit-learn's optimizer object",
}

# scikit-learn's tests that hold only by an accident of its arithmetic, with what differs.
# test_mlp_regressor_dtypes_casting compares a float32 fit with a float64 one at rtol=5e-4
# on every prediction, one of which is -0.0013: scikit-learn passes because NumPy promotes
# its float32 outputs minus the integer targets to float64, so that its whole backward pass
# and its Adam moments run in float64. steepest's float32 model is float32 throughout; that
# prediction moves by 6.6e-7 (5.2e-4 of it), the largest difference of all by 1e-5 of the
# predictions' scale. test_a_float32_fit_tracks_the_float64_fit checks what is promised.
ARITHMETIC_ACCIDENTS = {
    "test_mlp_regressor_dtypes_casting": "relative tolerance on a prediction near zero, met by scikit-learn's float64 gradients",
}


def test_scikit_learns_own_mlp_tests_pass_with_the_import_swapped(tmp_path):
    """scikit-learn's installed sklearn/neural_network/tests/test_mlp.py, read at test time
    with its import of the estimators pointed at steepest.sklearn."""
    source = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    original = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
    text = source.read_text()
    assert text.count(original) == 1, "scikit-learn's test file no longer imports the estimators on one line"
    (tmp_path / "test_mlp_steepest.py").write_text(text.replace(original, "from steepest.sklearn import MLPClassifier, MLPRegressor"))
    # scikit-learn's conftest gives this fixture (its default seed is 42).
    (tmp_path / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture\ndef global_random_seed():\n    return 42\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    deselect = [arg for name in {**PRIVATE_INTERNALS, **ARITHMETIC_ACCIDENTS} for arg in ("--deselect", f"test_mlp_steepest.py::{name}")]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            *deselect,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "failed" not in summary and "error" not in summary and "passed" in summary, summary


def pair(estimator, **params):
    """scikit-learn's estimator and steepest's, the same parameters, in float64."""
    twins = {"classifier": (SkClassifier, MLPClassifier), "regressor": (SkRegressor, MLPRegressor)}[estimator]
    return twins[0](**params), twins[1](**params)


def assert_same_parameters(reference, steepest, rtol=1e-10, atol=1e-12):
    for want, got in zip(reference.coefs_ + reference.intercepts_, steepest.coefs_ + steepest.intercepts_):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


STOCHASTIC_CASES = [
    dict(solver="sgd"),
    dict(solver="adam"),
    dict(solver="sgd", momentum=0.5, nesterovs_momentum=False, batch_size=37),
    dict(solver="sgd", momentum=0.0, batch_size=1, max_iter=2),
    dict(solver="adam", batch_size=64, alpha=0.01),
    dict(solver="sgd", activation="logistic", hidden_layer_sizes=(7, 5)),
    dict(solver="adam", activation="tanh", hidden_layer_sizes=(9, 4, 3)),
    dict(solver="adam", activation="identity", shuffle=False),
    dict(solver="adam", early_stopping=True, validation_fraction=0.2),
    dict(solver="sgd", early_stopping=True, n_iter_no_change=2, tol=0.5),
    dict(solver="sgd", learning_rate="adaptive", momentum=0.0, n_iter_no_change=1, tol=10.0),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("params", STOCHASTIC_CASES, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize(
    "estimator, X, y",
    [("classifier", X_DIGITS, Y_DIGITS), ("classifier", X_DIGITS, Y_DIGITS % 2), ("regressor", X_REG, Y_REG)],
    ids=["multiclass", "binary", "regression-2-outputs"],
)
def test_stochastic_fits_give_scikit_learns_coefficients(estimator, X, y, params):
    params = {"hidden_layer_sizes": (20,), "max_iter": 6, "random_state": 3, **params}
    reference, steepest = pair(estimator, **params)
    reference.fit(X, y)
    steepest.fit(X, y)
    assert steepest.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(steepest.loss_curve_, reference.loss_curve_, rtol=1e-10)
    if reference.validation_scores_ is not None:
        np.testing.assert_allclose(steepest.validation_scores_, reference.validation_scores_, rtol=1e-10)
    assert_same_parameters(reference, steepest)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_poisson_regression_gives_scikit_learns_coefficients(solver):
    reference, steepest = pair("regressor", loss="poisson", hidden_layer_sizes=(6,), max_iter=8, random_state=1, solver=solver, learning_rate_init=0.01)
    reference.fit(X_REG, COUNTS)
    steepest.fit(X_REG, COUNTS)
    assert steepest.out_activation_ == reference.out_activation_ == "exp"
    assert steepest.loss_ == pytest.approx(reference.loss_, rel=1e-9)
    assert_same_parameters(reference, steepest, rtol=1e-8, atol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_partial_fit_gives_scikit_learns_coefficients():
    reference, steepest = pair("classifier", solver="sgd", hidden_layer_sizes=(10,), random_state=0, batch_size=50)
    for _ in range(3):
        reference.partial_fit(X_DIGITS, Y_DIGITS, classes=np.arange(10))
        steepest.partial_fit(X_DIGITS, Y_DIGITS, classes=np.arange(10))
    assert steepest.loss_ == pytest.approx(reference.loss_, rel=1e-10)
    assert_same_parameters(reference, steepest)


def lbfgs_buffers(X, layer_units):
    """The work arrays scikit-learn's _loss_grad_lbfgs takes."""
    activations = [X] + [np.empty((len(X), units)) for units in layer_units[1:]]
    deltas = [np.empty((len(X), units)) for units in layer_units[1:]]
    coef_grads = [np.empty((a, b)) for a, b in zip(layer_units[:-1], layer_units[1:])]
    intercept_grads = [np.empty(b) for b in layer_units[1:]]
    return activations, deltas, coef_grads, intercept_grads


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "estimator, X, y, params",
    [
        ("classifier", X_DIGITS, Y_DIGITS, dict(activation="relu")),
        ("classifier", X_DIGITS, Y_DIGITS % 2, dict(activation="logistic", alpha=0.1)),
        ("regressor", X_REG, Y_REG, dict(activation="tanh", hidden_layer_sizes=(5, 4))),
        ("regressor", X_REG, COUNTS, dict(loss="poisson", activation="identity")),
    ],
    ids=["softmax", "binary", "squared-2-outputs", "poisson"],
)
def test_lbfgs_loss_and_gradient_equal_scikit_learns(estimator, X, y, params, weighted):
    params = {"hidden_layer_sizes": (8,), "solver": "lbfgs", "max_iter": 3, "random_state": 0, **params}
    reference, steepest = pair(estimator, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
        steepest.fit(X, y)
    weights = np.random.default_rng(1).uniform(0, 3, len(X)) if weighted else None
    for got, want in zip(steepest.coefs_ + steepest.intercepts_, reference.coefs_ + reference.intercepts_):
        got[...] = want
    Y = LabelBinarizer().fit(reference.classes_).transform(y) if estimator == "classifier" else y
    Y = Y.reshape(len(X), -1).astype(np.float64)
    layer_units = [X.shape[1], *reference.hidden_layer_sizes, reference.n_outputs_]
    packed = np.hstack([p.ravel() for p in reference.coefs_ + reference.intercepts_])
    want_loss, want_gradient = reference._loss_grad_lbfgs(packed, X, Y, weights, *lbfgs_buffers(X, layer_units))
    targets = steepest._validate_fit_data(X, y, False, False)[2]
    function, start = steepest._lbfgs_objective(X, targets, weights)
    np.testing.assert_array_equal(start, packed)
    got_loss, got_gradient = function(packed)
    assert got_loss == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(got_gradient, want_gradient, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "estimator, X, y",
    [("classifier", X_DIGITS, Y_DIGITS), ("classifier", X_DIGITS, Y_DIGITS % 3 == 0), ("regressor", X_REG, Y_REG)],
    ids=["softmax", "binary", "squared-2-outputs"],
)
def test_lbfgs_takes_scikit_learns_path(estimator, X, y):
    reference, steepest = pair(estimator, hidden_layer_sizes=(12,), solver="lbfgs", max_iter=40, random_state=2, tol=1e-6)
    with warnings.catch_warnings(record=True) as reference_warnings:
        warnings.simplefilter("always")
        reference.fit(X, y)
    with warnings.catch_warnings(record=True) as steepest_warnings:
        warnings.simplefilter("always")
        steepest.fit(X, y)
    assert steepest.n_iter_ == reference.n_iter_
    assert steepest.loss_ == pytest.approx(reference.loss_, rel=1e-7)
    converged = [w.category for w in reference_warnings] == [w.category for w in steepest_warnings]
    assert converged
    assert_same_parameters(reference, steepest, rtol=1e-6, atol=1e-9)
    # As scikit-learn's classifier (its regressor's available_if tests the method object, not
    # its result, and so offers a partial_fit that raises).
    assert not hasattr(steepest, "partial_fit")


def repeated(X, y, counts):
    return np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
@pytest.mark.parametrize(
    "estimator, X, y", [("classifier", X_DIGITS[:60], Y_DIGITS[:60]), ("regressor", X_REG[:60], Y_REG[:60])], ids=["classifier", "regressor"]
)
def test_integer_weights_equal_repeated_rows_and_zero_weights_dropped_rows(estimator, X, y, solver):
    # One batch holding every row ("auto": min(200, rows)), so the batches hold the same rows.
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0, shuffle=False, alpha=0.01)
    counts = np.random.default_rng(0).integers(0, 4, len(X))
    counts[:3] = [0, 2, 3]
    weighted = pair(estimator, **params)[1].fit(X, y, sample_weight=counts)
    copies = pair(estimator, **params)[1].fit(*repeated(X, y, counts))
    for got, want in zip(weighted.coefs_ + weighted.intercepts_, copies.coefs_ + copies.intercepts_):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert weighted.loss_ == pytest.approx(copies.loss_, rel=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sample_weights_give_scikit_learns_coefficients(solver):
    weights = np.random.default_rng(5).uniform(0, 2, len(X_DIGITS))
    reference, steepest = pair("classifier", hidden_layer_sizes=(10,), solver=solver, max_iter=4, random_state=0, batch_size=48)
    reference.fit(X_DIGITS, Y_DIGITS, sample_weight=weights)
    steepest.fit(X_DIGITS, Y_DIGITS, sample_weight=weights)
    np.testing.assert_allclose(steepest.loss_curve_, reference.loss_curve_, rtol=1e-10)
    assert_same_parameters(reference, steepest)


def test_sample_weight_errors_are_clear():
    with pytest.raises(ValueError, match="one weight per sample"):
        MLPRegressor(max_iter=1).fit(X_REG, Y_REG, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=">= 0"):
        MLPRegressor(max_iter=1).fit(X_REG, Y_REG, sample_weight=-np.ones(len(X_REG)))
    with pytest.raises(ValueError, match="finite"):
        MLPRegressor(max_iter=1).fit(X_REG, Y_REG, sample_weight=np.full(len(X_REG), np.nan))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dtype_follows_the_data_as_scikit_learns_does():
    X32 = X_REG.astype(np.float32)
    assert MLPRegressor(max_iter=2).fit(X32, Y_REG).coefs_[0].dtype == np.float32
    assert MLPRegressor(max_iter=2).fit(X_REG, Y_REG).coefs_[0].dtype == np.float64
    assert MLPRegressor(max_iter=2).fit(X_REG.astype(np.int64), Y_REG).coefs_[0].dtype == np.float64
    forced = MLPRegressor(max_iter=2, dtype="float32").fit(X_REG, Y_REG)
    assert forced.coefs_[0].dtype == np.float32 and forced.predict(X_REG).dtype == np.float32


def test_poisson_needs_non_negative_targets():
    with pytest.raises(ValueError, match="y >= 0"):
        MLPRegressor(loss="poisson").fit(X_REG, -COUNTS - 1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_class_weight_multiplies_the_sample_weights():
    y = (Y_DIGITS == 0).astype(int)
    balanced = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, class_weight="balanced").fit(X_DIGITS, y)
    counts = np.bincount(y)
    by_hand = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X_DIGITS, y, sample_weight=(len(y) / (2 * counts))[y])
    assert_same_parameters(by_hand, balanced, rtol=1e-12, atol=1e-15)
    as_dict = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0, class_weight={0: 1.0, 1: 4.0}).fit(
        X_DIGITS, y, sample_weight=np.full(len(y), 0.5)
    )
    by_hand = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X_DIGITS, y, sample_weight=np.where(y == 1, 2.0, 0.5))
    assert_same_parameters(by_hand, as_dict, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="balanced"):
        MLPClassifier(class_weight="balanced", solver="sgd").partial_fit(X_DIGITS, y, classes=[0, 1])
    with pytest.raises(ValueError, match="class_weight must be"):
        MLPClassifier(class_weight="uniform", max_iter=1).fit(X_DIGITS, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_given_validation_set_scores_and_losses_each_epoch_as_scikit_learn_would():
    X_train, y_train, X_val, y_val = X_DIGITS[:160], Y_DIGITS[:160], X_DIGITS[160:], Y_DIGITS[160:]
    params = dict(hidden_layer_sizes=(15,), random_state=0, n_iter_no_change=100)
    clf = MLPClassifier(early_stopping=True, max_iter=4, **params).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_ == 4
    for epochs in (1, 4):
        # Without a split, the training is scikit-learn's on all of X_train.
        reference = SkClassifier(max_iter=epochs, **params).fit(X_train, y_train)
        assert clf.validation_scores_[epochs - 1] == pytest.approx(reference.score(X_val, y_val), rel=1e-12)
        want = log_loss(y_val, reference.predict_proba(X_val), labels=clf.classes_)
        assert clf.validation_loss_curve_[epochs - 1] == pytest.approx(want, rel=1e-9)
    with pytest.raises(ValueError, match="early_stopping=True"):
        MLPClassifier(max_iter=1).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    with pytest.raises(ValueError, match="both X_val and y_val"):
        MLPClassifier(max_iter=1, early_stopping=True).fit(X_train, y_train, X_val=X_val)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_validation_loss_curve_follows_the_split_rows():
    reg = MLPRegressor(early_stopping=True, max_iter=5, random_state=0, hidden_layer_sizes=(10,), n_iter_no_change=50).fit(X_REG, Y_REG)
    assert len(reg.validation_loss_curve_) == reg.n_iter_
    assert np.all(np.isfinite(reg.validation_loss_curve_))
    assert MLPRegressor(max_iter=2).fit(X_REG, Y_REG).validation_loss_curve_ is None


def test_a_float32_fit_tracks_the_float64_fit():
    """What test_mlp_regressor_dtypes_casting asks (see ARITHMETIC_ACCIDENTS), to float32's
    precision: the same fit in float32 and float64 predicts alike, to 1e-4 of the scale of
    the predictions (float32 gives about 1e-5 here after 150 epochs of Adam)."""
    X, y = load_digits(n_class=2, return_X_y=True)
    settings = dict(alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1, max_iter=150, tol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model_64 = MLPRegressor(**settings).fit(X[:300], y[:300])
        model_32 = MLPRegressor(**settings).fit(X[:300].astype(np.float32), y[:300])
    pred_64 = model_64.predict(X[300:])
    pred_32 = model_32.predict(X[300:].astype(np.float32))
    assert pred_32.dtype == np.float32 and pred_64.dtype == np.float64
    assert np.max(np.abs(pred_64 - pred_32)) <= 1e-4 * np.max(np.abs(pred_64))
