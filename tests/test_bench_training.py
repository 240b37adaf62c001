"""The training benchmark on toy and small sizes: every library trains the same work (from
the same start, the same result as steepest), the table reports it, and the thread settings
survive a run. Never speed."""

import math

import numpy as np
import pytest
import reference

from steepest.bench import training, vae

EPOCHS = 2
BATCHES = 3  # per epoch: the batch order matters within an epoch and between epochs

# How closely each library's parameters must follow steepest's, as a fraction of what
# training changed: |theta_peer - theta_steepest| <= DELTA_RTOL |theta_steepest - theta_0|,
# per weight matrix and per bias (Frobenius norms). All four train in float32 and differ
# only in the order of their float32 sums (BLAS, XLA, steepest's kernels): a product over
# K <= 1024 terms is known to about sqrt(K) 2^-24 = 2e-6 of its terms, which cancellation
# in small gradients and six steps turn into at most 1.3e-4 of the change here (the
# autoencoder's outer weights, whose updates are smallest against their values). 1e-3 is
# well above that, and below what a different batch order (reversed rows: 4e-3 to 2.5e-2
# of the change) or a learning rate 1% off (1e-2) does to the same configurations.
DELTA_RTOL = 1e-3
# The loss of the trained parameters, in float64 by the reference, is first order in the
# parameters: it agrees to the same fraction of what training changed it by.
LOSS_RTOL = DELTA_RTOL


def common_start(config, samples, seed=0):
    """He-scaled weights, non-zero biases (so a bias that is not copied shows) and one
    permutation of the rows per epoch."""
    rng = np.random.default_rng(seed)
    parameters = [
        ((rng.standard_normal((a, b)) * math.sqrt(2 / a)).astype(np.float32), (0.1 * rng.standard_normal(b)).astype(np.float32))
        for a, b in zip(config.sizes[:-1], config.sizes[1:])
    ]
    return training.Start(parameters, [rng.permutation(samples) for _ in range(EPOCHS)])


def reference_loss(config, parameters, X, y):
    """The configuration's loss over all of X in float64 (tests/reference.py)."""
    out = X
    for i, (weight, bias) in enumerate(parameters):
        activation = config.activation if i < len(parameters) - 1 else config.output_activation
        out = reference.dense_forward(out, weight, bias, activation)
    return reference.loss(config.loss, out, y)[0]


TRAINERS = {
    "steepest": training.steepest_epoch,
    "numpy": training.numpy_epoch,
    "torch": training.torch_epoch,
    "jax": lambda config, X, y, start: training.jax_epoch(config, X, y, 1, start),  # one thread: see jax_epoch
}


def trained(library, config, X, y, start):
    trainer = TRAINERS[library](config, X, y, start)
    if trainer is None:
        pytest.skip(f"{library} is not installed")
    for _ in range(EPOCHS):
        assert trainer() > 0
    return trainer.parameters()


@pytest.fixture(scope="module", params=training.CONFIGS, ids=lambda config: config.name)
def steepest_run(request):
    config = request.param
    X, y = training.make_data(config, BATCHES * config.batch)
    start = common_start(config, len(X))
    return config, X, y, start, trained("steepest", config, X, y, start)


@pytest.mark.parametrize("peer", ["numpy", "torch", "jax"])
def test_every_library_gives_steepests_loss_from_the_same_start(steepest_run, peer):
    config, X, y, start, ours = steepest_run
    theirs = trained(peer, config, X, y, start)

    before = reference_loss(config, start.parameters, X, y)
    our_loss = reference_loss(config, ours, X, y)
    their_loss = reference_loss(config, theirs, X, y)
    assert our_loss < before, "training did not lower the loss: the comparison below would mean nothing"
    assert abs(their_loss - our_loss) <= LOSS_RTOL * (before - our_loss), f"{peer} {config.name}: loss {their_loss!r}, steepest {our_loss!r}, from {before!r}"

    assert_follows(f"{peer} {config.name}", start.parameters, ours, theirs)


def assert_follows(what, initial, ours, theirs):
    """Each weight matrix and bias of the peer's is within DELTA_RTOL of what training
    changed steepest's by."""
    assert len(theirs) == len(ours) == len(initial)
    for layer, (at_start, mine, other) in enumerate(zip(initial, ours, theirs)):
        for name, before, want, got in zip(("weight", "bias"), at_start, mine, other):
            assert got.dtype == np.float32 and got.shape == before.shape, f"{what} layer {layer} {name}"
            change = np.linalg.norm(want.astype(np.float64) - before)
            assert change > 0, f"steepest did not train {what} layer {layer} {name}"
            difference = np.linalg.norm(got.astype(np.float64) - want)
            assert difference <= DELTA_RTOL * change, f"{what} layer {layer} {name}: differs from steepest by {difference / change:.2g} of the change"


