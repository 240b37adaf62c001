"""Every op of steepest.ops against the float64 NumPy reference, on every
instruction set this CPU has, in float32 and float64.

Shapes are (M, K, N): a (M, K) @ b (K, N). They are chosen to land on the edges
of the kernels: SIMD lanes (2, 4, 8 and 16 per vector), register tiles (4 to 12
rows by 4 to 32 columns), cache blocks (120 rows, 256 along K, 1024 columns),
element-wise thread tasks (32768 elements), plus 1 and odd sizes. Float32 results
are compared with the reference applied to the same float32 inputs, so only the
kernel's own rounding is measured.
"""

import numpy as np
import pytest
import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import steepest
from steepest import ops

# The isa and dtype fixtures hold for the whole test, so sharing them between
# examples is what we want; drawing examples can be slow when the shared machine is busy.
hypothesis_settings = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LANE_SHAPES = [
    (1, 1, 1),
    (1, 1, 17),
    (1, 17, 1),
    (17, 1, 1),
    (2, 3, 5),
    (3, 4, 5),
    (4, 5, 3),
    (5, 7, 9),
    (7, 8, 9),
    (8, 9, 7),
    (9, 15, 16),
    (15, 16, 17),
    (16, 17, 15),
    (17, 16, 31),
    (31, 33, 32),
    (33, 31, 2),
]
TILE_SHAPES = [
    (5, 9, 23),
    (6, 10, 24),
    (7, 11, 25),
    (8, 3, 31),
    (11, 4, 32),
    (12, 5, 33),
    (13, 6, 15),
    (14, 7, 16),
    (15, 2, 17),
    (23, 8, 47),
    (24, 9, 48),
    (25, 3, 49),
    (32, 64, 64),
    (33, 5, 95),
    (6, 1, 96),
    (14, 2, 97),
    (7, 6, 11),
    (9, 4, 12),
    (8, 5, 13),
]
BLOCK_SHAPES = [
    (9, 255, 17),
    (10, 256, 18),
    (11, 257, 19),
    (3, 511, 5),
    (4, 512, 33),
    (5, 513, 31),
    (3, 1031, 7),
    (119, 5, 9),
    (120, 9, 17),
    (121, 7, 33),
    (255, 7, 9),
    (257, 3, 33),
    (9, 5, 257),
    (33, 3, 511),
    (513, 2, 3),
    (3, 5, 1023),
    (2, 3, 1024),
    (5, 2, 1025),
]
LARGE_SHAPES = [(45, 65, 33), (129, 300, 257), (121, 257, 1025), (300, 700, 200)]
MATMUL_SHAPES = LANE_SHAPES + TILE_SHAPES + BLOCK_SHAPES + LARGE_SHAPES

DENSE_SHAPES = [
    (1, 1, 1),
    (2, 3, 5),
    (7, 8, 9),
    (15, 16, 17),
    (16, 31, 33),
    (45, 65, 33),
    (6, 257, 24),
    (33, 511, 14),
    (121, 33, 1025),
    (300, 700, 200),
]

# (rows, row length): softmax reduces along the row, the rest are elementwise.
ROW_SHAPES = [
    (1, 1),
    (1, 3),
    (2, 4),
    (3, 5),
    (1, 7),
    (2, 8),
    (3, 9),
    (5, 15),
    (4, 16),
    (3, 17),
    (2, 31),
    (3, 32),
    (2, 33),
    (7, 64),
    (64, 100),
    (3, 1001),
    (300, 200),
    (5, 10007),
]

LAYOUTS = {"NN": (False, False), "TN": (True, False), "NT": (False, True), "TT": (True, True)}

SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "l2": dict(lr=0.1, l2=0.01),
    "l1": dict(lr=0.1, l1=0.001),
    # Large enough that some weights land inside the threshold and become exact zeros.
    "l1 proximal to zeros": dict(lr=0.1, l1=2.0),
    "l1 subgradient": dict(lr=0.1, l1=0.001, l1_step="subgradient"),
    "momentum": dict(lr=0.05, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "everything": dict(lr=0.05, momentum=0.5, nesterov=True, l1=0.001, l2=0.01),
    "everything subgradient": dict(lr=0.05, momentum=0.5, nesterov=True, l1=0.001, l2=0.01, l1_step="subgradient"),
}
SGD_SHAPES = [(1,), (3,), (4,), (5,), (7,), (8,), (9,), (15,), (16,), (17,), (33,), (1000,), (4097,), (7, 9), (65, 33)]


