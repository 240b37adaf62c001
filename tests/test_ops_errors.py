"""The argument-checking contract of steepest.ops.

A wrong dtype, or float32 mixed with float64, is a TypeError (never an upcast).
A wrong shape or ndim, an unknown activation or loss name, and a non-contiguous
or read-only array for an argument written in place (out, param, velocity) are a
ValueError. Messages name the argument and show what was given. Non-contiguous
arrays for arguments only read are accepted and give the right result.
"""

import re

import numpy as np
import pytest
import reference

from steepest import ops

# Distinctive sizes, so that a number found in a message can only be the one given.
M, K, N = 3, 13, 5
WRONG = 17


def f64(*shape):
    return np.ones(shape, dtype=np.float64)


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def labels(*values, dtype=np.int64):
    return np.array(values, dtype=dtype)


def read_only(array):
    array.flags.writeable = False
    return array


def strided(*shape):
    """A float64 view with a column stride of 2, not C-contiguous."""
    return np.ones((*shape[:-1], 2 * shape[-1]), dtype=np.float64)[..., ::2]


def assert_message_mentions(excinfo, *words):
    """Each word appears whole: a name not inside a longer name ("y" is not found
    in "dy"), a number not inside a longer number (13 is found in "3x13")."""
    message = str(excinfo.value)
    for word in words:
        boundary = r"\d" if word.isdigit() else r"\w"
        pattern = rf"(?<!{boundary}){re.escape(word)}(?!{boundary})"
        assert re.search(pattern, message), f"{word!r} missing from the message: {message!r}"


def call(function, *args, **kwargs):
    return lambda: function(*args, **kwargs)


WRONG_DTYPE_CASES = {
    "matmul a int32": (call(ops.matmul, np.ones((M, K), np.int32), f64(K, N)), ["int32"]),
    "matmul b float16": (call(ops.matmul, f64(M, K), np.ones((K, N), np.float16)), ["b", "float16"]),
    # Same type number as float32, other byte order: read as native it would be garbage.
    "matmul a byte-swapped": (call(ops.matmul, np.ones((M, K), ">f4" if np.little_endian else "<f4"), f64(K, N)), ["a", "f4"]),
    "dense_forward x int64": (call(ops.dense_forward, np.ones((M, K), np.int64), f64(K, N), f64(N)), ["x", "int64"]),
    "dense_forward weight int32": (call(ops.dense_forward, f64(M, K), np.ones((K, N), np.int32), f64(N)), ["weight", "int32"]),
    "activation x int32": (call(ops.activation, "relu", np.ones((M, N), np.int32)), ["int32"]),
    "loss pred int64": (call(ops.loss, "mse", np.ones((M, N), np.int64), f64(M, N)), ["pred", "int64"]),
    "sgd_update param int32": (call(ops.sgd_update, np.ones(N, np.int32), np.ones(N, np.int32), lr=0.1), ["param", "int32"]),
}


@pytest.mark.parametrize("case", WRONG_DTYPE_CASES)
def test_wrong_dtype_is_a_type_error(case):
    function, words = WRONG_DTYPE_CASES[case]
    with pytest.raises(TypeError) as excinfo:
        function()
    assert_message_mentions(excinfo, *words)


# name: (call with one float64 argument among float32 ones, that argument)
MIXED_DTYPE_CASES = {
    "matmul b": (call(ops.matmul, f32(M, K), f64(K, N)), "b"),
    "matmul out": (call(ops.matmul, f32(M, K), f32(K, N), out=f64(M, N)), "out"),
    "dense_forward weight": (call(ops.dense_forward, f32(M, K), f64(K, N), f32(N)), "weight"),
    "dense_forward bias": (call(ops.dense_forward, f32(M, K), f32(K, N), f64(N)), "bias"),
    "dense_forward out": (call(ops.dense_forward, f32(M, K), f32(K, N), f32(N), out=f64(M, N)), "out"),
    "dense_backward weight": (call(ops.dense_backward, f32(M, K), f64(K, N), f32(M, N), f32(M, N), "relu"), "weight"),
    "dense_backward y": (call(ops.dense_backward, f32(M, K), f32(K, N), f64(M, N), f32(M, N), "relu"), "y"),
    "dense_backward dy": (call(ops.dense_backward, f32(M, K), f32(K, N), f32(M, N), f64(M, N), "relu"), "dy"),
    "activation_backward dy": (call(ops.activation_backward, "tanh", f32(M, N), f64(M, N)), "dy"),
    "loss target": (call(ops.loss, "mse", f32(M, N), f64(M, N)), "target"),
    "sgd_update grad": (call(ops.sgd_update, f32(N), f64(N), lr=0.1), "grad"),
    "sgd_update velocity": (call(ops.sgd_update, f32(N), f32(N), f64(N), lr=0.1, momentum=0.9), "velocity"),
}


