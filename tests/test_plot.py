"""steepest.plot: each picture holds what it claims, bad input gets a clear error, and
without matplotlib the error names the extra to install."""

import sys

import matplotlib
import numpy as np
import pytest

import steepest
from steepest import History, plot

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot

    matplotlib.pyplot.close("all")


def make_history(losses, val_losses=None, diagnostics=None):
    history = History()
    for epoch, loss in enumerate(losses):
        metrics = {"loss": loss}
        if val_losses is not None:
            metrics["val_loss"] = val_losses[epoch]
        history.record(epoch, metrics, diagnostics[epoch] if diagnostics else [])
    return history


def test_loss_curves_draw_each_metric_per_epoch_with_dashed_validation():
    ax = plot.loss_curves(make_history([3.0, 2.0, 1.0], [3.5, 2.5, 2.0]))
    train, validation = ax.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3]
    assert list(train.get_ydata()) == [3.0, 2.0, 1.0]
    assert list(validation.get_ydata()) == [3.5, 2.5, 2.0]
    assert train.get_linestyle() == "-" and validation.get_linestyle() == "--"


def test_loss_curves_compare_runs_one_colour_each():
    ax = plot.loss_curves({"a": make_history([1.0, 0.5], [1.1, 0.7]), "b": make_history([2.0, 1.0])})
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["a: loss", "a: val_loss", "b: loss"]
    colours = [line.get_color() for line in ax.get_lines()]
    assert colours[0] == colours[1] != colours[2]


def test_loss_curves_name_a_missing_metric():
    with pytest.raises(KeyError, match="no 'accuracy'; it recorded: loss"):
        plot.loss_curves(make_history([1.0]), metrics=["accuracy"])


def test_loss_curves_of_a_real_fit_draw_on_given_axes():
    import matplotlib.pyplot

    X = np.random.default_rng(0).random((64, 3)).astype(np.float32)
    history = steepest.MLP([3, 4, 3], seed=0).fit(X, X, epochs=4, validation_split=0.25, verbose=0)
    _, ax = matplotlib.pyplot.subplots()
    assert plot.loss_curves(history, ax=ax, log_scale=True) is ax
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 2


def test_latent_space_one_scatter_per_class_with_its_label_at_the_centre():
    codes = np.array([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.2, 5.0]])
    ax = plot.latent_space(codes, labels=np.array([7, 7, 3, 3]))
    assert [c.get_label() for c in ax.collections] == ["3", "7"]
    centres = {text.get_text(): text.xy for text in ax.texts}
    assert np.allclose(centres["7"], (0.1, 0.0)) and np.allclose(centres["3"], (5.1, 5.0))


def test_latent_space_needs_two_dimensional_codes_and_matching_labels():
    with pytest.raises(ValueError, match=r"shape \(samples, 2\); got shape \(5, 3\)"):
        plot.latent_space(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="labels must have shape"):
        plot.latent_space(np.zeros((5, 2)), labels=[1, 2])


def test_image_grid_one_row_per_array_sharing_the_value_range():
    images = np.linspace(-0.5, 1.5, 12).reshape(3, 4)
    figure = plot.image_grid({"first": images, "second": images[:2]}, (2, 2))
    axes = np.array(figure.axes).reshape(2, 3)
    assert axes[0, 0].get_ylabel() == "first" and axes[1, 0].get_ylabel() == "second"
    assert axes[0, 0].images[0].get_clim() == (0.0, 1.0)
    assert not axes[1, 2].axison and not axes[1, 2].images  # a shorter row leaves a blank
    stretched = plot.image_grid({"weights": images}, (2, 2), value_range=None)
    low, high = stretched.axes[2].images[0].get_clim()
    assert (low, high) == (images[2].min(), images[2].max())


def test_image_grid_checks_image_size():
    with pytest.raises(ValueError, match=r"row 'x' must have shape \(images, 4\)"):
        plot.image_grid({"x": np.zeros((2, 5))}, (2, 2))


def test_reconstruction_grid_rows_originals_then_each_model():
    originals = np.random.default_rng(0).random((12, 4))
    figure = plot.reconstruction_grid(originals, {"ae": originals, "pca": 1 - originals}, (2, 2), count=3)
    assert [ax.get_ylabel() for ax in figure.axes[::3]] == ["original", "ae", "pca"]
    np.testing.assert_array_equal(figure.axes[7].images[0].get_array(), (1 - originals[1]).reshape(2, 2))
    with pytest.raises(ValueError, match="reconstructions 'reconstruction' have shape"):
        plot.reconstruction_grid(originals, originals[:5], (2, 2))