def shape_id(shape):
    return "x".join(map(str, shape))


def random_array(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def subnormal(dtype):
    """A value well inside the subnormal range of dtype, below finfo(dtype).tiny."""
    return 1e-40 if np.dtype(dtype) == np.float32 else 1e-310


def matmul_operands(rng, m, k, n, trans_a, trans_b, dtype, scale=1.0):
    a = random_array(rng, (k, m) if trans_a else (m, k), dtype, scale)
    b = random_array(rng, (n, k) if trans_b else (k, n), dtype, scale)
    return a, b


def check_matmul(a, b, layout, dtype, assert_close, out=None):
    trans_a, trans_b = LAYOUTS[layout]
    got = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out)
    assert_close(
        got,
        reference.matmul(a, b, trans_a, trans_b),
        dtype=dtype,
        kernel=f"matmul {layout}",
        magnitude=reference.matmul(np.abs(a), np.abs(b), trans_a, trans_b),
        reduction_length=b.shape[1] if trans_b else b.shape[0],
    )
    return got


def dense_inputs(rng, m, k, n, dtype, scale=1.0):
    x = random_array(rng, (m, k), dtype, scale)
    # Weights scaled like a Glorot initialisation, so pre-activations stay O(1)
    # and sigmoid/tanh/softmax are tested away from saturation too.
    weight = random_array(rng, (k, n), dtype, scale / np.sqrt(k))
    bias = random_array(rng, (n,), dtype, scale)
    dy = random_array(rng, (m, n), dtype, scale)
    return x, weight, bias, dy


def pre_activation_magnitude(x, weight, bias):
    magnitude = np.abs(x).astype(np.float64) @ np.abs(weight)
    return magnitude if bias is None else magnitude + np.abs(bias)


def dz_magnitude(name, y, dy):
    """Bound on the terms of dz = dy * act'(y), elementwise."""
    y, dy = np.abs(y).astype(np.float64), np.abs(dy).astype(np.float64)
    if name == "softmax":
        return y * (dy + np.sum(dy * y, axis=-1, keepdims=True))
    # 1 - y*y and y*(1 - y) lose at most rounding of y*y against 1.
    return dy * (1.0 + y * y)


def row_length_if_softmax(name, x):
    return x.shape[-1] if name == "softmax" else 1


def output_magnitude(name, y):
    """Scale of an activation's own rounding: its output, or 1 for the outputs of
    sigmoid, tanh and softmax, which are rounded relative to 1 at most."""
    return np.abs(y) if name in ("identity", "relu") else np.maximum(np.abs(y), 1.0)


def check_dense_forward(x, weight, bias, activation, dtype, assert_close, out=None):
    got = ops.dense_forward(x, weight, bias, activation, out=out)
    want = reference.dense_forward(x, weight, bias, activation)
    assert_close(
        got,
        want,
        dtype=dtype,
        kernel=f"dense_forward {activation}",
        magnitude=pre_activation_magnitude(x, weight, bias) + output_magnitude(activation, want),
        reduction_length=max(x.shape[1], row_length_if_softmax(activation, want)),
    )
    return got


def check_dense_backward(x, weight, y, dy, activation, dtype, assert_close):
    dx, dweight, dbias = ops.dense_backward(x, weight, y, dy, activation)
    want_dx, want_dweight, want_dbias = reference.dense_backward(x, weight, y, dy, activation)
    dz = dz_magnitude(activation, y, dy)
    m, n = dy.shape
    softmax_sum = row_length_if_softmax(activation, y)
    assert_close(
        dx,
        want_dx,
        dtype=dtype,
        kernel="dense_backward dx",
        magnitude=dz @ np.abs(weight.T),
        reduction_length=max(n, softmax_sum),
    )
    assert_close(
        dweight,
        want_dweight,
        dtype=dtype,
        kernel="dense_backward dweight",
        magnitude=np.abs(x.T) @ dz,
        reduction_length=max(m, softmax_sum),
    )
    assert_close(
        dbias,
        want_dbias,
        dtype=dtype,
        kernel="dense_backward dbias",
        magnitude=dz.sum(axis=0),
        reduction_length=max(m, softmax_sum),
    )