@pytest.mark.parametrize("case", MIXED_DTYPE_CASES)
def test_mixing_float32_and_float64_is_a_type_error(case):
    function, argument = MIXED_DTYPE_CASES[case]
    with pytest.raises(TypeError) as excinfo:
        function()
    assert_message_mentions(excinfo, argument, "float32", "float64")


WRONG_SHAPE_CASES = {
    # name: (call, words the message must contain: the argument and the size given)
    "matmul inner": (call(ops.matmul, f64(M, K), f64(WRONG, N)), ["b", str(K), str(WRONG)]),
    "matmul inner trans_a": (call(ops.matmul, f64(K, M), f64(WRONG, N), trans_a=True), ["b", str(K), str(WRONG)]),
    "matmul inner trans_b": (call(ops.matmul, f64(M, K), f64(N, WRONG), trans_b=True), ["b", str(K), str(WRONG)]),
    "matmul b 1-D": (call(ops.matmul, f64(M, K), f64(K)), ["b"]),
    "matmul out": (call(ops.matmul, f64(M, K), f64(K, N), out=f64(M, WRONG)), ["out", str(WRONG)]),
    "dense_forward weight": (call(ops.dense_forward, f64(M, K), f64(WRONG, N), f64(N)), ["weight", str(WRONG)]),
    "dense_forward weight 3-D": (call(ops.dense_forward, f64(M, K), f64(K, N, 1), f64(N)), ["weight"]),
    "dense_forward x 1-D": (call(ops.dense_forward, f64(K), f64(K, N), f64(N)), ["x"]),
    "dense_forward bias": (call(ops.dense_forward, f64(M, K), f64(K, N), f64(WRONG)), ["bias", str(WRONG)]),
    "dense_forward bias 2-D": (call(ops.dense_forward, f64(M, K), f64(K, N), f64(1, N)), ["bias"]),
    "dense_forward out": (call(ops.dense_forward, f64(M, K), f64(K, N), f64(N), out=f64(WRONG, N)), ["out", str(WRONG)]),
    "dense_backward weight": (call(ops.dense_backward, f64(M, K), f64(WRONG, N), f64(M, N), f64(M, N), "relu"), ["weight", str(WRONG)]),
    "dense_backward y": (call(ops.dense_backward, f64(M, K), f64(K, N), f64(M, WRONG), f64(M, N), "relu"), ["y", str(WRONG)]),
    "dense_backward dy": (call(ops.dense_backward, f64(M, K), f64(K, N), f64(M, N), f64(WRONG, N), "relu"), ["dy", str(WRONG)]),
    "activation_backward dy": (call(ops.activation_backward, "sigmoid", f64(M, N), f64(M, WRONG)), ["dy", str(WRONG)]),
    "mse target": (call(ops.loss, "mse", f64(M, N), f64(M, WRONG)), ["target", str(WRONG)]),
    "binary_cross_entropy target": (call(ops.loss, "binary_cross_entropy", f64(M, N), f64(WRONG, N)), ["target", str(WRONG)]),
    "softmax_cross_entropy target length": (call(ops.loss, "softmax_cross_entropy", f64(M, N), np.zeros(WRONG, np.int64)), ["target", str(WRONG)]),
    # Float targets are class probabilities, so they must have the shape of pred.
    "softmax_cross_entropy float labels": (call(ops.loss, "softmax_cross_entropy", f64(M, N), f64(M)), ["target", str(N)]),
    "softmax_cross_entropy target 2-D": (call(ops.loss, "softmax_cross_entropy", f64(M, N), np.zeros((M, 1), np.int64)), ["target"]),
    "softmax_cross_entropy pred 1-D": (call(ops.loss, "softmax_cross_entropy", f64(N), np.zeros(1, np.int64)), ["pred"]),
    "sgd_update grad": (call(ops.sgd_update, f64(N), f64(WRONG), lr=0.1), ["grad", str(WRONG)]),
    "sgd_update velocity": (call(ops.sgd_update, f64(N), f64(N), f64(WRONG), lr=0.1, momentum=0.9), ["velocity", str(WRONG)]),
}


