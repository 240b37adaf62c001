"""The kernels of a dense layer, one call each, on NumPy arrays.

Every function takes float32 or float64 arrays (never both in one call: mixed precision
raises ``TypeError`` rather than converting), row-major, and runs the SIMD kernels chosen
for this CPU with the GIL released. Weights are stored ``(in_features, out_features)``, so
a dense layer is ``y = act(x @ weight + bias)``.

Arrays that are only read may be any layout (a strided view is copied, a transposed one is
used as is); arrays written in place (``out``, ``param``, ``velocity``) must already have the
right dtype, shape and C-contiguous layout and are never converted.

Examples
--------
>>> import numpy as np
>>> from steepest import ops
>>> x = np.ones((2, 3), dtype=np.float32)
>>> w = np.full((3, 4), 0.5, dtype=np.float32)
>>> ops.dense_forward(x, w, np.zeros(4, np.float32), activation="relu")
array([[1.5, 1.5, 1.5, 1.5],
       [1.5, 1.5, 1.5, 1.5]], dtype=float32)
"""

from __future__ import annotations

import functools
import numbers
from typing import Any, Optional, Tuple

import numpy as np

from steepest import _core
from steepest._validation import l1_step as l1_step_form

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "activation",
    "activation_backward",
    "adam_update",
    "dense_backward",
    "dense_forward",
    "loss",
    "matmul",
    "sgd_update",
]

# Bound once: at tiny sizes the attribute lookup is a measurable share of a call (issue 3).
_matmul = _core.matmul

#: Activation names accepted everywhere; ``softmax`` is row-wise (over the last axis).
ACTIVATIONS = tuple(_core.activations)
#: Loss names accepted by :func:`loss` (and by ``fit``).
LOSSES = tuple(_core.losses)


def matmul(
    a: np.ndarray,
    b: np.ndarray,
    *,
    trans_a: bool = False,
    trans_b: bool = False,
    out: Optional[np.ndarray] = None,
    precision: str = "float32",
) -> np.ndarray:
    """Matrix product ``op(a) @ op(b)``, where ``op`` transposes when its flag is set.

    The three products of a dense layer are ``matmul(x, w)`` (forward),
    ``matmul(dz, w, trans_b=True)`` (input gradient) and ``matmul(x, dz, trans_a=True)``
    (weight gradient).

    Parameters
    ----------
    a, b : ndarray, 2-D, both float32 or both float64
    trans_a, trans_b : bool
        Use the transpose of ``a`` / ``b``.
    out : ndarray, optional
        C-contiguous array of the result's shape and dtype, written in place.
    precision : {"float32", "bfloat16"}
        ``"float32"`` (the default) multiplies in the arrays' own precision. ``"bfloat16"``
        (float32 arrays only) rounds the operands to bfloat16 (to nearest, ties to even;
        denormals to zero; NaN and ±inf kept) and accumulates their products in float32,
        with the instructions :func:`steepest.runtime.bfloat16_level` names. Either way the
        result is bitwise the same for any number of threads.

    Returns
    -------
    ndarray
        ``out`` if given, else a new array.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> a = np.arange(6, dtype=np.float64).reshape(2, 3)
    >>> ops.matmul(a, a, trans_b=True)
    array([[ 5., 14.],
           [14., 50.]])
    >>> third = np.full((1, 1), 1 / 3, dtype=np.float32)
    >>> float(ops.matmul(third, np.ones((1, 1), np.float32), precision="bfloat16")[0, 0])
    0.333984375
    """
    if precision == "float32":
        return _matmul(a, b, trans_a, trans_b, out)
    return _matmul(a, b, trans_a, trans_b, out, precision)


def dense_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: Optional[np.ndarray] = None,
    activation: str = "identity",
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """A dense layer's output ``act(x @ weight + bias)`` in one pass over the output.

    Parameters
    ----------
    x : ndarray, shape (batch, in_features)
    weight : ndarray, shape (in_features, out_features)
    bias : ndarray, shape (out_features,), optional
    activation : {"identity", "relu", "sigmoid", "tanh", "softmax"}
    out : ndarray, optional
        C-contiguous ``(batch, out_features)`` array written in place.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> x = np.array([[1.0, -2.0]])
    >>> w = np.eye(2)
    >>> ops.dense_forward(x, w, np.array([0.0, 1.0]), "relu")
    array([[1., 0.]])
    """
    return _core.dense_forward(x, weight, bias, _name("dense_forward", "activation", activation), out)