def check_activation(name, x, dtype, assert_close):
    got = ops.activation(name, x)
    want = reference.activation(name, x)
    assert_close(
        got,
        want,
        dtype=dtype,
        kernel=f"activation {name}",
        magnitude=output_magnitude(name, want),
        reduction_length=row_length_if_softmax(name, x),
    )
    return got


def check_activation_backward(name, y, dy, dtype, assert_close):
    got = ops.activation_backward(name, y, dy)
    assert_close(
        got,
        reference.activation_backward(name, y, dy),
        dtype=dtype,
        kernel=f"activation_backward {name}",
        magnitude=dz_magnitude(name, y, dy),
        reduction_length=row_length_if_softmax(name, y),
    )
    return got


def check_loss(name, pred, target, dtype, assert_close):
    value, dpred = ops.loss(name, pred, target)
    want_value, want_dpred = reference.loss(name, pred, target)
    assert isinstance(value, float)
    p = pred.astype(np.float64)
    if name == "mse":
        t = target.astype(np.float64)
        value_magnitude, dpred_magnitude = want_value, 2.0 * (np.abs(p) + np.abs(t)) / p.size
        reduction = p.size
    elif name == "binary_cross_entropy":
        t = target.astype(np.float64)
        # Every term of the value is >= 0 for 0 <= t <= 1, so the value bounds them,
        # except that log(1 - p) is off by up to ~1 ulp of 1 once 1 - p is rounded.
        value_magnitude = want_value + 1.0
        denominator = np.maximum(p * (1.0 - p), reference.BCE_GRAD_EPSILON)
        dpred_magnitude = (np.abs(p) + np.abs(t)) / denominator / p.size
        reduction = p.size
    else:
        # logsumexp(row) - row[label] cancels when one logit dominates.
        value_magnitude = want_value + np.max(np.abs(p))
        dpred_magnitude = 1.0 / p.shape[0]
        reduction = max(p.shape)
    assert_close(
        value,
        want_value,
        dtype=dtype,
        kernel=f"loss {name} value",
        magnitude=value_magnitude,
        reduction_length=reduction,
    )
    assert_close(
        dpred,
        want_dpred,
        dtype=dtype,
        kernel=f"loss {name} dpred",
        magnitude=dpred_magnitude,
        reduction_length=reduction,
    )
    return value, dpred


def test_set_isa_switches_the_level_in_use(isa):
    assert steepest.simd_level() == isa


# matmul


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", MATMUL_SHAPES, ids=shape_id)
def test_matmul(isa, dtype, shape, layout, assert_close):
    m, k, n = shape
    trans_a, trans_b = LAYOUTS[layout]
    a, b = matmul_operands(np.random.default_rng([m, k, n]), m, k, n, trans_a, trans_b, dtype)
    check_matmul(a, b, layout, dtype, assert_close)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (13, 17, 33), (45, 65, 33)], ids=shape_id)
def test_matmul_overwrites_out_in_place(isa, dtype, shape, layout, assert_close):
    m, k, n = shape
    trans_a, trans_b = LAYOUTS[layout]
    a, b = matmul_operands(np.random.default_rng(7), m, k, n, trans_a, trans_b, dtype)
    out = np.full((m, n), np.nan, dtype=dtype)  # a kernel that accumulates into out keeps the NaN
    assert check_matmul(a, b, layout, dtype, assert_close, out=out) is out


@hypothesis_settings
@given(
    m=st.integers(1, 70),
    k=st.integers(1, 300),
    n=st.integers(1, 70),
    layout=st.sampled_from(list(LAYOUTS)),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul_drawn_shapes(isa, dtype, assert_close, m, k, n, layout, scale, seed):
    trans_a, trans_b = LAYOUTS[layout]
    a, b = matmul_operands(np.random.default_rng(seed), m, k, n, trans_a, trans_b, dtype, scale)
    check_matmul(a, b, layout, dtype, assert_close)


# dense layer


@pytest.mark.parametrize("activation", reference.ACTIVATIONS)
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=shape_id)
def test_dense_forward(isa, dtype, shape, activation, assert_close):
    x, weight, bias, _ = dense_inputs(np.random.default_rng(list(shape)), *shape, dtype)
    check_dense_forward(x, weight, bias, activation, dtype, assert_close)


