"""steepest.VAE against independent references: the NumPy float64 VAE of tests/reference.py
(itself checked by finite differences and against PyTorch in test_reference.py) and
PyTorch autograd directly, with the same ε passed in through the trainer's test hook; whole
training runs step for step against PyTorch; the closed-form KL against a Monte Carlo
estimate; and what a user sees: generation, conditional generation, bad input."""

import pickle

import numpy as np
import pytest
import reference

import steepest
from steepest.train.targets import Targets

F, H, L, C = 12, 10, 3, 4


def data(rows=40, seed=0, features=F):
    return np.random.default_rng(seed).random((rows, features))


def vae(reconstruction="bernoulli", classes=None, beta=1.0, seed=1, activation="tanh", dtype="float64"):
    output = "sigmoid" if reconstruction == "bernoulli" else "identity"
    return steepest.VAE(
        [F, H, L], activation=activation, output_activation=output, reconstruction=reconstruction, beta=beta, n_classes=classes, seed=seed, dtype=dtype
    )


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, steepest.Dense)]


def reference_params(model):
    """The model's weights in tests/reference.py's layout: the heads' one layer split in two,
    the decoder's output as logits (bernoulli) or as it is (gaussian, identity)."""
    dense = dense_layers(model)
    heads = len(dense) - 3  # the decoder (a hidden layer and the output) follows the heads
    as_triple = [(layer.weight.copy(), layer.bias.copy(), layer.activation) for layer in dense]
    head_w, head_b = dense[heads].weight.copy(), dense[heads].bias.copy()
    decoder = as_triple[heads + 1 :]
    decoder[-1] = (decoder[-1][0], decoder[-1][1], "identity")
    return {
        "encoder": as_triple[:heads],
        "mean": (head_w[:, :L], head_b[:L]),
        "log_var": (head_w[:, L:], head_b[L:]),
        "decoder": decoder,
    }


def flat_reference_gradient(gradients):
    """The reference's gradients in the model's parameter order (layer by layer, weight then
    bias; the heads' mean and log-variance columns side by side)."""
    parts = []
    for dweight, dbias in gradients["encoder"]:
        parts += [dweight.ravel(), dbias]
    (dw_mean, db_mean), (dw_log_var, db_log_var) = gradients["mean"], gradients["log_var"]
    parts += [np.hstack([dw_mean, dw_log_var]).ravel(), np.concatenate([db_mean, db_log_var])]
    for dweight, dbias in gradients["decoder"]:
        parts += [dweight.ravel(), dbias]
    return np.concatenate(parts)


def one_hot(classes):
    out = np.zeros((len(classes), C))
    out[np.arange(len(classes)), classes] = 1
    return out


def native_gradient(model, X, eps, classes=None):
    """The loss of one batch of all rows and the gradient the engine applies, read off one SGD
    step of learning rate 1 from the model's weights (which are then put back)."""
    before = model.get_parameters()
    trainer = model._engine.trainer(len(X), model._loss, steepest.SGD(lr=1.0).engine_settings(), 0, False, loss_scale=model._loss_scale)
    trainer.set_kl_weight(model.beta)
    trainer.set_fixed_noise(eps)
    result = trainer.run(np.ascontiguousarray(X), Targets(np.ascontiguousarray(X), None, classes), np.arange(len(X), dtype=np.int64), 0, 1, 1.0)
    gradient = before - model.get_parameters()
    model.set_parameters(before)
    return result, gradient


CASES = [
    pytest.param("bernoulli", None, 1.0, id="bernoulli"),
    pytest.param("gaussian", None, 1.0, id="gaussian"),
    pytest.param("bernoulli", C, 0.5, id="conditional-beta-0.5"),
    pytest.param("gaussian", C, 2.0, id="gaussian-conditional-beta-2"),
]


