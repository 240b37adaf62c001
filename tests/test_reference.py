"""Checks the NumPy reference itself: hand-checkable values, central finite differences in
float64, and PyTorch in float64 where it is installed. Needs only numpy and pytest, so it
runs without a build; the PyTorch checks skip without torch."""

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
    np.testing.assert_array_equal(reference.matmul(a.T.copy(), b.T.copy(), trans_a=True, trans_b=True), product)


def test_matmul_rectangular_shapes():
    a = np.ones((2, 3))
    b = np.ones((3, 4))
    assert reference.matmul(a, b).shape == (2, 4)
    np.testing.assert_array_equal(reference.matmul(a, b), np.full((2, 4), 3.0))


def test_activation_known_values():
    assert reference.activation("sigmoid", np.array([0.0]))[0] == 0.5
    assert reference.activation("tanh", np.array([0.0]))[0] == 0.0
    np.testing.assert_allclose(reference.activation("sigmoid", np.array([math.log(3.0)])), [0.75], rtol=1e-15)
    np.testing.assert_array_equal(reference.activation("relu", np.array([[-2.0, 0.0, 3.0]])), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(reference.activation("identity", np.array([[-2.0, 0.5]])), [[-2.0, 0.5]])


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
    np.testing.assert_array_equal(reference.activation_backward("softmax", np.full((1, 4), 0.25), np.ones((1, 4))), np.zeros((1, 4)))


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


def test_binary_cross_entropy_with_logits_known_values():
    # sigmoid(0) = 1/2 whatever the target: the loss is log 2, the gradient (1/2 - t) / n.
    value, dlogits = reference.loss("binary_cross_entropy_with_logits", np.zeros(4), np.array([0.0, 0.25, 0.5, 1.0]))
    assert value == pytest.approx(math.log(2.0), rel=1e-15)
    np.testing.assert_array_equal(dlogits, [0.125, 0.0625, 0.0, -0.125])
    # z = log 3: sigmoid = 3/4, loss of t = 1 is -log(3/4), of t = 0 is -log(1/4).
    value, dlogits = reference.loss("binary_cross_entropy_with_logits", np.full(2, math.log(3.0)), np.array([1.0, 0.0]))
    assert value == pytest.approx((math.log(4.0 / 3.0) + math.log(4.0)) / 2, rel=1e-15)
    np.testing.assert_allclose(dlogits, [-0.125, 0.375], rtol=1e-15)


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
    plain, no_velocity = reference.sgd_update(param, grad, lr=0.5, l1=0.01, l2=0.1, l1_step="subgradient")
    assert no_velocity is None
    np.testing.assert_allclose(plain, [1.0 - 0.305, -2.0 - 0.145, -0.25], rtol=1e-15)

    # v = 0.9 * 1 + 0.5 = 1.4; classic steps by v, Nesterov by g + 0.9 v = 1.76
    classic, new_velocity = reference.sgd_update(param, grad, velocity, lr=0.5, momentum=0.9)
    np.testing.assert_allclose(new_velocity, [1.4, 1.4, 1.4], rtol=1e-15)
    np.testing.assert_allclose(classic, [0.3, -2.7, -0.7], rtol=1e-15)
    nesterov, _ = reference.sgd_update(param, grad, velocity, lr=0.5, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(nesterov, [1.0 - 0.88, -2.0 - 0.88, -0.88], rtol=1e-15)
    np.testing.assert_array_equal(velocity, [1.0, 1.0, 1.0])  # inputs left alone


def test_adam_update_hand_computed_steps():
    # beta1 = 1/2, beta2 = 3/4 and eps = 0 keep every number exact in binary.
    settings = dict(lr=0.3, beta1=0.5, beta2=0.75, eps=0.0)
    param, m, v = np.array([1.0]), np.zeros(1), np.zeros(1)
    # g = 2: m = 1, v = 1; m_hat = 1 / (1 - 1/2) = 2, v_hat = 1 / (1 - 3/4) = 4; step 2 / 2.
    param, m, v = reference.adam_update(param, np.array([2.0]), m, v, step=1, **settings)
    np.testing.assert_array_equal([param, m, v], [[0.7], [1.0], [1.0]])
    # g = -2: m = -1/2, v = 7/4; m_hat = (-1/2) / (3/4) = -2/3, v_hat = (7/4) / (7/16) = 4.
    before = param.copy()
    param, m, v = reference.adam_update(param, np.array([-2.0]), m, v, step=2, **settings)
    np.testing.assert_array_equal([m, v], [[-0.5], [1.75]])
    np.testing.assert_allclose(param, 0.7 + 0.3 * (2.0 / 3.0) / 2.0, rtol=1e-15)
    np.testing.assert_array_equal(before, [0.7])  # inputs left alone


def test_adam_update_adds_l1_and_l2_to_the_gradient():
    param = np.array([1.0, -2.0, 0.0])
    grad = np.array([0.5, 0.5, 0.5])
    # g = grad + 0.1 * param + 0.01 * sign(param) = [0.61, 0.29, 0.5]; at the first step
    # m_hat = g and v_hat = g^2, so each weight moves by lr g / (|g| + eps).
    new, m, v = reference.adam_update(param, grad, np.zeros(3), np.zeros(3), step=1, lr=0.5, l1=0.01, l2=0.1, l1_step="subgradient")
    g = np.array([0.61, 0.29, 0.5])
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-14)
    np.testing.assert_allclose(new, param - 0.5 * g / (g + 1e-8), rtol=1e-15)


def test_proximal_l1_soft_thresholds_after_the_step_by_hand():
    param = np.array([1.0, -2.0, 0.0, 0.004, -0.2])
    grad = np.array([0.5, 0.5, 0.5, 0.0, -0.4])
    # SGD: stepped = param - 0.5 (grad + 0.1 param) = [0.7, -2.15, -0.25, 0.0038, 0.01];
    # then each moves lr l1 = 0.005 towards 0, stopping there.
    sgd, _ = reference.sgd_update(param, grad, lr=0.5, l1=0.01, l2=0.1)
    np.testing.assert_allclose(sgd, [0.695, -2.145, -0.245, 0.0, 0.005], rtol=1e-14)
    assert sgd[3] == 0.0
    # Adam's first step: m_hat = g, v_hat = g^2, D = |g| + eps; stepped = p - lr sign(g);
    # threshold lr l1 / D. A weight without gradient (D = eps) is set to 0 at once.
    g = grad + 0.1 * param
    adam, _, _ = reference.adam_update(param, grad, np.zeros(5), np.zeros(5), step=1, lr=0.5, l1=0.01, l2=0.1)
    D = np.abs(g) + 1e-8
    stepped = param - 0.5 * g / D
    np.testing.assert_allclose(adam, np.sign(stepped) * np.maximum(np.abs(stepped) - 0.005 / D, 0), rtol=1e-14)
    assert adam[3] == 0.0 and adam[0] == pytest.approx(0.5 - 0.005 / 0.6)


def test_adam_eps_is_added_after_the_square_root_as_in_pytorch():
    # grad = eps: the first step is lr eps / (eps + eps) = lr / 2. With eps inside the
    # square root it would be lr eps / sqrt(eps^2 + eps), about 1e-4 lr.
    new, _, _ = reference.adam_update(np.zeros(1), np.array([1e-8]), np.zeros(1), np.zeros(1), step=1, lr=1.0)
    np.testing.assert_allclose(new, [-0.5], rtol=1e-12)


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


def test_softmax_cross_entropy_soft_labels_known_values():
    # A uniform target on equal logits: the loss is log C and the gradient vanishes.
    value, dpred = reference.loss("softmax_cross_entropy", np.zeros((2, 4)), np.full((2, 4), 0.25))
    assert value == pytest.approx(math.log(4.0), rel=1e-15)
    np.testing.assert_array_equal(dpred, np.zeros((2, 4)))
    # Softmax [1/4, 3/4] against t = [1/2, 1/2]: -(log(1/4) + log(3/4)) / 2, and a target
    # row summing to 2 weighs the softmax twice: (2 softmax - t) / rows.
    logits = np.array([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
    target = np.array([[0.5, 0.5], [1.0, 1.0]])
    value, dpred = reference.loss("softmax_cross_entropy", logits, target)
    assert value == pytest.approx((1.5 * (math.log(4.0) + math.log(4.0 / 3.0))) / 2, rel=1e-15)
    np.testing.assert_allclose(dpred, [[-0.125, 0.125], [-0.25, 0.25]], rtol=1e-15)


def test_softmax_cross_entropy_one_hot_rows_equal_integer_labels():
    rng = np.random.default_rng(7)
    logits = 3.0 * rng.standard_normal((5, 4))
    labels = np.array([3, 0, 1, 1, 2])
    by_label = reference.loss("softmax_cross_entropy", logits, labels)
    by_row = reference.loss("softmax_cross_entropy", logits, np.eye(4)[labels])
    assert by_row[0] == pytest.approx(by_label[0], rel=1e-15)
    np.testing.assert_allclose(by_row[1], by_label[1], rtol=1e-15, atol=1e-17)


def test_binary_cross_entropy_with_logits_at_plus_minus_1000():
    logits = np.array([-1000.0, -1000.0, 1000.0, 1000.0, 0.0])
    target = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    value, dlogits = reference.loss("binary_cross_entropy_with_logits", logits, target)
    assert value == pytest.approx((1000.0 + 1000.0 + math.log(2.0)) / 5, rel=1e-15)
    np.testing.assert_array_equal(dlogits, np.array([0.0, -1.0, 1.0, 0.0, -0.5]) / 5)


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
    np.testing.assert_allclose(dx, numerical_gradient(lambda v: scalar_loss(v, weight, bias), x), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(dweight, numerical_gradient(lambda v: scalar_loss(x, v, bias), weight), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(dbias, numerical_gradient(lambda v: scalar_loss(x, weight, v), bias), rtol=FD_RTOL, atol=FD_ATOL)


def assert_loss_gradient_matches_finite_differences(name, pred, target):
    _, dpred = reference.loss(name, pred, target)
    expected = numerical_gradient(lambda p: reference.loss(name, p, target)[0], pred)
    np.testing.assert_allclose(dpred, expected, rtol=FD_RTOL, atol=FD_ATOL)


def test_mse_gradient_matches_finite_differences():
    pred, target = np.random.default_rng(3).standard_normal((2, 4, 3))
    assert_loss_gradient_matches_finite_differences("mse", pred, target)


def test_binary_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    pred = rng.uniform(0.05, 0.95, (4, 3))  # away from the clamps
    target = rng.uniform(0.0, 1.0, (4, 3))  # soft labels are allowed
    assert_loss_gradient_matches_finite_differences("binary_cross_entropy", pred, target)


def test_softmax_cross_entropy_gradient_matches_finite_differences():
    logits = 3.0 * np.random.default_rng(5).standard_normal((4, 6))
    assert_loss_gradient_matches_finite_differences("softmax_cross_entropy", logits, np.array([0, 5, 2, 2]))


def test_binary_cross_entropy_with_logits_gradient_matches_finite_differences():
    rng = np.random.default_rng(8)
    logits = 4.0 * rng.standard_normal((4, 3))
    assert_loss_gradient_matches_finite_differences("binary_cross_entropy_with_logits", logits, rng.uniform(0.0, 1.0, (4, 3)))


def test_binary_cross_entropy_with_logits_equals_bce_of_the_sigmoid():
    # The probability path (sigmoid, then BCELoss, then back through the sigmoid) shares no
    # formula with the softplus one; away from saturation neither clamps.
    rng = np.random.default_rng(9)
    logits = 3.0 * rng.standard_normal((6, 5))
    target = rng.uniform(0.0, 1.0, (6, 5))
    value, dlogits = reference.loss("binary_cross_entropy_with_logits", logits, target)
    probability = reference.sigmoid(logits)
    want_value, dprobability = reference.loss("binary_cross_entropy", probability, target)
    assert value == pytest.approx(want_value, rel=1e-13)
    np.testing.assert_allclose(dlogits, reference.sigmoid_backward(probability, dprobability), rtol=1e-12, atol=1e-15)


def test_softmax_cross_entropy_soft_labels_gradient_matches_finite_differences():
    rng = np.random.default_rng(10)
    logits = 3.0 * rng.standard_normal((4, 6))
    target = rng.uniform(0.0, 1.0, (4, 6))
    target[:3] /= target[:3].sum(axis=1, keepdims=True)  # the last row sums to about 3
    assert_loss_gradient_matches_finite_differences("softmax_cross_entropy", logits, target)


def test_softmax_cross_entropy_value_equals_minus_log_softmax():
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((5, 4))
    labels = np.array([3, 0, 1, 2, 3])
    value, _ = reference.loss("softmax_cross_entropy", logits, labels)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(probabilities[np.arange(5), labels])), rel=1e-14)


# PyTorch in float64: an oracle written by other people (skipped without torch)

TORCH_RTOL = 1e-12  # float64 on both sides: only the order of operations differs


def torch_or_skip():
    return pytest.importorskip("torch")


def test_adam_update_matches_torch_optim_adam():
    torch = torch_or_skip()
    settings = dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, l1=1e-2, l2=1e-2)
    rng = np.random.default_rng(11)
    param = rng.standard_normal((7, 9))
    param[::2, ::3] = 0.0  # sign(0) = 0, as torch's abs backward
    param_t = torch.tensor(param, requires_grad=True)
    optimizer = torch.optim.Adam(
        [param_t],
        lr=settings["lr"],
        betas=(settings["beta1"], settings["beta2"]),
        eps=settings["eps"],
        weight_decay=settings["l2"],
    )
    m, v = np.zeros_like(param), np.zeros_like(param)
    for step in range(1, 6):
        grad = rng.standard_normal(param.shape)
        optimizer.zero_grad()
        # torch has no L1 option: the L1 penalty's gradient comes from autograd.
        (settings["l1"] * param_t.abs().sum() + (param_t * torch.from_numpy(grad)).sum()).backward()
        optimizer.step()
        param, m, v = reference.adam_update(param, grad, m, v, step=step, l1_step="subgradient", **settings)
        np.testing.assert_allclose(param, param_t.detach().numpy(), rtol=TORCH_RTOL, atol=TORCH_RTOL)
    state = optimizer.state[param_t]
    np.testing.assert_allclose(m, state["exp_avg"].numpy(), rtol=TORCH_RTOL, atol=1e-15)
    np.testing.assert_allclose(v, state["exp_avg_sq"].numpy(), rtol=TORCH_RTOL, atol=1e-15)


def torch_loss_and_gradient(torch_loss, pred, target):
    import torch

    pred_t = torch.tensor(pred, requires_grad=True)
    value = torch_loss(pred_t, torch.from_numpy(target))
    value.backward()
    return value.item(), pred_t.grad.numpy()


def test_binary_cross_entropy_with_logits_matches_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(12)
    logits = np.concatenate([5.0 * rng.standard_normal((4, 7)), [[1000.0, -1000.0, 1000.0, -1000.0, 0.0, 40.0, -40.0]]])
    target = rng.uniform(0.0, 1.0, logits.shape)
    target[-1, :4] = [1.0, 0.0, 0.0, 1.0]
    value, dlogits = reference.loss("binary_cross_entropy_with_logits", logits, target)
    want_value, want_dlogits = torch_loss_and_gradient(torch.nn.functional.binary_cross_entropy_with_logits, logits, target)
    assert value == pytest.approx(want_value, rel=TORCH_RTOL)
    np.testing.assert_allclose(dlogits, want_dlogits, rtol=TORCH_RTOL, atol=1e-17)


def test_softmax_cross_entropy_soft_labels_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(13)
    logits = np.concatenate([4.0 * rng.standard_normal((5, 6)), [[1000.0, -1000.0, 0.0, 1000.0, 3.0, -3.0]]])
    target = rng.uniform(0.0, 1.0, logits.shape)
    target[:3] /= target[:3].sum(axis=1, keepdims=True)  # the other rows are not distributions
    value, dpred = reference.loss("softmax_cross_entropy", logits, target)
    want_value, want_dpred = torch_loss_and_gradient(torch.nn.functional.cross_entropy, logits, target)
    assert value == pytest.approx(want_value, rel=TORCH_RTOL)
    np.testing.assert_allclose(dpred, want_dpred, rtol=TORCH_RTOL, atol=1e-17)


# The VAE reference: closed forms, finite differences, PyTorch autograd, Monte Carlo KL

VAE_SIZES = dict(features=5, hidden=4, latent=3, classes=2, rows=6)


def vae_parameters(rng, activation="tanh", conditional=False, scale=1.0):
    """A small VAE: F (+ C) -> H by the encoder, H -> L by each head, L (+ C) -> H -> F;
    scale = 0 gives all-zero parameters."""
    s = VAE_SIZES
    extra = s["classes"] if conditional else 0

    def linear(a, b):
        return scale * rng.standard_normal((a, b)) / math.sqrt(a), scale * 0.1 * rng.standard_normal(b)

    return {
        "encoder": [(*linear(s["features"] + extra, s["hidden"]), activation)],
        "mean": linear(s["hidden"], s["latent"]),
        "log_var": linear(s["hidden"], s["latent"]),
        "decoder": [(*linear(s["latent"] + extra, s["hidden"]), activation), (*linear(s["hidden"], s["features"]), "identity")],
    }


def vae_batch(rng, reconstruction, conditional):
    s = VAE_SIZES
    x = rng.uniform(0.0, 1.0, (s["rows"], s["features"]))  # bernoulli: soft targets in [0, 1]
    if reconstruction == "gaussian":
        x = 2.0 * rng.standard_normal((s["rows"], s["features"]))
    eps = rng.standard_normal((s["rows"], s["latent"]))
    condition = np.eye(s["classes"])[rng.integers(0, s["classes"], s["rows"])] if conditional else None
    return x, eps, condition


def parameter_slots(params):
    """(key, layer, 0 for the weight or 1 for the bias) of every array in params."""
    slots = []
    for key in ("encoder", "decoder"):
        slots += [(key, layer, slot) for layer in range(len(params[key])) for slot in (0, 1)]
    return slots + [(key, None, slot) for key in ("mean", "log_var") for slot in (0, 1)]


def at_slot(tree, key, layer, slot):
    return (tree[key] if layer is None else tree[key][layer])[slot]


def with_array(params, key, layer, slot, array):
    """A copy of params with one array replaced."""
    new = {name: list(value) for name, value in params.items()}
    if layer is None:
        new[key][slot] = array
        new[key] = tuple(new[key])
    else:
        entry = list(new[key][layer])
        entry[slot] = array
        new[key][layer] = tuple(entry)
    return new


def test_gaussian_kl_known_values():
    # N(0, 1) against itself: 0. Mean 1, sigma 1: 1/2 per dimension. Mean 0, sigma^2 = e:
    # -1/2 (1 + 1 - e) per dimension.
    mean = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    log_var = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(reference.gaussian_kl(mean, log_var), [0.0, 1.0, math.e - 2.0], rtol=1e-15, atol=0)


def test_reparameterize_known_values():
    # sigma = exp(log_var / 2): log_var = 2 log 3 gives sigma = 3.
    z = reference.reparameterize(np.array([[1.0, -1.0]]), np.array([[2 * math.log(3.0), 0.0]]), np.array([[0.5, 2.0]]))
    np.testing.assert_allclose(z, [[2.5, 1.0]], rtol=1e-15)


def test_gaussian_kl_and_reparameterize_backward_match_finite_differences():
    rng = np.random.default_rng(14)
    mean, log_var, eps = rng.standard_normal((3, 4, 3))
    dkl = rng.standard_normal(4)
    dz = rng.standard_normal((4, 3))
    dmean, dlog_var = reference.gaussian_kl_backward(mean, log_var, dkl)
    np.testing.assert_allclose(dmean, numerical_gradient(lambda m: dkl @ reference.gaussian_kl(m, log_var), mean), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(dlog_var, numerical_gradient(lambda v: dkl @ reference.gaussian_kl(mean, v), log_var), rtol=FD_RTOL, atol=FD_ATOL)
    dmean, dlog_var = reference.reparameterize_backward(log_var, eps, dz)
    np.testing.assert_allclose(dmean, numerical_gradient(lambda m: np.sum(dz * reference.reparameterize(m, log_var, eps)), mean), rtol=FD_RTOL, atol=FD_ATOL)
    np.testing.assert_allclose(dlog_var, numerical_gradient(lambda v: np.sum(dz * reference.reparameterize(mean, v, eps)), log_var), rtol=FD_RTOL, atol=FD_ATOL)


def test_gaussian_kl_matches_a_monte_carlo_estimate():
    # KL(q || p) = E_q[log q(z) - log p(z)], estimated from z drawn by the reparameterization
    # (so a wrong sigma there shows too). Each row's estimate is a mean of N independent
    # terms: it is within 5 standard errors (estimated from the same draws) of the closed
    # form except with probability ~6e-7; the seed is fixed, so the test is deterministic.
    # With N = 10^6 the standard errors are ~0.004 on KLs of ~3: the test resolves ~0.02.
    # (Row 0 is N(0, 1) itself: every term is exactly 0.)
    rng = np.random.default_rng(15)
    mean = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [0.3, 0.0, -0.7]])
    log_var = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, -1.0], [-3.0, 2.0, 0.2]])
    draws = 1_000_000
    for row in range(len(mean)):
        m, v = np.broadcast_to(mean[row], (draws, 3)), np.broadcast_to(log_var[row], (draws, 3))
        eps = rng.standard_normal((draws, 3))
        z = reference.reparameterize(m, v, eps)
        log_q = -0.5 * np.sum(math.log(2 * math.pi) + v + (z - m) ** 2 / np.exp(v), axis=1)
        log_p = -0.5 * np.sum(math.log(2 * math.pi) + z**2, axis=1)
        terms = log_q - log_p
        standard_error = terms.std(ddof=1) / math.sqrt(draws)
        closed_form = reference.gaussian_kl(mean[row : row + 1], log_var[row : row + 1])[0]
        assert abs(terms.mean() - closed_form) <= 5 * standard_error + 1e-12, (row, terms.mean(), closed_form, standard_error)


