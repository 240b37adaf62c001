"""The learning-rate range test: the engine's per-batch learning-rate growth against one run
per batch, and steepest.tune.lr_find on the core models and the estimators (the curve, the
stopping rule, the suggestions, the model left bit for bit as it was, bad input)."""

import numpy as np
import pytest

import steepest
from steepest.train.targets import Targets


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
    settings = optimizer.engine_settings()
    losses = np.full(6, np.nan)
    trainer = grown._engine.trainer(8, "mse", settings, 0, False)
    result = trainer.run(X, Targets(y, None), order, 1, 7, lr, growth, losses)
    assert result.batches == 6
    one_by_one = stepwise._engine.trainer(8, "mse", settings, 0, False)
    expected = []
    for k, batch in enumerate(range(1, 7)):
        # The rate the engine computes, in float64 then rounded to the model's float32.
        rate = float(np.float32(float(np.float32(lr)) * growth**k))
        single = one_by_one.run(X, Targets(y, None), order, batch, batch + 1, rate)
        expected.append(single.loss_sum / single.samples)
    np.testing.assert_array_equal(grown.get_parameters(), stepwise.get_parameters())
    np.testing.assert_array_equal(losses, expected)
    assert result.loss_sum == pytest.approx(8 * sum(expected), rel=1e-12)


def test_a_growth_of_one_is_the_plain_run():
    X, y = tiny_data()
    order = np.arange(len(X), dtype=np.int64)
    plain, grown = steepest.MLP([3, 8, 1], seed=3), steepest.MLP([3, 8, 1], seed=3)
    settings = steepest.SGD(lr=0.05).engine_settings()
    plain._engine.trainer(8, "mse", settings, 0, False).run(X, Targets(y, None), order, 0, 8, 0.05)
    grown._engine.trainer(8, "mse", settings, 0, False).run(X, Targets(y, None), order, 0, 8, 0.05, 1.0)
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
    trainer = model._engine.trainer(8, "mse", steepest.SGD().engine_settings(), 0, False)
    with pytest.raises(ValueError, match=message):
        trainer.run(X, Targets(y, None), np.arange(len(X), dtype=np.int64), 0, 8, 0.01, growth, losses)


# ------------------------------------------------------------------ tune.lr_find ----

tune = pytest.importorskip("steepest.tune")


@pytest.fixture(scope="module")
def digits():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    data = sklearn_datasets.load_digits()
    return (data.data / 16).astype(np.float32), data.target