def test_diagnostics_one_line_per_layer_that_has_the_value():
    per_epoch = [
        [{"gradient_norm": 1.0, "dead_fraction": 0.1}, {"gradient_norm": 2.0, "dead_fraction": None}, None],
        [{"gradient_norm": 0.5, "dead_fraction": 0.2}, {"gradient_norm": 1.0, "dead_fraction": None}, None],
    ]
    figure = plot.diagnostics(make_history([1.0, 0.5], diagnostics=per_epoch), names=["gradient_norm", "dead_fraction"])
    gradients, dead = figure.axes
    assert [line.get_label() for line in gradients.get_lines()] == ["layer 0", "layer 1"]
    assert list(gradients.get_lines()[1].get_ydata()) == [2.0, 1.0]
    assert gradients.get_yscale() == "log"
    assert [line.get_label() for line in dead.get_lines()] == ["layer 0"]


def test_diagnostics_need_recorded_diagnostics_and_known_names():
    with pytest.raises(ValueError, match="no diagnostics"):
        plot.diagnostics(make_history([1.0]))
    with pytest.raises(ValueError, match="unknown diagnostic 'grad'"):
        plot.diagnostics(make_history([1.0], diagnostics=[[{"gradient_norm": 1.0}]]), names=["grad"])


def mosaic_of(ax):
    """The one image an Axes of steepest.plot.generation shows, NaN where the gaps are."""
    (image,) = ax.images
    return np.ma.filled(image.get_array().astype(float), np.nan)


def cell(mosaic, row, column, shape=(2, 2), gap=1):
    height, width = shape
    top, left = row * (height + gap), column * (width + gap)
    return mosaic[top : top + height, left : left + width].ravel()


def test_samples_grid_fills_rows_left_to_right_with_gaps_between_cells():
    images = np.arange(5 * 4, dtype=float).reshape(5, 4) / 20
    mosaic = mosaic_of(plot.samples_grid(images, (2, 2), rows=2))
    assert mosaic.shape == (2 * 2 + 1, 3 * 2 + 2)  # 2 rows of 3 cells of 2x2, gaps of 1
    np.testing.assert_array_equal(cell(mosaic, 0, 2), images[2])
    np.testing.assert_array_equal(cell(mosaic, 1, 1), images[4])
    assert np.isnan(cell(mosaic, 1, 2)).all()  # the short row's blank
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[:, 2]).all()
    # As square as the count allows without rows=: 10 images in 3 rows of 4.
    assert mosaic_of(plot.samples_grid(np.zeros((10, 4)), (2, 2))).shape == (3 * 3 - 1, 4 * 3 - 1)


def test_samples_grid_one_row_per_class_in_sorted_order_named_on_the_left():
    images = np.linspace(0, 1, 7 * 4).reshape(7, 4)
    labels = np.array([3, 1, 3, 3, 1, 7, 3])
    ax = plot.samples_grid(images, (2, 2), labels=labels, title="by class")
    mosaic = mosaic_of(ax)
    assert mosaic.shape == (3 * 3 - 1, 4 * 3 - 1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "3", "7"]
    assert list(ax.get_yticks()) == [0.5, 3.5, 6.5]  # the centres of the rows
    np.testing.assert_array_equal(cell(mosaic, 1, 3), images[6])  # the fourth 3
    np.testing.assert_array_equal(cell(mosaic, 2, 0), images[5])
    assert np.isnan(cell(mosaic, 2, 1)).all()
    assert ax.images[0].get_clim() == (0.0, 1.0) and ax.get_title() == "by class"


