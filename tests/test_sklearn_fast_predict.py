"""The estimators' fast path for prediction (issue 16): a C-contiguous ndarray of the fitted
width and dtype skips scikit-learn's re-validation; its results are the slow path's bit for
bit, and everything else (NaN, infinity, wrong width, wrong dtype, wrong shape) gets the
slow path's error, word for word. Never speed: that is python -m steepest.bench.inference."""

import numpy as np
import pytest

from steepest.sklearn import AutoencoderTransformer, MLPClassifier, MLPRegressor, _base


@pytest.fixture(scope="module")
def estimators(digits, fit_quietly):
    X, y = digits
    return {
        "multiclass": fit_quietly(MLPClassifier((16,), max_iter=5, random_state=0), X, y),
        "binary": fit_quietly(MLPClassifier((16,), max_iter=5, random_state=0), X, np.where(y < 5, "low", "high")),
        "multilabel": fit_quietly(MLPClassifier((16,), max_iter=5, random_state=0), X, np.stack([y % 2, y > 4], axis=1)),
        "float64": fit_quietly(MLPClassifier((16,), max_iter=5, random_state=0, dtype="float64"), X.astype(np.float64), y),
        "regressor": fit_quietly(MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0), X, X[:, 20]),
        "transformer": fit_quietly(AutoencoderTransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=5, random_state=0), X),
    }


METHODS = {"classifier": ["predict", "predict_proba", "predict_log_proba"], "regressor": ["predict"], "transformer": ["transform"]}


def results(estimator, X):
    return {method: getattr(estimator, method)(X) for method in methods_of(estimator)}


def methods_of(estimator):
    if isinstance(estimator, MLPClassifier):
        return METHODS["classifier"]
    return METHODS["regressor" if isinstance(estimator, MLPRegressor) else "transformer"]


@pytest.mark.parametrize("name", ["multiclass", "binary", "multilabel", "float64", "regressor", "transformer"])
@pytest.mark.parametrize("rows", [1, 7, 300])
def test_the_fast_path_gives_the_slow_paths_results_bit_for_bit(estimators, digits, monkeypatch, name, rows):
    estimator = estimators[name]
    X = np.ascontiguousarray(digits[0][:rows], dtype=estimator.model_.dtype)
    with monkeypatch.context() as patch:
        # Proves the fast path is taken: scikit-learn's checks are not reached.
        patch.setattr(_base, "validate_data", lambda *args, **kwargs: pytest.fail("validate_data was called"))
        fast = results(estimator, X)
    monkeypatch.setattr(_base.BaseMLP, "_passes_as_is", lambda self, X: False)
    slow = results(estimator, X)
    for method in fast:
        assert fast[method].dtype == slow[method].dtype and fast[method].shape == slow[method].shape
        assert np.array_equal(fast[method], slow[method]), method


def test_ties_and_the_binary_threshold_are_decided_as_the_label_binarizer_does(estimators):
    """The classifier's label shortcut against LabelBinarizer.inverse_transform itself, on
    outputs made to sit on its edges: equal probabilities, p exactly 0.5 and next to it."""
    multiclass, binary = estimators["multiclass"], estimators["binary"]
    tied = np.full((3, 10), 0.1, np.float32)
    tied[1, [3, 7]] = 0.3
    assert np.array_equal(multiclass._labels(tied), multiclass._label_binarizer.inverse_transform(tied))
    half = np.float32(0.5)
    p = np.array([[half], [np.nextafter(half, 1)], [np.nextafter(half, 0)], [0.0], [1.0]], np.float32)
    assert np.array_equal(binary._labels(p), binary._label_binarizer.inverse_transform(p.ravel()))


def bad_inputs(width, dtype):
    row = np.full((1, width), 0.5, dtype)
    nan, inf = row.copy(), row.copy()
    nan[0, 3], inf[0, 5] = np.nan, -np.inf
    return {
        "nan": nan,
        "infinity": inf,
        "too wide": np.full((1, width + 1), 0.5, dtype),
        "too narrow": np.full((1, width - 1), 0.5, dtype),
        "complex": row.astype(np.complex64),
        "strings": np.full((1, width), "pixel", object),
        "one-dimensional": row[0],
        "no rows": row[:0],
        "three-dimensional": row[None],
    }


@pytest.mark.parametrize("case", list(bad_inputs(64, np.float32)))
@pytest.mark.parametrize("name", ["multiclass", "float64", "regressor", "transformer"])
def test_bad_input_gets_the_slow_paths_error_word_for_word(estimators, monkeypatch, name, case):
    estimator = estimators[name]
    X = bad_inputs(estimator.n_features_in_, estimator.model_.dtype)[case]
    errors = {}
    for path in ("fast", "slow"):
        if path == "slow":
            monkeypatch.setattr(_base.BaseMLP, "_passes_as_is", lambda self, X: False)
        for method in methods_of(estimator):
            with pytest.raises(Exception) as raised:
                getattr(estimator, method)(X)
            errors[path, method] = (type(raised.value), str(raised.value))
    for method in methods_of(estimator):
        assert errors["fast", method] == errors["slow", method]
    assert errors["fast", methods_of(estimator)[0]][0] is ValueError


def test_other_dtypes_and_layouts_are_converted_as_before(estimators, digits):
    """float64 into a float32 model, a Fortran-ordered or strided array, a list: converted as
    scikit-learn converts (the slow path), with the float32 array's results."""
    estimator = estimators["multiclass"]
    X = digits[0][:20]
    want = estimator.predict_proba(X)
    for other in (X.astype(np.float64), np.asfortranarray(X), np.repeat(X, 2, axis=0)[::2], X.tolist()):
        assert np.array_equal(estimator.predict_proba(other), want)


def test_an_unfitted_estimator_still_raises_not_fitted(digits):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPClassifier().predict(digits[0][:1])


def test_feature_names_are_still_checked(digits, fit_quietly):
    pandas = pytest.importorskip("pandas")
    X, y = digits
    frame = pandas.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    estimator = fit_quietly(MLPClassifier((8,), max_iter=2, random_state=0), frame, y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        estimator.predict(X[:1])
