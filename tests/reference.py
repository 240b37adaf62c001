"""Independent NumPy float64 reference for every op in `steepest.ops`.

Written from the mathematical definitions, not from the C++ core, so that the
kernels are checked against something that shares none of their code. Inputs of
any float dtype are widened to float64 first; callers compare the float32
kernels against this reference applied to the same float32-rounded inputs.

Shapes (row-major, weights stored (in_features, out_features) as in the core):
    M  batch rows        K  in_features        N  out_features / classes
    x (M, K)   weight (K, N)   bias (N,)   y, dy (M, N)
The VAE below adds  F features,  L latent size,  C classes of the condition.
"""

import numpy as np

ACTIVATIONS = ("identity", "relu", "sigmoid", "tanh", "softmax")
LOSSES = ("mse", "binary_cross_entropy", "binary_cross_entropy_with_logits", "softmax_cross_entropy")

# PyTorch's BCELoss clamps each log at -100 so that p = 0 or 1 gives a finite loss.
BCE_LOG_FLOOR = -100.0
# PyTorch's BCELoss backward divides by max(p(1-p), 1e-12) for the same reason.
BCE_GRAD_EPSILON = 1e-12


def _f64(array):
    return np.asarray(array, dtype=np.float64)


def matmul(a, b, trans_a=False, trans_b=False):
    """C = op(a) @ op(b), op transposing when its flag is set."""
    a, b = _f64(a), _f64(b)
    return (a.T if trans_a else a) @ (b.T if trans_b else b)


# Activations: each forward sits next to its derivative, which is expressed
# through the forward OUTPUT y, as the core's backward receives it.


def identity(x):
    return _f64(x).copy()


def identity_backward(y, dy):
    return _f64(dy).copy()


def relu(x):
    return np.maximum(_f64(x), 0.0)


def relu_backward(y, dy):
    return np.where(_f64(y) > 0.0, _f64(dy), 0.0)


def sigmoid(x):
    x = _f64(x)
    # exp(-|x|) <= 1 never overflows; each branch is the exact form for its sign.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_backward(y, dy):
    y = _f64(y)
    return _f64(dy) * y * (1.0 - y)


def tanh(x):
    return np.tanh(_f64(x))


def tanh_backward(y, dy):
    y = _f64(y)
    return _f64(dy) * (1.0 - y * y)


def softmax(x):
    """Row-wise over the last axis of a 2-D array."""
    x = _f64(x)
    shifted = x - x.max(axis=-1, keepdims=True)  # largest exponent is 0: no overflow
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(y, dy):
    # Jacobian-vector product of softmax: dz_i = y_i (dy_i - sum_j dy_j y_j).
    y, dy = _f64(y), _f64(dy)
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


# The output of a Poisson regression; its derivative is its output.
def exp(x):
    return np.exp(_f64(x))


def exp_backward(y, dy):
    return _f64(dy) * _f64(y)


_FORWARD = {
    "identity": identity,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "exp": exp,
}
_BACKWARD = {
    "identity": identity_backward,
    "relu": relu_backward,
    "sigmoid": sigmoid_backward,
    "tanh": tanh_backward,
    "softmax": softmax_backward,
    "exp": exp_backward,
}


def activation(name, x):
    return _FORWARD[name](x)


def activation_backward(name, y, dy):
    return _BACKWARD[name](y, dy)


# Dense layer: y = act(x @ weight + bias).


def dense_forward(x, weight, bias, activation_name="identity"):
    z = _f64(x) @ _f64(weight)
    if bias is not None:
        z = z + _f64(bias)
    return activation(activation_name, z)


def dense_backward(x, weight, y, dy, activation_name):
    """Returns (dx (M, K), dweight (K, N), dbias (N,)) from the forward output y."""
    dz = activation_backward(activation_name, y, dy)
    dx = dz @ _f64(weight).T
    dweight = _f64(x).T @ dz
    dbias = dz.sum(axis=0)
    return dx, dweight, dbias


# Losses: each returns (value, dpred), the mean-reduced value and its gradient.


