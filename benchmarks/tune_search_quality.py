"""How soon steepest.tune finds good hyperparameters, measured side by side in one run on
scikit-learn's digits with steepest.sklearn.MLPClassifier (issue 17's targets):

1. asynchronous halving (method="asha", 27 candidates drawn from the grid's region, alpha
   included) on a 2-worker Dask LocalCluster against the full 27-configuration grid on the
   same cluster, at the full budget: ASHA's best validation
   accuracy and its wall time as a fraction of the grid's (target: within 0.5 points of the
   grid's best in at most 35% of its time), repetitions interleaved, medians;
2. TPE (method="tpe") against random search: trials until one reaches the grid's best minus
   0.5 points at the full budget, median over 5 seeds (target: fewer with TPE); TPE without
   pruning (every trial at the full budget, as random search's) and with it (most trials
   stopped early: more trials, fewer epochs);
3. tune.lr_find: its suggested learning rate used for a 20-epoch fit against the best rate of
   a grid over 1e-4..1 (target: test accuracy within 1 point), mean over 3 seeds.

Run: python benchmarks/tune_search_quality.py [--quick]   (minutes; --quick: a smoke run)
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
import warnings
from typing import Any, Dict, List, Tuple

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import steepest
from steepest import tune
from steepest.bench import machine
from steepest.sklearn import MLPClassifier

FULL_BUDGET = 200  # default epochs (max_iter) of a full-budget trial: scikit-learn's (--epochs)
GRID = {
    "learning_rate_init": [1e-3, 3e-3, 1e-2],
    "hidden_layer_sizes": [(32,), (64,), (128,)],
    "batch_size": [32, 64, 128],
}
# What ASHA searches: the grid's region, continuous, and alpha too (the grid keeps the default
# 1e-4): the grid is a 27-point sample of it.
GRID_REGION = {
    "learning_rate_init": tune.loguniform(1e-3, 1e-2),
    "hidden_layer_sizes": tune.choice([(32,), (64,), (128,)]),
    "alpha": tune.loguniform(1e-5, 1e-2),
    "batch_size": tune.choice([32, 64, 128]),
}
# What TPE and random search search: wider, where choosing well matters more.
SPACE = {
    "learning_rate_init": tune.loguniform(1e-4, 1e-1),
    "hidden_layer_sizes": tune.choice([(32,), (64,), (128,), (64, 32)]),
    "alpha": tune.loguniform(1e-6, 1e-1),
    "batch_size": tune.choice([32, 64, 128]),
}
WITHIN = 0.005  # "within 0.5 points" of accuracy


def data() -> Dict[str, Any]:
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.25, random_state=0, stratify=y_rest)
    return dict(X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, X_test=X_test, y_test=y_test)


def header() -> str:
    m = machine.describe()
    return (
        f"machine: {m['cpu']}, {os.cpu_count()} cores (shared with other builds), SIMD level {m['simd_level']}; "
        f"steepest {steepest.__version__}, NumPy {m['numpy']}"
    )


def asha_against_grid(d: Dict[str, Any], repeats: int, epochs: int) -> Tuple[List[str], float]:
    from distributed import Client, LocalCluster

    estimator = MLPClassifier(max_iter=epochs, random_state=0)
    common = dict(validation_data=(d["X_val"], d["y_val"]), refit=False)
    grid_times: List[float] = []
    asha_times: List[float] = []
    grid_best: List[float] = []
    asha_best: List[float] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        # A warm-up of both, so neither pays the workers' first imports.
        tune.search(estimator, {"alpha": [1e-4, 1e-3]}, d["X_train"], d["y_train"], client=client, **common)
        for repeat in range(repeats):
            started = time.perf_counter()
            grid = tune.search(estimator, GRID, d["X_train"], d["y_train"], client=client, **common)
            grid_times.append(time.perf_counter() - started)
            grid_best.append(grid.best_score_)
            started = time.perf_counter()
            asha = tune.search(estimator, GRID_REGION, d["X_train"], d["y_train"], method="asha", n_trials=27, client=client, random_state=repeat, **common)
            asha_times.append(time.perf_counter() - started)
            asha_best.append(asha.best_score_)
            print(
                f"  repeat {repeat}: grid {grid_times[-1]:.1f} s best {grid.best_score_:.4f}; "
                f"asha {asha_times[-1]:.1f} s best {asha.best_score_:.4f} ({len(asha.results)} rung fits, rungs {sorted(set(asha.results.column('epochs_budget')))})",
                flush=True,
            )
    target = statistics.median(grid_best) - WITHIN
    reached = sum(score >= target for score in asha_best)
    ratio = statistics.median(asha_times) / statistics.median(grid_times)
    paired = sorted(a / g for a, g in zip(asha_times, grid_times))
    return [
        f"ASHA (27 candidates, factor 3) vs the 27-configuration grid at {epochs} epochs, 2-worker LocalCluster, {repeats} interleaved repeats (ASHA seeds 0..{repeats - 1}):",
        f"  grid: median wall time {statistics.median(grid_times):.1f} s, best validation accuracy {statistics.median(grid_best):.4f}",
        f"  asha: median wall time {statistics.median(asha_times):.1f} s ({ratio:.0%} of the grid's; target <= 35%; "
        f"repeat by repeat {paired[0]:.0%} to {paired[-1]:.0%}, median {statistics.median(paired):.0%}), "
        f"median best {statistics.median(asha_best):.4f}; within 0.5 points of the grid's best in {reached}/{repeats} repeats",
    ], target


def to_reach(result: tune.SearchResult, target: float, epochs: int) -> Tuple[int, float]:
    """The trials started, and the epochs trained in all, when the first full-budget result
    reached the target (one more trial than were run, and NaN epochs, if none did). In one
    process a trial starts only once every earlier one is done or pruned, so the trials
    numbered up to it are what had run."""
    for row in result.results:
        if row.get("epochs_budget", epochs) == epochs and row["mean_test_score"] >= target:
            return int(row["trial"]) + 1, float(sum(r["epochs"] for r in result.results if r["trial"] <= row["trial"]))
    return len(result.results) + 1, math.nan


def tpe_against_random(d: Dict[str, Any], target: float, n_trials: int, seeds: int, epochs: int) -> List[str]:
    estimator = MLPClassifier(max_iter=epochs, random_state=0)
    common = dict(validation_data=(d["X_val"], d["y_val"]), refit=False, n_trials=n_trials)
    # min_epochs = max_epochs: one rung, so TPE without pruning, every trial at the full budget as random search's.
    runs = {
        "tpe": dict(method="tpe", min_epochs=epochs),
        "tpe, pruned": dict(method="tpe"),
        "random": dict(method="random"),
    }
    trials: Dict[str, List[int]] = {name: [] for name in runs}
    spent: Dict[str, List[float]] = {name: [] for name in runs}
    for seed in range(seeds):
        for name, settings in runs.items():
            result = tune.search(estimator, SPACE, d["X_train"], d["y_train"], random_state=seed, **common, **settings)
            count, epochs_trained = to_reach(result, target, epochs)
            trials[name].append(count)
            spent[name].append(epochs_trained)
        print(f"  seed {seed}: trials to {target:.4f}: " + ", ".join(f"{name} {trials[name][-1]}" for name in runs), flush=True)
    lines = [
        f"TPE vs random search, {n_trials} trials each, in one process, seeds 0..{seeds - 1}: trials (and epochs trained) until a full-budget "
        f"validation accuracy >= {target:.4f} (the grid's best - 0.5 points; a run that never reached it counts as {n_trials + 1}):"
    ]
    for name in runs:
        shown = ", ".join(str(c) if c <= n_trials else f">{n_trials}" for c in trials[name])
        lines.append(f"  {name:<12} median {statistics.median(trials[name]):g} trials ({shown}), median {statistics.median(spent[name]):g} epochs")
    return lines


def lr_find_against_grid(d: Dict[str, Any], seeds: int) -> List[str]:
    lines = [
        f"lr_find's suggestion vs a grid of learning rates 1e-4..1 (13, a third of a decade apart), 20-epoch fits, test accuracy, mean over seeds 0..{seeds - 1}:"
    ]
    for solver in ("adam", "sgd"):
        settings = dict(hidden_layer_sizes=(64,), solver=solver, max_iter=20)

        def accuracy(lr: float, seed: int) -> float:
            model = MLPClassifier(learning_rate_init=lr, random_state=seed, **settings).fit(d["X_train"], d["y_train"])
            return float(model.score(d["X_test"], d["y_test"]))

        grid = {lr: statistics.mean(accuracy(lr, seed) for seed in range(seeds)) for lr in np.geomspace(1e-4, 1.0, 13)}
        best_lr, best = max(grid.items(), key=lambda item: item[1])
        found = [tune.lr_find(MLPClassifier(random_state=seed, **settings), d["X_train"], d["y_train"]) for seed in range(seeds)]
        steep = statistics.mean(accuracy(f.lr_steep, seed) for seed, f in enumerate(found))
        low = statistics.mean(accuracy(f.lr_min, seed) for seed, f in enumerate(found))
        rates = lambda name: "/".join(f"{getattr(f, name):.3g}" for f in found)  # noqa: E731
        lines += [
            f"  {solver}: grid best {best:.4f} at lr={best_lr:.3g}; suggestion (steepest descent, lr {rates('lr_steep')}) {steep:.4f} "
            f"({100 * (steep - best):+.2f} points; target >= -1); minimum/10 (lr {rates('lr_min')}) {low:.4f} ({100 * (low - best):+.2f} points)"
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, fewer seeds and trials: checks the script runs, not the targets")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats of the grid and ASHA (default 7)")
    parser.add_argument("--epochs", type=int, default=FULL_BUDGET, help=f"the full budget, max_iter (default {FULL_BUDGET}, scikit-learn's)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    d = data()
    print(header(), flush=True)
    print(f"data: digits, {len(d['X_train'])} training, {len(d['X_val'])} validation, {len(d['X_test'])} test images", flush=True)
    report, target = asha_against_grid(d, repeats=1 if args.quick else args.repeats, epochs=args.epochs)
    print("\n".join(report), flush=True)
    report = tpe_against_random(d, target, n_trials=8 if args.quick else 30, seeds=1 if args.quick else 5, epochs=args.epochs)
    print("\n".join(report), flush=True)
    print("\n".join(lr_find_against_grid(d, seeds=1 if args.quick else 3)), flush=True)


if __name__ == "__main__":
    main()
