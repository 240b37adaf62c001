"""The small training run that .ci/valgrind checks under memcheck: every path through the
C++ core once or twice (build, fit with each optimizer and loss, diagnostics, divergence,
predict, the encoder/decoder views, save/load, pickling, the ops, and errors thrown from
C++ through pybind11), at sizes that keep valgrind's ~50x slowdown to a few minutes."""

import os
import pickle
import tempfile

import numpy as np

import steepest
from steepest import ops
from steepest.nn import saving

rng = np.random.default_rng(0)
X = rng.standard_normal((96, 6)).astype(np.float32)
y = rng.standard_normal((96, 2)).astype(np.float32)
labels = rng.integers(0, 3, 96)

# a product large enough to run on the thread pool, and each kernel once
a = rng.standard_normal((128, 128))
ops.matmul(a, a)
ops.matmul(np.asfortranarray(a[:, :64]), a[:64])
w, b = rng.standard_normal((6, 5)).astype(np.float32), np.zeros(5, np.float32)
out = ops.dense_forward(X, w, b, "tanh")
ops.dense_backward(X, w, out, np.ones_like(out), "tanh")
ops.activation("softmax", out)
ops.loss("softmax_cross_entropy", out, labels.astype(np.int64))
ops.sgd_update(w, np.ones_like(w), np.zeros_like(w), lr=0.1, momentum=0.9)

regression = steepest.MLP([6, 16, 2], activation="tanh", seed=0)
regression.fit(X, y, epochs=3, batch_size=16, optimizer=steepest.SGD(lr=0.05, momentum=0.9), validation_split=0.25, verbose=0)
classifier = steepest.Sequential([steepest.Dense(6, 16), steepest.Dropout(0.2), steepest.Dense(16, 3, "softmax")], seed=1, dtype="float64")
classifier.fit(X, labels, loss="softmax_cross_entropy", epochs=2, batch_size=32, optimizer=steepest.Adam(), verbose=0)
autoencoder = steepest.Autoencoder([6, 4, 2], seed=2)
autoencoder.fit(np.abs(X) / 4, epochs=2, batch_size=16, verbose=0)
autoencoder.decode(autoencoder.encode(X))
regression.partial_fit(X, y, batch_size=32)
try:
    steepest.MLP([6, 8, 2], seed=3).fit(X * 1e18, y, epochs=2, optimizer=steepest.SGD(lr=1e30), verbose=0)
except steepest.TrainingDivergedError:
    pass

path = os.path.join(tempfile.mkdtemp(), "model.steepest")
regression.save(path)
assert np.array_equal(steepest.load(path).predict(X), regression.predict(X))
assert np.array_equal(pickle.loads(pickle.dumps(classifier)).predict(X), classifier.predict(X))

# errors thrown in C++ and translated by pybind11 must not leak what was allocated before
for call in (
    lambda: ops.matmul(a, a[:5]),
    lambda: ops.dense_forward(X, w[:3], b),
    lambda: ops.loss("softmax_cross_entropy", out, np.full(96, 9)),
    lambda: steepest.Sequential([steepest.Dense(2**62, 4)]),
    lambda: saving.model_from_bytes(saving.model_to_bytes(regression)[:-1]),
):
    try:
        call()
    except (ValueError, MemoryError):
        pass
print("valgrind run finished")