def logsumexp(x):
    """Row-wise over the last axis, shifted by the row maximum so it never overflows."""
    x = _f64(x)
    row_max = x.max(axis=-1)
    return row_max + np.log(np.sum(np.exp(x - row_max[..., None]), axis=-1))


def mse(pred, target):
    diff = _f64(pred) - _f64(target)
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


def poisson(log_mean, target):
    """Half the Poisson deviance from the log of the mean: mean(e^z - t z + t log t - t),
    t log t = 0 at t = 0; gradient (e^z - t) / n."""
    z, t = _f64(log_mean), _f64(target)
    t_log_t = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)
    value = np.mean(np.exp(z) - t * z + t_log_t - t)
    return float(value), (np.exp(z) - t) / z.size


def binary_cross_entropy(pred, target):
    p, t = _f64(pred), _f64(target)
    # log(0) = -inf is expected at p = 0 or 1 and is clamped on the next lines.
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), BCE_LOG_FLOOR)
        log_1mp = np.maximum(np.log(1.0 - p), BCE_LOG_FLOOR)
    value = -np.mean(t * log_p + (1.0 - t) * log_1mp)
    dpred = (p - t) / np.maximum(p * (1.0 - p), BCE_GRAD_EPSILON) / p.size
    return float(value), dpred


def softplus(x):
    """log(1 + e^x), exact and finite for any x (log(e^0 + e^x) by np.logaddexp)."""
    return np.logaddexp(0.0, _f64(x))


def binary_cross_entropy_with_logits(logits, target):
    """PyTorch's BCEWithLogitsLoss: BCE of sigmoid(z), written through the logits z.

    -log sigmoid(z) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z), so the loss is
    mean(t softplus(-z) + (1 - t) softplus(z)): no clamping, finite at any z. Its gradient
    is (sigmoid(z) - t) / n.
    """
    z, t = _f64(logits), _f64(target)
    value = np.mean(t * softplus(-z) + (1.0 - t) * softplus(z))
    return float(value), (sigmoid(z) - t) / z.size


def softmax_cross_entropy(logits, target):
    """PyTorch's CrossEntropyLoss over logits (M, C), mean over the M rows.

    target is either integer class indices (M,) or a target distribution per row (M, C)
    (soft labels, or one-hot rows): -sum_j t_j log softmax(z)_j, whose gradient is
    softmax(z) sum_j t_j - t (rows need not sum to 1, as in PyTorch).
    """
    logits = _f64(logits)
    target = np.asarray(target)
    rows = logits.shape[0]
    if target.ndim == 1:
        index = np.arange(rows)
        value = np.mean(logsumexp(logits) - logits[index, target])
        one_hot = np.zeros_like(logits)
        one_hot[index, target] = 1.0
        return float(value), (softmax(logits) - one_hot) / rows
    target = _f64(target)
    log_softmax = logits - logsumexp(logits)[:, None]
    value = -np.mean(np.sum(target * log_softmax, axis=1))
    dpred = (softmax(logits) * target.sum(axis=1, keepdims=True) - target) / rows
    return float(value), dpred


_LOSSES = {
    "mse": mse,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "softmax_cross_entropy": softmax_cross_entropy,
    "poisson": poisson,
}


def loss(name, pred, target):
    return _LOSSES[name](pred, target)


def soft_threshold(x, threshold):
    """The proximal operator of threshold·|x|: argmin_p (p - x)^2 / 2 + threshold |p|."""
    return np.sign(x) * np.maximum(np.abs(x) - threshold, 0.0)


def sgd_update(param, grad, velocity=None, *, lr, momentum=0.0, nesterov=False, l1=0.0, l2=0.0, l1_step="proximal"):
    """One SGD step; returns (new_param, new_velocity) and leaves its inputs alone.

    PyTorch's SGD with dampening 0 and weight_decay = l2, plus an L1 term: with
    l1_step="subgradient" l1 sign(p) added to the gradient (autograd's derivative of
    l1 |p|), with "proximal" the step on the rest followed by the proximal operator of
    lr l1 |p| (proximal gradient descent, ISTA). new_velocity is None when momentum is 0.
    """
    param, grad = _f64(param), _f64(grad)
    regularized = grad + l2 * param + (l1 * np.sign(param) if l1_step == "subgradient" else 0.0)
    if momentum != 0.0:
        velocity = momentum * _f64(velocity) + regularized
        step = regularized + momentum * velocity if nesterov else velocity
    else:
        velocity = None
        step = regularized
    stepped = param - lr * step
    return (soft_threshold(stepped, lr * l1) if l1_step == "proximal" else stepped), velocity