def test_the_curve_grows_the_rate_exponentially_and_smooths_as_fastai():
    X, y = tiny_data(rows=256)
    found = tune.lr_find(steepest.MLP([3, 16, 1], seed=0), X, y, optimizer=steepest.SGD(), start=1e-3, end=0.3, steps=40, batch_size=16)
    assert len(found.lrs) == len(found.losses) == len(found.smoothed) == 40 and not found.stopped_early
    np.testing.assert_allclose(found.lrs, np.geomspace(1e-3, 0.3, 40), rtol=1e-12)
    # The exponential moving average of fastai's Recorder, bias-corrected.
    average, expected = 0.0, []
    for i, loss in enumerate(found.losses):
        average = 0.98 * average + 0.02 * loss
        expected.append(average / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(found.smoothed, expected, rtol=1e-12)


def test_the_losses_are_the_training_losses_of_a_run_at_those_rates():
    """Each point is the loss of a batch of ordinary training at that rate: the same run by
    hand, one batch per fit at the rate of the curve, gives the same losses."""
    X, y = tiny_data(rows=64)
    model, by_hand = steepest.MLP([3, 8, 1], seed=4), steepest.MLP([3, 8, 1], seed=4)
    found = tune.lr_find(model, X, y, optimizer=steepest.SGD(), start=1e-3, end=1e-1, steps=8, batch_size=64, shuffle=False)
    trainer = by_hand._engine.trainer(64, "mse", steepest.SGD().engine_settings(), 0, False)
    losses = []
    for lr in found.lrs:
        result = trainer.run(X, Targets(y, None), np.arange(64, dtype=np.int64), 0, 1, float(np.float32(lr)))
        losses.append(result.loss_sum / result.samples)
    np.testing.assert_allclose(found.losses, losses, rtol=1e-6)


def test_it_stops_when_the_smoothed_loss_passes_four_times_its_best():
    X, y = tiny_data(rows=512)
    found = tune.lr_find(steepest.MLP([3, 16, 1], seed=0), X, y, optimizer=steepest.SGD(), start=1e-4, end=1e3, steps=200, batch_size=8)
    assert found.stopped_early and len(found.lrs) < 200
    best_before_last = found.smoothed[:-1].min()
    # Every point but the last stayed within the rule; the last broke it (or a loss overflowed).
    assert (found.smoothed[:-1] <= 4 * np.minimum.accumulate(found.smoothed[:-1])).all()
    assert found.smoothed[-1] > 4 * min(best_before_last, found.smoothed[-1]) or not np.isfinite(found.losses).all()


@pytest.mark.parametrize("optimizer", [steepest.SGD(momentum=0.9), steepest.Adam()], ids=["sgd", "adam"])
def test_the_model_is_exactly_as_before(digits, optimizer):
    """Weights, the partial_fit optimizer state and the shuffling of the next fit: a model
    that went through lr_find trains on exactly as one that did not."""
    X, y = digits
    tested, untouched = steepest.MLP([64, 32, 10], output_activation="softmax", seed=1), steepest.MLP([64, 32, 10], output_activation="softmax", seed=1)
    for model in (tested, untouched):
        model.fit(X, y, epochs=1, loss="softmax_cross_entropy", optimizer=optimizer, verbose=0)
        model.partial_fit(X[:64], y[:64], loss="softmax_cross_entropy", optimizer=optimizer)
    before = tested.get_parameters()
    found = tune.lr_find(tested, X, y, loss="softmax_cross_entropy", optimizer=optimizer, start=1e-5, end=1e4)
    assert found.stopped_early  # it went as far as divergence, and still:
    np.testing.assert_array_equal(tested.get_parameters(), before)
    for model in (tested, untouched):
        model.partial_fit(X[64:128], y[64:128], loss="softmax_cross_entropy", optimizer=optimizer)
        model.fit(X, y, epochs=1, loss="softmax_cross_entropy", optimizer=optimizer, verbose=0)
    np.testing.assert_array_equal(tested.get_parameters(), untouched.get_parameters())


def test_an_autoencoder_reconstructs_without_y(digits):
    X, _ = digits
    found = tune.lr_find(steepest.Autoencoder([64, 16, 4], seed=0), X, optimizer=steepest.Adam(), start=1e-5, end=1.0, steps=30)
    assert len(found.lrs) >= 10 and 1e-5 <= found.suggestion <= 1.0


def test_the_suggestions_on_a_known_curve():
    from steepest.tune.lr_find import suggestions

    lrs = np.geomspace(1e-6, 10, 100)
    # Falls fastest near 1e-3 (the tanh's middle, pulled a little lower by the rising term),
    # lowest near 0.009, then rises steeply.
    smoothed = 2 - np.tanh(np.log10(lrs) + 3) + 20 * lrs
    steep, low = suggestions(lrs, smoothed)
    assert steep == pytest.approx(1e-3, rel=0.15)
    assert low == pytest.approx(lrs[np.argmin(smoothed)] / 10)


def test_batch_noise_at_the_start_is_no_steepest_descent():
    """Early on the smoothed loss still follows single batches: a descent is a slope across
    a tenth of the curve, not a jump between two neighbours."""
    from steepest.tune.lr_find import suggestions

    lrs = np.geomspace(1e-6, 10, 100)
    smoothed = 2 - np.tanh(np.log10(lrs) + 2)  # falls fastest at 1e-2
    smoothed[:30] += 0.05 * (-1) ** np.arange(30)  # neighbours 0.1 apart: steeper than the descent
    steep, _ = suggestions(lrs, smoothed)
    assert 1e-2 / 3 < steep < 3e-2


def test_a_regressor_s_suggestion_is_in_its_descent():
    from sklearn.datasets import load_diabetes

    from steepest.sklearn import MLPRegressor

    X, y = load_diabetes(return_X_y=True)
    found = tune.lr_find(MLPRegressor(hidden_layer_sizes=(32,), random_state=0), X, (y - y.mean()) / y.std(), start=1e-5, end=10)
    # Three batches an epoch, so batch noise is large; the loss falls between 1e-3 and 1.
    assert 1e-3 < found.suggestion < 1 and found.losses[0] == pytest.approx(0.5, rel=0.2)


def test_a_curve_that_never_falls_warns_and_suggests_its_lowest_rate():
    from steepest.tune.lr_find import suggestions

    lrs = np.geomspace(1e-2, 10, 50)
    with pytest.warns(RuntimeWarning, match="did not decrease") as caught:
        steep, _ = suggestions(lrs, 1 + lrs)
    assert caught[0].filename == __file__
    assert steep == lrs[5]  # the first after the skipped tenth


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_an_estimator_uses_its_solver_and_is_not_touched(digits, solver):
    from steepest.sklearn import MLPClassifier

    X, y = digits
    classifier = MLPClassifier((32,), solver=solver, batch_size=64, random_state=0)
    found = tune.lr_find(classifier, X, y, start=1e-5, end=10, steps=60)
    assert not hasattr(classifier, "model_")  # unfitted, and still so
    assert len(found.lrs) >= 20 and found.lrs[0] == pytest.approx(1e-5)
    # The curve starts from a new initialisation: its first loss is that of 10 classes at chance.
    assert found.losses[0] == pytest.approx(np.log(10), rel=0.2)
    # In learning_rate_init's units: SGD's best rates are an order of magnitude above Adam's.
    assert (1e-2 < found.suggestion < 3) if solver == "sgd" else (1e-3 < found.suggestion < 0.3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fitted_warm_start_estimator_starts_from_its_weights(digits):
    from steepest.sklearn import MLPClassifier

    X, y = digits
    fitted = MLPClassifier((32,), max_iter=30, warm_start=True, random_state=0).fit(X, y)
    weights = [w.copy() for w in fitted.coefs_]
    found = tune.lr_find(fitted, X, y, start=1e-6, end=1.0, steps=40)
    assert found.losses[0] < 0.5  # a trained model's loss, not chance's log(10)
    assert all((w == before).all() for w, before in zip(fitted.coefs_, weights))
    assert fitted.n_iter_ == 30 and len(fitted.loss_curve_) == 30


def test_the_plot_marks_both_suggestions(digits, tmp_path):
    pytest.importorskip("matplotlib")
    X, y = digits
    found = tune.lr_find(
        steepest.MLP([64, 32, 10], output_activation="softmax"), X, y, loss="softmax_cross_entropy", optimizer=steepest.Adam(), start=1e-5, end=10
    )
    figure = found.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ax,) = figure.axes
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["loss of each batch", "smoothed loss"]
    assert labels[2] == f"steepest descent: {found.lr_steep:.3g}" and labels[3] == f"minimum / 10: {found.lr_min:.3g}"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(start=1.0, end=1.0), ValueError, "start must be smaller than end"),
        (dict(start=1.0, end=0.1), ValueError, "start must be smaller than end"),
        (dict(start=0.0), ValueError, "start must be a finite learning rate > 0"),
        (dict(end=float("inf")), ValueError, "end must be a finite learning rate > 0"),
        (dict(steps=1), ValueError, "steps must be >= 2"),
        (dict(steps=500), ValueError, "X has 64 samples, too few for steps=500"),
        (dict(batch_size=100, steps=10), ValueError, "fewer than one batch of 100"),
        (dict(loss="hinge"), ValueError, "unknown loss 'hinge'"),
        (dict(optimizer="adam"), TypeError, "optimizer must be a steepest optimizer"),
    ],
)
def test_bad_input_is_refused_clearly(kwargs, error, message):
    X, y = tiny_data()
    model = steepest.MLP([3, 8, 1])
    before = model.get_parameters()
    with pytest.raises(error, match=message):
        tune.lr_find(model, X, y, **kwargs)
    np.testing.assert_array_equal(model.get_parameters(), before)


def test_estimators_refuse_core_model_settings_and_other_objects_are_refused(digits):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from steepest.sklearn import MLPClassifier

    X, y = digits
    with pytest.raises(ValueError, match="own solver settings: set them on the estimator instead of passing batch_size, loss"):
        tune.lr_find(MLPClassifier(), X, y, batch_size=10, loss="mse")
    with pytest.raises(TypeError, match="for a Pipeline, transform X with its first steps"):
        tune.lr_find(make_pipeline(StandardScaler(), MLPClassifier()), X, y)
