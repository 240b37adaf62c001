"""Checks the NumPy reference itself: hand-checkable values and central finite
differences in float64. Needs only numpy and pytest, so it runs without a build."""

import math

import numpy as np
import pytest

import reference

STEP = 1e-6  # central differences: truncation O(STEP**2), rounding O(eps / STEP)
FD_RTOL = 1e-6
FD_ATOL = 1e-8


def numerical_gradient(scalar_function, x):
    """d scalar_function / dx by central differences, one element at a time."""
    x = x.copy()
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + STEP
        above = scalar_function(x)
        x[index] = original - STEP
        below = scalar_function(x)
        x[index] = original
        gradient[index] = (above - below) / (2 * STEP)
    return gradient


def away_from_zero(rng, shape):
    """Normal values pushed at least 0.1 from 0, so no ReLU kink is within STEP."""
    x = rng.standard_normal(shape)
    return x + 0.1 * np.where(x >= 0, 1.0, -1.0)


# Hand-checkable values


def test_matmul_small_known_product_in_every_layout():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[5.0, 6.0], [7.0, 8.0]])
    product = np.array([[19.0, 22.0], [43.0, 50.0]])
    np.testing.assert_array_equal(reference.matmul(a, b), product)
    np.testing.assert_array_equal(reference.matmul(a.T.copy(), b, trans_a=True), product)
    np.testing.assert_array_equal(reference.matmul(a, b.T.copy(), trans_b=True), product)
    np.testing.assert_array_equal(
        reference.matmul(a.T.copy(), b.T.copy(), trans_a=True, trans_b=True), product
    )


def test_matmul_rectangular_shapes():
    a = np.ones((2, 3))
    b = np.ones((3, 4))
    assert reference.matmul(a, b).shape == (2, 4)
    np.testing.assert_array_equal(reference.matmul(a, b), np.full((2, 4), 3.0))


def test_activation_known_values():
    assert reference.activation("sigmoid", np.array([0.0]))[0] == 0.5
    assert reference.activation("tanh", np.array([0.0]))[0] == 0.0
    np.testing.assert_allclose(
        reference.activation("sigmoid", np.array([math.log(3.0)])), [0.75], rtol=1e-15
    )
    np.testing.assert_array_equal(
        reference.activation("relu", np.array([[-2.0, 0.0, 3.0]])), [[0.0, 0.0, 3.0]]
    )
    np.testing.assert_array_equal(
        reference.activation("identity", np.array([[-2.0, 0.5]])), [[-2.0, 0.5]]
    )


def test_softmax_known_values_are_row_wise():
    x = np.array([[0.0, math.log(3.0)], [5.0, 5.0]])
    np.testing.assert_allclose(reference.activation("softmax", x), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)


def test_activation_backward_known_values():
    y = np.array([[0.5, 0.0, 2.0]])
    dy = np.array([[4.0, 4.0, 4.0]])
    np.testing.assert_array_equal(reference.activation_backward("sigmoid", y, dy), [[1.0, 0.0, -8.0]])
    np.testing.assert_array_equal(reference.activation_backward("tanh", y, dy), [[3.0, 4.0, -12.0]])
    np.testing.assert_array_equal(reference.activation_backward("relu", y, dy), [[4.0, 0.0, 4.0]])
    # Uniform softmax output and uniform dy: shifting all logits changes nothing.
    np.testing.assert_array_equal(
        reference.activation_backward("softmax", np.full((1, 4), 0.25), np.ones((1, 4))), np.zeros((1, 4))
    )


def test_mse_known_values():
    value, dpred = reference.loss("mse", np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]]))
    assert value == 2.0  # (0 + 4) / 2
    np.testing.assert_array_equal(dpred, [[0.0, -2.0]])  # 2 * (p - t) / 2


