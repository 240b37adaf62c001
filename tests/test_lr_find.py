"""The learning-rate range test: the engine's per-batch learning-rate growth against one run
per batch, and steepest.tune.lr_find on the core models and the estimators (the curve, the
stopping rule, the suggestions, the model left bit for bit as it was, bad input)."""

import numpy as np
import pytest

import steepest


def tiny_data(rows=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    return X, y


# ------------------------------------------------------------ the engine's growth ----


@pytest.mark.parametrize("optimizer", [steepest.SGD(lr=0.01, momentum=0.9), steepest.Adam(lr=0.01)], ids=["sgd", "adam"])
def test_a_growing_rate_in_one_run_steps_as_one_run_per_batch_does(optimizer):
    """Batch b of a run with lr_growth g steps with lr * g**(b - first): the same weights,
    bit for bit, as running each batch alone with that rate; batch_losses is each batch's loss."""
    X, y = tiny_data()
    order = np.random.default_rng(1).permutation(len(X)).astype(np.int64)
    lr, growth = 0.01, 1.5
    grown, stepwise = steepest.MLP([3, 8, 1], seed=2), steepest.MLP([3, 8, 1], seed=2)
    settings = optimizer._engine_settings()
    losses = np.full(6, np.nan)
    trainer = grown._engine.trainer(8, "mse", settings, 0, False)
    result = trainer.run(X, y, None, order, 1, 7, lr, growth, losses)
    assert result.batches == 6
    one_by_one = stepwise._engine.trainer(8, "mse", settings, 0, False)
    expected = []
    for k, batch in enumerate(range(1, 7)):
        # The rate the engine computes, in float64 then rounded to the model's float32.
        rate = float(np.float32(float(np.float32(lr)) * growth**k))
        single = one_by_one.run(X, y, None, order, batch, batch + 1, rate)
        expected.append(single.loss_sum / single.samples)
    np.testing.assert_array_equal(grown.get_parameters(), stepwise.get_parameters())
    np.testing.assert_array_equal(losses, expected)
    assert result.loss_sum == pytest.approx(8 * sum(expected), rel=1e-12)


def test_a_growth_of_one_is_the_plain_run():
    X, y = tiny_data()
    order = np.arange(len(X), dtype=np.int64)
    plain, grown = steepest.MLP([3, 8, 1], seed=3), steepest.MLP([3, 8, 1], seed=3)
    settings = steepest.SGD(lr=0.05)._engine_settings()
    plain._engine.trainer(8, "mse", settings, 0, False).run(X, y, None, order, 0, 8, 0.05)
    grown._engine.trainer(8, "mse", settings, 0, False).run(X, y, None, order, 0, 8, 0.05, 1.0)
    np.testing.assert_array_equal(plain.get_parameters(), grown.get_parameters())


@pytest.mark.parametrize(
    "growth, losses, message",
    [
        (0.0, None, "lr_growth must be finite and > 0"),
        (float("inf"), None, "lr_growth must be finite and > 0"),
        (1.0, np.zeros(2), "one entry per batch"),
        (1.0, np.zeros(8, dtype=np.float32), "C-contiguous float64"),
        (1.0, np.zeros(16)[::2], "C-contiguous float64"),
    ],
)
def test_the_binding_refuses_a_bad_growth_or_losses_array(growth, losses, message):
    X, y = tiny_data()
    model = steepest.MLP([3, 8, 1])
    trainer = model._engine.trainer(8, "mse", steepest.SGD()._engine_settings(), 0, False)
    with pytest.raises(ValueError, match=message):
        trainer.run(X, y, None, np.arange(len(X), dtype=np.int64), 0, 8, 0.01, growth, losses)
