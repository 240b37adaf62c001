"""steepest demo: the autoencoders beat PCA, the classifier learns the digits, the VAEs'
bound is what a VAE reaches on the digits, the pictures are written, and the output is
clean off a terminal and silent with --quiet."""

import io
import json
import os
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

import steepest
from steepest.cli import digits_demo as demo

matplotlib.use("Agg")

PICTURES = sorted(
    [
        "diagnostics.png",
        "latent_2d.png",
        "loss.png",
        "reconstructions.png",
        "vae_samples.png",
        "generated.png",
        "manifold_2d.png",
        "interpolation.png",
        "latent_kl.png",
    ]
)


@pytest.fixture(scope="module")
def full_demo(tmp_path_factory):
    """One run with the default settings, as a user gets it: its report and its result."""
    report = io.StringIO()
    out = tmp_path_factory.mktemp("demo")
    return out, report, demo.run(out, stream=report)


def test_autoencoders_beat_pca_at_every_latent_size(full_demo):
    _, _, result = full_demo
    assert [row.latent_size for row in result.autoencoders] == [2, 8]
    for row in result.autoencoders:
        # The margin is wide (about 0.5x on this data): a regression shows, noise does not.
        assert row.autoencoder_error < 0.8 * row.pca_error, row
        assert row.samples_per_second > 0 and row.seconds > 0


def test_classifier_learns_the_digits(full_demo):
    assert full_demo[2].classifier_accuracy > 0.95


def test_vaes_bound_the_test_digits_and_the_label_helps(full_demo):
    _, _, result = full_demo
    plain_2d, plain_8d, conditional = result.vaes
    assert [(vae.latent_size, vae.conditional) for vae in result.vaes] == [(2, False), (8, False), (8, True)]
    # A mean image scores 27.2 nats a test image under the Bernoulli likelihood, the pixels'
    # own entropy 13.6 (no model goes below it); these VAEs reach about 24 and 21.
    for vae in result.vaes:
        assert 14 < vae.test_negative_elbo < 26, vae
        assert 0 < vae.test_kl < vae.test_negative_elbo and 1 <= vae.active_dimensions <= vae.latent_size
    # Told the digit, the conditional VAE needs fewer nats for the same images.
    assert conditional.test_negative_elbo < plain_8d.test_negative_elbo - 1
    assert conditional.test_kl < plain_8d.test_kl
    assert plain_2d.active_dimensions == 2


def test_report_names_results_and_pictures_without_control_codes(full_demo):
    out, report, result = full_demo
    text = report.getvalue()
    assert "beats PCA (the best linear encoding) at every latent size" in text
    assert f"test accuracy {100 * result.classifier_accuracy:.1f}%" in text
    for vae in result.vaes:
        assert f"{vae.name:<16}  {vae.latent_size:>11}  {vae.test_negative_elbo:>6.2f}" in text
    assert f"Pictures in {out}{os.sep}:" in text
    assert all(name in text for name in PICTURES)
    assert "\r" not in text and "\x1b" not in text


def test_pictures_and_summary_are_written(full_demo):
    out, _, result = full_demo
    assert sorted(os.path.basename(p) for p in result.pictures) == PICTURES
    for name in PICTURES:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(data) < 300_000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classifier_accuracy"] == result.classifier_accuracy
    assert [row["latent_size"] for row in summary["autoencoders"]] == [2, 8]
    assert [row["test_negative_elbo"] for row in summary["vaes"]] == [vae.test_negative_elbo for vae in result.vaes]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def fit_with_bar(stream, quiet=False):
    X = np.random.default_rng(0).random((64, 4)).astype(np.float32)
    bar = demo._WholeFitBar("2-D", 3, stream, quiet)
    steepest.Autoencoder([4, 2], seed=0).fit(X, epochs=3, callbacks=[bar], verbose=0)


def test_progress_is_one_live_line_on_a_terminal():
    terminal = Terminal()
    fit_with_bar(terminal)
    drawn = terminal.getvalue()
    assert drawn.count("\r  2-D [") == 3 and "epoch 3/3" in drawn and "\n" not in drawn
    assert drawn.endswith("\r")  # cleared for the report that follows


def test_no_progress_in_a_log_or_when_quiet():
    log, quiet_terminal = io.StringIO(), Terminal()
    fit_with_bar(log)
    fit_with_bar(quiet_terminal, quiet=True)
    assert log.getvalue() == "" and quiet_terminal.getvalue() == ""


def test_pca_reconstruction_is_exact_with_every_component_and_optimal_among_linear():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    assert np.allclose(demo.pca_reconstruction(X, X, 6), X)
    pca_error = np.mean((demo.pca_reconstruction(X, X, 2) - X) ** 2)
    random_basis = np.linalg.qr(rng.normal(size=(6, 2)))[0]
    centred = X - X.mean(axis=0)
    random_error = np.mean((centred @ random_basis @ random_basis.T - centred) ** 2)
    assert pca_error < random_error


def test_command_line_demo_quiet_prints_nothing_and_writes_everything(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    command = [sys.executable, "-m", "steepest", "demo", "--epochs", "1", "--out", str(tmp_path), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PICTURES + ["summary.json"])


def test_command_line_rejects_zero_epochs(capsys):
    from steepest.cli import main

    assert main(["demo", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