def test_binary_cross_entropy_known_values():
    value, dpred = reference.loss("binary_cross_entropy", np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    assert value == pytest.approx(math.log(2.0), rel=1e-15)
    # (p - t) / (p (1 - p)) / n = (+-0.5) / 0.25 / 2
    np.testing.assert_array_equal(dpred, [-1.0, 1.0])


def test_binary_cross_entropy_clamps_log_at_minus_100_like_pytorch():
    value, dpred = reference.loss("binary_cross_entropy", np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert value == 100.0
    # p (1 - p) = 0 is replaced by 1e-12: (0 - 1) / 1e-12 / 2 and (1 - 0) / 1e-12 / 2
    np.testing.assert_allclose(dpred, [-0.5e12, 0.5e12], rtol=1e-15)


def test_softmax_cross_entropy_known_values():
    logits = np.zeros((2, 4))
    value, dpred = reference.loss("softmax_cross_entropy", logits, np.array([1, 3]))
    assert value == pytest.approx(math.log(4.0), rel=1e-15)
    expected = np.full((2, 4), 0.25)
    expected[0, 1] -= 1.0
    expected[1, 3] -= 1.0
    np.testing.assert_allclose(dpred, expected / 2, rtol=1e-15)


def test_sgd_update_hand_computed_steps():
    param = np.array([1.0, -2.0, 0.0])
    grad = np.array([0.5, 0.5, 0.5])
    velocity = np.array([1.0, 1.0, 1.0])

    # g' = grad + 0.1 * param + 0.01 * sign(param) = [0.61, 0.29, 0.5]
    plain, no_velocity = reference.sgd_update(param, grad, lr=0.5, l1=0.01, l2=0.1)
    assert no_velocity is None
    np.testing.assert_allclose(plain, [1.0 - 0.305, -2.0 - 0.145, -0.25], rtol=1e-15)

    # v = 0.9 * 1 + 0.5 = 1.4; classic steps by v, Nesterov by g + 0.9 v = 1.76
    classic, new_velocity = reference.sgd_update(param, grad, velocity, lr=0.5, momentum=0.9)
    np.testing.assert_allclose(new_velocity, [1.4, 1.4, 1.4], rtol=1e-15)
    np.testing.assert_allclose(classic, [0.3, -2.7, -0.7], rtol=1e-15)
    nesterov, _ = reference.sgd_update(param, grad, velocity, lr=0.5, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(nesterov, [1.0 - 0.88, -2.0 - 0.88, -0.88], rtol=1e-15)
    np.testing.assert_array_equal(velocity, [1.0, 1.0, 1.0])  # inputs left alone


def test_dense_forward_adds_bias_before_activation():
    x = np.array([[1.0, 2.0]])
    weight = np.array([[1.0, -1.0], [1.0, -1.0]])  # x @ weight = [3, -3]
    bias = np.array([-1.0, 1.0])
    np.testing.assert_array_equal(reference.dense_forward(x, weight, bias, "relu"), [[2.0, 0.0]])
    np.testing.assert_array_equal(reference.dense_forward(x, weight, None, "relu"), [[3.0, 0.0]])


# Extreme inputs: finite, exact limits, and no RuntimeWarning (warnings are errors here)

EXTREMES = np.array([[-1000.0, -1e-310, 0.0, 1e-310, 1000.0]])


def test_sigmoid_and_tanh_saturate_without_warnings():
    np.testing.assert_array_equal(reference.activation("sigmoid", EXTREMES)[0, [0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(reference.activation("tanh", EXTREMES), EXTREMES.clip(-1, 1))


def test_softmax_and_logsumexp_at_plus_minus_1000():
    np.testing.assert_array_equal(
        reference.activation("softmax", np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 1000.0]]))[0],
        [1.0, 0.0, 0.0],
    )
    np.testing.assert_allclose(
        reference.logsumexp(np.array([[1000.0, 1000.0], [-1000.0, -1000.0]])),
        [1000.0 + math.log(2.0), -1000.0 + math.log(2.0)],
        rtol=1e-15,
    )


def test_softmax_cross_entropy_at_plus_minus_1000():
    logits = np.array([[1000.0, -1000.0, 0.0]] * 3)
    for label, expected in [(0, 0.0), (1, 2000.0), (2, 1000.0)]:
        value, dpred = reference.loss("softmax_cross_entropy", logits[:1], np.array([label]))
        assert value == expected
        assert np.all(np.isfinite(dpred))


# Finite differences


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
def test_activation_backward_matches_finite_differences(name):
    rng = np.random.default_rng(1)
    x = away_from_zero(rng, (3, 5))
    dy = rng.standard_normal((3, 5))
    expected = numerical_gradient(lambda z: np.sum(dy * reference.activation(name, z)), x)
    got = reference.activation_backward(name, reference.activation(name, x), dy)
    np.testing.assert_allclose(got, expected, rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
def test_dense_backward_matches_finite_differences(name):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    weight = rng.standard_normal((3, 5))
    bias = rng.standard_normal(5)
    dy = rng.standard_normal((4, 5))
    z = x @ weight + bias
    # Move pre-activations off ReLU's kink by shifting the bias per column.
    bias = bias + 0.2 * np.where(np.min(np.abs(z), axis=0) < 0.1, 1.0, 0.0)
    assert np.min(np.abs(x @ weight + bias)) > 1e-4
    y = reference.dense_forward(x, weight, bias, name)

    def scalar_loss(x_, weight_, bias_):
        return np.sum(dy * reference.dense_forward(x_, weight_, bias_, name))

    dx, dweight, dbias = reference.dense_backward(x, weight, y, dy, name)
    np.testing.assert_allclose(
        dx, numerical_gradient(lambda v: scalar_loss(v, weight, bias), x), rtol=FD_RTOL, atol=FD_ATOL
    )
    np.testing.assert_allclose(
        dweight, numerical_gradient(lambda v: scalar_loss(x, v, bias), weight), rtol=FD_RTOL, atol=FD_ATOL
    )
    np.testing.assert_allclose(
        dbias, numerical_gradient(lambda v: scalar_loss(x, weight, v), bias), rtol=FD_RTOL, atol=FD_ATOL
    )


def test_mse_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal((2, 4, 3))
    _, dpred = reference.loss("mse", pred, target)
    expected = numerical_gradient(lambda p: reference.loss("mse", p, target)[0], pred)
    np.testing.assert_allclose(dpred, expected, rtol=FD_RTOL, atol=FD_ATOL)


def test_binary_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    pred = rng.uniform(0.05, 0.95, (4, 3))  # away from the clamps
    target = rng.uniform(0.0, 1.0, (4, 3))  # soft labels are allowed
    _, dpred = reference.loss("binary_cross_entropy", pred, target)
    expected = numerical_gradient(lambda p: reference.loss("binary_cross_entropy", p, target)[0], pred)
    np.testing.assert_allclose(dpred, expected, rtol=FD_RTOL, atol=FD_ATOL)


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    logits = 3.0 * rng.standard_normal((4, 6))
    labels = np.array([0, 5, 2, 2])
    _, dpred = reference.loss("softmax_cross_entropy", logits, labels)
    expected = numerical_gradient(lambda z: reference.loss("softmax_cross_entropy", z, labels)[0], logits)
    np.testing.assert_allclose(dpred, expected, rtol=FD_RTOL, atol=FD_ATOL)


def test_softmax_cross_entropy_value_equals_minus_log_softmax():
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((5, 4))
    labels = np.array([3, 0, 1, 2, 3])
    value, _ = reference.loss("softmax_cross_entropy", logits, labels)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(probabilities[np.arange(5), labels])), rel=1e-14)