def dense_backward(x: np.ndarray, weight: np.ndarray, y: np.ndarray, dy: np.ndarray, activation: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a dense layer from the gradient ``dy`` of its output.

    With ``dz = dy * act'(y)`` (taken from the saved output ``y``: ReLU ``y > 0``, sigmoid
    ``y(1 - y)``, tanh ``1 - y²``; softmax uses its row-wise Jacobian), returns
    ``dx = dz @ weight.T``, ``dweight = x.T @ dz`` and ``dbias = dz.sum(axis=0)``.

    Parameters
    ----------
    x : ndarray, shape (batch, in_features)
        The layer's input.
    weight : ndarray, shape (in_features, out_features)
    y : ndarray, shape (batch, out_features)
        The layer's output, as :func:`dense_forward` returned it.
    dy : ndarray, shape (batch, out_features)
    activation : str

    Returns
    -------
    dx, dweight, dbias : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> x, w = np.ones((1, 2)), np.ones((2, 1))
    >>> y = ops.dense_forward(x, w, None, "identity")
    >>> dx, dw, db = ops.dense_backward(x, w, y, np.ones((1, 1)), "identity")
    >>> dx, dw.ravel(), db
    (array([[1., 1.]]), array([1., 1.]), array([1.]))
    """
    return _core.dense_backward(x, weight, y, dy, _name("dense_backward", "activation", activation))


def activation(name: str, x: np.ndarray) -> np.ndarray:
    """Apply an activation: element-wise, or row-wise over the last axis for ``"softmax"``.

    Sigmoid, tanh and softmax are computed stably: no overflow and no NaN for any finite
    input, ±1000 included.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> ops.activation("sigmoid", np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    return _core.activation(_name("activation", "name", name), x)


def activation_backward(name: str, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``dy * act'(x)``, with the derivative computed from the activation's output ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> y = ops.activation("tanh", np.array([0.0]))
    >>> ops.activation_backward("tanh", y, np.array([2.0]))
    array([2.])
    """
    return _core.activation_backward(_name("activation_backward", "name", name), y, dy)


def loss(name: str, pred: np.ndarray, target: np.ndarray) -> Tuple[float, np.ndarray]:
    """A loss and its gradient with respect to ``pred``, as PyTorch defines them.

    - ``"mse"``: mean of ``(pred - target)²`` over all elements (``MSELoss``).
    - ``"binary_cross_entropy"``: ``pred`` are probabilities in [0, 1]; mean over all
      elements, logs clamped at -100 (``BCELoss``).
    - ``"binary_cross_entropy_with_logits"``: the same from logits, stable for any value
      (``BCEWithLogitsLoss``).
    - ``"softmax_cross_entropy"``: ``pred`` are logits ``(batch, classes)``; ``target`` is
      integer labels ``(batch,)`` or class probabilities ``(batch, classes)``; mean over
      samples (``CrossEntropyLoss``).
    - ``"poisson"``: ``pred`` is the log of the predicted mean; half the Poisson deviance,
      mean over all elements of ``exp(pred) - target·pred + target·log(target) - target``
      (``PoissonNLLLoss(log_input=True)`` plus the constant that makes a perfect fit 0).

    Returns
    -------
    value : float
    dpred : ndarray, the shape of ``pred``

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> value, grad = ops.loss("mse", np.array([1.0, 3.0]), np.array([1.0, 1.0]))
    >>> value, grad
    (2.0, array([0., 2.]))
    """
    return _core.loss(_name("loss", "name", name), pred, target)


def sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    velocity: Optional[np.ndarray] = None,
    *,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    l1: float = 0.0,
    l2: float = 0.0,
    l1_step: str = "proximal",
) -> None:
    """One SGD step on ``param``, in place, in one fused pass (PyTorch's ``SGD``).

    ``g = grad + l2·param``; with momentum ``velocity = momentum·velocity + g`` and the step
    is ``velocity`` (or ``g + momentum·velocity`` with Nesterov); without, the step is ``g``;
    then ``param -= lr·step`` and L1's proximal step ``param = sign(param)·max(|param| -
    lr·l1, 0)``. With ``l1_step="subgradient"``, ``l1·sign(param)`` is added to ``g``
    instead (PyTorch's, through autograd). Apply ``l1``/``l2`` to weights, not biases.

    Parameters
    ----------
    param : ndarray, C-contiguous, writeable
    grad : ndarray, the shape of ``param``
    velocity : ndarray, optional
        Required when ``momentum != 0``; C-contiguous, updated in place (start from zeros).
    lr, momentum, l1, l2 : float, finite and >= 0
    nesterov : bool
    l1_step : {"proximal", "subgradient"}

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> p = np.array([1.0, -1.0])
    >>> ops.sgd_update(p, np.array([0.5, 0.5]), lr=0.1)
    >>> p
    array([ 0.95, -1.05])
    """
    number = functools.partial(_number, "sgd_update")
    proximal = l1_step_form(l1_step, "sgd_update: argument 'l1_step'") == "proximal"
    _core.sgd_update(param, grad, velocity, number("lr", lr), number("momentum", momentum), bool(nesterov), number("l1", l1), number("l2", l2), proximal)


def adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    *,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    l1: float = 0.0,
    l2: float = 0.0,
    l1_step: str = "proximal",
) -> None:
    """One Adam step on ``param``, in place (PyTorch's ``Adam`` with ``weight_decay=l2``).

    ``m`` and ``v`` are the moment estimates (start from zeros, updated in place); ``step``
    counts steps from 1 and sets the bias corrections. L1 is a proximal step whose threshold
    ``lr·l1`` is divided by Adam's denominator ``sqrt(v_hat) + eps``, or with
    ``l1_step="subgradient"`` ``l1·sign(param)`` added to the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from steepest import ops
    >>> p, m, v = np.array([1.0]), np.zeros(1), np.zeros(1)
    >>> ops.adam_update(p, np.array([4.0]), m, v, step=1, lr=0.1)
    >>> np.round(p, 6)
    array([0.9])
    """
    number = functools.partial(_number, "adam_update")
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"adam_update: argument 'step' must be an int, got {type(step).__name__}")
    proximal = l1_step_form(l1_step, "adam_update: argument 'l1_step'") == "proximal"
    _core.adam_update(
        param,
        grad,
        m,
        v,
        int(step),
        number("lr", lr),
        number("beta1", beta1),
        number("beta2", beta2),
        number("eps", eps),
        number("l1", l1),
        number("l2", l2),
        proximal,
    )


# Arguments that are not arrays are checked here, where the user's own value is still at
# hand: a float() or str conversion in the binding would accept "0.1" or 1.5 steps silently
# or fail without naming the argument (issue 8).


def _name(function: str, argument: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{function}: argument '{argument}' must be a str, got {type(value).__name__} {value!r}")
    return value


def _number(function: str, argument: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: argument '{argument}' must be a real number, got {type(value).__name__} {value!r}")
    return float(value)
