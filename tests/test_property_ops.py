"""Property tests of every steepest.ops function (issue 8): hypothesis draws shapes, both
dtypes, values (extreme ones included) and memory layouts, and each result is compared
with the float64 NumPy reference (tests/reference.py), written independently of the kernels."""

import numpy as np
import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from steepest import ops

# Per test, not a global profile: other test files keep their own settings.
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = st.sampled_from([np.float32, np.float64])
ACTIVATIONS = ["identity", "relu", "sigmoid", "tanh", "softmax"]


def relative_tolerance(dtype, terms=1):
    # float64: a few ulps per term; float32 rounding grows like a random walk over a sum.
    return 1e-12 * terms if dtype == np.float64 else 2e-6 * np.sqrt(terms) * 4


def assert_close(got, want, dtype, magnitude, terms=1):
    """|got - want| <= tolerance * magnitude, elementwise (magnitude bounds the terms summed,
    so cancellation in `want` does not turn rounding into a failure; the rounding of the
    result itself is always allowed)."""
    assert got.shape == want.shape and got.dtype == dtype
    magnitude = np.maximum(magnitude, np.abs(want))
    bound = relative_tolerance(dtype, terms) * np.maximum(magnitude, np.finfo(dtype).tiny) + np.finfo(dtype).smallest_subnormal * 4
    error = np.abs(got.astype(np.float64) - want)
    assert (error <= bound).all(), f"largest error {error.max():.3g} where the bound is {bound.flat[np.argmax(error - bound)]:.3g}"


@st.composite
def matrices(draw, rows, cols, dtype, low=-10.0, high=10.0):
    values = draw(hnp.arrays(np.float64, (rows, cols), elements=st.floats(low, high, allow_subnormal=False)))
    # No values that become float32 subnormals: how kernels round those is issue 2's
    # extreme-value tests' business, and a relative tolerance means nothing there.
    values[np.abs(values) < 1e-30] = 0
    return values.astype(dtype)


def layout(array, kind):
    """The same values as `array`, C-ordered, Fortran-ordered or a strided view."""
    if kind == "fortran":
        return np.asfortranarray(array)
    if kind == "strided":
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    return array


LAYOUTS = st.sampled_from(["c", "fortran", "strided"])


# ---- matmul and the dense layer ------------------------------------------------------------


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 40), DTYPES, st.booleans(), st.booleans(), LAYOUTS, LAYOUTS, st.data())
def test_matmul(m, n, k, dtype, trans_a, trans_b, layout_a, layout_b, data):
    a = data.draw(matrices(k, m, dtype) if trans_a else matrices(m, k, dtype))
    b = data.draw(matrices(n, k, dtype) if trans_b else matrices(k, n, dtype))
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    want = reference.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    got = ops.matmul(layout(a, layout_a), layout(b, layout_b), trans_a=trans_a, trans_b=trans_b)
    assert_close(got, want, dtype, np.abs(op_a).astype(np.float64) @ np.abs(op_b), terms=max(k, 1))


@SETTINGS
@given(st.integers(1, 24), st.integers(1, 24), st.integers(1, 24), DTYPES, st.sampled_from(ACTIVATIONS), st.booleans(), st.data())
def test_dense_forward(m, k, n, dtype, activation, with_bias, data):
    x, w = data.draw(matrices(m, k, dtype)), data.draw(matrices(k, n, dtype, -1, 1))
    bias = data.draw(matrices(1, n, dtype))[0] if with_bias else None
    got = ops.dense_forward(x, w, bias, activation)
    magnitude = np.abs(x).astype(np.float64) @ np.abs(w) + (0 if bias is None else np.abs(bias))
    # Each activation here changes an error in z by at most a factor of 1 (softmax: a row's
    # outputs move by at most the row's largest change).
    if activation == "softmax":
        magnitude = magnitude.max(axis=1, keepdims=True) * np.ones_like(magnitude)
    assert_close(got, reference.dense_forward(x, w, bias, activation), dtype, magnitude, terms=k + 1)


