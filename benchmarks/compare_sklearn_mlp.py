"""steepest.sklearn.MLP* against sklearn.neural_network.MLP* on shipped datasets: held-out
score, loss reached and fit time, same parameters, measured side by side in one run.

Run: python benchmarks/compare_sklearn_mlp.py  (prints a Markdown table)
"""

import platform
import statistics
import time
import warnings

import numpy as np
from sklearn import neural_network
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import steepest
from steepest import sklearn as ours

SEEDS = (0, 1, 2)
PARAMS = dict(hidden_layer_sizes=(100,), max_iter=200)  # scikit-learn's defaults otherwise


def datasets():
    for name, loader, kind in (("digits", load_digits, "classifier"), ("breast_cancer", load_breast_cancer, "classifier"), ("diabetes", load_diabetes, "regressor")):
        X, y = loader(return_X_y=True)
        if kind == "regressor":
            y = (y - y.mean()) / y.std()
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        scaler = StandardScaler().fit(X_train)
        yield name, kind, scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def measure(estimator_class, threads, data):
    X_train, X_test, y_train, y_test = data
    scores, losses, times, epochs = [], [], [], []
    for seed in SEEDS:
        estimator = estimator_class(random_state=seed, **PARAMS)
        with threadpool_limits(threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            steepest.set_num_threads(threads)
            started = time.perf_counter()
            estimator.fit(X_train, y_train)
            times.append(time.perf_counter() - started)
        scores.append(estimator.score(X_test, y_test))
        losses.append(estimator.loss_)
        epochs.append(estimator.n_iter_)
    return statistics.mean(scores), statistics.mean(losses), statistics.median(times), statistics.mean(epochs)


def main():
    print(f"machine: {platform.processor() or platform.machine()}, {len(__import__('os').sched_getaffinity(0))} CPUs; steepest {steepest.__version__} ({steepest.simd_level()}), numpy {np.__version__}")
    print(f"parameters: {PARAMS}, adam, batch 200, seeds {SEEDS}; score = accuracy (classifiers) or R² (regressor) on 25% held out")
    print("| dataset | threads | sklearn score | steepest score | sklearn loss_ | steepest loss_ | sklearn epochs | steepest epochs | sklearn fit s | steepest fit s | speedup |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, kind, *data in datasets():
        theirs_class = getattr(neural_network, "MLPClassifier" if kind == "classifier" else "MLPRegressor")
        ours_class = getattr(ours, "MLPClassifier" if kind == "classifier" else "MLPRegressor")
        for threads in (1, 2):
            s_score, s_loss, s_time, s_epochs = measure(theirs_class, threads, data)
            o_score, o_loss, o_time, o_epochs = measure(ours_class, threads, data)
            print(
                f"| {name} | {threads} | {s_score:.4f} | {o_score:.4f} | {s_loss:.4f} | {o_loss:.4f} | {s_epochs:.0f} | {o_epochs:.0f} "
                f"| {s_time:.2f} | {o_time:.3f} | {s_time / o_time:.0f}x |"
            )


if __name__ == "__main__":
    main()