def test_samples_grid_of_a_conditional_vae_draws_each_class_asked_for():
    model = steepest.VAE([16, 8, 2], n_classes=3, seed=0)
    labels = np.repeat([0, 1, 2], 4)
    samples = model.sample(12, seed=0, labels=labels)
    mosaic = mosaic_of(plot.samples_grid(samples, (4, 4), labels=labels))
    assert mosaic.shape == (3 * 5 - 1, 4 * 5 - 1)
    np.testing.assert_allclose(cell(mosaic, 2, 3, (4, 4)), samples[11], rtol=1e-6)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: plot.samples_grid(np.zeros((4, 5)), (2, 2)), ValueError, r"images must have shape \(images, 4\)"),
        (lambda: plot.samples_grid(np.zeros((4, 4)), (2, 0)), ValueError, "image_shape must be"),
        (lambda: plot.samples_grid(np.zeros((4, 4)), (2, 2), rows=0), ValueError, "rows must be an int >= 1"),
        (lambda: plot.samples_grid(np.zeros((4, 4)), (2, 2), rows=2, labels=[0, 0, 1, 1]), ValueError, "rows or labels, not both"),
        (lambda: plot.samples_grid(np.zeros((4, 4)), (2, 2), labels=[0, 1]), ValueError, r"labels must have shape \(4,\)"),
    ],
    ids=["width", "image shape", "rows", "rows and labels", "labels"],
)
def test_samples_grid_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_latent_manifold_decodes_the_priors_quantiles_z2_upwards():
    from statistics import NormalDist

    model = steepest.VAE([16, 8, 2], seed=0)
    z = plot.generation.latent_grid(5, 0.8)
    assert np.allclose([NormalDist().cdf(v) for v in z], np.linspace(0.1, 0.9, 5)) and z[2] == 0 and np.array_equal(z, -z[::-1])
    ax = plot.latent_manifold(model, grid=5, span=0.8)
    mosaic = mosaic_of(ax)
    assert mosaic.shape == (5 * 5 - 1, 5 * 5 - 1)
    for row, column in [(0, 0), (0, 4), (3, 1), (4, 4)]:
        expected = model.decode(np.array([[z[column], z[4 - row]]]))[0]  # top row: the largest z2
        np.testing.assert_allclose(cell(mosaic, row, column, (4, 4)), expected, rtol=1e-6)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1.28", "-0.52", "0", "0.52", "1.28"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1.28", "0.52", "0", "-0.52", "-1.28"]


def test_latent_manifold_of_a_conditional_vae_draws_the_label_given():
    model = steepest.VAE([6, 8, 2], n_classes=3, seed=0)
    mosaic = mosaic_of(plot.latent_manifold(model, grid=3, label=2, image_shape=(2, 3)))
    assert mosaic.shape == (3 * 3 - 1, 3 * 4 - 1)
    z = plot.generation.latent_grid(3, 0.9)
    np.testing.assert_allclose(cell(mosaic, 2, 0, (2, 3)), model.decode(np.array([[z[0], z[0]]]), [2])[0], rtol=1e-6)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: plot.latent_manifold(steepest.VAE([16, 8, 8])), ValueError, "draws a 2-D latent space, but this VAE's has 8 dimensions"),
        (lambda: plot.latent_manifold(steepest.Autoencoder([16, 2])), TypeError, "steepest.VAE"),
        (lambda: plot.latent_manifold(steepest.VAE([16, 8, 2]), grid=1), ValueError, "grid must be an int >= 2"),
        (lambda: plot.latent_manifold(steepest.VAE([16, 8, 2]), span=1.0), ValueError, r"span must be a probability in \(0, 1\)"),
        (lambda: plot.latent_manifold(steepest.VAE([16, 8, 2], n_classes=3)), ValueError, "conditional .n_classes=3.: pass label="),
        (lambda: plot.latent_manifold(steepest.VAE([16, 8, 2]), label=1), ValueError, "label= is for a conditional VAE"),
        (lambda: plot.latent_manifold(steepest.VAE([16, 8, 2]), image_shape=(2, 4)), ValueError, "holds 8 pixels but the model has 16 features"),
        (lambda: plot.latent_manifold(steepest.VAE([6, 8, 2])), ValueError, r"6 features are not a square image: pass image_shape="),
    ],
    ids=["latent size", "not a vae", "grid", "span", "label missing", "label unwanted", "image shape", "not square"],
)
def test_latent_manifold_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_interpolation_strips_originals_framed_at_the_ends_of_each_path():
    model = steepest.VAE([4, 8, 2], seed=0)
    X = np.random.default_rng(0).random((4, 4))
    ax = plot.interpolation_strips(model, [(X[0], X[1]), (X[2], X[3])], steps=3)
    mosaic = mosaic_of(ax)
    assert mosaic.shape == (2 * 3 - 1, 5 * 3 - 1)  # 2 strips of x_a, 3 steps, x_b
    np.testing.assert_array_equal(cell(mosaic, 1, 0), X[2])
    np.testing.assert_array_equal(cell(mosaic, 1, 4), X[3])
    path = model.interpolate(X[2], X[3], steps=3)
    for step in range(3):
        np.testing.assert_allclose(cell(mosaic, 1, 1 + step), path[step], rtol=1e-6)
    frames = [(patch.get_x(), patch.get_y()) for patch in ax.patches]
    assert frames == [(-0.5, -0.5), (11.5, -0.5), (-0.5, 2.5), (11.5, 2.5)]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x_a", "x_b"]


