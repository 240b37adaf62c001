"""The ops the kernel suite leaves out: Adam, BCE from logits and cross entropy against
class probabilities, each against the float64 reference at every instruction set."""

import numpy as np
import pytest
import reference

from steepest import ops


@pytest.mark.parametrize("l1_step", ["proximal", "subgradient"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_update_matches_the_formula_over_several_steps(isa, dtype, l1_step):
    rng = np.random.default_rng(0)
    n = 37  # a vector body and a scalar tail at every lane width
    param = rng.standard_normal(n).astype(dtype)
    m, v = np.zeros(n, dtype), np.zeros(n, dtype)
    want_p, want_m, want_v = param.astype(np.float64), np.zeros(n), np.zeros(n)
    lr, beta1, beta2, eps, l1, l2 = 0.01, 0.8, 0.99, 1e-6, 1e-3, 1e-2
    for step in range(1, 4):
        grad = rng.standard_normal(n).astype(dtype)
        ops.adam_update(param, grad, m, v, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, l1=l1, l2=l2, l1_step=l1_step)
        want_p, want_m, want_v = reference.adam_update(
            want_p, grad, want_m, want_v, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, l1=l1, l2=l2, l1_step=l1_step
        )
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(param, want_p, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(m, want_m, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(v, want_v, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_proximal_l1_sets_exact_zeros_where_the_reference_does(isa, dtype):
    rng = np.random.default_rng(3)
    n = 41
    param = (0.01 * rng.standard_normal(n)).astype(dtype)
    grad = (0.1 * rng.standard_normal(n)).astype(dtype)
    grad[::4] = 0  # no gradient: D = eps, a threshold far above any weight
    m, v = np.zeros(n, dtype), np.zeros(n, dtype)
    want, _, _ = reference.adam_update(param, grad, m, v, step=1, lr=0.01, l1=1e-3)
    ops.adam_update(param, grad, m, v, step=1, lr=0.01, l1=1e-3)
    assert np.count_nonzero(want == 0) >= n // 4
    np.testing.assert_array_equal(param == 0, want == 0)
    # float32's 1 - beta2 is 1.3e-5 off: the step lr·m̂/D carries it, as in the test above.
    tolerance = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(param, want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_equals_bce_of_the_sigmoid_and_stays_finite_at_1000(isa, dtype):
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((9, 7)) * 4).astype(dtype)
    target = rng.random((9, 7)).astype(dtype)
    value, dlogits = ops.loss("binary_cross_entropy_with_logits", logits, target)
    probability = reference.sigmoid(logits)
    want_value, dprobability = reference.binary_cross_entropy(probability, target)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert value == pytest.approx(want_value, rel=rtol)
    np.testing.assert_allclose(dlogits, reference.sigmoid_backward(probability, dprobability), rtol=rtol, atol=rtol / logits.size)

    extreme = np.array([[-1000.0, 1000.0]], dtype)
    value, dlogits = ops.loss("binary_cross_entropy_with_logits", extreme, np.array([[1.0, 0.0]], dtype))
    assert value == pytest.approx(1000.0, rel=1e-6)  # log(1 + e^1000) = 1000 to within e^-1000
    np.testing.assert_allclose(dlogits, [[-0.5, 0.5]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_against_class_probabilities(isa, dtype):
    rng = np.random.default_rng(2)
    logits = (rng.standard_normal((6, 5)) * 3).astype(dtype)
    target = rng.random((6, 5)).astype(dtype)
    target /= target.sum(axis=1, keepdims=True)
    value, dlogits = ops.loss("softmax_cross_entropy", logits, target)
    want_value, want_dlogits = reference.loss("softmax_cross_entropy", logits, target)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert value == pytest.approx(want_value, rel=rtol)
    np.testing.assert_allclose(dlogits, want_dlogits, rtol=rtol, atol=rtol / 30)
    # One-hot rows give exactly what integer labels give.
    labels = rng.integers(0, 5, 6)
    one_hot = np.eye(5, dtype=dtype)[labels]
    np.testing.assert_allclose(
        ops.loss("softmax_cross_entropy", logits, one_hot)[1], ops.loss("softmax_cross_entropy", logits, labels)[1], rtol=rtol, atol=1e-7
    )