def test_run_measures_every_installed_library_and_the_table_reports_it():
    toy = training.TrainingConfig("toy", (3, 5, 2), "relu", "identity", 8, "softmax_cross_entropy", 64)
    rows = training.run([toy], threads=1, repeats=1)
    (row,) = rows
    assert row["config"] == "toy" and row["threads"] == 1 and row["samples"] == 64
    assert {"steepest", "numpy"} <= set(row["samples_per_second"])
    assert all(value > 0 for value in row["samples_per_second"].values())
    for peer, ratio in row["ratio"].items():
        assert np.isclose(ratio, row["samples_per_second"]["steepest"] / row["samples_per_second"][peer])
    # steepest with its diagnostics is timed too, reported as their cost, not as a peer.
    assert "steepest with diagnostics" not in row["ratio"] and math.isfinite(row["diagnostics_cost"])
    table = training.format_table(
        rows + [dict(row, threads=2, ratio={"numpy": 1.0}, samples_per_second={"steepest": 1.0, "numpy": 1.0}, diagnostics_cost=0.025)]
    )
    assert "toy" in table and "nan" not in table and "+2.5%" in table


def test_flops_count_forward_and_both_gradients_except_the_inputs():
    config = training.TrainingConfig("c", (4, 3, 2), "relu", "identity", 1, "mse", 1)
    # forward 4·3 + 3·2, weight gradients the same, input gradient of the second layer only
    assert config.flops_per_sample == 2 * (2 * (12 + 6) + 6)


def test_a_run_leaves_the_thread_settings_as_it_found_them():
    import os

    import steepest

    before_threads = steepest.get_num_threads()
    before_cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    toy = training.TrainingConfig("toy", (2, 2), "relu", "identity", 4, "mse", 16)
    training.run([toy], threads=1, repeats=1)
    assert steepest.get_num_threads() == before_threads
    if before_cpus is not None:
        assert os.sched_getaffinity(0) == before_cpus


# The variational autoencoders. Their sample z = mean + exp(log_var / 2) * eps draws eps
# from each library's own generator; a log-variance bias of -60 puts exp(log_var / 2) at
# 1e-13, below float32's resolution of any mean, so that both libraries compute z = mean
# and the comparison is of the same deterministic work (the KL term's gradient still
# trains the log-variance head).
LOG_VAR_BIAS = -60.0