def test_interpolation_strips_of_a_conditional_vae_one_class_per_pair():
    model = steepest.VAE([4, 8, 2], n_classes=2, seed=0)
    pairs = np.random.default_rng(0).random((2, 2, 4))
    mosaic = mosaic_of(plot.interpolation_strips(model, pairs, steps=2, labels=[0, 1], image_shape=(1, 4)))
    np.testing.assert_allclose(cell(mosaic, 1, 1, (1, 4)), model.interpolate(pairs[1, 0], pairs[1, 1], steps=2, labels=1)[0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"labels must be one class, or one per pair \(2\)"):
        plot.interpolation_strips(model, pairs, labels=[0, 1, 1], image_shape=(1, 4))
    with pytest.raises(ValueError, match="pass labels="):
        plot.interpolation_strips(model, pairs, image_shape=(1, 4))


def test_interpolation_strips_clear_errors():
    model = steepest.VAE([4, 8, 2], seed=0)
    with pytest.raises(ValueError, match=r"pairs must have shape \(pairs, 2, 4\).*got shape \(2, 3, 4\)"):
        plot.interpolation_strips(model, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="pairs must be a sequence of"):
        plot.interpolation_strips(model, [(np.zeros(4), np.zeros(3))])
    with pytest.raises(ValueError, match="steps must be >= 2"):
        plot.interpolation_strips(model, np.zeros((1, 2, 4)), steps=1)
    with pytest.raises(TypeError, match="steepest.VAE"):
        plot.interpolation_strips(steepest.Autoencoder([4, 2]), np.zeros((1, 2, 4)))


def kl_history(kl_per_epoch):
    """A History whose layer 1 is a sampling layer with these KL values per dimension."""
    diagnostics = [[{"gradient_norm": 1.0}, {"kl_per_dimension": kl, "active_dimensions": sum(v > 0.01 for v in kl)}, None] for kl in kl_per_epoch]
    return make_history([1.0] * len(kl_per_epoch), diagnostics=diagnostics)


def test_latent_kl_lines_per_dimension_and_the_last_epochs_bars():
    figure = plot.latent_kl(kl_history([[0.5, 0.2, 0.3], [0.6, 0.02, 0.0], [0.7, 0.005, 0.0]]), title="collapse")
    lines, bars = figure.axes
    dimension_lines = lines.get_lines()[:3]
    assert [line.get_label() for line in dimension_lines] == ["dimension 1", "dimension 2", "dimension 3"]
    assert list(dimension_lines[1].get_ydata()) == [0.2, 0.02, 0.005]
    assert list(dimension_lines[2].get_ydata()) == [0.3, 1e-4, 1e-4]  # zero drawn at the log axis's floor
    threshold = lines.get_lines()[3]
    assert list(threshold.get_ydata()) == [0.01, 0.01] and lines.get_yscale() == "log"
    heights = [patch.get_height() for patch in bars.patches]
    assert heights == [0.7, 0.005, 1e-4]
    assert bars.get_title() == "last epoch: 1 of 3 dimensions active (grey: collapsed)"
    assert figure.get_suptitle() == "collapse"


def test_latent_kl_threshold_is_the_one_active_dimensions_counts_with():
    X = np.random.default_rng(0).random((128, 8))
    history = steepest.VAE([8, 8, 6], beta=3.0, seed=0).fit(X, epochs=3, verbose=0)
    for epoch in history.diagnostics:
        kl, active = epoch[2]["kl_per_dimension"], epoch[2]["active_dimensions"]
        assert sum(value > plot.layer_diagnostics.ACTIVE_KL for value in kl) == active
    assert len(plot.latent_kl(history).axes[1].patches) == 6


def test_latent_kl_needs_a_vaes_history():
    with pytest.raises(ValueError, match="no per-dimension KL: it comes from steepest.VAE's fit"):
        plot.latent_kl(make_history([1.0], diagnostics=[[{"gradient_norm": 1.0}]]))
    with pytest.raises(TypeError, match="takes a steepest History"):
        plot.latent_kl({"loss": [1.0]})


def test_tuning_results_from_cv_results_with_error_bars_log_axis_and_the_best_marked():
    cv_results = {
        "params": [{"alpha": 1e-4}, {"alpha": 1e-2}, {"alpha": 1.0}],
        "param_alpha": [1e-4, 1e-2, 1.0],
        "mean_test_score": [0.8, 0.9, 0.6],
        "std_test_score": [0.01, 0.02, 0.05],
    }
    (ax,) = plot.tuning_results(cv_results).axes
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "mean_test_score" and ax.get_xlabel() == "alpha"
    points, best = ax.get_lines()
    assert list(points.get_ydata()) == [0.8, 0.9, 0.6]
    assert ax.containers[0].has_yerr
    assert (list(best.get_xdata()), list(best.get_ydata())) == ([1e-2], [0.9])


def test_tuning_results_a_log_axis_only_beyond_a_factor_100():
    def xscale(values):
        return plot.tuning_results([{"lr": v, "score": 0.5} for v in values], param="lr").axes[0].get_xscale()

    assert xscale([1.0, 100.0]) == "linear"
    assert xscale([1.0, 101.0]) == "log"
    assert xscale([-1.0, 1000.0]) == "linear"  # not all positive


def test_tuning_results_lower_is_better_for_losses_but_not_sklearn_scores():
    trials = [{"params": {"lr": 0.1}, "val_loss": 0.3}, {"params": {"lr": 0.01}, "val_loss": 0.1}, {"params": {"lr": 0.05}, "val_loss": 0.2}]
    _, best = plot.tuning_results(trials).axes[0].get_lines()
    assert (list(best.get_xdata()), list(best.get_ydata())) == ([0.01], [0.1])
    # A multi-metric cv_results_: scikit-learn negates losses, so that higher is better.
    cv_results = {"param_lr": [0.1, 0.01], "mean_test_neg_log_loss": [-0.3, -0.1], "std_test_neg_log_loss": [0.01, 0.02]}
    ax = plot.tuning_results(cv_results, score="mean_test_neg_log_loss").axes[0]
    _, best = ax.get_lines()
    assert list(best.get_ydata()) == [-0.1] and ax.containers[0].has_yerr


def test_tuning_results_panels_at_most_three_a_row_sharing_the_score_axis():
    def layout(names, **kwargs):
        trials = [{"params": {name: i * (k + 1) for k, name in enumerate(names)}, "score": i / 10} for i in range(5)]
        figure = plot.tuning_results(trials, **kwargs)
        return figure, [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) for ax in figure.axes]

    figure, places = layout("abcde", title="five parameters")
    assert [ax.get_xlabel() for ax in figure.axes] == list("abcde")
    assert places == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]  # the sixth place left out
    assert [ax.get_ylabel() for ax in figure.axes] == ["score", "", "", "score", ""]
    assert figure.axes[0].get_shared_y_axes().joined(figure.axes[0], figure.axes[4])
    width, height = figure.get_size_inches()
    assert width < 14 and 1.2 < width / height < 2.5
    assert figure.get_suptitle() == "five parameters"
    # The five integer values of each parameter are categories, each with its median bar.
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["best: 0.4", "median of each value"]
    assert all(ax.get_legend() is None for ax in figure.axes[1:])
    assert layout("abcd")[1] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert layout("abc")[1] == [(0, 0), (0, 1), (0, 2)]


