"""steepest.sklearn.MLP* against sklearn.neural_network.MLP* on shipped datasets: held-out
score, loss reached and fit time, same parameters, measured side by side in one run; then
solver="lbfgs", sample weights, float32 against float64, and sparse input (a TF-IDF-like
20,000 x 50,000 CSR matrix at 0.2% density, with each library's peak memory measured in a
process of its own).

Run: python benchmarks/compare_sklearn_mlp.py  (prints Markdown tables; --quick skips the
sparse table)
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
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
    for name, loader, kind in (
        ("digits", load_digits, "classifier"),
        ("breast_cancer", load_breast_cancer, "classifier"),
        ("diabetes", load_diabetes, "regressor"),
    ):
        X, y = loader(return_X_y=True)
        if kind == "regressor":
            y = (y - y.mean()) / y.std()
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        scaler = StandardScaler().fit(X_train)
        yield name, kind, scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def measure(estimator_class, threads, data, params=PARAMS, weights=None, dtype=None):
    X_train, X_test, y_train, y_test = data
    if dtype is not None:
        X_train, X_test = X_train.astype(dtype), X_test.astype(dtype)
    scores, losses, times, epochs = [], [], [], []
    for seed in SEEDS:
        estimator = estimator_class(random_state=seed, **params)
        with threadpool_limits(threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            steepest.set_num_threads(threads)
            started = time.perf_counter()
            estimator.fit(X_train, y_train, sample_weight=None if weights is None else weights(y_train))
            times.append(time.perf_counter() - started)
        scores.append(estimator.score(X_test, y_test))
        losses.append(estimator.loss_)
        epochs.append(estimator.n_iter_)
    return statistics.mean(scores), statistics.mean(losses), statistics.median(times), statistics.mean(epochs)


def classes_weighted(y):
    """Weights that make each class count alike (as class_weight="balanced" would)."""
    labels, counts = np.unique(y, return_counts=True)
    return (len(y) / (len(labels) * counts))[np.searchsorted(labels, y)]


#: (what, parameters, sample weights, dtype of X); each row of the first table is one.
CASES = [
    ("adam", PARAMS, None, None),
    ("lbfgs", dict(PARAMS, solver="lbfgs"), None, None),
    ("adam, sample_weight", PARAMS, classes_weighted, None),
    ("adam, float32 X", PARAMS, None, np.float32),
]


def table_row(*cells):
    print("| " + " | ".join(str(cell) for cell in cells) + " |")


def dense_tables():
    print(
        f"parameters: {PARAMS} and scikit-learn's defaults otherwise, seeds {SEEDS}, medians of the fit times; score = accuracy (classifiers) or R² (regressor) on 25% held out"
    )
    print("sample_weight: each class weighted alike (regressor: rows weighted 1 + |y|); float32 X: both libraries then compute in float32")
    print()
    table_row(
        "dataset",
        "case",
        "threads",
        "sklearn score",
        "steepest score",
        "sklearn loss_",
        "steepest loss_",
        "sklearn epochs",
        "steepest epochs",
        "sklearn fit s",
        "steepest fit s",
        "speedup",
    )
    table_row(*["---"] * 12)
    for name, kind, *data in datasets():
        theirs_class = getattr(neural_network, "MLPClassifier" if kind == "classifier" else "MLPRegressor")
        ours_class = getattr(ours, "MLPClassifier" if kind == "classifier" else "MLPRegressor")
        for what, params, weights, dtype in CASES:
            if weights is not None and kind == "regressor":
                weights = lambda y: 1 + np.abs(y)  # noqa: E731
            for threads in (1, 2):
                s_score, s_loss, s_time, s_epochs = measure(theirs_class, threads, data, params, weights, dtype)
                o_score, o_loss, o_time, o_epochs = measure(ours_class, threads, data, params, weights, dtype)
                table_row(
                    name,
                    what,
                    threads,
                    f"{s_score:.4f}",
                    f"{o_score:.4f}",
                    f"{s_loss:.4f}",
                    f"{o_loss:.4f}",
                    f"{s_epochs:.0f}",
                    f"{o_epochs:.0f}",
                    f"{s_time:.2f}",
                    f"{o_time:.3f}",
                    f"{s_time / o_time:.0f}x",
                )


SPARSE_SHAPE, SPARSE_DENSITY, SPARSE_EPOCHS = (20_000, 50_000), 0.002, 3


def tf_idf_like():
    """A TF-IDF-like matrix: log-scaled counts over a Zipf-distributed vocabulary, rows
    normalised to unit length, and labels from a few of its words."""
    import scipy.sparse as sparse

    rng = np.random.default_rng(0)
    rows, columns = SPARSE_SHAPE
    per_row = rng.poisson(SPARSE_DENSITY * columns, rows).clip(1)
    # Word ranks log-uniform over the vocabulary (a Zipf-like law); a row's repeats merge, so
    # it draws a few more than it keeps.
    pieces = [np.unique(np.expm1(rng.uniform(0, np.log(columns), int(n * 1.25))).astype(np.int64))[:n] for n in per_row]
    indices = np.concatenate(pieces)
    indptr = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
    values = np.log1p(rng.integers(1, 5, len(indices))).astype(np.float64) * np.log(columns / (1 + indices % 997))
    X = sparse.csr_matrix((values, indices, indptr), shape=SPARSE_SHAPE)
    X = sparse.diags(1 / np.sqrt(X.multiply(X).sum(axis=1)).A1) @ X
    score = X[:, 10:60].sum(axis=1).A1 - X[:, 60:110].sum(axis=1).A1
    return X.tocsr(), (score > np.median(score)).astype(int)


def sparse_child(library):
    """One library's sparse fit in this process: the peak resident memory it adds, and its
    time and held-out accuracy, as JSON."""
    X, y = tf_idf_like()
    estimator_class = neural_network.MLPClassifier if library == "sklearn" else ours.MLPClassifier
    cut = 16_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    estimator = estimator_class(hidden_layer_sizes=(100,), max_iter=SPARSE_EPOCHS, random_state=0)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        steepest.set_num_threads(1)
        started = time.perf_counter()
        estimator.fit(X[:cut], y[:cut])
        took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": took, "accuracy": estimator.score(X[cut:], y[cut:]), "added_peak_mib": (peak - before) / 1024, "nnz": X.nnz}))


def sparse_table():
    rows, columns = SPARSE_SHAPE
    print()
    print(f"sparse input: TF-IDF-like {rows:,} x {columns:,} CSR at {SPARSE_DENSITY:.1%} density, 16,000 rows trained, 4,000 scored;")
    print(f"hidden_layer_sizes=(100,), adam, {SPARSE_EPOCHS} epochs, float64, 1 thread; each fit in a process of its own, its added peak RSS measured")
    print(f"(the dense float64 matrix would take {rows * columns * 8 / 2**30:.1f} GiB)")
    print()
    table_row("library", "fit s", "held-out accuracy", "peak memory added MiB")
    table_row(*["---"] * 4)
    results = {}
    for library in ("sklearn", "steepest"):
        run = subprocess.run([sys.executable, __file__, "--sparse-child", library], capture_output=True, text=True, check=True)
        results[library] = json.loads(run.stdout.strip().splitlines()[-1])
        r = results[library]
        table_row(library, f"{r['seconds']:.2f}", f"{r['accuracy']:.4f}", f"{r['added_peak_mib']:.0f}")
    print(f"\nspeedup at 1 thread: {results['sklearn']['seconds'] / results['steepest']['seconds']:.1f}x; nnz {results['steepest']['nnz']:,}")


def main():
    if sys.argv[1:2] == ["--sparse-child"]:
        sparse_child(sys.argv[2])
        return
    print(
        f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} CPUs; steepest {steepest.__version__} ({steepest.simd_level()}), numpy {np.__version__}"
    )
    dense_tables()
    if "--quick" not in sys.argv:
        sparse_table()


if __name__ == "__main__":
    main()