def vae_start(config, samples, seed=0):
    rng = np.random.default_rng(seed)
    parameters = []
    for i, (a, b) in enumerate(config.layers):
        weight = (rng.standard_normal((a, b)) * math.sqrt(2 / a)).astype(np.float32)
        bias = (0.1 * rng.standard_normal(b)).astype(np.float32)
        if b == 2 * config.sizes[-1] and i == len(config.sizes) - 2:  # the head: [mean | log_var]
            weight[:, b // 2 :] = 0
            bias[b // 2 :] = LOG_VAR_BIAS
        parameters.append((weight, bias))
    return training.Start(parameters, [rng.permutation(samples) for _ in range(EPOCHS)])


def vae_reference_loss(config, parameters, X):
    """The negative ELBO per sample, in float64, with eps = 0 (tests/reference.py)."""
    hidden = len(config.sizes) - 2
    latent = config.sizes[-1]
    head_weight, head_bias = parameters[hidden]
    params = {
        "encoder": [(w, b, "relu") for w, b in parameters[:hidden]],
        "mean": (head_weight[:, :latent], head_bias[:latent]),
        "log_var": (head_weight[:, latent:], head_bias[latent:]),
        "decoder": [(w, b, "relu") for w, b in parameters[hidden + 1 : -1]] + [(*parameters[-1], "identity")],
    }
    return reference.vae_loss(params, X, np.zeros((len(X), latent)))[0]


@pytest.mark.parametrize("config", vae.CONFIGS, ids=lambda config: config.name)
def test_the_vae_peer_gives_steepests_loss_from_the_same_start(config):
    pytest.importorskip("torch")
    X = vae.make_data(config, BATCHES * config.batch)
    start = vae_start(config, len(X))
    results = {}
    for name, make in (("steepest", vae.steepest_epoch), ("torch", vae.torch_epoch)):
        trainer = make(config, X, start)
        for _ in range(EPOCHS):
            assert trainer() > 0
        results[name] = trainer.parameters()
    before = vae_reference_loss(config, start.parameters, X)
    ours, theirs = (vae_reference_loss(config, results[name], X) for name in ("steepest", "torch"))
    assert ours < before, "training did not lower the loss: the comparison below would mean nothing"
    assert abs(theirs - ours) <= LOSS_RTOL * (before - ours), f"torch {config.name}: loss {theirs!r}, steepest {ours!r}, from {before!r}"
    assert_follows(f"torch {config.name}", start.parameters, results["steepest"], results["torch"])


def test_vae_flops_count_the_encoder_the_head_and_the_decoder():
    config = vae.VAEConfig("c", (5, 4, 3), 1, 1)
    assert config.layers == [(5, 4), (4, 6), (3, 4), (4, 5)]
    macs = 5 * 4 + 4 * 6 + 3 * 4 + 4 * 5
    assert config.flops_per_sample == 2 * (3 * macs - 5 * 4)


def test_a_run_times_the_vae_against_its_peers():
    toy = vae.VAEConfig("toy-vae", (6, 5, 2), 8, 32)
    (row,) = training.run([toy], threads=1, repeats=1)
    assert row["config"] == "toy-vae" and row["samples"] == 32 and "numpy" not in row["samples_per_second"]
    assert row["samples_per_second"]["steepest"] > 0


# bfloat16 runs against steepest's float32 run from the same start. Rounding the products'
# operands to 8 significant bits (2^-9 relative) moves six steps' parameters by 3-5% of what
# training changed (measured for steepest and PyTorch's autocast alike); the loss moves by
# 2e-4 of its change, first order in the parameters' error averaging out. The bounds leave a
# factor of two and ten; and steepest's bfloat16 run must differ from float32 by more than
# float32 peers differ (DELTA_RTOL), or it would not be rounding at all.
BF16_DELTA_RTOL = 0.1
BF16_LOSS_RTOL = 2e-3


@pytest.fixture(scope="module")
def bfloat16_products():
    """The bfloat16 level that trains here: the CPU's fast one, else the emulated one chosen
    explicitly (the same rounding, computed in float32)."""
    from steepest import _core

    chosen = not _core.bfloat16_trains()
    if chosen:
        _core.set_bfloat16_level("emulated")
    yield
    if chosen:
        _core.set_bfloat16_level("")


BF16_TRAINERS = {
    "steepest": lambda config, X, y, start: training.steepest_epoch(config, X, y, start, precision="bfloat16"),
    "torch_autocast": lambda config, X, y, start: training.torch_epoch(config, X, y, start, autocast=True),
}


@pytest.mark.parametrize("library", sorted(BF16_TRAINERS))
@pytest.mark.parametrize("config", [c for c in training.CONFIGS if c.name in training.BFLOAT16_CONFIGS], ids=lambda c: c.name)
def test_bfloat16_runs_track_float32_from_the_same_start(bfloat16_products, library, config):
    X, y = training.make_data(config, BATCHES * config.batch)
    start = common_start(config, len(X))
    float32 = trained("steepest", config, X, y, start)
    trainer = BF16_TRAINERS[library](config, X, y, start)
    if trainer is None:
        pytest.skip("torch is not installed")
    for _ in range(EPOCHS):
        assert trainer() > 0
    theirs = trainer.parameters()

    before = reference_loss(config, start.parameters, X, y)
    float32_loss, their_loss = reference_loss(config, float32, X, y), reference_loss(config, theirs, X, y)
    assert abs(their_loss - float32_loss) <= BF16_LOSS_RTOL * (before - float32_loss)
    worst = 0.0
    for initial, want, got in zip(start.parameters, float32, theirs):
        for at_start, w, g in zip(initial, want, got):
            assert g.dtype == np.float32 and g.shape == at_start.shape
            share = np.linalg.norm(g.astype(np.float64) - w) / np.linalg.norm(w.astype(np.float64) - at_start)
            assert share <= BF16_DELTA_RTOL, f"{library} {config.name}: {share:.3g} of float32's change"
            worst = max(worst, share)
    assert worst > 10 * DELTA_RTOL, f"{library} {config.name} bfloat16 is float32's to {worst:.2g}: no rounding?"


def test_bfloat16_rows_name_their_peers(bfloat16_products):
    toy = training.TrainingConfig("toy", (3, 5, 2), "relu", "identity", 8, "softmax_cross_entropy", 64)
    (row,) = training.run([toy], threads=1, repeats=1, precision="bfloat16")
    assert row["precision"] == "bfloat16"
    assert {"steepest", "steepest_float32", "numpy"} <= set(row["samples_per_second"]) <= {"steepest", "steepest_float32", "numpy", "torch_autocast"}
    assert "bfloat16" in training.format_table([row])