@pytest.mark.parametrize("reconstruction, classes, beta", CASES)
def test_loss_and_gradient_equal_the_numpy_reference_in_float64(isa, reconstruction, classes, beta):
    model = vae(reconstruction, classes, beta)
    X = data()
    eps = np.random.default_rng(2).standard_normal((len(X), L))
    labels = np.arange(len(X)) % C if classes else None
    result, gradient = native_gradient(model, X, eps, labels)
    loss, expected = reference.vae_loss(
        reference_params(model), X, eps, reconstruction=reconstruction, beta=beta, condition=None if labels is None else one_hot(labels)
    )
    assert result.loss_sum / result.samples == pytest.approx(loss, rel=1e-12)
    expected = flat_reference_gradient(expected)
    assert np.max(np.abs(gradient - expected)) <= 1e-9 * np.max(np.abs(expected))
    assert (result.reconstruction_sum + beta * result.kl_sum) / result.samples == pytest.approx(loss, rel=1e-12)


def test_float32_gradient_is_the_float64_one_to_float32_rounding():
    X, eps = data(), np.random.default_rng(2).standard_normal((40, L))
    wide = vae()
    narrow = vae(dtype="float32")
    narrow.set_parameters(wide.get_parameters().astype(np.float32))
    _, expected = native_gradient(wide, X, eps)
    _, gradient = native_gradient(narrow, X.astype(np.float32), eps.astype(np.float32))
    assert np.max(np.abs(gradient - expected)) <= 1e-4 * np.max(np.abs(expected))


def torch_vae_loss(params, X, eps, reconstruction, beta, condition=None):
    """The same VAE written in PyTorch from its definition: autograd gives the gradient."""
    torch = pytest.importorskip("torch")
    tensors = {}

    def leaf(array):
        tensor = torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)
        tensors[len(tensors)] = tensor
        return tensor

    activations = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda t: t}
    x, e = torch.tensor(X, dtype=torch.float64), torch.tensor(eps, dtype=torch.float64)
    c = None if condition is None else torch.tensor(condition, dtype=torch.float64)
    h = x if c is None else torch.cat([x, c], dim=1)
    order = []
    for w, b, act in params["encoder"]:
        W, B = leaf(w), leaf(b)
        order += [W, B]
        h = activations[act](h @ W + B)
    Wm, Bm, Wv, Bv = leaf(params["mean"][0]), leaf(params["mean"][1]), leaf(params["log_var"][0]), leaf(params["log_var"][1])
    mean, log_var = h @ Wm + Bm, h @ Wv + Bv
    z = mean + torch.exp(0.5 * log_var) * e
    h = z if c is None else torch.cat([z, c], dim=1)
    decoder = []
    for w, b, act in params["decoder"]:
        W, B = leaf(w), leaf(b)
        decoder += [W, B]
        h = activations[act](h @ W + B)
    if reconstruction == "bernoulli":
        rec = torch.nn.functional.binary_cross_entropy_with_logits(h, x, reduction="sum")
    else:
        rec = 0.5 * ((x - h) ** 2).sum()
    kl = -0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp())
    loss = (rec + beta * kl) / len(X)
    loss.backward()
    loss = loss.detach()
    heads = [torch.cat([Wm.grad, Wv.grad], dim=1), torch.cat([Bm.grad, Bv.grad])]
    flat = [t.grad for t in order] + heads + [t.grad for t in decoder]
    return loss.item(), np.concatenate([g.numpy().ravel() for g in flat])