def test_tuning_results_categories_in_their_own_order():
    trials = [
        {"params": {"hidden_layer_sizes": sizes, "activation": act}, "score": score}
        for sizes, act, score in [((64, 32), "tanh", 0.9), ((32,), "relu", 0.8), ((64,), "relu", 0.85)]
    ]
    layers, activation = plot.tuning_results(trials).axes
    assert [t.get_text() for t in layers.get_xticklabels()] == ["(32,)", "(64,)", "(64, 32)"]
    assert [t.get_text() for t in activation.get_xticklabels()] == ["relu", "tanh"]
    assert list(layers.get_lines()[0].get_xdata()) == [2, 0, 1]


def test_tuning_results_leave_out_failed_trials_and_missing_parameters():
    # Two grids, as scikit-learn allows: degree is masked where the kernel is "rbf".
    degree = np.ma.MaskedArray([0, 2, 3, 0], mask=[True, False, False, True])
    cv_results = {
        "param_kernel": ["rbf", "poly", "poly", "rbf"],
        "param_degree": degree,
        "mean_test_score": [0.7, np.nan, 0.8, 0.75],
    }
    figure = plot.tuning_results(cv_results)
    kernel, degrees = figure.axes
    assert list(kernel.get_lines()[0].get_ydata()) == [0.7, 0.8, 0.75]
    assert [t.get_text() for t in degrees.get_xticklabels()] == ["3"]  # a few integers: categories
    assert figure.get_suptitle() == "mean_test_score (higher is better) of 4 trials (1 failed, left out)\nbest (★ 0.8): kernel=poly, degree=3"


