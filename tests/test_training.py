"""The native training loop against an independent float64 NumPy training loop built from
tests/reference.py, step for step, and against PyTorch where it is installed.

The reference computes sigmoid + BCE and softmax + CE the long way (activation, then the
loss on probabilities, then back through the activation), while steepest works from the
logits, so the two paths share no code.
"""

import math

import numpy as np
import pytest
import reference

import steepest

torch = None  # imported by the tests that need it, which skip without it


def reference_training(layers, X, target, *, loss, epochs, batch_size, lr, momentum=0.0, nesterov=False, l1=0.0, l2=0.0, adam=None):
    """Plain mini-batch training in float64, batches in order. layers: [(W, b, activation)].
    state holds each parameter's velocity (SGD) or first moment (Adam), second Adam's second."""
    params = [(W.astype(np.float64).copy(), b.astype(np.float64).copy(), act) for W, b, act in layers]
    state = [[np.zeros_like(W), np.zeros_like(b)] for W, b, _ in params]
    second = [[np.zeros_like(W), np.zeros_like(b)] for W, b, _ in params]
    losses, step = [], 0
    for _ in range(epochs):
        for begin in range(0, len(X), batch_size):
            xb, tb = X[begin : begin + batch_size], target[begin : begin + batch_size]
            outputs = [xb.astype(np.float64)]
            for W, b, act in params:
                outputs.append(reference.dense_forward(outputs[-1], W, b, act))
            if loss == "softmax_cross_entropy":
                # Cross entropy on the softmax probabilities, then back through the softmax.
                probabilities = outputs[-1]
                rows = np.arange(len(tb))
                value = -np.mean(np.log(probabilities[rows, tb]))
                dout = np.zeros_like(probabilities)
                dout[rows, tb] = -1.0 / (probabilities[rows, tb] * len(tb))
            else:
                value, dout = reference.loss(loss, outputs[-1], tb)
            losses.append(value)
            step += 1
            for i in reversed(range(len(params))):
                W, b, act = params[i]
                dout, dW, db = reference.dense_backward(outputs[i], W, outputs[i + 1], dout, act)
                if adam is None:
                    W, state[i][0] = reference.sgd_update(W, dW, state[i][0], lr=lr, momentum=momentum, nesterov=nesterov, l1=l1, l2=l2)
                    b, state[i][1] = reference.sgd_update(b, db, state[i][1], lr=lr, momentum=momentum, nesterov=nesterov)
                else:
                    beta1, beta2, eps = adam
                    settings = dict(step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
                    W, state[i][0], second[i][0] = reference.adam_update(W, dW, state[i][0], second[i][0], l1=l1, l2=l2, **settings)
                    b, state[i][1], second[i][1] = reference.adam_update(b, db, state[i][1], second[i][1], **settings)
                params[i] = (W, b, act)
    return params, losses


def engine_layers(model):
    return [(layer.weight.copy(), layer.bias.copy(), layer.activation) for layer in model.layers]


def data(rows, features, outputs, loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    if loss == "softmax_cross_entropy":
        return X, rng.integers(0, outputs, rows)
    if loss == "binary_cross_entropy":
        return X, (rng.random((rows, outputs)) > 0.5).astype(np.float64)
    return X, rng.standard_normal((rows, outputs))


CASES = {
    "mse-tanh-sgd": dict(sizes=[5, 7, 3], hidden="tanh", output="identity", loss="mse", optimizer=dict(kind="sgd", lr=0.05)),
    "mse-relu-momentum-l1l2": dict(
        sizes=[6, 9, 8, 2], hidden="relu", output="identity", loss="mse", optimizer=dict(kind="sgd", lr=0.02, momentum=0.9, l1=1e-3, l2=1e-2)
    ),
    "bce-sigmoid-nesterov": dict(
        sizes=[4, 6, 3], hidden="tanh", output="sigmoid", loss="binary_cross_entropy", optimizer=dict(kind="sgd", lr=0.1, momentum=0.8, nesterov=True)
    ),
    "ce-softmax-adam": dict(sizes=[5, 8, 4], hidden="relu", output="softmax", loss="softmax_cross_entropy", optimizer=dict(kind="adam", lr=0.01, l2=1e-3)),
    "ce-sigmoid-hidden-adam": dict(
        sizes=[3, 5, 5, 3], hidden="sigmoid", output="softmax", loss="softmax_cross_entropy", optimizer=dict(kind="adam", lr=0.005, l1=1e-3)
    ),
}


def make_optimizer(spec):
    spec = dict(spec)
    kind = spec.pop("kind")
    return steepest.Adam(**spec) if kind == "adam" else steepest.SGD(**spec)


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_matches_the_numpy_reference_step_for_step(case, isa):
    spec = CASES[case]
    model = steepest.MLP(spec["sizes"], spec["hidden"], spec["output"], seed=3, dtype="float64")
    X, y = data(45, spec["sizes"][0], spec["sizes"][-1], spec["loss"])
    start = engine_layers(model)
    history = model.fit(X, y, epochs=3, batch_size=8, loss=spec["loss"], optimizer=make_optimizer(spec["optimizer"]), shuffle=False, verbose=0)

    opt = dict(spec["optimizer"])
    kind = opt.pop("kind")
    if kind == "adam":
        opt["adam"] = (0.9, 0.999, 1e-8)
    expected, losses = reference_training(start, X, y, loss=spec["loss"], epochs=3, batch_size=8, **opt)
    for layer, (W, b, _) in zip(model.layers, expected):
        np.testing.assert_allclose(layer.weight, W, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.bias, b, rtol=1e-9, atol=1e-12)
    # The epoch loss is the mean of the batch losses weighted by batch rows (45 = 5·8 + 5).
    batches_per_epoch = math.ceil(45 / 8)
    weights = np.array([8] * (batches_per_epoch - 1) + [45 - 8 * (batches_per_epoch - 1)])
    first_epoch = np.dot(losses[:batches_per_epoch], weights) / 45
    assert history["loss"][0] == pytest.approx(first_epoch, rel=1e-9)


def test_float32_training_tracks_float64():
    X, y = data(200, 8, 4, "softmax_cross_entropy")
    runs = {}
    for dtype in ("float32", "float64"):
        model = steepest.MLP([8, 16, 4], seed=0, dtype=dtype)
        model.fit(X, y, epochs=5, batch_size=20, loss="softmax_cross_entropy", optimizer=steepest.SGD(lr=0.1), shuffle=False, verbose=0)
        runs[dtype] = model.get_parameters().astype(np.float64)
    np.testing.assert_allclose(runs["float32"], runs["float64"], rtol=1e-3, atol=1e-4)


def test_same_seed_gives_bitwise_identical_weights_for_any_thread_count():
    X, y = data(600, 30, 5, "softmax_cross_entropy", seed=1)
    before = steepest.get_num_threads()
    weights = []
    try:
        for threads in (1, 2, 3):
            steepest.set_num_threads(threads)
            model = steepest.Sequential([steepest.Dense(30, 300), steepest.Dropout(0.2), steepest.Dense(300, 200), steepest.Dense(200, 5, "identity")], seed=7)
            model.fit(X, y, epochs=2, batch_size=64, loss="softmax_cross_entropy", verbose=0)
            weights.append(model.get_parameters())
    finally:
        steepest.set_num_threads(before)
    assert weights[0].tobytes() == weights[1].tobytes() == weights[2].tobytes()


def test_continued_training_draws_new_shuffles_but_replays_from_the_same_start():
    X, y = data(100, 4, 2, "mse")
    first, second = steepest.MLP([4, 8, 2], seed=5), steepest.MLP([4, 8, 2], seed=5)
    first.fit(X, y, epochs=2, verbose=0)
    second.fit(X, y, epochs=1, verbose=0)
    second.fit(X, y, epochs=1, verbose=0)
    assert first.get_parameters().tobytes() == second.get_parameters().tobytes()


def test_dropout_is_active_in_training_and_off_at_predict():
    def layers():
        return [steepest.Dense(50, 400, "identity"), steepest.Dense(400, 1, "identity")]

    model = steepest.Sequential([layers()[0], steepest.Dropout(0.3), layers()[1]], seed=0)
    twin = steepest.Sequential(layers(), seed=0)
    twin.set_parameters(model.get_parameters())
    X = np.random.default_rng(0).standard_normal((64, 50)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(X), twin.predict(X))

    y = np.zeros((64, 1), np.float32)
    tiny_step = dict(epochs=1, batch_size=64, optimizer=steepest.SGD(lr=1e-12), verbose=0)
    assert model.fit(X, y, **tiny_step)["loss"][0] != pytest.approx(twin.fit(X, y, **tiny_step)["loss"][0], rel=1e-3)


def test_sigmoid_bce_from_logits_stays_finite_where_probabilities_saturate():
    # Logits of ±60 make float32 probabilities exactly 0 or 1: a naive BCE would give
    # log(0); steepest computes it from the logits and keeps training.
    model = steepest.MLP([1, 1], output_activation="sigmoid", seed=0)
    model.layers[0].weight[...] = 60.0
    X = np.array([[1.0], [-1.0]], np.float32)
    y = np.array([[0.0], [1.0]], np.float32)
    history = model.fit(X, y, loss="binary_cross_entropy", epochs=1, batch_size=2, optimizer=steepest.SGD(lr=0.01), verbose=0)
    assert history["loss"][0] == pytest.approx(60.0, rel=1e-4)
    assert np.isfinite(model.get_parameters()).all()


def copy_into_torch(model, linears):
    with torch.no_grad():
        for linear, layer in zip(linears, model.layers):
            linear.weight.copy_(torch.from_numpy(layer.weight.T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.bias.copy()))


def test_one_epoch_of_nesterov_sgd_with_l2_matches_pytorch():
    global torch
    torch = pytest.importorskip("torch")
    X, y = data(64, 6, 3, "softmax_cross_entropy", seed=2)
    model = steepest.MLP([6, 10, 3], "tanh", seed=4, dtype="float64")
    net = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.Tanh(), torch.nn.Linear(10, 3)).double()
    linears = [net[0], net[2]]
    copy_into_torch(model, linears)
    # steepest's l2 applies to weights only: PyTorch needs the biases in a group without decay.
    optimizer = torch.optim.SGD(
        [{"params": [linear.weight for linear in linears], "weight_decay": 1e-3}, {"params": [linear.bias for linear in linears], "weight_decay": 0.0}],
        lr=0.1,
        momentum=0.9,
        nesterov=True,
    )
    for begin in range(0, 64, 16):
        optimizer.zero_grad()
        out = net(torch.from_numpy(X[begin : begin + 16]))
        torch.nn.functional.cross_entropy(out, torch.from_numpy(y[begin : begin + 16])).backward()
        optimizer.step()

    model.fit(
        X,
        y,
        loss="softmax_cross_entropy",
        epochs=1,
        batch_size=16,
        shuffle=False,
        verbose=0,
        optimizer=steepest.SGD(lr=0.1, momentum=0.9, nesterov=True, l2=1e-3),
    )
    for linear, layer in zip(linears, model.layers):
        np.testing.assert_allclose(layer.weight, linear.weight.detach().numpy().T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.bias, linear.bias.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_diagnostics_equal_a_float64_reference():
    """The fused diagnostics (counted in the backward pass, summed in the update) against
    the same measures taken by NumPy on a float64 run of the same batches."""
    rng = np.random.default_rng(3)
    X = 2 * rng.standard_normal((90, 5))
    y = rng.random((90, 3))
    model = steepest.Sequential([steepest.Dense(5, 12, "relu"), steepest.Dense(12, 8, "tanh"), steepest.Dense(8, 3, "sigmoid")], seed=4, dtype="float64")
    model.layers[0].bias[:3] = -50.0  # three units that never fire
    model.layers[1].weight[...] *= 4  # some tanh outputs saturate
    params = [(layer.weight.copy(), layer.bias.copy(), layer.activation) for layer in model.layers]
    history = model.fit(X, y, epochs=1, batch_size=32, loss="mse", optimizer=steepest.SGD(lr=0.1, momentum=0.5), shuffle=False, verbose=0)

    norms = [[] for _ in params]
    active = [np.zeros(W.shape[1], bool) for W, _, _ in params]
    saturated = [0, 0, 0]
    velocity = [[np.zeros_like(W), np.zeros_like(b)] for W, b, _ in params]
    for begin in range(0, len(X), 32):
        outputs = [X[begin : begin + 32]]
        for W, b, act in params:
            outputs.append(reference.dense_forward(outputs[-1], W, b, act))
        _, dout = reference.loss("mse", outputs[-1], y[begin : begin + 32])
        active[0] |= (outputs[1] > 0).any(axis=0)
        saturated[1] += np.count_nonzero(np.abs(outputs[2]) > 0.99)
        saturated[2] += np.count_nonzero((outputs[3] < 0.01) | (outputs[3] > 0.99))
        ratios = [None] * len(params)
        for i in reversed(range(len(params))):
            W, b, act = params[i]
            dout, dW, db = reference.dense_backward(outputs[i], W, outputs[i + 1], dout, act)
            norms[i].append(np.sqrt(np.sum(dW**2) + np.sum(db**2)))
            new_W, velocity[i][0] = reference.sgd_update(W, dW, velocity[i][0], lr=0.1, momentum=0.5)
            new_b, velocity[i][1] = reference.sgd_update(b, db, velocity[i][1], lr=0.1, momentum=0.5)
            ratios[i] = np.linalg.norm(new_W - W) / np.linalg.norm(W)
            params[i] = (new_W, new_b, act)

    relu, tanh, sigmoid = history.diagnostics[0]
    for i, layer in enumerate((relu, tanh, sigmoid)):
        assert layer["gradient_norm"] == pytest.approx(np.mean(norms[i]), rel=1e-10)
        assert layer["update_ratio"] == pytest.approx(ratios[i], rel=1e-8)  # the last step's
    assert relu["dead_fraction"] == 1 - np.mean(active[0]) and relu["dead_fraction"] >= 3 / 12
    assert 0 < saturated[1] and tanh["saturated_fraction"] == saturated[1] / (90 * 8)
    assert sigmoid["saturated_fraction"] == saturated[2] / (90 * 3)


def test_the_update_and_its_diagnostics_are_bitwise_the_same_for_any_thread_count():
    # 200 x 400 weights: three tasks of the update, the last one partial.
    X, y = data(256, 200, 3, "softmax_cross_entropy", seed=2)
    before = steepest.get_num_threads()
    runs = []
    try:
        for threads in (1, 2, 3, 7):
            steepest.set_num_threads(threads)
            for optimizer in (steepest.Adam(lr=1e-3, l1=1e-3), steepest.SGD(lr=0.05, momentum=0.9, l1=1e-3, l2=1e-3)):
                model = steepest.MLP([200, 400, 3], seed=3)
                history = model.fit(X, y, epochs=2, batch_size=64, loss="softmax_cross_entropy", optimizer=optimizer, verbose=0)
                runs.append((threads, type(optimizer).__name__, model.get_parameters().tobytes(), repr(history.diagnostics)))
    finally:
        steepest.set_num_threads(before)
    for threads, name, weights, diagnostics in runs[2:]:
        first = next(run for run in runs if run[1] == name)
        assert weights == first[2], f"{name}: weights with {threads} threads differ from 1 thread"
        assert diagnostics == first[3], f"{name}: diagnostics with {threads} threads differ from 1 thread"


def test_diagnostics_do_not_change_the_training():
    X, y = data(200, 6, 3, "softmax_cross_entropy", seed=5)
    weights = []
    for diagnostics in (False, True):
        model = steepest.MLP([6, 16, 8, 3], seed=1)
        model.fit(X, y, epochs=3, batch_size=16, loss="softmax_cross_entropy", optimizer=steepest.Adam(lr=0.01, l1=1e-4), diagnostics=diagnostics, verbose=0)
        weights.append(model.get_parameters().tobytes())
    assert weights[0] == weights[1]
