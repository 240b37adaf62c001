"""Find unusual inputs by how badly an autoencoder reconstructs them.

An autoencoder trained only on digits 0-7 reconstructs those well. Its reconstruction
error is an anomaly score: digits it never saw (8 and 9) and corrupted images score
higher. An alarm threshold is set at the 95th percentile of the scores of normal images.

    python examples/anomaly_detection.py
"""

import numpy as np
from sklearn.datasets import load_digits

import steepest

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
normal = digits.target <= 7
rng = np.random.default_rng(0)
order = rng.permutation(np.flatnonzero(normal))
train, normal_test = order[:1000], order[1000:]

autoencoder = steepest.Autoencoder([64, 32, 8], seed=0)
autoencoder.fit(X[train], epochs=60, optimizer=steepest.Adam(lr=steepest.CosineDecay(0.005, 60)), verbose=0)

threshold = np.quantile(autoencoder.reconstruction_error(X[train]), 0.95)
unseen_digits = X[~normal]
corrupted = X[normal_test].copy()
corrupted[:, rng.permutation(64)[:16]] = rng.random((len(corrupted), 16)).astype(np.float32)  # 16 pixels of noise

scores = {
    "normal digits 0-7 (test)": autoencoder.reconstruction_error(X[normal_test]),
    "unseen digits 8 and 9": autoencoder.reconstruction_error(unseen_digits),
    "corrupted digits 0-7": autoencoder.reconstruction_error(corrupted),
}
flagged = {name: np.mean(values > threshold) for name, values in scores.items()}
print(f"alarm threshold (95th percentile of training scores): {threshold:.4f}")
print(f"{'images':<26}{'median score':>14}{'flagged':>10}")
for name, values in scores.items():
    print(f"{name:<26}{np.median(values):>14.4f}{flagged[name]:>10.1%}")
assert flagged["normal digits 0-7 (test)"] < 0.15 and flagged["corrupted digits 0-7"] > 0.8, "corrupted images should stand out, normal ones not"
