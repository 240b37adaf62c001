"""Wrong input to every public function is answered by a TypeError or ValueError that names
the argument, what was expected and what was given: never a crash, a hang or a silent wrong
result (issue 8). Absurd sizes give MemoryError. Arrays that can be used as given
(memmapped, Fortran-ordered, strided, read-only) are accepted, and not copied where no
copy is needed.

Each entry of CASES is one wrong input: the call, the exception it must raise and words its
message must contain (the argument's name, and what was given or expected).
"""

import math
import os
import tracemalloc

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import steepest
from steepest import ops
from steepest.nn import saving
from steepest.train.schedules import CosineDecay, ExponentialDecay, StepDecay

F32 = np.float32
F64 = np.float64


def data(*shape, dtype=F64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


def with_value(array, position, value):
    array = array.copy()
    array[position] = value
    return array


def huge_view(shape, dtype=F64):
    """A read-only view declaring a huge array over one element: copying it cannot fit."""
    return as_strided(np.zeros(1, dtype), shape=shape, strides=(0,) * len(shape), writeable=False)


def mlp(sizes=(3, 4, 2), **kwargs):
    return steepest.MLP(list(sizes), **kwargs)


def fit(model=None, X=None, y=None, **kwargs):
    model = model if model is not None else mlp()
    X = data(8, 3, dtype=F32) if X is None else X
    y = data(8, 2, dtype=F32) if y is None else y
    kwargs.setdefault("epochs", 1)
    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("verbose", 0)
    return model.fit(X, y, **kwargs)


def classifier():
    return mlp((3, 4, 3), output_activation="softmax")


def labels(*values):
    return np.array(values, dtype=np.int64)


class Monitoring(steepest.Callback):
    pass


CASES = []


def case(name, error, words, call):
    CASES.append(pytest.param(call, error, words, id=name))


a32, a64 = data(2, 3, dtype=F32), data(2, 3)
b64 = data(3, 5)

# ---- ops.matmul ------------------------------------------------------------------------
for dtype in (np.int32, np.int64, np.float16, np.complex128, object, np.bool_, np.uint8):
    given = np.dtype(dtype).name
    case(f"matmul-a-{given}", TypeError, ["'a'", "float32 or float64", given], lambda d=dtype: ops.matmul(a64.astype(d), b64))
    case(f"matmul-b-{given}", TypeError, ["'b'", "float32 or float64", given], lambda d=dtype: ops.matmul(a64, b64.astype(d)))
case("matmul-a-list", TypeError, ["'a'", "NumPy array", "list"], lambda: ops.matmul([[1.0]], b64))
case("matmul-a-None", TypeError, ["'a'", "NoneType"], lambda: ops.matmul(None, b64))
case("matmul-mixed", TypeError, ["'b'", "float32", "float64", "mixed precision"], lambda: ops.matmul(a32, b64))
case("matmul-a-1d", ValueError, ["'a'", "2-D", "(3,)"], lambda: ops.matmul(a64[0], b64))
case("matmul-a-0d", ValueError, ["'a'", "2-D", "()"], lambda: ops.matmul(np.ones(()), b64))
case("matmul-b-3d", ValueError, ["'b'", "2-D", "(3, 5, 1)"], lambda: ops.matmul(a64, b64[..., None]))
case("matmul-inner", ValueError, ["inner dimensions", "2x3", "5x3"], lambda: ops.matmul(a64, b64, trans_b=True))
case("matmul-inner-trans-a", ValueError, ["inner dimensions", "3x2", "3x5"], lambda: ops.matmul(a64, b64, trans_a=True))
case("matmul-out-shape", ValueError, ["'out'", "(2, 5)", "(5, 2)"], lambda: ops.matmul(a64, b64, out=np.zeros((5, 2))))
case("matmul-out-dtype", TypeError, ["'out'", "float64", "float32"], lambda: ops.matmul(a64, b64, out=np.zeros((2, 5), F32)))
case("matmul-out-int", TypeError, ["'out'", "int64"], lambda: ops.matmul(a64, b64, out=np.zeros((2, 5), np.int64)))
case("matmul-out-list", TypeError, ["'out'", "list"], lambda: ops.matmul(a64, b64, out=[[0.0] * 5] * 2))
case("matmul-out-strided", ValueError, ["'out'", "C-contiguous"], lambda: ops.matmul(a64, b64, out=np.zeros((2, 10))[:, ::2]))
case("matmul-out-fortran", ValueError, ["'out'", "C-contiguous"], lambda: ops.matmul(a64, b64, out=np.zeros((2, 5), order="F")))
case("matmul-out-read-only", ValueError, ["'out'", "read-only"], lambda: ops.matmul(a64, b64, out=read_only(np.zeros((2, 5)))))


def _matmul_into_its_input():
    square = np.zeros((3, 3))
    ops.matmul(square, np.eye(3), out=square)


case("matmul-out-overlaps-a", ValueError, ["'out'", "overlaps", "'a'"], _matmul_into_its_input)

# ---- ops.dense_forward -----------------------------------------------------------------
x64, w64, bias64 = data(4, 3), data(3, 2), data(2)
case("dense_forward-x-int", TypeError, ["'x'", "int64"], lambda: ops.dense_forward(x64.astype(np.int64), w64, bias64))
case("dense_forward-x-f16", TypeError, ["'x'", "float16"], lambda: ops.dense_forward(x64.astype(np.float16), w64, bias64))
case("dense_forward-weight-mixed", TypeError, ["'weight'", "float32", "mixed precision"], lambda: ops.dense_forward(x64, w64.astype(F32), bias64))
case("dense_forward-bias-mixed", TypeError, ["'bias'", "float32"], lambda: ops.dense_forward(x64, w64, bias64.astype(F32)))
case("dense_forward-bias-list", TypeError, ["'bias'", "list"], lambda: ops.dense_forward(x64, w64, [0.0, 0.0]))
case("dense_forward-x-1d", ValueError, ["'x'", "2-D", "(3,)"], lambda: ops.dense_forward(x64[0], w64, bias64))
case("dense_forward-weight-1d", ValueError, ["'weight'", "2-D", "(3,)"], lambda: ops.dense_forward(x64, w64[:, 0], bias64))
case("dense_forward-weight-rows", ValueError, ["'weight'", "(2, 2)", "in_features"], lambda: ops.dense_forward(x64, w64[:2], bias64))
case("dense_forward-bias-length", ValueError, ["'bias'", "(3,)", "out_features"], lambda: ops.dense_forward(x64, w64, data(3)))
case("dense_forward-bias-2d", ValueError, ["'bias'", "1-D", "(1, 2)"], lambda: ops.dense_forward(x64, w64, bias64[None]))
case("dense_forward-activation", ValueError, ["'gelu'", "identity, relu, sigmoid, tanh, softmax"], lambda: ops.dense_forward(x64, w64, bias64, "gelu"))
case("dense_forward-activation-None", TypeError, ["activation", "None"], lambda: ops.dense_forward(x64, w64, bias64, None))
case("dense_forward-out-shape", ValueError, ["'out'", "(4, 2)", "(2, 4)"], lambda: ops.dense_forward(x64, w64, bias64, out=np.zeros((2, 4))))
case("dense_forward-out-read-only", ValueError, ["'out'", "read-only"], lambda: ops.dense_forward(x64, w64, bias64, out=read_only(np.zeros((4, 2)))))

# ---- ops.dense_backward ----------------------------------------------------------------
y64 = data(4, 2)
case("dense_backward-x-object", TypeError, ["'x'", "object"], lambda: ops.dense_backward(x64.astype(object), w64, y64, y64, "relu"))
case("dense_backward-y-mixed", TypeError, ["'y'", "float32"], lambda: ops.dense_backward(x64, w64, y64.astype(F32), y64, "relu"))
case("dense_backward-dy-mixed", TypeError, ["'dy'", "float32"], lambda: ops.dense_backward(x64, w64, y64, y64.astype(F32), "relu"))
case("dense_backward-y-rows", ValueError, ["'y'", "(3, 2)", "batch size"], lambda: ops.dense_backward(x64, w64, y64[:3], y64, "relu"))
case("dense_backward-dy-cols", ValueError, ["'dy'", "(4, 1)", "out_features"], lambda: ops.dense_backward(x64, w64, y64, y64[:, :1], "relu"))
case("dense_backward-dy-1d", ValueError, ["'dy'", "2-D", "(4,)"], lambda: ops.dense_backward(x64, w64, y64, y64[:, 0], "relu"))
case("dense_backward-activation", ValueError, ["'swish'", "identity, relu"], lambda: ops.dense_backward(x64, w64, y64, y64, "swish"))

# ---- ops.activation / activation_backward ----------------------------------------------
case("activation-name", ValueError, ["'elu'", "identity, relu, sigmoid, tanh, softmax"], lambda: ops.activation("elu", a64))
case("activation-name-int", TypeError, ["activation", "int"], lambda: ops.activation(3, a64))
case("activation-x-int", TypeError, ["'x'", "int64"], lambda: ops.activation("relu", np.arange(3)))
case("activation-x-complex", TypeError, ["'x'", "complex128"], lambda: ops.activation("tanh", np.ones(3, complex)))
case("activation-x-list", TypeError, ["'x'", "list"], lambda: ops.activation("relu", [1.0, 2.0]))
case("activation-softmax-0d", ValueError, ["softmax", "1-D"], lambda: ops.activation("softmax", np.ones(())))
case("activation_backward-dy-shape", ValueError, ["'dy'", "(2, 3)", "(3, 2)"], lambda: ops.activation_backward("tanh", a64, a64.T.copy()))
case("activation_backward-dy-mixed", TypeError, ["'dy'", "float32", "float64"], lambda: ops.activation_backward("tanh", a64, a32))
case("activation_backward-name", ValueError, ["'leaky'", "relu"], lambda: ops.activation_backward("leaky", a64, a64))

# ---- ops.loss --------------------------------------------------------------------------
probabilities = np.full((2, 3), 0.5)
case("loss-name", ValueError, ["'hinge'", "mse, binary_cross_entropy"], lambda: ops.loss("hinge", a64, a64))
case("loss-name-None", TypeError, ["loss", "None"], lambda: ops.loss(None, a64, a64))
case("loss-pred-int", TypeError, ["'pred'", "int64"], lambda: ops.loss("mse", np.arange(3), np.arange(3)))
case("loss-pred-empty", ValueError, ["'pred'", "empty"], lambda: ops.loss("mse", np.zeros((0, 3)), np.zeros((0, 3))))
case("loss-target-list", TypeError, ["'target'", "NumPy array"], lambda: ops.loss("mse", a64, a64.tolist()))
case("loss-target-shape", ValueError, ["'target'", "(2, 3)", "(3, 2)"], lambda: ops.loss("mse", a64, a64.T.copy()))
case("loss-target-mixed", TypeError, ["'target'", "float32", "float64"], lambda: ops.loss("mse", a64, a32))
case("loss-bce-not-probabilities", ValueError, ["'pred'", "probabilities", "[0, 1]"], lambda: ops.loss("binary_cross_entropy", a64, probabilities))
case("loss-bce-nan", ValueError, ["'pred'", "nan"], lambda: ops.loss("binary_cross_entropy", with_value(probabilities, (1, 1), np.nan), probabilities))
case("loss-ce-label-range", ValueError, ["label 3", "'target'", "[0, 3)"], lambda: ops.loss("softmax_cross_entropy", a64, labels(0, 3)))
case("loss-ce-label-negative", ValueError, ["label -1", "[0, 3)"], lambda: ops.loss("softmax_cross_entropy", a64, labels(-1, 0)))
case("loss-ce-labels-length", ValueError, ["'target'", "(2,)", "(3,)"], lambda: ops.loss("softmax_cross_entropy", a64, labels(0, 1, 2)))
case("loss-ce-pred-1d", ValueError, ["'pred'", "2-D", "(3,)"], lambda: ops.loss("softmax_cross_entropy", a64[0], labels(0)))
case("loss-ce-dense-shape", ValueError, ["'target'", "(2, 3)", "(2, 2)"], lambda: ops.loss("softmax_cross_entropy", a64, np.ones((2, 2))))

# ---- ops.sgd_update / adam_update ------------------------------------------------------
p64 = data(5)
case("sgd-param-int", TypeError, ["'param'", "int64"], lambda: ops.sgd_update(np.arange(5), p64, lr=0.1))
case("sgd-param-list", TypeError, ["'param'", "list"], lambda: ops.sgd_update([1.0, 2.0], p64, lr=0.1))
case("sgd-param-read-only", ValueError, ["'param'", "read-only"], lambda: ops.sgd_update(read_only(p64), p64, lr=0.1))
case("sgd-param-strided", ValueError, ["'param'", "C-contiguous"], lambda: ops.sgd_update(np.zeros(10)[::2], p64, lr=0.1))
case("sgd-grad-shape", ValueError, ["'grad'", "(5,)", "(4,)"], lambda: ops.sgd_update(p64.copy(), p64[:4], lr=0.1))
case("sgd-grad-mixed", TypeError, ["'grad'", "float32"], lambda: ops.sgd_update(p64.copy(), p64.astype(F32), lr=0.1))
case("sgd-lr-negative", ValueError, ["'lr'", ">= 0", "-0.1"], lambda: ops.sgd_update(p64.copy(), p64, lr=-0.1))
case("sgd-lr-nan", ValueError, ["'lr'", "finite", "nan"], lambda: ops.sgd_update(p64.copy(), p64, lr=math.nan))
case("sgd-lr-inf", ValueError, ["'lr'", "finite", "inf"], lambda: ops.sgd_update(p64.copy(), p64, lr=math.inf))
case("sgd-lr-str", TypeError, ["lr", "str"], lambda: ops.sgd_update(p64.copy(), p64, lr="0.1"))
case("sgd-lr-missing", TypeError, ["lr"], lambda: ops.sgd_update(p64.copy(), p64))
case("sgd-momentum-negative", ValueError, ["'momentum'", "-0.9"], lambda: ops.sgd_update(p64.copy(), p64, np.zeros(5), lr=0.1, momentum=-0.9))
case("sgd-velocity-missing", ValueError, ["'velocity'", "momentum"], lambda: ops.sgd_update(p64.copy(), p64, lr=0.1, momentum=0.9))
case("sgd-velocity-shape", ValueError, ["'velocity'", "(5,)", "(4,)"], lambda: ops.sgd_update(p64.copy(), p64, np.zeros(4), lr=0.1, momentum=0.9))
case("sgd-velocity-read-only", ValueError, ["'velocity'", "read-only"], lambda: ops.sgd_update(p64.copy(), p64, read_only(np.zeros(5)), lr=0.1, momentum=0.9))
case("sgd-nesterov-no-momentum", ValueError, ["nesterov", "momentum"], lambda: ops.sgd_update(p64.copy(), p64, lr=0.1, nesterov=True))
case("sgd-l1-negative", ValueError, ["'l1'", "-1"], lambda: ops.sgd_update(p64.copy(), p64, lr=0.1, l1=-1.0))
case("sgd-l2-nan", ValueError, ["'l2'", "nan"], lambda: ops.sgd_update(p64.copy(), p64, lr=0.1, l2=math.nan))
moments = lambda: (np.zeros(5), np.zeros(5))  # noqa: E731
case("adam-step-0", ValueError, ["'step'", ">= 1", "0"], lambda: ops.adam_update(p64.copy(), p64, *moments(), step=0))
case("adam-step-float", TypeError, ["step", "float"], lambda: ops.adam_update(p64.copy(), p64, *moments(), step=1.5))
case("adam-beta1-one", ValueError, ["'beta1'", "[0, 1)"], lambda: ops.adam_update(p64.copy(), p64, *moments(), step=1, beta1=1.0))
case("adam-beta2-negative", ValueError, ["'beta2'", "[0, 1)"], lambda: ops.adam_update(p64.copy(), p64, *moments(), step=1, beta2=-0.5))
case("adam-eps-negative", ValueError, ["'eps'", ">= 0"], lambda: ops.adam_update(p64.copy(), p64, *moments(), step=1, eps=-1e-8))
case("adam-m-shape", ValueError, ["'m'", "(5,)", "(6,)"], lambda: ops.adam_update(p64.copy(), p64, np.zeros(6), np.zeros(5), step=1))
case("adam-v-dtype", TypeError, ["'v'", "float32"], lambda: ops.adam_update(p64.copy(), p64, np.zeros(5), np.zeros(5, F32), step=1))
case("adam-v-read-only", ValueError, ["'v'", "read-only"], lambda: ops.adam_update(p64.copy(), p64, np.zeros(5), read_only(np.zeros(5)), step=1))

# ---- configuration ---------------------------------------------------------------------
case("set_num_threads-0", ValueError, ["n", ">= 1", "0"], lambda: steepest.set_num_threads(0))
case("set_num_threads-negative", ValueError, ["n", ">= 1", "-2"], lambda: steepest.set_num_threads(-2))
case("set_num_threads-float", TypeError, ["n", "int", "float"], lambda: steepest.set_num_threads(2.0))
case("set_num_threads-str", TypeError, ["n", "int", "str"], lambda: steepest.set_num_threads("2"))

# ---- layers ----------------------------------------------------------------------------
case("Dense-in-0", ValueError, ["in_features", ">= 1", "0"], lambda: steepest.Dense(0, 3))
case("Dense-out-negative", ValueError, ["out_features", ">= 1", "-1"], lambda: steepest.Dense(3, -1))
case("Dense-in-float", TypeError, ["in_features", "int", "float"], lambda: steepest.Dense(3.0, 2))
case("Dense-in-str", TypeError, ["in_features", "int", "str"], lambda: steepest.Dense("3", 2))
case("Dense-in-bool", TypeError, ["in_features", "int", "bool"], lambda: steepest.Dense(True, 2))
case("Dense-in-None", TypeError, ["in_features", "NoneType"], lambda: steepest.Dense(None, 2))
case("Dense-activation", ValueError, ["activation", "'gelu'", "identity, relu, sigmoid, tanh, softmax"], lambda: steepest.Dense(3, 2, "gelu"))
case("Dense-activation-case", ValueError, ["activation", "'ReLU'"], lambda: steepest.Dense(3, 2, "ReLU"))
case("Dense-activation-None", ValueError, ["activation", "None"], lambda: steepest.Dense(3, 2, None))
case("Dropout-one", ValueError, ["rate", "< 1", "1.0"], lambda: steepest.Dropout(1.0))
case("Dropout-negative", ValueError, ["rate", ">= 0", "-0.1"], lambda: steepest.Dropout(-0.1))
case("Dropout-nan", ValueError, ["rate", "finite", "nan"], lambda: steepest.Dropout(math.nan))
case("Dropout-str", TypeError, ["rate", "number", "str"], lambda: steepest.Dropout("0.5"))
case("Dense-weight-outside-model", RuntimeError, ["not part of a model"], lambda: steepest.Dense(3, 2).weight)

# ---- models ----------------------------------------------------------------------------
case("Sequential-empty", ValueError, ["at least one layer"], lambda: steepest.Sequential([]))
case("Sequential-not-a-list", TypeError, ["layers", "Dense"], lambda: steepest.Sequential(steepest.Dense(3, 2)))
case("Sequential-None", TypeError, ["layers", "NoneType"], lambda: steepest.Sequential(None))
case("Sequential-chain", ValueError, ["layer 1", "takes 5", "gives 4"], lambda: steepest.Sequential([steepest.Dense(3, 4), steepest.Dense(5, 1)]))
case("Sequential-only-dropout", ValueError, ["Dense"], lambda: steepest.Sequential([steepest.Dropout(0.5)]))
case("Sequential-str-layer", TypeError, ["layer 0", "Dense or Dropout", "str"], lambda: steepest.Sequential(["dense"]))
case("Sequential-tuple-layer", TypeError, ["layer 1", "tuple"], lambda: steepest.Sequential([steepest.Dense(3, 4), (4, 2)]))
case("Sequential-seed-negative", ValueError, ["seed", "-1"], lambda: steepest.Sequential([steepest.Dense(3, 2)], seed=-1))
case("Sequential-seed-float", ValueError, ["seed", "1.5"], lambda: steepest.Sequential([steepest.Dense(3, 2)], seed=1.5))
case("Sequential-seed-str", ValueError, ["seed", "'0'"], lambda: steepest.Sequential([steepest.Dense(3, 2)], seed="0"))
case("Sequential-dtype-f16", ValueError, ["dtype", "float16"], lambda: steepest.Sequential([steepest.Dense(3, 2)], dtype="float16"))
case("Sequential-dtype-int", ValueError, ["dtype", "int32"], lambda: steepest.Sequential([steepest.Dense(3, 2)], dtype=np.int32))
case("Sequential-dtype-unknown", ValueError, ["dtype", "'double precision'"], lambda: steepest.Sequential([steepest.Dense(3, 2)], dtype="double precision"))
case("Sequential-dtype-number", TypeError, ["dtype", "3"], lambda: steepest.Sequential([steepest.Dense(3, 2)], dtype=3))
case("Sequential-hidden-softmax", ValueError, ["softmax", "output layer"], lambda: steepest.Sequential([steepest.Dense(3, 4, "softmax"), steepest.Dense(4, 1)]))


def _layer_in_two_models():
    layer = steepest.Dense(3, 2)
    steepest.Sequential([layer])
    steepest.Sequential([layer])


def _layer_twice_in_one_model():
    layer = steepest.Dense(3, 3)
    steepest.Sequential([layer, layer])


case("Sequential-layer-reused", ValueError, ["another model"], _layer_in_two_models)
case("Sequential-layer-twice", ValueError, ["layer 1", "same", "layer 0"], _layer_twice_in_one_model)
case("MLP-one-size", ValueError, ["layer_sizes", "[4]"], lambda: steepest.MLP([4]))
case("MLP-zero-size", ValueError, ["layer_sizes[1]", ">= 1", "0"], lambda: steepest.MLP([4, 0]))
case("MLP-float-size", TypeError, ["layer_sizes[1]", "int", "float"], lambda: steepest.MLP([4, 2.5]))
case("MLP-int-not-list", TypeError, ["layer_sizes", "int"], lambda: steepest.MLP(5))
case("MLP-activation", ValueError, ["activation", "'selu'"], lambda: steepest.MLP([4, 2], activation="selu"))
case("MLP-output_activation", ValueError, ["output_activation", "'linear'"], lambda: steepest.MLP([4, 2], output_activation="linear"))
case("Autoencoder-decoder_sizes", ValueError, ["decoder_sizes", "latent size 2", "[3, 4]"], lambda: steepest.Autoencoder([4, 2], decoder_sizes=[3, 4]))
case("Autoencoder-latent_activation", ValueError, ["latent_activation", "'none'"], lambda: steepest.Autoencoder([4, 2], latent_activation="none"))
case("Autoencoder-sizes", ValueError, ["layer_sizes", "[4]"], lambda: steepest.Autoencoder([4]))

# ---- predict and friends ---------------------------------------------------------------
X3 = data(6, 3, dtype=F32)
for dtype in (np.float16, np.complex64, object, "U3", "datetime64[s]"):
    given = np.dtype(dtype).name if dtype != "U3" else "<U3"
    case(f"predict-X-{given}", TypeError, ["X", "real numbers", given], lambda d=dtype: mlp().predict(np.ones((2, 3)).astype(d)))
case("predict-X-1d", ValueError, ["X", "2-D", "(3,)", "reshape"], lambda: mlp().predict(X3[0]))
case("predict-X-3d", ValueError, ["X", "2-D", "(1, 6, 3)"], lambda: mlp().predict(X3[None]))
case("predict-X-0d", ValueError, ["X", "2-D", "()"], lambda: mlp().predict(1.0))
case("predict-X-no-rows", ValueError, ["X", "no samples", "(0, 3)"], lambda: mlp().predict(np.zeros((0, 3), F32)))
case("predict-X-no-features", ValueError, ["X", "no features", "(6, 0)"], lambda: mlp().predict(np.zeros((6, 0), F32)))
case("predict-X-features", ValueError, ["X", "4 features", "takes 3"], lambda: mlp().predict(data(6, 4)))
case("predict-X-nan", ValueError, ["X", "nan", "(2, 1)"], lambda: mlp().predict(with_value(X3, (2, 1), np.nan)))
case("predict-X-inf", ValueError, ["X", "-inf", "(5, 0)"], lambda: mlp().predict(with_value(X3, (5, 0), -np.inf)))
case("predict-X-ragged", ValueError, ["X"], lambda: mlp().predict([[1.0, 2.0, 3.0], [1.0]]))
case("predict-X-strings", TypeError, ["X", "real numbers"], lambda: mlp().predict([["a", "b", "c"]]))
case("predict-batch-0", ValueError, ["batch_size", ">= 1", "0"], lambda: mlp().predict(X3, batch_size=0))
case("predict-batch-float", TypeError, ["batch_size", "int", "float"], lambda: mlp().predict(X3, batch_size=2.0))
case("encode-features", ValueError, ["X", "2 features", "takes 4"], lambda: steepest.Autoencoder([4, 2]).encode(data(3, 2)))
case("decode-features", ValueError, ["Z", "4 features", "takes 2"], lambda: steepest.Autoencoder([4, 2]).decode(data(3, 4)))
case(
    "reconstruction_error-nan",
    ValueError,
    ["X", "nan", "(0, 3)"],
    lambda: steepest.Autoencoder([4, 2]).reconstruction_error(with_value(data(2, 4), (0, 3), np.nan)),
)
case("set_parameters-shape", ValueError, ["parameters", "(26,)", "(25,)"], lambda: mlp().set_parameters(np.zeros(25)))
case("set_parameters-nan", ValueError, ["parameters", "nan", "(7,)"], lambda: mlp().set_parameters(with_value(np.zeros(26), 7, np.nan)))
# ---- conversions checked after the cast (issue 18): what overflows or loses a part is
# named, not passed on as the infinity (or the real part) it became
case(
    "set_parameters-overflows-float32",
    ValueError,
    ["parameters", "1e+300", "(3,)", "overflows float32"],
    lambda: mlp().set_parameters(with_value(np.zeros(26), 3, 1e300)),
)
case("set_parameters-complex", TypeError, ["parameters", "complex128"], lambda: mlp().set_parameters(np.zeros(26) + 1j))
case(
    "set_parameters-masked",
    TypeError,
    ["parameters", "masked"],
    lambda: mlp().set_parameters(np.ma.masked_array(np.zeros(26), mask=np.eye(1, 26, dtype=bool)[0])),
)
case("fit-X-overflows-float32", ValueError, ["X", "1e+300", "(2, 1)", "overflows float32"], lambda: fit(X=with_value(data(8, 3), (2, 1), 1e300)))
case("fit-y-overflows-float32", ValueError, ["y", "-1e+300", "(5, 0)", "overflows float32"], lambda: fit(y=with_value(data(8, 2), (5, 0), -1e300)))
case("fit-sample_weight-overflows", ValueError, ["sample_weight", "1e+300", "overflows float32"], lambda: fit(sample_weight=with_value(np.ones(8), 4, 1e300)))
case("predict-X-overflows-float32", ValueError, ["X", "1e+300", "overflows float32"], lambda: mlp().predict(with_value(data(2, 3), (1, 1), 1e300)))
case("fit-X-masked", TypeError, ["X", "masked", "filled"], lambda: fit(X=np.ma.masked_invalid(with_value(data(8, 3), (1, 1), np.nan))))
case("fit-y-masked", TypeError, ["y", "masked"], lambda: fit(y=np.ma.masked_array(data(8, 2))))
case(
    "fit-labels-masked",
    TypeError,
    ["y", "masked"],
    lambda: fit(classifier(), y=np.ma.masked_array(np.arange(8) % 3, mask=np.arange(8) == 2), loss="softmax_cross_entropy"),
)
case("fit-sample_weight-masked", TypeError, ["sample_weight", "masked"], lambda: fit(sample_weight=np.ma.masked_array(np.ones(8))))
case(
    "fit-softmax-negative-target",
    ValueError,
    ["y", "softmax_cross_entropy", "row 1", "negative"],
    lambda: fit(classifier(), y=np.array([[1.0, 0, 0], [1.5, -0.5, 0]] * 4), loss="softmax_cross_entropy"),
)
case("fit-validation_split-numpy-out-of-range", ValueError, ["validation_split", "[0, 1)", "1.5"], lambda: fit(validation_split=np.float32(1.5)))
case("fit-validation_split-string", TypeError, ["validation_split", "number", "str"], lambda: fit(validation_split="0.25"))
case(
    "fit-noise-amount-string",
    TypeError,
    ["gaussian noise", "number", "str"],
    lambda: steepest.Autoencoder([3, 2]).fit(data(8, 3), epochs=1, verbose=0, noise=("gaussian", "0.1")),
)

# ---- fit -------------------------------------------------------------------------------
y2 = data(8, 2, dtype=F32)
case("fit-y-missing", ValueError, ["y", "required"], lambda: mlp().fit(data(8, 3), verbose=0))
case("fit-y-length", ValueError, ["y", "7 rows", "X has 8"], lambda: fit(y=y2[:7]))
case("fit-y-scalar", ValueError, ["y", "()"], lambda: fit(y=np.float32(1.0)))
case("fit-y-columns", ValueError, ["y", "3 columns", "2 outputs"], lambda: fit(y=data(8, 3)))
case("fit-y-nan", ValueError, ["y", "nan", "(6, 1)"], lambda: fit(y=with_value(y2, (6, 1), np.nan)))
case("fit-y-complex", TypeError, ["y", "complex128"], lambda: fit(y=y2.astype(complex)))
case("fit-X-nan", ValueError, ["X", "nan", "(3, 2)"], lambda: fit(X=with_value(data(8, 3), (3, 2), np.nan)))
case("fit-X-inf", ValueError, ["X", "inf", "(7, 0)"], lambda: fit(X=with_value(data(8, 3), (7, 0), np.inf)))
case("fit-X-features", ValueError, ["X", "2 features", "takes 3"], lambda: fit(X=data(8, 2)))
case("fit-X-object", TypeError, ["X", "object"], lambda: fit(X=data(8, 3).astype(object)))
case("fit-X-empty", ValueError, ["X", "no samples"], lambda: fit(X=np.zeros((0, 3)), y=np.zeros((0, 2))))
case("fit-epochs-0", ValueError, ["epochs", ">= 1", "0"], lambda: fit(epochs=0))
case("fit-epochs-float", TypeError, ["epochs", "int", "float"], lambda: fit(epochs=2.0))
case("fit-batch-0", ValueError, ["batch_size", ">= 1", "0"], lambda: fit(batch_size=0))
case("fit-batch-negative", ValueError, ["batch_size", ">= 1", "-4"], lambda: fit(batch_size=-4))
case("fit-batch-too-large", ValueError, ["batch_size=9", "8 training samples"], lambda: fit(batch_size=9))
case("fit-batch-None", TypeError, ["batch_size", "NoneType"], lambda: fit(batch_size=None))
case("fit-optimizer-str", TypeError, ["optimizer", "str"], lambda: fit(optimizer="sgd"))
case(
    "fit-loss-unknown", ValueError, ["'hinge'", "mse, binary_cross_entropy, binary_cross_entropy_with_logits, softmax_cross_entropy"], lambda: fit(loss="hinge")
)
case("fit-loss-None", ValueError, ["loss", "None"], lambda: fit(loss=None))
case("fit-bce-needs-sigmoid", ValueError, ["binary_cross_entropy", "sigmoid", "'identity'"], lambda: fit(loss="binary_cross_entropy"))
case("fit-softmax-needs-ce", ValueError, ["softmax", "'mse'"], lambda: fit(classifier(), y=data(8, 3)))
case("fit-bce-target-range", ValueError, ["y", "[0, 1]"], lambda: fit(mlp(output_activation="sigmoid"), loss="binary_cross_entropy"))
case("fit-labels-float", TypeError, ["y", "integer class labels", "float64"], lambda: fit(classifier(), y=np.linspace(0, 1, 8), loss="softmax_cross_entropy"))
case("fit-labels-str", TypeError, ["y", "integer class labels", "<U1"], lambda: fit(classifier(), y=np.array(list("abcabcab")), loss="softmax_cross_entropy"))
case("fit-labels-range", ValueError, ["y[3]", "= 3", "[0, 3)"], lambda: fit(classifier(), y=labels(0, 1, 2, 3, 0, 1, 2, 0), loss="softmax_cross_entropy"))
case("fit-labels-negative", ValueError, ["y[0]", "-1", "[0, 3)"], lambda: fit(classifier(), y=labels(-1, 1, 2, 0, 0, 1, 2, 0), loss="softmax_cross_entropy"))
case("fit-labels-length", ValueError, ["y", "7 rows", "X has 8"], lambda: fit(classifier(), y=labels(0, 1, 2, 0, 0, 1, 2), loss="softmax_cross_entropy"))
case("fit-validation_split-one", ValueError, ["validation_split", "[0, 1)", "1.0"], lambda: fit(validation_split=1.0))
case("fit-validation_split-nan", ValueError, ["validation_split", "nan"], lambda: fit(validation_split=math.nan))
case("fit-validation_split-tiny", ValueError, ["validation_split=0.01", "0 validation"], lambda: fit(validation_split=0.01))
case("fit-validation-both", ValueError, ["validation_data", "validation_split"], lambda: fit(validation_split=0.25, validation_data=(data(2, 3), data(2, 2))))
case("fit-validation_data-single", ValueError, ["validation_data", "pair"], lambda: fit(validation_data=(data(2, 3),)))
case("fit-validation_data-features", ValueError, ["validation X", "5 features"], lambda: fit(validation_data=(data(2, 5), data(2, 2))))
case("fit-validation_data-y-length", ValueError, ["validation y", "3 rows", "X has 2"], lambda: fit(validation_data=(data(2, 3), data(3, 2))))
case("fit-callbacks-int", TypeError, ["callbacks", "int"], lambda: fit(callbacks=[3]))
case("fit-callbacks-class", TypeError, ["callbacks", "type"], lambda: fit(callbacks=[Monitoring]))
case("fit-verbose", ValueError, ["verbose", "0, 1 or 2", "3"], lambda: fit(verbose=3))
case("fit-monitor-missing", ValueError, ["EarlyStopping", "'val_loss'", "recorded"], lambda: fit(callbacks=[steepest.EarlyStopping(monitor="val_loss")]))
case("fit-schedule-nan", ValueError, ["learning rate of epoch 0", "nan"], lambda: fit(optimizer=steepest.SGD(lr=lambda epoch: math.nan)))
case("fit-schedule-str", TypeError, ["learning rate of epoch 0", "str"], lambda: fit(optimizer=steepest.SGD(lr=lambda epoch: "0.1")))
case("fit-schedule-negative", ValueError, ["learning rate of epoch 0", "-0.1"], lambda: fit(optimizer=steepest.SGD(lr=lambda epoch: -0.1)))


class Factor(steepest.Callback):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def learning_rate_factor(self):
        return self.factor


case("fit-lr-factor-negative", ValueError, ["Factor.learning_rate_factor()", ">= 0", "-0.5"], lambda: fit(callbacks=[Factor(-0.5)]))
case("fit-lr-factor-nan", ValueError, ["Factor.learning_rate_factor()", "nan"], lambda: fit(callbacks=[Factor(math.nan)]))
case("fit-lr-factor-str", TypeError, ["Factor.learning_rate_factor()", "str"], lambda: fit(callbacks=[Factor("2")]))
case("autoencoder-fit-X", ValueError, ["X", "3 features", "takes 4"], lambda: steepest.Autoencoder([4, 2]).fit(data(8, 3), verbose=0, batch_size=4))
case("partial_fit-X-nan", ValueError, ["X", "nan", "(1, 1)"], lambda: mlp().partial_fit(with_value(data(4, 3), (1, 1), np.nan), data(4, 2)))
case("partial_fit-y-length", ValueError, ["y", "3 rows", "X has 4"], lambda: mlp().partial_fit(data(4, 3), data(3, 2)))
case("partial_fit-batch-0", ValueError, ["batch_size", ">= 1", "0"], lambda: mlp().partial_fit(data(4, 3), data(4, 2), batch_size=0))
case("partial_fit-loss", ValueError, ["'mae'", "mse"], lambda: mlp().partial_fit(data(4, 3), data(4, 2), loss="mae"))

# ---- optimizers, schedules, callbacks --------------------------------------------------
case("SGD-lr-negative", ValueError, ["lr", "> 0", "-0.1"], lambda: steepest.SGD(lr=-0.1))
case("SGD-lr-zero", ValueError, ["lr", "> 0", "0"], lambda: steepest.SGD(lr=0))
case("SGD-lr-nan", ValueError, ["lr", "finite", "nan"], lambda: steepest.SGD(lr=math.nan))
case("SGD-lr-inf", ValueError, ["lr", "finite", "inf"], lambda: steepest.SGD(lr=math.inf))
case("SGD-lr-str", TypeError, ["lr", "number", "str"], lambda: steepest.SGD(lr="0.1"))
case("SGD-lr-None", TypeError, ["lr", "NoneType"], lambda: steepest.SGD(lr=None))
case("SGD-momentum-negative", ValueError, ["momentum", "-0.5"], lambda: steepest.SGD(momentum=-0.5))
case("SGD-nesterov", ValueError, ["nesterov", "momentum"], lambda: steepest.SGD(nesterov=True))
case("SGD-l1-negative", ValueError, ["l1", "-0.1"], lambda: steepest.SGD(l1=-0.1))
case("SGD-l2-inf", ValueError, ["l2", "inf"], lambda: steepest.SGD(l2=math.inf))
case("Adam-lr-negative", ValueError, ["lr", "-1"], lambda: steepest.Adam(lr=-1))
case("Adam-beta1-one", ValueError, ["beta1", "< 1", "1.0"], lambda: steepest.Adam(beta1=1.0))
case("Adam-beta2-negative", ValueError, ["beta2", "-0.1"], lambda: steepest.Adam(beta2=-0.1))
case("Adam-eps-zero", ValueError, ["eps", "> 0", "0"], lambda: steepest.Adam(eps=0))
case("Adam-eps-str", TypeError, ["eps", "str"], lambda: steepest.Adam(eps="1e-8"))
case("StepDecay-lr", ValueError, ["initial_lr", "> 0", "0"], lambda: StepDecay(0, 1))
case("StepDecay-step_size", ValueError, ["step_size", ">= 1", "0"], lambda: StepDecay(0.1, 0))
case("StepDecay-step_size-float", TypeError, ["step_size", "int", "float"], lambda: StepDecay(0.1, 1.5))
case("StepDecay-gamma", ValueError, ["gamma", "-0.5"], lambda: StepDecay(0.1, 2, gamma=-0.5))
case("ExponentialDecay-gamma", ValueError, ["gamma", "> 0", "0"], lambda: ExponentialDecay(0.1, gamma=0))
case("ExponentialDecay-lr-nan", ValueError, ["initial_lr", "nan"], lambda: ExponentialDecay(math.nan, gamma=0.5))
case("CosineDecay-epochs", ValueError, ["epochs", ">= 1", "0"], lambda: CosineDecay(0.1, epochs=0))
case("CosineDecay-min_lr", ValueError, ["min_lr", "-0.01"], lambda: CosineDecay(0.1, epochs=5, min_lr=-0.01))
case("EarlyStopping-patience", ValueError, ["patience", ">= 0", "-1"], lambda: steepest.EarlyStopping(patience=-1))
case("EarlyStopping-patience-float", ValueError, ["patience", "1.5"], lambda: steepest.EarlyStopping(patience=1.5))
case("EarlyStopping-mode", ValueError, ["mode", "'avg'"], lambda: steepest.EarlyStopping(mode="avg"))
case("EarlyStopping-min_delta", ValueError, ["min_delta", "-1"], lambda: steepest.EarlyStopping(min_delta=-1))
case("ReduceLROnPlateau-factor-one", ValueError, ["factor", "< 1", "1.0"], lambda: steepest.ReduceLROnPlateau(factor=1.0))
case("ReduceLROnPlateau-factor-zero", ValueError, ["factor", "> 0", "0"], lambda: steepest.ReduceLROnPlateau(factor=0))
case("ReduceLROnPlateau-patience", ValueError, ["patience", "-2"], lambda: steepest.ReduceLROnPlateau(patience=-2))
case("ReduceLROnPlateau-min_lr", ValueError, ["min_lr", "nan"], lambda: steepest.ReduceLROnPlateau(min_lr=math.nan))

# ---- save / load -----------------------------------------------------------------------
saved = saving.model_to_bytes(mlp())
header_length = int.from_bytes(saved[12:16], "little")
case("model_from_bytes-str", TypeError, ["bytes", "str"], lambda: saving.model_from_bytes("STEEPEST"))
case("model_from_bytes-None", TypeError, ["bytes", "NoneType"], lambda: saving.model_from_bytes(None))
case("model_from_bytes-empty", ValueError, ["signature"], lambda: saving.model_from_bytes(b""))
case("model_from_bytes-pickle", ValueError, ["signature"], lambda: saving.model_from_bytes(b"\x80\x04\x95" + bytes(40)))
case(
    "model_from_bytes-version",
    ValueError,
    ["format version 3", "reads versions 1 to 2"],
    lambda: saving.model_from_bytes(saved[:8] + (3).to_bytes(4, "little") + saved[12:]),
)
case("model_from_bytes-truncated-header", ValueError, ["header", "truncated"], lambda: saving.model_from_bytes(saved[: 16 + header_length // 2]))
case("model_from_bytes-truncated-parameters", ValueError, ["bytes of parameters", "truncated"], lambda: saving.model_from_bytes(saved[:-3]))
case("model_from_bytes-extra-bytes", ValueError, ["bytes of parameters"], lambda: saving.model_from_bytes(saved + b"\x00"))
case("model_from_bytes-flipped-bit", ValueError, ["checksum"], lambda: saving.model_from_bytes(saved[:-1] + bytes([saved[-1] ^ 1])))
case(
    "model_from_bytes-header-garbage", ValueError, ["JSON"], lambda: saving.model_from_bytes(saved[:16] + b"\xff" * header_length + saved[16 + header_length :])
)
case("load-None", TypeError, ["NoneType"], lambda: steepest.load(None))
case("load-int", TypeError, ["int"], lambda: steepest.load(3))
case("save-None", TypeError, ["NoneType"], lambda: mlp().save(None))


def model_with_nan_weight():
    model = mlp()
    model.layers[0].weight[1, 2] = np.nan  # the weight is a writable view of the parameters
    return model


case("save-nan-weight", ValueError, ["model's parameters", "nan"], lambda: model_with_nan_weight().save(os.devnull))


@pytest.mark.parametrize("call, error, words", CASES)
def test_wrong_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    missing = [word for word in words if word not in message]
    assert not missing, f"{type(raised.value).__name__}: {message!r} does not mention {missing}"


def test_numpy_numbers_are_taken_for_what_they_convert_to():
    # Each was refused with a message that a value in range was out of it (issue 18).
    history = fit(validation_split=np.float32(0.25))
    assert "val_loss" in history.history
    assert steepest.EarlyStopping(patience=np.int64(3)).patience == 3
    assert steepest.ReduceLROnPlateau(patience=np.uint8(2)).patience == 2
    steepest.Autoencoder([3, 2]).fit(data(8, 3), epochs=1, batch_size=4, verbose=0, noise=("mask", np.float32(0.25)))


# ---- files on disk ---------------------------------------------------------------------


def test_load_of_files_that_are_not_models(tmp_path):
    with pytest.raises(FileNotFoundError):
        steepest.load(tmp_path / "missing.steepest")
    with pytest.raises(IsADirectoryError):
        steepest.load(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match=r"notes\.txt is not a valid steepest model file"):
        steepest.load(text)


def test_save_into_a_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        mlp().save(tmp_path / "no" / "such" / "model.steepest")
    assert "no" in str(raised.value)


# ---- absurd sizes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [(10**6, 10**6), (2**40, 2**40), (2**62, 4), (2**64, 1), (1, 2**70)],
    ids=["1e12-parameters", "2^80-parameters", "overflows-int64", "beyond-int64", "wide-output"],
)
def test_absurd_layer_sizes_raise_memory_error(sizes):
    with pytest.raises(MemoryError, match="parameters needs"):
        steepest.Sequential([steepest.Dense(*sizes)])


def test_absurd_mlp_raises_memory_error_and_the_process_carries_on():
    with pytest.raises(MemoryError):
        steepest.MLP([10**7, 10**7, 1], dtype="float64")
    assert steepest.MLP([3, 2]).predict(np.ones((1, 3))).shape == (1, 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ops.matmul(huge_view((10**6, 10**6)), np.zeros((10**6, 1))),
        lambda: ops.matmul(np.zeros((10**6, 1)), np.zeros((1, 10**6))),
        lambda: ops.dense_forward(huge_view((10**6, 10**6)), np.zeros((10**6, 1)), None),
        lambda: ops.activation("relu", huge_view((10**7, 10**7))),
        lambda: ops.activation_backward("relu", np.zeros(3), huge_view((10**13,))),
        lambda: ops.loss("mse", huge_view((10**13,)), np.zeros(1)),
        lambda: ops.dense_backward(huge_view((10**6, 10**6)), huge_view((10**6, 10**6)), np.zeros((10**6, 10**6)), None, "relu"),
        lambda: mlp().predict(huge_view((10**12, 3))),
    ],
    ids=["matmul-strided-input", "matmul-output", "dense_forward", "activation", "activation_backward", "loss", "dense_backward", "predict"],
)
def test_inputs_too_large_to_copy_raise_memory_error(call):
    # A zero-strided view declares terabytes over one element: a contiguous copy (or the
    # output) cannot be allocated, and that must surface as MemoryError, not a crash.
    with pytest.raises(MemoryError):
        call()


def test_predict_with_a_batch_larger_than_any_memory():
    model = mlp()
    X = data(5, 3, dtype=F32)
    assert np.array_equal(model.predict(X, batch_size=2**62), model.predict(X, batch_size=5))


# ---- layouts that are accepted ---------------------------------------------------------


def layouts(array, tmp_path):
    """The same values as `array` in every layout a caller might hand over."""
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.npy"
    memmap = np.lib.format.open_memmap(path, mode="w+", dtype=array.dtype, shape=array.shape)
    memmap[...] = array
    memmap.flush()
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
    wide[..., ::2] = array
    return {
        "memmap": np.load(path, mmap_mode="r"),
        "fortran": np.asfortranarray(array),
        "strided": wide[..., ::2],
        "read-only": read_only(array),
        "reversed": array[::-1].copy()[::-1],
    }


LAYOUTS = ("memmap", "fortran", "strided", "read-only", "reversed")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_ops_accept_any_layout_of_their_inputs(layout, dtype, tmp_path):
    a, b, bias = data(7, 5, dtype=dtype), data(5, 6, dtype=dtype), data(6, dtype=dtype)
    y = ops.dense_forward(a, b, bias, "tanh")
    dy = data(7, 6, dtype=dtype, seed=1)
    pick = lambda array: layouts(array, tmp_path)[layout]  # noqa: E731
    # The same products and passes on the same values: the results agree exactly.
    assert np.array_equal(ops.matmul(pick(a), pick(b)), ops.matmul(a, b))
    assert np.array_equal(ops.matmul(pick(b), pick(b), trans_a=True), ops.matmul(b, b, trans_a=True))
    assert np.array_equal(ops.dense_forward(pick(a), pick(b), pick(bias), "tanh"), y)
    for got, want in zip(ops.dense_backward(pick(a), pick(b), pick(y), pick(dy), "tanh"), ops.dense_backward(a, b, y, dy, "tanh")):
        assert np.array_equal(got, want)
    assert np.array_equal(ops.activation("softmax", pick(a)), ops.activation("softmax", a))
    assert np.array_equal(ops.activation_backward("tanh", pick(y), pick(dy)), ops.activation_backward("tanh", y, dy))
    value, gradient = ops.loss("mse", pick(y), pick(dy))
    want_value, want_gradient = ops.loss("mse", y, dy)
    assert value == want_value and np.array_equal(gradient, want_gradient)
    param = data(6, dtype=dtype)
    expected = param.copy()
    ops.sgd_update(expected, bias, lr=0.1)
    ops.sgd_update(param, pick(bias), lr=0.1)
    assert np.array_equal(param, expected)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_models_accept_any_layout_of_their_data(layout, tmp_path):
    X, y = data(32, 3, dtype=F32), data(32, 2, dtype=F32)
    want_model, got_model = mlp(seed=3), mlp(seed=3)
    want_model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    got_model.fit(layouts(X, tmp_path)[layout], layouts(y, tmp_path)[layout], epochs=2, batch_size=8, verbose=0)
    assert np.array_equal(got_model.get_parameters(), want_model.get_parameters())
    assert np.array_equal(got_model.predict(layouts(X, tmp_path)[layout]), want_model.predict(X))


def test_integer_and_bool_data_are_converted_as_numpy_converts_them():
    # Data (unlike arrays written in place) is converted: an int or bool matrix means the
    # same numbers as its float32 cast.
    model = mlp()
    ints = np.arange(12).reshape(4, 3)
    assert np.array_equal(model.predict(ints), model.predict(ints.astype(F32)))
    assert np.array_equal(model.predict(ints % 2 == 0), model.predict((ints % 2 == 0).astype(F32)))
    assert np.array_equal(model.predict(ints.tolist()), model.predict(ints.astype(F32)))


def traced_peak(call):
    """Peak bytes NumPy allocated during `call` (NumPy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memmapped_data_is_not_copied_by_fit_or_predict(tmp_path):
    rows = 2**17  # 1.5 MiB of float32 X: a copy would show far above the allowance below
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=F32, shape=(rows, 3))
    X[...] = 0.5
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=F32, shape=(rows, 2))
    y[...] = 0.25
    model = mlp()
    allowance = X.nbytes // 4
    assert traced_peak(lambda: model.fit(X, y, epochs=1, batch_size=4096, shuffle=False, verbose=0)) < allowance + rows * 8
    # predict allocates its output (rows x 2 float32) and nothing the size of X
    assert traced_peak(lambda: model.predict(X)) < allowance + rows * 2 * 4


def test_fortran_and_read_only_operands_of_matmul_are_not_copied():
    a = np.asfortranarray(data(1024, 256))
    b = read_only(data(256, 2))
    expected = ops.matmul(np.ascontiguousarray(a), b)
    result = []
    peak = traced_peak(lambda: result.append(ops.matmul(a, b)))
    assert np.array_equal(result[0], expected)
    assert peak < a.nbytes // 8  # the output (16 KiB), not a 2 MiB copy of a


def test_output_written_in_place_is_the_given_array():
    a, b = data(3, 4), data(4, 5)
    out = np.empty((3, 5))
    assert ops.matmul(a, b, out=out) is out
    assert np.array_equal(out, ops.matmul(a, b))


# ---- predicting before fitting ---------------------------------------------------------


@pytest.mark.parametrize("model", [mlp(), steepest.Autoencoder([4, 3, 2]), classifier()], ids=["mlp", "autoencoder", "classifier"])
def test_predict_before_fit_uses_the_initial_weights(model):
    X = data(5, model.input_features, dtype=F32)
    expected = X
    for layer in model.layers:
        expected = ops.dense_forward(expected, layer.weight, layer.bias, layer.activation)
    assert np.array_equal(model.predict(X), expected)


# ---- hostile model files -----------------------------------------------------------------


def model_file(edit=None, *, header_text=None, parameters=None):
    """A valid model file of mlp() whose JSON header went through `edit`, with the checksum
    made right again, so that only the edited field is wrong."""
    import json

    from steepest import io

    data = saving.model_to_bytes(mlp())
    length = int.from_bytes(data[12:16], "little")
    raw = data[16 + length : -4] if parameters is None else parameters
    header = json.loads(data[16 : 16 + length])
    if parameters is not None:
        header["arrays"] = [["parameters", len(raw) // 4]]
    if edit is not None:
        edit(header)
    text = header_text if header_text is not None else json.dumps(header).encode()
    return io.frame(text, raw)


def set_layers(*layers):
    return lambda header: header.__setitem__("layers", [dict(layer) for layer in layers])


DENSE_3_4 = {"type": "dense", "in_features": 3, "out_features": 4, "activation": "relu"}
DENSE_4_2 = {"type": "dense", "in_features": 4, "out_features": 2, "activation": "identity"}


def dropout(features, rate=0.5):
    return {"type": "dropout", "features": features, "rate": rate}


def as_autoencoder(*layers):
    def edit(header):
        header["model"] = "Autoencoder"
        header["config"] = {"encoder_layers": 1}
        if layers:
            header["layers"] = [dict(layer) for layer in layers]

    return edit


HOSTILE_FILES = [
    # found by fuzzing and hand-crafted headers (issue 8): each raised something other than
    # ValueError (RecursionError, OverflowError, RuntimeError) or loaded a broken model
    ("deep-nesting", model_file(header_text=b"[" * 5000 + b"]" * 5000), "nested too deeply"),
    ("dropout-infinite-width", model_file(edit=set_layers(dropout(float("inf")), DENSE_3_4, DENSE_4_2)), "features"),
    ("dropout-width-beyond-int64", model_file(edit=set_layers(dropout(10**30), DENSE_3_4, DENSE_4_2)), "layer 1 takes 3 features but layer 0 gives"),
    ("dropout-fractional-width", model_file(edit=set_layers(dropout(3.7), DENSE_3_4, DENSE_4_2)), "features must be an int"),
    ("dropout-only", model_file(edit=set_layers(dropout(3)), parameters=b""), "at least one dense layer"),
    ("autoencoder-with-dropout", model_file(as_autoencoder(DENSE_3_4, dropout(4), {**DENSE_4_2, "out_features": 3}), parameters=bytes(31 * 4)), "dense layers"),
    ("autoencoder-not-back-to-input", model_file(as_autoencoder()), "from the input size back to it"),
    ("dense-chain-broken", model_file(edit=set_layers(DENSE_3_4, {**DENSE_4_2, "in_features": 5})), "layer 1 takes 5 features but layer 0 gives 4"),
    ("hidden-softmax", model_file(edit=set_layers({**DENSE_3_4, "activation": "softmax"}, DENSE_4_2)), "softmax"),
    ("activation-not-a-name", model_file(edit=set_layers({**DENSE_3_4, "activation": ["relu"]}, DENSE_4_2)), "unknown activation"),
    ("width-beyond-int64", model_file(edit=set_layers({**DENSE_3_4, "out_features": 2**70}, DENSE_4_2)), "absurdly large"),
    ("rate-infinite", model_file(edit=set_layers(DENSE_3_4, dropout(4, 1e999), DENSE_4_2)), "rate"),
    ("seed-nan", model_file(lambda header: header.__setitem__("seed", float("nan"))), "'seed'"),
    ("dtype-unknown", model_file(lambda header: header.__setitem__("dtype", "float16")), "unknown dtype"),
    ("kind-unknown", model_file(lambda header: header.__setitem__("model", "os.system")), "unknown model kind"),
    ("layers-empty", model_file(edit=set_layers(), parameters=b""), "empty"),
    ("count-mismatch", model_file(lambda header: header.__setitem__("arrays", [["parameters", 25]])), "bytes of parameters"),
    ("count-negative", model_file(lambda header: header.__setitem__("arrays", [["parameters", -4]])), "-4 values"),
    ("arrays-not-pairs", model_file(lambda header: header.__setitem__("arrays", [["parameters"]])), "[name, count]"),
    ("arrays-twice", model_file(lambda header: header.__setitem__("arrays", [["parameters", 13], ["parameters", 13]])), "twice"),
    ("no-parameters", model_file(lambda header: header.__setitem__("arrays", [["weights", 26]])), "no parameters"),
    # a well-formed file whose checksum matches parameters that are not numbers
    ("parameter-nan", model_file(parameters=with_value(mlp().get_parameters().astype("<f4"), 5, np.nan).tobytes()), "parameter 5 is nan"),
]


@pytest.mark.parametrize("data, phrase", [pytest.param(d, p, id=i) for i, d, p in HOSTILE_FILES])
def test_hostile_model_files_are_refused_with_value_error(data, phrase):
    with pytest.raises(ValueError, match="is not a valid steepest model file") as raised:
        saving.model_from_bytes(data)
    assert phrase in str(raised.value)
    assert str(raised.value).count("is not a valid") == 1


def test_the_hostile_file_helper_builds_loadable_files():
    # The hostile files above differ from a good one only where the test edits them.
    assert np.array_equal(saving.model_from_bytes(model_file()).get_parameters(), mlp().get_parameters())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("call", ["fit-X", "fit-y", "partial_fit-X", "predict", "transform"])
def test_the_estimators_refuse_masked_arrays(call):
    # scikit-learn's validate_data would drop the mask (issue 18).
    from steepest.sklearn import AutoencoderTransformer, MLPClassifier, MLPRegressor

    X = data(12, 3)
    masked = np.ma.masked_array(X, mask=X > 1)
    labels = (X[:, 0] > 0).astype(int)
    calls = {
        "fit-X": lambda: MLPClassifier(max_iter=2).fit(masked, labels),
        "fit-y": lambda: MLPRegressor(max_iter=2).fit(X, np.ma.masked_array(X[:, 0], mask=X[:, 0] > 1)),
        "partial_fit-X": lambda: MLPClassifier().partial_fit(masked, labels, classes=[0, 1]),
        "predict": lambda: MLPRegressor(max_iter=2).fit(X, X[:, 0]).predict(masked[:1]),
        "transform": lambda: AutoencoderTransformer(max_iter=2).fit(X).transform(masked),
    }
    with pytest.raises(TypeError, match="masked array"):
        calls[call]()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("given", ["X", "y", "sparse X"])
def test_an_estimator_fitted_in_float32_names_what_overflows_its_dtype(given):
    # partial_fit on float64 data converts it to the fitted model's float32 (issue 18):
    # 1e300 became inf and was reported as such.
    import scipy.sparse

    from steepest.sklearn import MLPRegressor

    X = data(20, 3, dtype=F32)
    estimator = MLPRegressor(max_iter=2).fit(X, X[:, 0])
    X64, y64 = X.astype(F64), X[:, 0].astype(F64)
    if given == "y":
        y64[3] = 1e300
    else:
        X64[4, 2] = 1e300
    with pytest.raises(ValueError, match=r"1e\+300 at position .*overflows float32"):
        estimator.partial_fit(scipy.sparse.csr_matrix(X64) if given == "sparse X" else X64, y64)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numpy_integers_are_counts_too():
    # Each was refused as "must be an int", given an int (issue 18).
    from steepest.sklearn import AutoencoderTransformer
    from steepest.tune.budget import Budget, rung_budgets

    assert AutoencoderTransformer(n_components=np.int64(2), max_iter=1).fit(data(8, 3)).transform(data(2, 3)).shape == (2, 2)
    budget = Budget("max_iter", "warm_start", 200)
    assert rung_budgets(27, np.int32(3), None, 81, budget) == rung_budgets(27, 3, None, 81, budget)
    with pytest.raises(ValueError, match=r"factor must be an int >= 2, got 1\.5"):
        rung_budgets(27, 1.5, None, 81, budget)
