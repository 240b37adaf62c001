"""Draw the pictures of docs/concepts.md into docs/images/, with steepest itself.

    python docs/make_pictures.py            # from the repository root; about half a minute

The four pictures of ``steepest demo`` come from the demo; the others each vary one
training setting on the digits and draw what changes.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

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
    return model.fit(X, y, epochs=epochs, batch_size=batch_size, loss="softmax_cross_entropy",
                     optimizer=optimizer or steepest.SGD(lr=0.05), validation_data=(X_test, y_test), verbose=0)


# Weights: what each hidden unit of a small classifier looks for, before and after training.
classifier = steepest.MLP([64, 12, 10], seed=0)
before = classifier.layers[0].weight.T.copy()  # (12 units, 64 pixels)
classifier.fit(X_train, y_train, epochs=40, loss="softmax_cross_entropy", optimizer=steepest.Adam(lr=0.01, l2=0.001), verbose=0)
save(plot.image_grid({"before training": before, "after training": classifier.layers[0].weight.T}, (8, 8), value_range=None,
                     title="The 64 weights of each of 12 hidden units, as images (dark: large)"), "weights.png")

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
    "Dropout(0.5)": classifier_history(rows=150, epochs=150, optimizer=adam,
                                       layers=[steepest.Dense(64, 256), steepest.Dropout(0.5), steepest.Dense(256, 10, "identity")]),
}
save(plot.loss_curves(runs, log_scale=True, title="150 training images: training (solid) vs test (dashed) loss").figure, "regularization.png")

# Hidden layers: depth and width against test accuracy.
runs = {"-".join(map(str, sizes)): classifier_history(sizes, optimizer=steepest.Adam(lr=0.003), epochs=20)
        for sizes in [(64, 10), (64, 16, 10), (64, 128, 10), (64, 128, 128, 10)]}
save(plot.loss_curves(runs, metrics=["val_accuracy"], title="Test accuracy per epoch: hidden layers").figure, "hidden_layers.png")

# Activation functions: what the diagnostics show for each.
runs = {}
for activation in ("relu", "tanh", "sigmoid"):
    runs[activation] = classifier_history((64, 64, 64, 64, 10), activation=activation, optimizer=steepest.SGD(lr=0.1), epochs=30)
save(plot.loss_curves(runs, metrics=["loss"], log_scale=True, title="Four-layer MLP, SGD lr=0.1: the activation function").figure, "activations.png")
save(plot.diagnostics(runs["sigmoid"], names=["gradient_norm"],
                      title="The sigmoid network: gradients shrink towards the input"), "sigmoid_diagnostics.png")