def adam_update(param, grad, m, v, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, l1=0.0, l2=0.0, l1_step="proximal"):
    """One Adam step (Kingma & Ba 2015); returns (new_param, new_m, new_v), inputs left alone.

    PyTorch's Adam with weight_decay = l2 (added to the gradient, not AdamW's decoupled
    decay), plus an L1 term. step counts from 1; eps is added to the square root of the
    bias-corrected second moment, as PyTorch does:
        g = grad + l2 p (+ l1 sign(p) with l1_step="subgradient")
        m = beta1 m + (1 - beta1) g           v = beta2 v + (1 - beta2) g^2
        D = sqrt(v / (1 - beta2^step)) + eps
        p = p - lr (m / (1 - beta1^step)) / D
    and with "proximal" then the proximal operator of lr l1 |p| in the metric D (ProxGen,
    Yun et al. 2021: a diagonally scaled proximal step): p = soft_threshold(p, lr l1 / D).
    """
    param, grad = _f64(param), _f64(grad)
    g = grad + l2 * param + (l1 * np.sign(param) if l1_step == "subgradient" else 0.0)
    m = beta1 * _f64(m) + (1.0 - beta1) * g
    v = beta2 * _f64(v) + (1.0 - beta2) * g * g
    m_hat = m / (1.0 - beta1**step)
    denominator = np.sqrt(v / (1.0 - beta2**step)) + eps
    stepped = param - lr * m_hat / denominator
    return (soft_threshold(stepped, lr * l1 / denominator) if l1_step == "proximal" else stepped), m, v


# Variational autoencoder (Kingma & Welling 2014, the conventions of PyTorch's examples/vae):
# an encoder MLP to a hidden representation h, two linear heads mean = h Wm + bm and
# log_var = h Wv + bv of size L, z = mean + exp(log_var / 2) eps, and a decoder MLP whose
# last layer is linear (logits, or the reconstruction itself for "gaussian"). A condition,
# one-hot (M, C), is appended to the encoder's input and to z. Unlike examples/vae, whose
# loss is summed over the batch, the loss here is averaged over it.

VAE_RECONSTRUCTIONS = ("bernoulli", "gaussian")


def reparameterize(mean, log_var, eps):
    """z = mean + sigma eps with sigma = exp(log_var / 2); all (M, L)."""
    return _f64(mean) + np.exp(0.5 * _f64(log_var)) * _f64(eps)


def reparameterize_backward(log_var, eps, dz):
    """(dmean, dlog_var) from dz: dz/dmean = 1, dz/dlog_var = eps sigma / 2."""
    dz = _f64(dz)
    return dz.copy(), dz * _f64(eps) * 0.5 * np.exp(0.5 * _f64(log_var))


def gaussian_kl(mean, log_var):
    """KL(N(mean, sigma^2) || N(0, I)) per row, (M,): -1/2 sum_j (1 + log_var - mean^2 - sigma^2)."""
    mean, log_var = _f64(mean), _f64(log_var)
    return -0.5 * np.sum(1.0 + log_var - mean * mean - np.exp(log_var), axis=1)


def gaussian_kl_backward(mean, log_var, dkl):
    """(dmean, dlog_var) from dkl (M,): dKL/dmean = mean, dKL/dlog_var = (sigma^2 - 1) / 2."""
    dkl = _f64(dkl)[:, None]
    return dkl * _f64(mean), dkl * 0.5 * (np.exp(_f64(log_var)) - 1.0)


