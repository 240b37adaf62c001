"""steepest.ops against PyTorch in float64: forward passes, autograd gradients,
the three losses and SGD steps of torch.optim.SGD. PyTorch is the independent
oracle here; the NumPy reference is not involved."""

import numpy as np
import pytest

from steepest import ops

torch = pytest.importorskip("torch")
functional = torch.nn.functional

TORCH_ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda z: torch.softmax(z, dim=1),
}
SHAPES = [(1, 1, 1), (7, 300, 17), (45, 65, 33)]
# float64 on both sides: only summation order differs.
RTOL = 1e-12


def assert_matches(got, want, rtol=RTOL):
    """|got - want| within rtol of the largest value, so cancellation is not a failure."""
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(np.max(np.abs(want)), 1e-300))


def shape_id(shape):
    return "x".join(map(str, shape))


def leaf(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("activation", TORCH_ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_dense_forward_and_backward_match_autograd(isa, shape, activation):
    m, k, n = shape
    rng = np.random.default_rng(list(shape))
    x, weight, bias = rng.standard_normal((m, k)), rng.standard_normal((k, n)) / np.sqrt(k), rng.standard_normal(n)
    dy = rng.standard_normal((m, n))
    x_t, weight_t, bias_t = leaf(x), leaf(weight), leaf(bias)
    y_t = TORCH_ACTIVATIONS[activation](x_t @ weight_t + bias_t)
    (y_t * torch.from_numpy(dy)).sum().backward()

    y = ops.dense_forward(x, weight, bias, activation)
    assert_matches(y, y_t)
    dx, dweight, dbias = ops.dense_backward(x, weight, y, dy, activation)
    assert_matches(dx, x_t.grad)
    assert_matches(dweight, weight_t.grad)
    assert_matches(dbias, bias_t.grad)


@pytest.mark.parametrize("name", TORCH_ACTIVATIONS)
def test_activation_and_backward_match_autograd(isa, name):
    rng = np.random.default_rng(3)
    x = np.concatenate([5.0 * rng.standard_normal((4, 33)), np.full((1, 33), 1000.0), np.full((1, 33), -1000.0)])
    x[4, ::2] = -1000.0  # rows mixing both saturations
    dy = rng.standard_normal(x.shape)
    x_t = leaf(x)
    y_t = TORCH_ACTIVATIONS[name](x_t)
    (y_t * torch.from_numpy(dy)).sum().backward()

    y = ops.activation(name, x)
    assert_matches(y, y_t)
    assert_matches(ops.activation_backward(name, y, dy), x_t.grad)


def check_loss_against_torch(name, pred, target, torch_loss, torch_target, dpred_rtol=RTOL):
    pred_t = leaf(pred)
    value_t = torch_loss(pred_t, torch_target)
    value_t.backward()
    value, dpred = ops.loss(name, pred, target)
    assert value == pytest.approx(value_t.item(), rel=RTOL, abs=1e-300)
    assert_matches(dpred, pred_t.grad, rtol=dpred_rtol)


@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (64, 10)], ids=shape_id)
def test_mse_matches_torch(isa, shape):
    rng = np.random.default_rng(list(shape))
    pred, target = rng.standard_normal((2, *shape))
    check_loss_against_torch("mse", pred, target, functional.mse_loss, torch.from_numpy(target))


@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (64, 10)], ids=shape_id)
def test_binary_cross_entropy_matches_torch(isa, shape):
    rng = np.random.default_rng(list(shape))
    pred = rng.uniform(0.0, 1.0, shape)
    target = rng.uniform(0.0, 1.0, shape)
    check_loss_against_torch("binary_cross_entropy", pred, target, functional.binary_cross_entropy, torch.from_numpy(target))


def test_binary_cross_entropy_clamps_like_torch_at_0_and_1(isa):
    p = np.array([0.0, 1e-300, 1e-20, 0.5, 1.0 - 1e-16, 1.0])
    pred, target = np.meshgrid(p, [0.0, 0.3, 1.0])  # every probability against every label
    # Where p(1 - p) < 1e-12 torch divides by float32(1e-12) = 9.99999996e-13 even in
    # float64, steepest by 1e-12 as specified: the gradients there differ by 4e-9.
    check_loss_against_torch(
        "binary_cross_entropy",
        pred,
        target,
        functional.binary_cross_entropy,
        torch.from_numpy(target),
        dpred_rtol=1e-8,
    )


@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (64, 10)], ids=shape_id)
def test_softmax_cross_entropy_matches_torch(isa, shape):
    rng = np.random.default_rng(list(shape))
    logits = 4.0 * rng.standard_normal(shape)
    labels = rng.integers(0, shape[1], shape[0])
    check_loss_against_torch("softmax_cross_entropy", logits, labels, functional.cross_entropy, torch.from_numpy(labels))


def test_softmax_cross_entropy_matches_torch_at_plus_minus_1000(isa):
    logits = np.array([[1000.0, -1000.0, 0.0]] * 3 + [[1000.0] * 3, [-1000.0] * 3])
    labels = np.array([0, 1, 2, 1, 2])
    check_loss_against_torch("softmax_cross_entropy", logits, labels, functional.cross_entropy, torch.from_numpy(labels))


SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "weight decay": dict(lr=0.1, l2=0.01),
    "l1": dict(lr=0.1, l1=0.01),
    "momentum": dict(lr=0.05, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "everything": dict(lr=0.05, momentum=0.5, nesterov=True, l1=0.01, l2=0.01),
}


@pytest.mark.parametrize("config", SGD_CONFIGS)
def test_sgd_steps_match_torch_optimizer(isa, config):
    options = SGD_CONFIGS[config]
    momentum, l1 = options.get("momentum", 0.0), options.get("l1", 0.0)
    rng = np.random.default_rng(5)
    param = rng.standard_normal((9, 17))
    param[::2, ::3] = 0.0  # L1's sign(0) is 0, as torch's abs backward
    param_t = torch.tensor(param, requires_grad=True)
    optimizer = torch.optim.SGD(
        [param_t],
        lr=options["lr"],
        momentum=momentum,
        nesterov=options.get("nesterov", False),
        weight_decay=options.get("l2", 0.0),
    )
    velocity = np.zeros_like(param) if momentum else None

    for _ in range(3):
        grad = rng.standard_normal(param.shape)
        optimizer.zero_grad()
        # torch has no L1 option: the L1 penalty's gradient comes from autograd.
        (l1 * param_t.abs().sum() + (param_t * torch.from_numpy(grad)).sum()).backward()
        optimizer.step()
        ops.sgd_update(param, grad, velocity, l1_step="subgradient", **options)
        assert_matches(param, param_t)