def test_tuning_results_on_given_axes_need_one_parameter():
    import matplotlib.pyplot

    trials = [{"params": {"lr": 0.1, "activation": "relu"}, "score": 0.9}]
    _, ax = matplotlib.pyplot.subplots()
    assert plot.tuning_results(trials, param="activation", ax=ax) is ax.figure
    assert ax.get_xlabel() == "activation" and ax.get_title() == "score (higher is better) of 1 trial\nbest (★ 0.9): activation=relu"
    with pytest.raises(ValueError, match="pass param= one of lr, activation"):
        plot.tuning_results(trials, ax=ax)


def test_tuning_results_clear_errors():
    trials = [{"activation": "relu", "score": 0.9}, {"activation": "tanh", "score": 0.8}]
    assert plot.tuning_results(trials, param="activation").axes[0].get_xlabel() == "activation"
    with pytest.raises(KeyError, match="no parameter 'depth'"):
        plot.tuning_results(trials, param="depth")
    with pytest.raises(KeyError, match="no parameters found"):
        plot.tuning_results(trials)
    with pytest.raises(KeyError, match="no score column"):
        plot.tuning_results([{"activation": "relu"}])
    with pytest.raises(KeyError, match="no column 'accuracy'"):
        plot.tuning_results(trials, score="accuracy")
    with pytest.raises(TypeError, match="list of dicts"):
        plot.tuning_results([1, 2])


def test_save_writes_the_file_and_closes_the_figure(tmp_path):
    import matplotlib.pyplot

    figure = plot.latent_space(np.zeros((3, 2))).figure
    plot.save(figure, tmp_path / "latent.png")
    assert (tmp_path / "latent.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.number not in matplotlib.pyplot.get_fignums()


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'steepest\[plot\]'"):
        plot.latent_space(np.zeros((3, 2)))


# ------------------------------------------------- pictures that read at a glance (issue 19) ----


def test_loss_curves_go_logarithmic_by_themselves_beyond_a_decade():
    assert plot.loss_curves(make_history([5.0, 1.0, 0.4])).get_yscale() == "log"  # 12.5x
    assert plot.loss_curves(make_history([5.0, 1.0, 0.6])).get_yscale() == "linear"  # 8.3x
    assert plot.loss_curves(make_history([5.0, -1.0, 0.01])).get_yscale() == "linear"  # not all positive
    assert plot.loss_curves(make_history([5.0, 1.0, 0.4]), log_scale=False).get_yscale() == "linear"
    history = History()
    for epoch, accuracy in enumerate([0.05, 0.5, 0.98]):
        history.record(epoch, {"loss": 1.0, "accuracy": accuracy}, [])
    assert plot.loss_curves(history, metrics=["accuracy"]).get_yscale() == "linear"  # a fraction
    # Plain numbers on the log axis, not 2 x 10^-1.
    ax = plot.loss_curves(make_history([5.0, 1.0, 0.2]))
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() + ax.yaxis.get_minorticklabels() if t.get_text()]
    assert "1" in labels and "0.2" in labels and not any("10^" in label or "times" in label for label in labels), labels