@pytest.mark.parametrize("case", WRONG_SHAPE_CASES)
def test_wrong_shape_is_a_value_error(case):
    function, words = WRONG_SHAPE_CASES[case]
    with pytest.raises(ValueError) as excinfo:
        function()
    assert_message_mentions(excinfo, *words)


UNWRITABLE_CASES = {
    "matmul out non-contiguous": (call(ops.matmul, f64(M, K), f64(K, N), out=strided(M, N)), "out"),
    "matmul out Fortran order": (call(ops.matmul, f64(M, K), f64(K, N), out=np.ones((M, N), order="F")), "out"),
    "matmul out read-only": (call(ops.matmul, f64(M, K), f64(K, N), out=read_only(f64(M, N))), "out"),
    "dense_forward out non-contiguous": (call(ops.dense_forward, f64(M, K), f64(K, N), f64(N), out=strided(M, N)), "out"),
    "dense_forward out read-only": (call(ops.dense_forward, f64(M, K), f64(K, N), f64(N), out=read_only(f64(M, N))), "out"),
    "sgd_update param non-contiguous": (call(ops.sgd_update, strided(N), f64(N), lr=0.1), "param"),
    "sgd_update param read-only": (call(ops.sgd_update, read_only(f64(N)), f64(N), lr=0.1), "param"),
    "sgd_update velocity non-contiguous": (call(ops.sgd_update, f64(N), f64(N), strided(N), lr=0.1, momentum=0.9), "velocity"),
    "sgd_update velocity read-only": (call(ops.sgd_update, f64(N), f64(N), read_only(f64(N)), lr=0.1, momentum=0.9), "velocity"),
    "sgd_update velocity missing with momentum": (call(ops.sgd_update, f64(N), f64(N), lr=0.1, momentum=0.9), "velocity"),
}


@pytest.mark.parametrize("case", UNWRITABLE_CASES)
def test_unusable_array_written_in_place_is_a_value_error(case):
    function, argument = UNWRITABLE_CASES[case]
    with pytest.raises(ValueError) as excinfo:
        function()
    assert_message_mentions(excinfo, argument)


UNKNOWN_NAME_CASES = {
    "activation": (call(ops.activation, "gelu", f64(M, N)), reference.ACTIVATIONS),
    "activation_backward": (call(ops.activation_backward, "gelu", f64(M, N), f64(M, N)), reference.ACTIVATIONS),
    "dense_forward": (call(ops.dense_forward, f64(M, K), f64(K, N), f64(N), "gelu"), reference.ACTIVATIONS),
    "dense_backward": (call(ops.dense_backward, f64(M, K), f64(K, N), f64(M, N), f64(M, N), "gelu"), reference.ACTIVATIONS),
    "loss": (call(ops.loss, "gelu", f64(M, N), f64(M, N)), reference.LOSSES),
}


@pytest.mark.parametrize("case", UNKNOWN_NAME_CASES)
def test_unknown_name_is_a_value_error_listing_the_valid_ones(case):
    function, valid_names = UNKNOWN_NAME_CASES[case]
    with pytest.raises(ValueError) as excinfo:
        function()
    assert_message_mentions(excinfo, "gelu", *valid_names)


@pytest.mark.parametrize("label", [N, -1, 10**9])
def test_softmax_cross_entropy_label_out_of_range_is_a_value_error(label):
    # Not in the written contract, but an unchecked label indexes past the row.
    with pytest.raises(ValueError) as excinfo:
        ops.loss("softmax_cross_entropy", f64(M, N), labels(0, label, 1))
    assert_message_mentions(excinfo, "target")


