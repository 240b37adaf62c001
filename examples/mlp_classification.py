"""Classify handwritten digits with a multilayer perceptron.

Trains a 64-128-10 MLP on scikit-learn's 8x8 digits with Adam and early stopping, then
reports test accuracy and the most frequent mistakes, and saves the model to
digits.steepest and reloads it.

    python examples/mlp_classification.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import steepest

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)  # pixels 0..16 scaled to [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, digits.target, test_size=0.2, random_state=0)

model = steepest.MLP([64, 128, 10], activation="relu", seed=0)
print(model.summary())
history = model.fit(
    X_train,
    y_train,
    epochs=50,
    batch_size=32,
    loss="softmax_cross_entropy",
    optimizer=steepest.Adam(lr=0.003),
    validation_split=0.1,
    callbacks=[steepest.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)],
    verbose=0,
)
best_epoch, best_loss = history.best("val_loss")
print(f"trained {len(history)} epochs; best validation loss {best_loss:.4f} at epoch {best_epoch + 1}")

predicted = np.argmax(model.predict(X_test), axis=1)
accuracy = np.mean(predicted == y_test)
print(f"test accuracy: {accuracy:.1%}")
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_test, predicted), 1)
mistakes = [(confusion[t, p], t, p) for t in range(10) for p in range(10) if t != p and confusion[t, p]]
for count, true, guess in sorted(mistakes, reverse=True)[:3]:
    print(f"  {count} x a {true} taken for a {guess}")

model.save("digits.steepest")
reloaded = steepest.load("digits.steepest")
assert np.array_equal(reloaded.predict(X_test), model.predict(X_test))
print("saved to digits.steepest and reloaded: identical predictions")
assert accuracy > 0.95, "the MLP should classify the digits"