def test_vae_loss_known_value():
    # Zero weights and biases: mean = log_var = 0, so KL = 0 and z = eps; the decoder's
    # logits are 0, so each feature costs log 2 whatever x: the loss is F log 2.
    params = vae_parameters(np.random.default_rng(16), scale=0.0)
    x, eps, _ = vae_batch(np.random.default_rng(17), "bernoulli", False)
    loss, gradients = reference.vae_loss(params, x, eps, beta=3.0)
    assert loss == pytest.approx(VAE_SIZES["features"] * math.log(2.0), rel=1e-15)
    # The output bias moves toward the mean target: d loss / d bias_j = mean_i (1/2 - x_ij).
    np.testing.assert_allclose(gradients["decoder"][-1][1], np.mean(0.5 - x, axis=0), rtol=1e-14)


def test_vae_gaussian_reconstruction_is_half_the_squared_error_summed_over_features():
    output, x = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [3.0, 0.0]])
    value, doutput = reference.vae_reconstruction("gaussian", output, x)
    assert value == pytest.approx((0.5 * 5.0 + 0.5 * 9.0) / 2, rel=1e-15)  # per sample, then the batch mean
    np.testing.assert_allclose(doutput, (output - x) / 2, rtol=1e-15)


def test_vae_refuses_a_decoder_that_does_not_end_linear():
    params = vae_parameters(np.random.default_rng(18))
    params["decoder"][-1] = (*params["decoder"][-1][:2], "sigmoid")
    x, eps, _ = vae_batch(np.random.default_rng(19), "bernoulli", False)
    with pytest.raises(ValueError, match="linear"):
        reference.vae_loss(params, x, eps)


