"""Draw the pictures of docs/concepts.md into docs/images/, with steepest itself.

    python docs/make_pictures.py            # from the repository root; about a minute

The pictures of ``steepest demo`` come from the demo; the others each vary one training
setting on the digits and draw what changes, or set an autoencoder beside a VAE.
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.patches  # noqa: E402
import matplotlib.pyplot  # noqa: E402
import numpy as np  # noqa: E402  (after choosing the file backend)

import steepest  # noqa: E402
import steepest.cli.digits_demo  # noqa: E402
from steepest import plot  # noqa: E402

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "images"
DPI = 72  # small files: these pictures live in the repository


def save(figure, name):
    plot.save(figure, OUT / name, dpi=DPI)
    print(f"wrote {OUT / name}")


steepest.cli.digits_demo.run(OUT, quiet=True, dpi=DPI)
(OUT / "summary.json").unlink()  # the demo's numbers, not a picture
X_train, X_test, y_train, y_test = steepest.cli.digits_demo.load_digits_scaled()


def classifier_history(sizes=(64, 128, 10), *, activation="relu", optimizer=None, epochs=30, batch_size=32, rows=None, layers=None):
    """Train an MLP of ``sizes`` (or a Sequential of ``layers``) on the digits (the first
    ``rows`` training images) and return its History."""
    model = steepest.MLP(list(sizes), activation=activation, seed=0) if layers is None else steepest.Sequential(layers, seed=0)
    X, y = (X_train, y_train) if rows is None else (X_train[:rows], y_train[:rows])
    return model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        loss="softmax_cross_entropy",
        optimizer=optimizer or steepest.SGD(lr=0.05),
        validation_data=(X_test, y_test),
        verbose=0,
    )


# Weights: what each hidden unit of a small classifier looks for, before and after training.
classifier = steepest.MLP([64, 12, 10], seed=0)
before = classifier.layers[0].weight.T.copy()  # (12 units, 64 pixels)
classifier.fit(X_train, y_train, epochs=40, loss="softmax_cross_entropy", optimizer=steepest.Adam(lr=0.01, l2=0.001), verbose=0)
save(
    plot.image_grid(
        {"before training": before, "after training": classifier.layers[0].weight.T},
        (8, 8),
        value_range=None,
        title="The 64 weights of each of 12 hidden units, as images (dark: large)",
    ),
    "weights.png",
)

# Learning rate: too small crawls, too large throws the network to where it cannot learn.
runs = {f"lr={lr}": classifier_history(optimizer=steepest.SGD(lr=lr)) for lr in (0.003, 0.03, 0.3, 3.0)}
save(plot.loss_curves(runs, metrics=["loss"], log_scale=True, title="SGD on the digits: the learning rate").figure, "learning_rate.png")

# Batch size: small batches take more, noisier steps per epoch.
runs = {}
for batch_size in (8, 64, 512):
    history = classifier_history(batch_size=batch_size)
    runs[f"batch_size={batch_size} ({sum(history['time']):.2f} s)"] = history
save(plot.loss_curves(runs, metrics=["loss"], log_scale=True, title="SGD, lr=0.05: the batch size (30 epochs each)").figure, "batch_size.png")

# Epochs and regularization: on 150 images a wide network memorises; L2 and dropout hold it back.
adam = steepest.Adam(lr=0.003)
runs = {
    "no regularization": classifier_history((64, 256, 10), rows=150, epochs=150, optimizer=adam),
    "l2=0.001": classifier_history((64, 256, 10), rows=150, epochs=150, optimizer=steepest.Adam(lr=0.003, l2=0.001)),
    "Dropout(0.5)": classifier_history(
        rows=150, epochs=150, optimizer=adam, layers=[steepest.Dense(64, 256), steepest.Dropout(0.5), steepest.Dense(256, 10, "identity")]
    ),
}
save(plot.loss_curves(runs, log_scale=True, title="150 training images: training (solid) vs test (dashed) loss").figure, "regularization.png")

# Scaling: the wine data's 13 features run from 0.1 to 1,680; standardized, every one counts.
from sklearn.datasets import load_wine  # noqa: E402  (scikit-learn's bundled copy: no download)

wine = load_wine()
order = np.random.default_rng(0).permutation(len(wine.target))
wine_X, wine_y = wine.data[order], wine.target[order]
mean, std = wine_X[:130].mean(axis=0), wine_X[:130].std(axis=0)  # of the training rows, as steepest train's scale = "standard"
runs = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # the raw run's loss bounces: that is the point
    for name, features in (("raw features", wine_X), ('scale = "standard"', (wine_X - mean) / std)):
        runs[name] = steepest.MLP([13, 32, 3], seed=0).fit(
            features[:130],
            wine_y[:130],
            epochs=60,
            loss="softmax_cross_entropy",
            optimizer=steepest.Adam(lr=0.003),
            validation_data=(features[130:], wine_y[130:]),
            verbose=0,
        )
save(plot.loss_curves(runs, title="Wine: 13 features from 0.1 to 1,680, raw or standardized").figure, "scaling.png")

# Hidden layers: depth and width against test accuracy.
runs = {
    "-".join(map(str, sizes)): classifier_history(sizes, optimizer=steepest.Adam(lr=0.003), epochs=20)
    for sizes in [(64, 10), (64, 16, 10), (64, 128, 10), (64, 128, 128, 10)]
}
save(plot.loss_curves(runs, metrics=["val_accuracy"], title="Test accuracy per epoch: hidden layers").figure, "hidden_layers.png")

# Activation functions: what the diagnostics show for each.
runs = {}
for activation in ("relu", "tanh", "sigmoid"):
    runs[activation] = classifier_history((64, 64, 64, 64, 10), activation=activation, optimizer=steepest.SGD(lr=0.1), epochs=30)
save(plot.loss_curves(runs, metrics=["loss"], log_scale=True, title="Four-layer MLP, SGD lr=0.1: the activation function").figure, "activations.png")
save(plot.diagnostics(runs["sigmoid"], names=["gradient_norm"], title="The sigmoid network: gradients shrink towards the input"), "sigmoid_diagnostics.png")

# Generation: what the autoencoder's latent space lacks and the VAE's prior gives.
EPOCHS = 100
# β = 4 and the 16-D VAE without warm-up collapse on purpose: their pictures show it.
warnings.filterwarnings("ignore", message="posterior collapse", category=RuntimeWarning)


def fit_generator(model, *, warmup=20, noise=None):
    """Train an autoencoder or a VAE on the training digits as the demo does; its History."""
    arguments = {"kl_warmup_epochs": warmup} if isinstance(model, steepest.VAE) else {}
    return model.fit(X_train, epochs=EPOCHS, optimizer=steepest.Adam(lr=steepest.CosineDecay(0.005, EPOCHS)), noise=noise, verbose=0, **arguments)


# Holes: the autoencoder's codes spread in clusters with empty space between; the VAE's means
# pack into its prior N(0, I).
flat_autoencoder, flat_vae = steepest.Autoencoder([64, 128, 32, 2], seed=0), steepest.VAE([64, 128, 32, 2], seed=0)
fit_generator(flat_autoencoder)
fit_generator(flat_vae)
figure, (left, right) = matplotlib.pyplot.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
plotted = slice(0, 800)  # enough points to show the shapes, in a smaller file than all 1438
plot.latent_space(flat_autoencoder.encode(X_train[plotted]), y_train[plotted], ax=left, title="autoencoder: clusters, and holes between them")
plot.latent_space(flat_vae.encode(X_train[plotted]), y_train[plotted], ax=right, title="VAE: the codes' means, held within its prior N(0, I)")
right.add_patch(matplotlib.patches.Circle((0, 0), 2.0, fill=False, linestyle="--", color="grey"))  # 2 σ of the prior
right.set_aspect("equal")
save(figure, "latent_holes.png")

# Decoding random points: the 8-D autoencoder's random codes against the VAE's samples.
autoencoder, vae = steepest.Autoencoder([64, 128, 32, 8], seed=0), steepest.VAE([64, 128, 32, 8], seed=0)
fit_generator(autoencoder)
fit_generator(vae)
codes = autoencoder.encode(X_train)
rng = np.random.default_rng(0)
save(
    plot.image_grid(
        {
            "AE: fitted normal": autoencoder.decode(rng.multivariate_normal(codes.mean(axis=0), np.cov(codes.T), size=12)),
            "AE: uniform": autoencoder.decode(rng.uniform(codes.min(axis=0), codes.max(axis=0), size=(12, 8))),
            "VAE: N(0, I)": vae.sample(12, seed=0),
        },
        (8, 8),
        title="Decoded random points of an 8-D latent space",
    ),
    "random_codes.png",
)

# β: the weight of the KL term trades reconstruction against a code the prior can generate.
rows = {"original": X_test[:10]}
for beta in (0.25, 1.0, 4.0):
    model = steepest.VAE([64, 128, 32, 8], beta=beta, seed=0)
    history = fit_generator(model)
    label = f"β = {beta:g}\nrec. {history['reconstruction'][-1]:.1f}, KL {history['kl'][-1]:.1f}"
    rows[f"{label}\nreconstructs"] = model.reconstruct(X_test[:10])
    rows[f"β = {beta:g} generates"] = model.sample(10, seed=0)
save(plot.image_grid(rows, (8, 8), title="β: reconstruction against KL (nats per training image)"), "beta.png")

# Posterior collapse: a 16-D VAE without warm-up keeps one dimension; warmed up, it keeps more.
for warmup, name in ((0, "collapse.png"), (50, "warmup.png")):
    history = fit_generator(steepest.VAE([64, 128, 32, 16], seed=0), warmup=warmup)
    how = "no warm-up" if warmup == 0 else f"kl_warmup_epochs={warmup}"
    title = f"A 16-D VAE on the training digits, {how}: negative ELBO {history['loss'][-1]:.2f} nats in the last epoch"
    save(plot.latent_kl(history, title=title), name)

# Denoising: trained on corrupted inputs against clean targets, an autoencoder learns to repair.
denoising = steepest.Autoencoder([64, 128, 32, 8], seed=0)
fit_generator(denoising, noise=("mask", 0.3))
shown = X_test[:12]
corrupted = np.where(np.random.default_rng(1).random(shown.shape) < 0.3, 0.0, shown).astype(np.float32)
save(
    plot.image_grid(
        {"clean": shown, "30% masked": corrupted, "autoencoder": autoencoder.predict(corrupted), "denoising AE": denoising.predict(corrupted)},
        (8, 8),
        title="Test digits with 30% of their pixels zeroed, and what each autoencoder makes of them",
    ),
    "denoising.png",
)
