"""Pictures of training: loss curves, latent spaces, reconstructions, diagnostics, tuning,
and what a generative model makes.

Every function draws with matplotlib (the optional extra ``steepest[plot]``) and returns
the matplotlib ``Axes`` or ``Figure`` it drew on, so a picture can be adjusted before it
is shown or saved; :func:`save` writes a figure to a file and closes it. Without
matplotlib, every function raises an ``ImportError`` that names the extra to install.

One module per kind of picture: :mod:`~steepest.plot.curves` (loss curves),
:mod:`~steepest.plot.images` (image grids, reconstructions, latent spaces),
:mod:`~steepest.plot.generation` (a VAE's samples, latent manifold and interpolations),
:mod:`~steepest.plot.layer_diagnostics` (per-layer diagnostics, a VAE's KL per latent
dimension), :mod:`~steepest.plot.learning_rate` (the learning-rate range test) and
:mod:`~steepest.plot.tuning` (hyperparameter searches).

Examples
--------
>>> import os, tempfile, numpy as np, steepest, steepest.plot
>>> X = np.random.default_rng(0).random((200, 16)).astype(np.float32)
>>> ae = steepest.Autoencoder([16, 8, 2], seed=0)
>>> history = ae.fit(X, epochs=5, validation_split=0.2, verbose=0)
>>> ax = steepest.plot.loss_curves(history)
>>> [line.get_label() for line in ax.get_lines()]
['loss', 'val_loss']
>>> path = os.path.join(tempfile.mkdtemp(), "loss.png")
>>> steepest.plot.save(ax.figure, path)
>>> os.path.getsize(path) > 0
True
"""

from steepest.plot._figures import save
from steepest.plot.curves import loss_curves
from steepest.plot.generation import interpolation_strips, latent_manifold, samples_grid
from steepest.plot.images import image_grid, latent_space, reconstruction_grid
from steepest.plot.layer_diagnostics import diagnostics, latent_kl
from steepest.plot.learning_rate import lr_range
from steepest.plot.tuning import tuning_results

__all__ = [
    "diagnostics",
    "image_grid",
    "interpolation_strips",
    "latent_kl",
    "latent_manifold",
    "latent_space",
    "loss_curves",
    "lr_range",
    "reconstruction_grid",
    "samples_grid",
    "save",
    "tuning_results",
]