def test_steepest_train_draws_a_falling_loss_on_a_log_axis(tmp_path, monkeypatch):
    from steepest.cli import train

    history = make_history([2.0, 0.5, 0.1], diagnostics=[[{"gradient_norm": 1.0}]] * 3)
    scales = {}
    save = plot.save

    def keep(figure, path, **kwargs):
        scales[path.name] = [ax.get_yscale() for ax in figure.axes]
        save(figure, path, **kwargs)

    monkeypatch.setattr(plot, "save", keep)
    train._pictures(steepest.MLP([2, 1]), history, np.zeros((3, 2)), None, (1, 2), tmp_path)
    assert scales["loss.png"] == ["log"]


def test_diagnostics_draw_fractions_on_0_to_1_and_say_why_a_panel_is_empty():
    rows = [
        [{"gradient_norm": 0.0, "update_ratio": 1e-3, "dead_fraction": f}, {"gradient_norm": g, "update_ratio": 1e-4}] for f, g in [(0.02, 1.0), (0.03, 0.5)]
    ]
    figure = plot.diagnostics(make_history([1.0, 0.9], diagnostics=rows))
    gradient, update, dead, saturated = figure.axes
    assert dead.get_ylim() == pytest.approx((-0.03, 1.03)) and saturated.get_ylim() == pytest.approx((-0.03, 1.03))
    assert [t.get_text() for t in saturated.texts] == ["no sigmoid or tanh layer:\nsaturation is counted in those only"]
    assert not dead.texts and not saturated.get_lines()
    # A gradient of 0 has no place on the log axis: the legend says where the curve went.
    assert gradient.get_yscale() == "log"
    assert [t.get_text() for t in gradient.get_legend().get_texts()] == ["layer 0 (0 throughout)", "layer 1"]
    # The empty panel's epochs line up with the others'.
    assert saturated.get_xlim() == gradient.get_xlim()
    tanh = [[{"gradient_norm": 1.0, "saturated_fraction": 0.5}]] * 2
    (dead_panel,) = plot.diagnostics(make_history([1.0, 0.9], diagnostics=tanh), names=["dead_fraction"]).axes
    assert [t.get_text() for t in dead_panel.texts] == ["no ReLU layer:\ndead units are counted in ReLU layers only"]


def test_tuning_results_name_the_best_trial_and_draw_few_integers_as_categories():
    trials = [
        {"params": {"lr": lr, "batch_size": b}, "mean_test_score": s}
        for lr, b, s in [(0.0005, 32, 0.8), (0.01, 64, 0.9), (0.1, 128, 0.7), (0.003, 64, 0.85), (0.03, 32, 0.6)]
    ]
    figure = plot.tuning_results(trials)
    assert figure.get_suptitle() == "mean_test_score (higher is better) of 5 trials\nbest (★ 0.9): lr=0.01, batch_size=64"
    lr, batch = figure.axes
    assert lr.get_xscale() == "log"
    assert [t.get_text() for t in batch.get_xticklabels()] == ["32", "64", "128"]
    (medians,) = batch.collections[:1]
    assert [segment[0][1] for segment in medians.get_segments()] == [0.7, 0.875, 0.7]  # the median of each batch size
    assert [t.get_text() for t in lr.get_legend().get_texts()] == ["best: 0.9", "median of each value"]
    # A long best line is wrapped to the figure's width.
    long = [{"params": {f"a_rather_long_parameter_name_{k}": 0.5 + i for k in range(4)}, "score": float(i)} for i in range(3)]
    lines = plot.tuning_results(long).get_suptitle().split("\n")
    assert len(lines) >= 3 and max(map(len, lines)) <= 12 * plot.tuning_results(long).get_size_inches()[0]


def test_the_fraction_of_zero_weights_is_a_fraction_too():
    X = np.random.default_rng(0).random((64, 4)).astype(np.float32)
    history = steepest.MLP([4, 8, 4], seed=0).fit(X, X, epochs=3, optimizer=steepest.SGD(lr=0.1, l1=0.05), verbose=0)
    (zeros,) = plot.diagnostics(history, names=["zero_fraction"]).axes
    assert zeros.get_title() == "weights exactly zero (as L1 makes them)"
    assert zeros.get_ylim() == pytest.approx((-0.03, 1.03)) and len(zeros.get_lines()) == 2