VAE_CASES = [
    ("bernoulli", False, 1.0),
    ("bernoulli", True, 0.5),
    ("gaussian", False, 2.0),
    ("gaussian", True, 1.0),
]


@pytest.mark.parametrize("reconstruction, conditional, beta", VAE_CASES)
def test_vae_gradients_match_finite_differences(reconstruction, conditional, beta):
    rng = np.random.default_rng(20)
    params = vae_parameters(rng, "tanh", conditional)  # smooth: no kink within STEP
    x, eps, condition = vae_batch(rng, reconstruction, conditional)
    options = dict(reconstruction=reconstruction, beta=beta, condition=condition)
    _, gradients = reference.vae_loss(params, x, eps, **options)
    for slot in parameter_slots(params):
        expected = numerical_gradient(lambda a: reference.vae_loss(with_array(params, *slot, a), x, eps, **options)[0], at_slot(params, *slot))
        np.testing.assert_allclose(at_slot(gradients, *slot), expected, rtol=FD_RTOL, atol=FD_ATOL, err_msg=str(slot))


def test_gaussian_kl_matches_torch_distributions():
    torch = torch_or_skip()
    rng = np.random.default_rng(22)
    mean, log_var = 2.0 * rng.standard_normal((2, 5, 3))
    q = torch.distributions.Normal(torch.from_numpy(mean), torch.from_numpy(np.exp(0.5 * log_var)))
    p = torch.distributions.Normal(torch.zeros(5, 3, dtype=torch.float64), torch.ones(5, 3, dtype=torch.float64))
    want = torch.distributions.kl_divergence(q, p).sum(dim=1).numpy()
    np.testing.assert_allclose(reference.gaussian_kl(mean, log_var), want, rtol=TORCH_RTOL)