@pytest.mark.parametrize("activation", reference.ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (15, 16, 17), (45, 65, 33)], ids=shape_id)
def test_dense_forward_without_bias(isa, dtype, shape, activation, assert_close):
    x, weight, _, _ = dense_inputs(np.random.default_rng(list(shape)), *shape, dtype)
    check_dense_forward(x, weight, None, activation, dtype, assert_close)


@pytest.mark.parametrize("activation", reference.ACTIVATIONS)
def test_dense_forward_overwrites_out_in_place(isa, dtype, activation, assert_close):
    x, weight, bias, _ = dense_inputs(np.random.default_rng(8), 13, 17, 33, dtype)
    out = np.full((13, 33), np.nan, dtype=dtype)  # a kernel that accumulates into out keeps the NaN
    assert check_dense_forward(x, weight, bias, activation, dtype, assert_close, out=out) is out


@pytest.mark.parametrize("activation", reference.ACTIVATIONS)
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=shape_id)
def test_dense_backward(isa, dtype, shape, activation, assert_close):
    x, weight, bias, dy = dense_inputs(np.random.default_rng(list(shape)), *shape, dtype)
    y = reference.dense_forward(x, weight, bias, activation).astype(dtype)
    check_dense_backward(x, weight, y, dy, activation, dtype, assert_close)


@hypothesis_settings
@given(
    m=st.integers(1, 40),
    k=st.integers(1, 300),
    n=st.integers(1, 40),
    activation=st.sampled_from(reference.ACTIVATIONS),
    with_bias=st.booleans(),
    scale=st.sampled_from([1e-2, 1.0, 30.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_dense_drawn_shapes(isa, dtype, assert_close, m, k, n, activation, with_bias, scale, seed):
    x, weight, bias, dy = dense_inputs(np.random.default_rng(seed), m, k, n, dtype, scale)
    bias = bias if with_bias else None
    check_dense_forward(x, weight, bias, activation, dtype, assert_close)
    y = reference.dense_forward(x, weight, bias, activation).astype(dtype)
    check_dense_backward(x, weight, y, dy, activation, dtype, assert_close)


# activations


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=shape_id)
def test_activation(isa, dtype, shape, name, assert_close):
    x = random_array(np.random.default_rng(list(shape)), shape, dtype, scale=4.0)
    check_activation(name, x, dtype, assert_close)


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
@pytest.mark.parametrize("shape", [(17,), (2, 3, 17), (3, 1, 2, 9)], ids=shape_id)
def test_activation_of_any_ndim_works_over_the_last_axis(isa, dtype, shape, name, assert_close):
    rng = np.random.default_rng(list(shape))
    x = random_array(rng, shape, dtype, scale=4.0)
    check_activation(name, x, dtype, assert_close)
    y = reference.activation(name, x).astype(dtype)
    check_activation_backward(name, y, random_array(rng, shape, dtype), dtype, assert_close)


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=shape_id)
def test_activation_backward(isa, dtype, shape, name, assert_close):
    rng = np.random.default_rng(list(shape))
    y = reference.activation(name, random_array(rng, shape, dtype, scale=4.0)).astype(dtype)
    dy = random_array(rng, shape, dtype)
    check_activation_backward(name, y, dy, dtype, assert_close)


@hypothesis_settings
@given(name=st.sampled_from(reference.ACTIVATIONS), data=st.data())
def test_activation_drawn_values(isa, dtype, assert_close, name, data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40))
    width = dtype.itemsize * 8
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-1000, 1000, width=width)))
    dy = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-10, 10, width=width)))
    check_activation(name, x, dtype, assert_close)
    y = reference.activation(name, x).astype(dtype)
    check_activation_backward(name, y, dy, dtype, assert_close)


# losses


