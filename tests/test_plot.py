"""steepest.plot: each picture holds what it claims, bad input gets a clear error, and
without matplotlib the error names the extra to install."""

import sys

import matplotlib
import numpy as np
import pytest

import steepest
from steepest import plot
from steepest import History

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
    assert not axes[1, 2].axison and not axes[1, 2].images   # a shorter row leaves a blank
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


def test_tuning_results_from_cv_results_with_error_bars_and_log_axis():
    cv_results = {
        "params": [{"alpha": 1e-4}, {"alpha": 1e-2}, {"alpha": 1.0}],
        "param_alpha": [1e-4, 1e-2, 1.0],
        "mean_test_score": [0.8, 0.9, 0.6],
        "std_test_score": [0.01, 0.02, 0.05],
    }
    ax = plot.tuning_results(cv_results, param="alpha")
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "mean_test_score"
    points = ax.get_lines()[0]
    assert list(points.get_ydata()) == [0.8, 0.9, 0.6]
    assert ax.containers[0].has_yerr


def test_tuning_results_ranked_best_first_and_lower_is_better_for_losses():
    trials = [{"params": {"lr": 0.1, "batch_size": 32}, "val_loss": 0.3}, {"params": {"lr": 0.01, "batch_size": 64}, "val_loss": 0.1}]
    ax = plot.tuning_results(trials)
    # barh draws upwards: the best trial is the last tick, at the top.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lr=0.1, batch_size=32", "lr=0.01, batch_size=64"]


def test_tuning_results_categorical_parameter_and_clear_errors():
    trials = [{"activation": "relu", "score": 0.9}, {"activation": "tanh", "score": 0.8}, {"activation": "relu", "score": 0.85}]
    ax = plot.tuning_results(trials, param="activation")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["relu", "tanh"]
    with pytest.raises(KeyError, match="no parameter 'depth'"):
        plot.tuning_results(trials, param="depth")
    with pytest.raises(KeyError, match="no score column"):
        plot.tuning_results([{"activation": "relu"}])
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