def vae_reconstruction(kind, output, x):
    """The reconstruction term and its gradient with respect to the decoder's output.

    Summed over the F features of each sample and averaged over the M samples:
    "bernoulli", BCE from the logits (F times the mean BCEWithLogitsLoss); "gaussian",
    1/2 ||x - output||^2 (F/2 times the mean MSELoss).
    """
    features = np.shape(x)[1]
    if kind == "bernoulli":
        value, doutput = binary_cross_entropy_with_logits(output, x)
        return features * value, features * doutput
    if kind == "gaussian":
        value, doutput = mse(output, x)
        return 0.5 * features * value, 0.5 * features * doutput
    raise ValueError(f"reconstruction must be one of {VAE_RECONSTRUCTIONS}, got {kind!r}")


def _mlp_forward(layers, x):
    """The input and every layer's output, as _mlp_backward needs them."""
    outputs = [x]
    for weight, bias, activation_name in layers:
        outputs.append(dense_forward(outputs[-1], weight, bias, activation_name))
    return outputs


def _mlp_backward(layers, outputs, dy):
    """(dx, [(dweight, dbias) per layer]) from the gradient of the last output."""
    gradients = []
    for (weight, _, activation_name), x, y in reversed(list(zip(layers, outputs[:-1], outputs[1:]))):
        dy, dweight, dbias = dense_backward(x, weight, y, dy, activation_name)
        gradients.append((dweight, dbias))
    return dy, gradients[::-1]


def vae_loss(params, x, eps, *, reconstruction="bernoulli", beta=1.0, condition=None):
    """The VAE's loss on a batch and its gradient with respect to every parameter.

    params: {"encoder": [(weight, bias, activation)], "mean": (weight, bias),
    "log_var": (weight, bias), "decoder": [(weight, bias, activation)]}, weights
    (in_features, out_features). The encoder takes F (+ C) features to the hidden size H,
    each head H to L, the decoder L (+ C) to F; its last activation must be "identity".
    x (M, F): for "bernoulli", values in [0, 1]. eps (M, L): the standard normal draws of
    the reparameterization. condition (M, C), optional: one-hot labels.

    Returns (loss, gradients): loss = mean over samples of reconstruction + beta KL;
    gradients has the keys and structure of params with (dweight, dbias) in place of each
    (weight, bias[, activation]).
    """
    if params["decoder"][-1][2] != "identity":
        raise ValueError("the decoder's last layer must be linear (its output is logits or the reconstruction)")
    x, eps = _f64(x), _f64(eps)
    rows, latent = eps.shape

    def with_condition(a):
        return a if condition is None else np.concatenate([a, _f64(condition)], axis=1)

    encoded = _mlp_forward(params["encoder"], with_condition(x))
    hidden = encoded[-1]
    mean = dense_forward(hidden, *params["mean"])
    log_var = dense_forward(hidden, *params["log_var"])
    z = reparameterize(mean, log_var, eps)
    decoded = _mlp_forward(params["decoder"], with_condition(z))
    reconstruction_value, doutput = vae_reconstruction(reconstruction, decoded[-1], x)
    loss = reconstruction_value + beta * float(np.mean(gaussian_kl(mean, log_var)))

    ddecoder_input, decoder_gradients = _mlp_backward(params["decoder"], decoded, doutput)
    dmean, dlog_var = reparameterize_backward(log_var, eps, ddecoder_input[:, :latent])  # the condition is not learned
    kl_dmean, kl_dlog_var = gaussian_kl_backward(mean, log_var, np.full(rows, beta / rows))
    dmean, dlog_var = dmean + kl_dmean, dlog_var + kl_dlog_var
    dhidden_mean, *mean_gradients = dense_backward(hidden, params["mean"][0], mean, dmean, "identity")
    dhidden_log_var, *log_var_gradients = dense_backward(hidden, params["log_var"][0], log_var, dlog_var, "identity")
    _, encoder_gradients = _mlp_backward(params["encoder"], encoded, dhidden_mean + dhidden_log_var)
    gradients = {
        "encoder": encoder_gradients,
        "mean": tuple(mean_gradients),
        "log_var": tuple(log_var_gradients),
        "decoder": decoder_gradients,
    }
    return loss, gradients