@pytest.mark.parametrize("reconstruction, classes, beta", CASES)
def test_loss_and_gradient_equal_pytorch_autograd_in_float64(reconstruction, classes, beta):
    pytest.importorskip("torch")
    model = vae(reconstruction, classes, beta, activation="relu")
    X = data(seed=3)
    eps = np.random.default_rng(4).standard_normal((len(X), L))
    labels = np.arange(len(X)) % C if classes else None
    result, gradient = native_gradient(model, X, eps, labels)
    loss, expected = torch_vae_loss(reference_params(model), X, eps, reconstruction, beta, None if labels is None else one_hot(labels))
    assert result.loss_sum / result.samples == pytest.approx(loss, rel=1e-12)
    difference = np.max(np.abs(gradient - expected))
    assert difference <= 1e-9 * np.max(np.abs(expected)), f"largest difference {difference:.3g}"


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_whole_training_matches_pytorch_step_for_step_in_float64(optimizer):
    torch = pytest.importorskip("torch")
    model = vae("bernoulli", None, 1.0, activation="relu")
    X = data(rows=48, seed=5)
    batch, epochs = 8, 3
    rng = np.random.default_rng(6)
    orders = [rng.permutation(len(X)).astype(np.int64) for _ in range(epochs)]
    noises = [rng.standard_normal((batch, L)) for _ in range(epochs * len(X) // batch)]

    # steepest: the native loop, one batch per run so that each step gets its ε.
    settings = steepest.SGD(lr=0.05, momentum=0.9) if optimizer == "sgd" else steepest.Adam(lr=0.01)
    start = reference_params(model)
    trainer = model._engine.trainer(batch, model._loss, settings.engine_settings(), 0, False, loss_scale=model._loss_scale)
    targets = Targets(X, None)
    step = 0
    for order in orders:
        for b in range(len(X) // batch):
            trainer.set_fixed_noise(noises[step])
            trainer.run(X, targets, order, b, b + 1, settings.learning_rate(0))
            step += 1

    # PyTorch: the same architecture, weights, batches, ε and optimizer.
    leaves = []

    def leaf(array):
        leaves.append(torch.tensor(np.array(array, dtype=np.float64), requires_grad=True))
        return leaves[-1]

    ((w1, b1, _),) = start["encoder"]
    W1, B1 = leaf(w1), leaf(b1)
    Wh, Bh = leaf(np.hstack([start["mean"][0], start["log_var"][0]])), leaf(np.concatenate([start["mean"][1], start["log_var"][1]]))
    (w2, b2, _), (w3, b3, _) = start["decoder"]
    W2, B2, W3, B3 = leaf(w2), leaf(b2), leaf(w3), leaf(b3)
    torch_optimizer = torch.optim.SGD(leaves, lr=0.05, momentum=0.9) if optimizer == "sgd" else torch.optim.Adam(leaves, lr=0.01)
    x_all = torch.tensor(X)
    step = 0
    for order in orders:
        for b in range(len(X) // batch):
            x = x_all[torch.tensor(order[b * batch : (b + 1) * batch])]
            heads = torch.relu(x @ W1 + B1) @ Wh + Bh
            mean, log_var = heads[:, :L], heads[:, L:]
            z = mean + torch.exp(0.5 * log_var) * torch.tensor(noises[step])
            logits = torch.relu(z @ W2 + B2) @ W3 + B3
            rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            kl = -0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp())
            torch_optimizer.zero_grad()
            ((rec + kl) / batch).backward()
            torch_optimizer.step()
            step += 1

    expected = np.concatenate([t.detach().numpy().ravel() for t in (W1, B1, Wh, Bh, W2, B2, W3, B3)])
    moved = np.max(np.abs(expected - model.get_parameters()))
    assert moved <= 1e-9 * np.max(np.abs(expected)), f"largest difference {moved:.3g} after {step} steps"


def test_the_reported_kl_agrees_with_a_monte_carlo_estimate():
    """KL(q ‖ p) = E_q[log q(z) − log p(z)]; 200,000 draws per sample bound the estimate's
    standard error, and the closed form must lie within 5 of them (chance of a false failure
    below 1e-6)."""
    model = vae("gaussian", activation="relu", seed=7)
    X = data(rows=6, seed=8)
    mean, log_var = model.encode_distribution(X)
    rng = np.random.default_rng(9)
    draws = 200_000
    estimates, errors = [], []
    for m, lv in zip(mean, log_var):
        z = m + np.exp(0.5 * lv) * rng.standard_normal((draws, L))
        log_q = -0.5 * np.sum(((z - m) ** 2) / np.exp(lv) + lv + np.log(2 * np.pi), axis=1)
        log_p = -0.5 * np.sum(z**2 + np.log(2 * np.pi), axis=1)
        terms = log_q - log_p
        estimates.append(terms.mean())
        errors.append(terms.std() / np.sqrt(draws))
    trainer = model._engine.trainer(len(X), model._loss, steepest.SGD().engine_settings(), 0, False, loss_scale=model._loss_scale)
    result = trainer.evaluate(X, Targets(X, None))
    closed_form = result.kl_sum / result.samples
    assert abs(closed_form - np.mean(estimates)) <= 5 * np.sqrt(np.sum(np.square(errors))) / len(X)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16).astype(np.float32), d.target


def test_a_trained_vae_generates_data_of_the_datas_shape_and_range(digits):
    X, _ = digits
    model = steepest.VAE([64, 128, 8], seed=0)
    history = model.fit(X, epochs=15, optimizer=steepest.Adam(lr=2e-3), verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    samples = model.sample(50, seed=0)
    assert samples.shape == (50, 64) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    # New data, not copies of the training set, yet like it: nearer to the data than noise is.
    nearest = np.min(((samples[:, None, :] - X[None, :, :]) ** 2).sum(axis=2), axis=1)
    noise = np.random.default_rng(0).random((50, 64)).astype(np.float32)
    nearest_noise = np.min(((noise[:, None, :] - X[None, :, :]) ** 2).sum(axis=2), axis=1)
    assert np.median(nearest) < 0.5 * np.median(nearest_noise)
    assert np.array_equal(model.sample(5, seed=3), model.sample(5, seed=3))
    assert not np.array_equal(model.sample(5), model.sample(5))


def test_a_conditional_vae_draws_the_class_it_is_asked_for(digits):
    X, y = digits
    model = steepest.VAE([64, 128, 8], n_classes=10, seed=0)
    model.fit(X, y, epochs=30, optimizer=steepest.Adam(lr=2e-3), verbose=0)
    centroids = np.stack([X[y == k].mean(axis=0) for k in range(10)])
    recognised = []
    for k in range(10):
        samples = model.sample(20, seed=k, labels=k)
        nearest = np.argmin(((samples[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
        recognised.append(np.mean(nearest == k))
    # A nearest-centroid reading of the samples (about 90% on real digits) mostly finds the
    # class asked for; chance is 10%.
    assert np.mean(recognised) > 0.7, recognised


def test_elbo_is_an_anomaly_score(digits):
    X, _ = digits
    model = steepest.VAE([64, 64, 4], seed=0)
    model.fit(X, epochs=10, optimizer=steepest.Adam(lr=2e-3), verbose=0)
    normal = model.elbo(X[:200], n_samples=5, seed=0)
    odd = model.elbo(np.random.default_rng(1).random((200, 64)).astype(np.float32), n_samples=5, seed=0)
    assert normal.shape == (200,) and np.all(normal < 0)
    assert np.median(normal) > np.median(odd)
    assert np.array_equal(model.elbo(X[:20], seed=4), model.elbo(X[:20], seed=4))
    # The mean ELBO is the negative of what fit reports as the loss with beta = 1.
    history = model.fit(X, epochs=1, optimizer=steepest.SGD(lr=1e-12), verbose=0)
    assert -np.mean(model.elbo(X, n_samples=20, seed=0)) == pytest.approx(history["loss"][-1], rel=0.02)


def test_interpolation_runs_between_the_two_latent_means(digits):
    X, _ = digits
    model = steepest.VAE([64, 64, 2], seed=0)
    model.fit(X, epochs=3, verbose=0)
    path = model.interpolate(X[0], X[1], steps=7)
    assert path.shape == (7, 64)
    assert np.allclose(path[0], model.decode(model.encode(X[:1]))[0])
    assert np.allclose(path[-1], model.decode(model.encode(X[1:2]))[0])


def test_training_is_bitwise_reproducible_for_any_thread_count_and_continues(digits):
    """The same seed gives the same weights at 1 and 2 threads (ε depends on the seed, step,
    row and dimension only); a second fit continues from the first's weights."""
    X, _ = digits
    results = []
    before = steepest.get_num_threads()
    try:
        for threads in (1, 2):
            steepest.set_num_threads(threads)
            model = steepest.VAE([64, 128, 8], seed=3)
            model.fit(X, epochs=2, batch_size=64, verbose=0)
            results.append(model.get_parameters())
    finally:
        steepest.set_num_threads(before)
    assert np.array_equal(results[0], results[1])
    continued = steepest.VAE([64, 128, 8], seed=3)
    first = continued.fit(X, epochs=2, batch_size=64, verbose=0)
    second = continued.fit(X, epochs=2, batch_size=64, verbose=0)
    assert second["loss"][-1] < first["loss"][0] and second["loss"][0] < first["loss"][0]


def test_save_load_and_pickle_keep_the_model(tmp_path, digits):
    X, y = digits
    model = steepest.VAE([64, 32, 4], n_classes=10, beta=0.5, reconstruction="gaussian", output_activation="identity", seed=2)
    model.fit(X[:200], y[:200], epochs=2, verbose=0)
    path = tmp_path / "vae.steepest"
    model.save(path)
    for copy in (steepest.load(path), pickle.loads(pickle.dumps(model))):
        assert type(copy) is steepest.VAE
        assert (copy.n_classes, copy.beta, copy.reconstruction, copy.latent_features) == (10, 0.5, "gaussian", 4)
        assert np.array_equal(copy.decode(np.ones((2, 4)), [1, 2]), model.decode(np.ones((2, 4)), [1, 2]))
        assert "GaussianSample(4)" in copy.summary()


def test_diagnostics_give_each_latent_dimensions_kl_and_collapse_warns(digits):
    X, _ = digits
    model = steepest.VAE([64, 64, 6], seed=0)
    history = model.fit(X, epochs=3, optimizer=steepest.Adam(lr=2e-3), verbose=0)
    report = history.diagnostics[-1][2]
    assert len(report["kl_per_dimension"]) == 6 and all(value >= 0 for value in report["kl_per_dimension"])
    assert report["active_dimensions"] == sum(value > 0.01 for value in report["kl_per_dimension"])
    assert sum(report["kl_per_dimension"]) == pytest.approx(history["kl"][-1], rel=1e-6)
    # A KL weight far above the likelihood's pushes every dimension to the prior.
    collapsing = steepest.VAE([64, 64, 6], beta=200.0, seed=0)
    with pytest.warns(RuntimeWarning, match="posterior collapse") as caught:
        collapsing.fit(X, epochs=5, optimizer=steepest.Adam(lr=2e-3), verbose=0)
    assert caught[0].filename == __file__


def test_kl_warmup_raises_beta_over_the_first_epochs(digits):
    X, _ = digits
    model = steepest.VAE([64, 32, 4], beta=2.0, seed=0)
    history = model.fit(X[:256], epochs=4, kl_warmup_epochs=4, verbose=0)
    weights = [(loss - rec) / kl for loss, rec, kl in zip(history["loss"], history["reconstruction"], history["kl"])]
    assert weights == pytest.approx([0.5, 1.0, 1.5, 2.0], rel=1e-6)


def test_a_diverging_fit_restores_finite_weights(digits):
    X, _ = digits
    model = steepest.VAE([64, 32, 4], reconstruction="gaussian", output_activation="identity", seed=0)
    with pytest.raises(steepest.TrainingDivergedError):
        model.fit(X * 1e3, epochs=5, optimizer=steepest.SGD(lr=10.0), verbose=0)
    assert np.isfinite(model.get_parameters()).all()


@pytest.mark.parametrize("model_kind", ["autoencoder", "vae"])
def test_denoising_corrupts_the_inputs_natively_and_reproducibly(model_kind, digits):
    X, _ = digits
    X = X[:256]

    def trained(noise):
        model = steepest.Autoencoder([64, 16], seed=0) if model_kind == "autoencoder" else steepest.VAE([64, 16, 4], seed=0)
        model.fit(X, epochs=2, batch_size=32, noise=noise, verbose=0)
        return model.get_parameters()

    clean = trained(None)
    for noise in (("gaussian", 0.3), ("mask", 0.25)):
        noisy = trained(noise)
        assert not np.array_equal(noisy, clean)
        assert np.array_equal(noisy, trained(noise))
    assert np.array_equal(trained(("gaussian", 0.0)), clean)


BAD = [
    ("beta-negative", lambda: steepest.VAE([8, 4, 2], beta=-1.0), ValueError, "beta"),
    ("beta-nan", lambda: steepest.VAE([8, 4, 2], beta=float("nan")), ValueError, "beta"),
    ("latent-zero", lambda: steepest.VAE([8, 4, 0]), ValueError, "layer_sizes[2]"),
    ("reconstruction-unknown", lambda: steepest.VAE([8, 4, 2], reconstruction="poisson"), ValueError, "reconstruction"),
    ("bernoulli-identity", lambda: steepest.VAE([8, 4, 2], output_activation="identity"), ValueError, "output_activation='sigmoid'"),
    ("classes-one", lambda: steepest.VAE([8, 4, 2], n_classes=1), ValueError, "n_classes"),
    ("sample-zero", lambda: steepest.VAE([8, 4, 2]).sample(0), ValueError, "n must be >= 1"),
    ("sample-negative", lambda: steepest.VAE([8, 4, 2]).sample(-3), ValueError, "n must be >= 1"),
    ("sample-float", lambda: steepest.VAE([8, 4, 2]).sample(2.5), TypeError, "n must be an int"),
    ("interpolate-width", lambda: steepest.VAE([8, 4, 2]).interpolate(np.ones(7), np.ones(8)), ValueError, "x_a has 7 features"),
    ("interpolate-two-rows", lambda: steepest.VAE([8, 4, 2]).interpolate(np.ones((2, 8)), np.ones(8)), ValueError, "x_a must be one sample"),
    ("interpolate-steps", lambda: steepest.VAE([8, 4, 2]).interpolate(np.ones(8), np.ones(8), steps=1), ValueError, "steps"),
    ("decode-width", lambda: steepest.VAE([8, 4, 2]).decode(np.ones((3, 3))), ValueError, "Z has 3 features"),
    ("bernoulli-data", lambda: steepest.VAE([8, 4, 2]).fit(np.full((8, 8), 2.0), verbose=0), ValueError, "reconstruction='gaussian'"),
    ("labels-missing", lambda: steepest.VAE([8, 4, 2], n_classes=3).fit(np.ones((8, 8)) / 2, verbose=0), ValueError, "give the class"),
    ("labels-range", lambda: steepest.VAE([8, 4, 2], n_classes=3).fit(np.ones((8, 8)) / 2, np.arange(8), verbose=0), ValueError, "not a class"),
    ("labels-unwanted", lambda: steepest.VAE([8, 4, 2]).fit(np.ones((8, 8)) / 2, np.zeros(8, int), verbose=0), ValueError, "not conditional"),
    ("sample-labels-missing", lambda: steepest.VAE([8, 4, 2], n_classes=3).sample(2), ValueError, "give the class"),
    ("sample-labels-range", lambda: steepest.VAE([8, 4, 2], n_classes=3).sample(2, labels=5), ValueError, "not a class"),
    ("warmup-negative", lambda: steepest.VAE([8, 4, 2]).fit(np.ones((8, 8)) / 2, kl_warmup_epochs=-1, verbose=0), ValueError, "kl_warmup_epochs"),
    ("noise-unknown", lambda: steepest.VAE([8, 4, 2]).fit(np.ones((8, 8)) / 2, noise=("salt", 0.1), verbose=0), ValueError, "unknown noise"),
    ("noise-mask-one", lambda: steepest.Autoencoder([8, 2]).fit(np.ones((8, 8)) / 2, noise=("mask", 1.0), verbose=0), ValueError, "[0, 1)"),
    ("noise-shape", lambda: steepest.Autoencoder([8, 2]).fit(np.ones((8, 8)) / 2, noise=0.3, verbose=0), TypeError, "noise must be"),
    ("elbo-samples", lambda: steepest.VAE([8, 4, 2]).elbo(np.ones((2, 8)) / 2, n_samples=0), ValueError, "n_samples"),
    ("loss-chosen", lambda: steepest.VAE([8, 4, 2]).partial_fit(np.ones((8, 8)) / 2, loss="mse"), ValueError, "negative ELBO"),
]


@pytest.mark.parametrize("call, error, words", [pytest.param(c, e, w, id=i) for i, c, e, w in BAD])
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as raised:
        call()
    assert words in str(raised.value)
