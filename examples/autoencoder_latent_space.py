"""Compress digits into a 2-D latent space with an autoencoder, and walk through it.

Trains a 64-128-32-2 autoencoder (with its mirrored decoder) on scikit-learn's digits,
draws every digit at its place in the latent space (latent_space.png), and decodes a
straight walk from a 0 to a 1 in that space (latent_walk.png): points between two digits
decode into shapes between them.

    python examples/autoencoder_latent_space.py
"""

import numpy as np
from sklearn.datasets import load_digits

import steepest
import steepest.plot

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
labels = digits.target

autoencoder = steepest.Autoencoder([64, 128, 32, 2], activation="relu", output_activation="sigmoid", seed=0)
epochs = 100
history = autoencoder.fit(X, epochs=epochs, optimizer=steepest.Adam(lr=steepest.CosineDecay(0.005, epochs)), verbose=0)
print(f"reconstruction error (MSE per pixel): {history['loss'][0]:.4f} after one epoch, {history['loss'][-1]:.4f} after {epochs}")

codes = autoencoder.encode(X)  # (1797, 2): each digit as a point
centres = np.array([codes[labels == digit].mean(axis=0) for digit in range(10)])
for digit, centre in enumerate(centres):
    print(f"  digit {digit}: centre of its codes ({centre[0]:+.2f}, {centre[1]:+.2f})")

steepest.plot.save(steepest.plot.latent_space(codes, labels, title="Digits in a 2-D latent space").figure, "latent_space.png")
walk = np.linspace(centres[0], centres[1], 8)
steepest.plot.save(
    steepest.plot.image_grid({"0 to 1": autoencoder.decode(walk)}, (8, 8), title="Decoding a walk through the latent space"),
    "latent_walk.png",
)
print("wrote latent_space.png and latent_walk.png")
assert history["loss"][-1] < 0.5 * history["loss"][0], "training should reduce the reconstruction error"