@SETTINGS
@given(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20), DTYPES, st.sampled_from(ACTIVATIONS), st.data())
def test_dense_backward(m, k, n, dtype, activation, data):
    x, w = data.draw(matrices(m, k, dtype)), data.draw(matrices(k, n, dtype, -1, 1))
    y = ops.dense_forward(x, w, None, activation)
    dy = data.draw(matrices(m, n, dtype))
    want_dx, want_dweight, want_dbias = reference.dense_backward(x, w, y, dy, activation)
    dx, dweight, dbias = ops.dense_backward(x, w, y, dy, activation)
    # act'(y) is computed from y, near 1 - y*y for tanh: its rounding is a fraction of one
    # ulp of 1, so dz is known to within ulps of |dy|, not of |dz|.
    dz_magnitude = np.abs(dy).astype(np.float64)
    if activation == "softmax":
        dz_magnitude = (np.abs(y) * (np.abs(dy) + (np.abs(dy) * np.abs(y)).sum(axis=1, keepdims=True))) * 2
    assert_close(dx, want_dx, dtype, dz_magnitude @ np.abs(w.T), terms=n + 4)
    assert_close(dweight, want_dweight, dtype, np.abs(x.T).astype(np.float64) @ dz_magnitude, terms=m + 4)
    assert_close(dbias, want_dbias, dtype, dz_magnitude.sum(axis=0), terms=m + 4)


# ---- activations -------------------------------------------------------------------------


@SETTINGS
@given(
    DTYPES,
    st.sampled_from(ACTIVATIONS),
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9),
    st.sampled_from([10.0, 1000.0]),
    st.data(),
)
def test_activation_and_its_backward(dtype, name, shape, scale, data):
    # Values up to ±1000: sigmoid, tanh and softmax must stay finite and exact there.
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-scale, scale))).astype(dtype)
    y = ops.activation(name, x)
    want = reference.activation(name, x)
    assert np.isfinite(y).all()
    magnitude = np.maximum(np.abs(want), 1.0 if name in ("sigmoid", "tanh", "softmax") else np.abs(x))
    assert_close(y, want, dtype, magnitude, terms=shape[-1] if name == "softmax" else 4)
    dy = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10))).astype(dtype)
    dx = ops.activation_backward(name, y, dy)
    backward_magnitude = np.abs(dy) * 4 + (np.abs(dy).sum(axis=-1, keepdims=True) if name == "softmax" else 0)
    assert_close(dx, reference.activation_backward(name, y, dy), dtype, backward_magnitude, terms=shape[-1])


# ---- losses ------------------------------------------------------------------------------


@SETTINGS
@given(DTYPES, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=12), st.data())
def test_mse(dtype, shape, data):
    pred = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-100, 100))).astype(dtype)
    target = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-100, 100))).astype(dtype)
    value, gradient = ops.loss("mse", pred, target)
    want_value, want_gradient = reference.mse(pred, target)
    size = pred.size
    assert np.isclose(value, want_value, rtol=relative_tolerance(dtype, size) * 10, atol=relative_tolerance(dtype) * 1e4)
    assert_close(gradient, want_gradient, dtype, 2 * (np.abs(pred) + np.abs(target)) / size, terms=4)


@SETTINGS
@given(DTYPES, st.integers(1, 12), st.integers(1, 6), st.data())
def test_binary_cross_entropy_from_probabilities_and_from_logits(dtype, rows, cols, data):
    logits = data.draw(matrices(rows, cols, np.float64, -30, 30))
    # Probabilities away from 0 and 1, where BCELoss's clamping of the logs does not apply.
    pred = reference.sigmoid(np.clip(logits, -4, 4)).astype(dtype)
    target = data.draw(hnp.arrays(np.float64, (rows, cols), elements=st.floats(0, 1))).astype(dtype)
    p, n = pred.astype(np.float64), rows * cols
    value, gradient = ops.loss("binary_cross_entropy", pred, target)
    want_value, want_gradient = reference.binary_cross_entropy(pred, target)
    assert np.isclose(value, want_value, rtol=relative_tolerance(dtype, n) * 100)
    assert_close(gradient, want_gradient, dtype, (1 / (p * (1 - p))) / n, terms=16)

    z = logits.astype(dtype)
    value, gradient = ops.loss("binary_cross_entropy_with_logits", z, target)
    want_value, want_gradient = reference.binary_cross_entropy_with_logits(z, target)
    assert np.isfinite(value)
    assert np.isclose(value, want_value, rtol=relative_tolerance(dtype, n) * 100, atol=relative_tolerance(dtype, n) * 100)
    assert_close(gradient, want_gradient, dtype, np.full((rows, cols), 2.0 / n), terms=16)