def torch_vae_loss(torch, params, x, eps, reconstruction, beta, condition):
    """The same VAE written in torch, from the description rather than from reference.py."""
    functional = torch.nn.functional
    activations = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda a: a}
    x, eps = torch.from_numpy(x), torch.from_numpy(eps)
    condition = None if condition is None else torch.from_numpy(condition)

    def mlp(layers, a):
        for weight, bias, activation in layers:
            a = activations[activation](a @ weight + bias)
        return a

    hidden = mlp(params["encoder"], x if condition is None else torch.cat([x, condition], dim=1))
    mean = hidden @ params["mean"][0] + params["mean"][1]
    log_var = hidden @ params["log_var"][0] + params["log_var"][1]
    z = mean + torch.exp(0.5 * log_var) * eps
    output = mlp(params["decoder"], z if condition is None else torch.cat([z, condition], dim=1))
    if reconstruction == "bernoulli":
        recon = functional.binary_cross_entropy_with_logits(output, x, reduction="sum")
    else:
        recon = 0.5 * functional.mse_loss(output, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
    return (recon + beta * kl) / len(x)


@pytest.mark.parametrize("reconstruction, conditional, beta", VAE_CASES)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_vae_matches_torch_autograd(reconstruction, conditional, beta, activation):
    torch = torch_or_skip()
    rng = np.random.default_rng(21)
    params = vae_parameters(rng, activation, conditional)
    x, eps, condition = vae_batch(rng, reconstruction, conditional)
    loss, gradients = reference.vae_loss(params, x, eps, reconstruction=reconstruction, beta=beta, condition=condition)

    leaves = {slot: torch.tensor(at_slot(params, *slot), requires_grad=True) for slot in parameter_slots(params)}
    torch_params = params
    for slot, leaf in leaves.items():
        torch_params = with_array(torch_params, *slot, leaf)
    want = torch_vae_loss(torch, torch_params, x, eps, reconstruction, beta, condition)
    want.backward()
    assert loss == pytest.approx(want.item(), rel=TORCH_RTOL)
    for slot, leaf in leaves.items():
        np.testing.assert_allclose(at_slot(gradients, *slot), leaf.grad.numpy(), rtol=TORCH_RTOL, atol=1e-15, err_msg=str(slot))