@pytest.mark.parametrize("shape", ROW_SHAPES, ids=shape_id)
def test_mse(isa, dtype, shape, assert_close):
    rng = np.random.default_rng(list(shape))
    check_loss("mse", random_array(rng, shape, dtype), random_array(rng, shape, dtype), dtype, assert_close)


@pytest.mark.parametrize("labels", ["hard", "soft"])
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=shape_id)
def test_binary_cross_entropy(isa, dtype, shape, labels, assert_close):
    rng = np.random.default_rng(list(shape))
    pred = reference.activation("sigmoid", 3.0 * rng.standard_normal(shape)).astype(dtype)
    target = rng.integers(0, 2, shape) if labels == "hard" else rng.uniform(0.0, 1.0, shape)
    check_loss("binary_cross_entropy", pred, target.astype(dtype), dtype, assert_close)


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=shape_id)
def test_softmax_cross_entropy(isa, dtype, shape, label_dtype, assert_close):
    rng = np.random.default_rng(list(shape))
    logits = random_array(rng, shape, dtype, scale=3.0)
    labels = rng.integers(0, shape[1], shape[0]).astype(label_dtype)
    check_loss("softmax_cross_entropy", logits, labels, dtype, assert_close)


@hypothesis_settings
@given(data=st.data())
def test_losses_drawn_values(isa, dtype, assert_close, data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40))
    width = dtype.itemsize * 8
    pred = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-100, 100, width=width)))
    target = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-100, 100, width=width)))
    check_loss("mse", pred, target, dtype, assert_close)

    probabilities = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=width)))
    soft_labels = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=width)))
    check_loss("binary_cross_entropy", probabilities, soft_labels, dtype, assert_close)

    logits = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-1000, 1000, width=width)))
    labels = data.draw(hnp.arrays(np.int64, shape[:1], elements=st.integers(0, shape[1] - 1)))
    check_loss("softmax_cross_entropy", logits, labels, dtype, assert_close)


# sgd_update


@pytest.mark.parametrize("config", SGD_CONFIGS)
@pytest.mark.parametrize("shape", SGD_SHAPES, ids=shape_id)
def test_sgd_update(isa, dtype, shape, config, assert_close):
    options = SGD_CONFIGS[config]
    rng = np.random.default_rng(list(shape))
    param = random_array(rng, shape, dtype)
    param.flat[::5] = 0.0  # sign(0) = 0: L1 leaves exact zeros where they are
    grad = random_array(rng, shape, dtype)
    velocity = random_array(rng, shape, dtype) if options.get("momentum") else None
    want_param, want_velocity = reference.sgd_update(param, grad, velocity, **options)
    lr, momentum = options["lr"], options.get("momentum", 0.0)
    # Bound on v = m v + g' (g' = grad + l2 param + l1 sign(param)); the step,
    # g' + m v or v, is at most (1 + m) times that.
    velocity_magnitude = np.abs(grad) + options.get("l2", 0.0) * np.abs(param) + options.get("l1", 0.0)
    if velocity is not None:
        velocity_magnitude += momentum * np.abs(velocity)
    param_magnitude = np.abs(param) + lr * (1.0 + momentum) * velocity_magnitude
    grad_before = grad.copy()

    ops.sgd_update(param, grad, velocity, **options)

    np.testing.assert_array_equal(grad, grad_before)
    # The proximal step's zeros are exact: a weight that lands inside the threshold is 0.
    np.testing.assert_array_equal(param[want_param == 0], 0)
    assert_close(
        param,
        want_param,
        dtype=dtype,
        kernel="sgd_update param",
        magnitude=param_magnitude,
        reduction_length=4,
    )
    if velocity is not None:
        assert_close(
            velocity,
            want_velocity,
            dtype=dtype,
            kernel="sgd_update velocity",
            magnitude=velocity_magnitude,
            reduction_length=2,
        )


# Extreme inputs: saturation at +-1000, zeros and subnormals give finite, correct
# results and no warnings.