@SETTINGS
@given(DTYPES, st.integers(1, 12), st.integers(1, 9), st.sampled_from([10.0, 1000.0]), st.booleans(), st.data())
def test_softmax_cross_entropy_with_labels_and_with_probabilities(dtype, rows, classes, scale, label_targets, data):
    logits = data.draw(matrices(rows, classes, dtype, -scale, scale))
    if label_targets:
        target = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=rows, max_size=rows)), dtype=np.int64)
    else:
        target = reference.softmax(data.draw(matrices(rows, classes, np.float64, -3, 3))).astype(dtype)
    value, gradient = ops.loss("softmax_cross_entropy", logits, target)
    want, want_gradient = reference.softmax_cross_entropy(logits, target)
    assert np.isfinite(value)
    assert np.isclose(value, want, rtol=relative_tolerance(dtype, classes) * 100, atol=relative_tolerance(dtype, classes) * scale * 10)
    assert_close(gradient, want_gradient, dtype, np.full((rows, classes), 2.0 / rows), terms=classes)


# ---- optimizer steps ---------------------------------------------------------------------


@SETTINGS
@given(
    DTYPES,
    st.integers(1, 70),
    st.floats(1e-4, 1.0),
    st.sampled_from([0.0, 0.5, 0.9]),
    st.booleans(),
    st.sampled_from([0.0, 1e-3]),
    st.sampled_from([0.0, 1e-2]),
    st.data(),
)
def test_sgd_update(dtype, size, lr, momentum, nesterov, l1, l2, data):
    nesterov = nesterov and momentum > 0
    param = data.draw(matrices(1, size, dtype))[0]
    grad = data.draw(matrices(1, size, dtype))[0]
    velocity = data.draw(matrices(1, size, dtype))[0]
    p = param.astype(np.float64)
    want_param, v = reference.sgd_update(param, grad, velocity if momentum else None, lr=lr, momentum=momentum, nesterov=nesterov, l1=l1, l2=l2)
    ops.sgd_update(param, grad, velocity if momentum else None, lr=lr, momentum=momentum, nesterov=nesterov, l1=l1, l2=l2)
    step_magnitude = np.abs(grad) + np.abs(velocity) + l2 * np.abs(p) + l1
    assert_close(param, want_param, dtype, np.abs(p) + 4 * lr * step_magnitude, terms=4)
    if momentum:
        assert_close(velocity, v, dtype, 2 * step_magnitude, terms=4)


@SETTINGS
@given(DTYPES, st.integers(1, 70), st.integers(1, 50), st.floats(1e-4, 0.1), st.sampled_from([0.0, 1e-2]), st.data())
def test_adam_update(dtype, size, step, lr, l2, data):
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    param = data.draw(matrices(1, size, dtype))[0]
    grad = data.draw(matrices(1, size, dtype))[0]
    m = data.draw(matrices(1, size, dtype, -1, 1))[0]
    v = data.draw(matrices(1, size, dtype, 0, 1))[0]
    p = param.astype(np.float64)
    want_param, want_m, want_v = reference.adam_update(param, grad, m, v, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, l2=l2)
    v_hat = want_v / (1 - beta2**step)
    m_before = m.astype(np.float64)
    ops.adam_update(param, grad, m, v, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, l2=l2)
    # Bounds from the size of the terms, not of the results: m = β1·m + (1-β1)·g and
    # g = grad + l2·p may cancel to 0 exactly, leaving only the rounding of their terms.
    g_size = np.abs(grad.astype(np.float64)) + l2 * np.abs(p)
    m_size = beta1 * np.abs(m_before) + (1 - beta1) * g_size
    assert_close(m, want_m, dtype, m_size, terms=4)
    assert_close(v, want_v, dtype, np.abs(want_v) + g_size * g_size, terms=4)
    # The step divides by sqrt(v_hat) + eps, which float32 can round by a few ulps.
    step_size = lr * (m_size / (1 - beta1**step)) / (np.sqrt(v_hat) + eps)
    assert_close(param, want_param, dtype, np.abs(p) + step_size * 10, terms=8)
