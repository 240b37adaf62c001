"""Sparse inputs (SciPy CSR/CSC matrices and arrays) through the native sparse first layer:
training, the full-batch loss and gradient, and predictions equal the same data dense, to
rounding, at every instruction set, for any thread count; nothing of X's dense size is made."""

import warnings

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")

import steepest  # noqa: E402
from steepest import Adam, Dense, Sequential  # noqa: E402


def tf_idf_like(rows, columns, density, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(rows, columns, density=density, format="csr", random_state=seed, data_rvs=lambda n: rng.uniform(0.1, 1.0, n))
    return X, rng


def model(features, dtype, activation="relu"):
    # Widths past one vector and off every lane count, so the kernels' tails run too.
    return Sequential([Dense(features, 37, activation), Dense(37, 3, "softmax")], seed=1, dtype=dtype)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.coo_array], ids=lambda c: c.__name__)
def test_fit_and_predict_on_sparse_rows_equal_the_dense_ones(isa, dtype, container):
    X, rng = tf_idf_like(90, 150, 0.05)
    X = sp.csr_matrix(X.multiply(np.arange(90)[:, None] != 3))  # row 3 without entries
    y = rng.integers(0, 3, 90)
    weights = rng.uniform(0.5, 2.0, 90)
    dense, sparse = model(150, dtype), model(150, dtype)
    settings = dict(epochs=3, batch_size=16, optimizer=Adam(lr=0.01), loss="softmax_cross_entropy", verbose=0, sample_weight=weights)
    dense.fit(X.toarray(), y, **settings)
    sparse.fit(container(X), y, **settings)
    rtol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(sparse.get_parameters(), dense.get_parameters(), rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(sparse.predict(container(X)), dense.predict(X.toarray()), rtol=rtol, atol=rtol * 1e-2)


def test_the_full_batch_gradient_of_sparse_rows_equals_the_dense_one(isa):
    X, rng = tf_idf_like(70, 200, 0.03)
    y = rng.standard_normal((70, 3))
    net = Sequential([Dense(200, 19, "tanh"), Dense(19, 3)], seed=2, dtype="float64")
    start = net.get_parameters()
    want_loss, want = net.full_batch(X.toarray(), y, batch_size=32)(start)
    want = want.copy()
    got_loss, got = net.full_batch(X, y, batch_size=32)(start)
    assert got_loss == pytest.approx(want_loss, rel=1e-13)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-14)


def test_sparse_training_does_not_depend_on_the_thread_count():
    X, rng = tf_idf_like(200, 3000, 0.01)
    y = rng.integers(0, 3, 200)
    results = []
    for threads in (1, 2):
        before = steepest.get_num_threads()
        steepest.set_num_threads(threads)
        try:
            net = Sequential([Dense(3000, 300, "relu"), Dense(300, 3, "softmax")], seed=0)
            net.fit(X, y, epochs=2, batch_size=50, loss="softmax_cross_entropy", verbose=0)
            results.append(net.get_parameters())
        finally:
            steepest.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])


def test_sparse_input_errors_are_clear():
    X, rng = tf_idf_like(20, 30, 0.2)
    net = Sequential([Dense(30, 4), Dense(4, 1)], seed=0)
    with pytest.raises(ValueError, match="features but the model takes 30"):
        net.predict(sp.csr_matrix((5, 31)))
    with pytest.raises(ValueError, match="no input noise"):
        net.fit(X, rng.standard_normal((20, 1)), epochs=1, batch_size=4, verbose=0, noise=("gaussian", 0.1))
    with pytest.raises(ValueError, match="validation_data"):
        net.fit(X, rng.standard_normal((20, 1)), epochs=1, batch_size=4, verbose=0, validation_split=0.2)
    bad = sp.csr_matrix(X)
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="nan"):
        net.predict(bad)


def test_the_estimators_take_sparse_input_as_scikit_learns_do():
    from sklearn.neural_network import MLPClassifier as SkClassifier

    from steepest.sklearn import MLPClassifier

    X, rng = tf_idf_like(120, 400, 0.02)
    y = rng.integers(0, 2, 120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = SkClassifier(hidden_layer_sizes=(10,), max_iter=4, random_state=0).fit(X, y)
        got = MLPClassifier(hidden_layer_sizes=(10,), max_iter=4, random_state=0).fit(X, y)
    for a, b in zip(got.coefs_ + got.intercepts_, want.coefs_ + want.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got.predict_proba(X.tocsc()), want.predict_proba(X), rtol=1e-10)