def test_failed_sgd_update_leaves_param_untouched():
    param = np.arange(N, dtype=np.float64)
    with pytest.raises(ValueError):
        ops.sgd_update(param, f64(N), f64(WRONG), lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(param, np.arange(N))


# Arrays that are only read may be non-contiguous: they give the same result as
# their contiguous copies.

RTOL = 1e-12
ATOL = 1e-13  # float64 rounding of O(1) terms that cancel


def non_contiguous(array):
    """The same values as array, in a view with a column stride of 2."""
    wide = np.zeros((*array.shape[:-1], 2 * array.shape[-1]), dtype=array.dtype)
    wide[..., ::2] = array
    view = wide[..., ::2]
    assert not view.flags.c_contiguous
    return view


@pytest.fixture
def rng():
    return np.random.default_rng(11)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_matmul_accepts_non_contiguous_inputs(rng, trans_a, trans_b):
    a = rng.standard_normal((K, M) if trans_a else (M, K))
    b = rng.standard_normal((N, K) if trans_b else (K, N))
    want = reference.matmul(a, b, trans_a, trans_b)
    strided_a = ops.matmul(non_contiguous(a), b, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(strided_a, want, rtol=RTOL, atol=ATOL)
    # Fortran order, as a transposed view has: the same values in another layout.
    fortran_b = ops.matmul(a, np.asfortranarray(b), trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(fortran_b, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("activation", reference.ACTIVATIONS)
def test_dense_accepts_non_contiguous_inputs(rng, activation):
    x, weight, bias = rng.standard_normal((M, K)), rng.standard_normal((K, N)), rng.standard_normal(N)
    dy = rng.standard_normal((M, N))
    y = reference.dense_forward(x, weight, bias, activation)
    np.testing.assert_allclose(
        ops.dense_forward(np.asfortranarray(x), non_contiguous(weight), non_contiguous(bias), activation),
        y,
        rtol=RTOL,
        atol=ATOL,
    )
    got = ops.dense_backward(non_contiguous(x), np.asfortranarray(weight), non_contiguous(y), non_contiguous(dy), activation)
    for got_gradient, want_gradient in zip(got, reference.dense_backward(x, weight, y, dy, activation)):
        np.testing.assert_allclose(got_gradient, want_gradient, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", reference.ACTIVATIONS)
def test_activation_accepts_non_contiguous_inputs(rng, name):
    x, dy = rng.standard_normal((2, M, N))
    y = reference.activation(name, x)
    np.testing.assert_allclose(ops.activation(name, non_contiguous(x)), y, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        ops.activation_backward(name, non_contiguous(y), np.asfortranarray(dy)),
        reference.activation_backward(name, y, dy),
        rtol=RTOL,
        atol=ATOL,
    )


def test_loss_accepts_non_contiguous_inputs(rng):
    pred, target = rng.uniform(0.01, 0.99, (2, M, N))
    class_labels = labels(4, 0, 2)
    for name, target_ in [("mse", target), ("binary_cross_entropy", target), ("softmax_cross_entropy", class_labels)]:
        value, dpred = ops.loss(name, non_contiguous(pred), non_contiguous(target_))
        want_value, want_dpred = reference.loss(name, pred, target_)
        assert value == pytest.approx(want_value, rel=RTOL)
        np.testing.assert_allclose(dpred, want_dpred, rtol=RTOL, atol=ATOL)


def test_sgd_update_accepts_non_contiguous_grad(rng):
    param, grad = rng.standard_normal((2, N))
    want, _ = reference.sgd_update(param, grad, lr=0.1, l2=0.01)
    ops.sgd_update(param, non_contiguous(grad), lr=0.1, l2=0.01)
    np.testing.assert_allclose(param, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64])
def test_softmax_cross_entropy_accepts_any_integer_label_dtype(rng, label_dtype):
    logits = rng.standard_normal((M, N))
    value, dpred = ops.loss("softmax_cross_entropy", logits, labels(4, 0, 2, dtype=label_dtype))
    want_value, want_dpred = reference.loss("softmax_cross_entropy", logits, labels(4, 0, 2))
    assert value == pytest.approx(want_value, rel=RTOL)
    np.testing.assert_allclose(dpred, want_dpred, rtol=RTOL, atol=ATOL)