def extreme_values(dtype):
    tiny = subnormal(dtype)
    row = np.array([-1000, -100, -20, -1, -tiny, 0, tiny, 1, 20, 100, 1000], dtype=dtype)
    # Repeated so the values pass through the vector loop as well as the tail.
    return np.tile(row, (2, 3))


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
def test_activation_at_extremes(isa, dtype, name, assert_close):
    x = extreme_values(dtype)
    y = check_activation(name, x, dtype, assert_close)
    assert np.all(np.isfinite(y))
    if name in ("identity", "relu"):
        # Exact: a subnormal must come out unchanged, not flushed to zero.
        np.testing.assert_array_equal(y, reference.activation(name, x).astype(dtype))


def test_softmax_of_equal_rows_at_extremes(isa, dtype, assert_close):
    x = np.array([[1000.0] * 17, [-1000.0] * 17, [0.0] * 17], dtype=dtype)
    y = check_activation("softmax", x, dtype, assert_close)
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
def test_activation_backward_at_extremes(isa, dtype, name, assert_close):
    x = extreme_values(dtype)
    y = reference.activation(name, x).astype(dtype)
    for dy in (np.ones_like(x), np.full_like(x, -1000.0), x):
        dx = check_activation_backward(name, y, dy, dtype, assert_close)
        assert np.all(np.isfinite(dx))


def test_relu_backward_passes_gradient_at_subnormal_output(isa, dtype):
    tiny = subnormal(dtype)
    y = np.full((1, 33), tiny, dtype=dtype)  # y > 0, so relu'(y) = 1
    dy = np.full((1, 33), 3.0, dtype=dtype)
    np.testing.assert_array_equal(ops.activation_backward("relu", y, dy), dy)


def test_binary_cross_entropy_at_extremes(isa, dtype, assert_close):
    tiny = subnormal(dtype)
    below_one = np.nextafter(dtype.type(1), dtype.type(0))
    p = np.array([0.0, tiny, 1e-20, 1e-3, 0.5, 1 - 1e-3, below_one, 1.0], dtype=dtype)
    t = np.array([0.0, 0.5, 1.0], dtype=dtype)
    pred, target = np.meshgrid(p, t)  # every probability against every label
    value, dpred = check_loss("binary_cross_entropy", pred, target, dtype, assert_close)
    assert np.isfinite(value) and np.all(np.isfinite(dpred))


def test_softmax_cross_entropy_at_extremes(isa, dtype, assert_close):
    tiny = subnormal(dtype)
    row = [1000.0, -1000.0, 0.0, tiny, -tiny, 1000.0, 20.0]
    logits = np.array([row] * 7 + [[1000.0] * 7, [-1000.0] * 7], dtype=dtype)
    labels = np.array(list(range(7)) + [3, 4], dtype=np.int64)
    value, dpred = check_loss("softmax_cross_entropy", logits, labels, dtype, assert_close)
    assert np.isfinite(value) and np.all(np.isfinite(dpred))


def test_mse_of_equal_arrays_is_exactly_zero(isa, dtype):
    pred = extreme_values(dtype)
    value, dpred = ops.loss("mse", pred, pred.copy())
    assert value == 0.0
    np.testing.assert_array_equal(dpred, np.zeros_like(pred))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_matmul_of_zeros_and_subnormals(isa, dtype, layout, assert_close):
    m, k, n = 17, 33, 19
    trans_a, trans_b = LAYOUTS[layout]
    a_shape = (k, m) if trans_a else (m, k)
    b_shape = (n, k) if trans_b else (k, n)
    ones = np.ones(b_shape, dtype=dtype)
    np.testing.assert_array_equal(ops.matmul(np.zeros(a_shape, dtype=dtype), ones, trans_a=trans_a, trans_b=trans_b), 0.0)
    # Subnormal inputs give subnormal sums, which flush-to-zero would lose.
    subnormals = np.full(a_shape, subnormal(dtype), dtype=dtype)
    product = check_matmul(subnormals, ones, layout, dtype, assert_close)
    assert np.all(product > 0)


def test_dense_forward_at_saturating_inputs(isa, dtype, assert_close):
    x = extreme_values(dtype)  # (2, 33)
    weight = np.eye(33, 17, dtype=dtype)  # picks the first 17 columns, +-1000 included
    bias = np.zeros(17, dtype=dtype)
    for activation in reference.ACTIVATIONS:
        y = check_dense_forward(x, weight, bias, activation, dtype, assert_close)
        assert np.all(np.isfinite(y))
