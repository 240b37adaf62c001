"""Property tests of predict and fit (issue 8): for hypothesis-drawn architectures, dtypes,
data and batch sizes, predict equals a NumPy forward pass over the model's own weights, and
one epoch of in-order mini-batch SGD equals a NumPy training loop written here from the
float64 reference's layers, loss and SGD step (tests/reference.py)."""

import warnings

import numpy as np
import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import steepest

# Per test, not a global profile: other test files keep their own settings.
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HIDDEN = st.sampled_from(["identity", "relu", "sigmoid", "tanh"])


@st.composite
def architectures(draw):
    sizes = draw(st.lists(st.integers(1, 9), min_size=2, max_size=4))
    return sizes, draw(HIDDEN), draw(st.sampled_from(["identity", "sigmoid", "tanh"]))


def forward(weights, activations, x):
    outputs = [x]
    for (w, b), name in zip(weights, activations):
        outputs.append(reference.dense_forward(outputs[-1], w, b, name))
    return outputs


def sgd_epoch(weights, activations, X, Y, batch_size, lr, l2):
    """One epoch of mini-batch SGD on the mean squared error, batches in order, the last one
    smaller (PyTorch's DataLoader with drop_last=False), L2 on weights only."""
    weights = [(w.copy(), b.copy()) for w, b in weights]
    for begin in range(0, len(X), batch_size):
        x, y = X[begin : begin + batch_size], Y[begin : begin + batch_size]
        outputs = forward(weights, activations, x)
        _, gradient = reference.mse(outputs[-1], y)
        for layer in reversed(range(len(weights))):
            w, b = weights[layer]
            gradient, dw, db = reference.dense_backward(outputs[layer], w, outputs[layer + 1], gradient, activations[layer])
            weights[layer] = (reference.sgd_update(w, dw, lr=lr, l2=l2)[0], reference.sgd_update(b, db, lr=lr)[0])
    return weights


def model_weights(model):
    return [(layer.weight.astype(np.float64), layer.bias.astype(np.float64)) for layer in model.layers]


@SETTINGS
@given(architectures(), st.sampled_from(["float32", "float64"]), st.integers(1, 40), st.integers(0, 2**16), st.data())
def test_predict_is_the_forward_pass_of_the_weights(architecture, dtype, rows, seed, data):
    sizes, hidden, output = architecture
    model = steepest.MLP(sizes, activation=hidden, output_activation=output, seed=seed, dtype=dtype)
    X = data.draw(hnp.arrays(np.float64, (rows, sizes[0]), elements=st.floats(-5, 5)))
    batch_size = data.draw(st.integers(1, rows + 3))
    got = model.predict(X, batch_size=batch_size)
    want = forward(model_weights(model), [layer.activation for layer in model.layers], X.astype(dtype).astype(np.float64))[-1]
    assert got.shape == (rows, sizes[-1]) and got.dtype == np.dtype(dtype)
    tolerance = 1e-10 if dtype == "float64" else 1e-4
    assert np.allclose(got, want, rtol=tolerance, atol=tolerance)


@SETTINGS
@given(architectures(), st.integers(1, 48), st.integers(0, 2**16), st.sampled_from([0.0, 1e-2]), st.data())
def test_one_epoch_of_fit_is_mini_batch_sgd(architecture, rows, seed, l2, data):
    # float64, so that the comparison is to ~1e-9 and a ReLU kink is never crossed by
    # rounding alone.
    sizes, hidden, output = architecture
    model = steepest.MLP(sizes, activation=hidden, output_activation=output, seed=seed, dtype="float64")
    X = data.draw(hnp.arrays(np.float64, (rows, sizes[0]), elements=st.floats(-2, 2)))
    Y = data.draw(hnp.arrays(np.float64, (rows, sizes[-1]), elements=st.floats(-1, 1)))
    batch_size = data.draw(st.integers(1, rows))
    lr = data.draw(st.sampled_from([0.01, 0.1]))
    want = sgd_epoch(model_weights(model), [layer.activation for layer in model.layers], X, Y, batch_size, lr, l2)
    with warnings.catch_warnings():
        # a drawn ReLU net may be dead from the start (zero data, say): fit says so, and
        # its epoch is still the reference's
        warnings.simplefilter("ignore", steepest.DeadNetworkWarning)
        history = model.fit(X, Y, epochs=1, batch_size=batch_size, shuffle=False, optimizer=steepest.SGD(lr=lr, l2=l2), verbose=0)
    assert len(history) == 1 and np.isfinite(history["loss"][0])
    for (got_w, got_b), (want_w, want_b) in zip(model_weights(model), want):
        assert np.allclose(got_w, want_w, rtol=1e-9, atol=1e-9)
        assert np.allclose(got_b, want_b, rtol=1e-9, atol=1e-9)
