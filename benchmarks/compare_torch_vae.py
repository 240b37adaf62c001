"""Does steepest's VAE learn as well as PyTorch's, as fast? The digits VAE 64-128-8 trained
by both the same way (the training benchmark's trainers: Adam at 1e-3, batch 32, each
library's own initialisation and shuffling, or with ``--same-start`` PyTorch's default
initialisation and one batch order given to both), then the test negative ELBO per image of both,
computed by one NumPy evaluator from their parameters with the same draws of the noise.

    python benchmarks/compare_torch_vae.py [--epochs 100] [--seeds 3] [--same-start]

Prints both -ELBOs and training times per seed and their medians; steepest should be no
worse than PyTorch (within 1%) and faster. Needs PyTorch and scikit-learn (the digits).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

import numpy as np

import steepest
from steepest.bench import vae
from steepest.bench.epochs import Parameters, Start, thread_limits


def negative_elbo(parameters: Parameters, X: np.ndarray, latent: int, draws: int = 10) -> float:
    """Mean over images of reconstruction (Bernoulli, from the logits, summed over pixels)
    plus KL(q(z|x) || N(0, I)), in float64, averaged over ``draws`` samples of z."""
    hidden = 1  # 64-128-8: one hidden layer before the head and after the sample
    (w1, b1), (wh, bh), (w2, b2), (w3, b3) = [(w.astype(np.float64), b.astype(np.float64)) for w, b in parameters]
    assert len(parameters) == 2 * hidden + 2
    heads = np.maximum(X @ w1 + b1, 0) @ wh + bh
    mean, log_var = heads[:, :latent], heads[:, latent:]
    kl = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=1)
    rng = np.random.default_rng(12345)
    reconstruction = np.zeros(len(X))
    for _ in range(draws):
        z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)
        logits = np.maximum(z @ w2 + b2, 0) @ w3 + b3
        # BCE from logits: softplus(l) - x l, summed over pixels
        reconstruction += np.sum(np.logaddexp(0, logits) - X * logits, axis=1)
    return float(np.mean(reconstruction / draws + kl))


def torch_default_start(config: vae.VAEConfig, samples: int, epochs: int, seed: int) -> Start:
    """torch.nn.Linear's default initialisation, weights and biases uniform in
    ±1/sqrt(fan_in), and a permutation of the rows per epoch."""
    rng = np.random.default_rng(seed)
    parameters = [
        (rng.uniform(-1, 1, (a, b)).astype(np.float32) / np.float32(np.sqrt(a)), rng.uniform(-1, 1, b).astype(np.float32) / np.float32(np.sqrt(a)))
        for a, b in config.layers
    ]
    return Start(parameters, [rng.permutation(samples) for _ in range(epochs)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3, help="train/test splits and initialisations")
    parser.add_argument("--same-start", action="store_true", help="both from PyTorch's default initialisation, in one batch order")
    args = parser.parse_args(argv)
    try:
        import torch
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as missing:
        print(f"needs PyTorch and scikit-learn: {missing}")
        return 1
    X_all = (load_digits().data / 16).astype(np.float32)
    config = vae.VAEConfig("digits", (64, 128, 8), 32, 0)
    print(
        f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, 1 thread; "
        f"steepest {steepest.__version__} ({steepest.simd_level()}), torch {torch.__version__}, numpy {np.__version__}"
    )
    start = "PyTorch's default initialisation and one batch order for both" if args.same_start else "each library's own initialisation and shuffling"
    print(f"VAE {'-'.join(map(str, config.sizes))}, Bernoulli, Adam {vae.LR}, batch {config.batch}, {args.epochs} epochs; {start}")
    print(f"{'seed':>4} {'steepest -ELBO':>15} {'torch -ELBO':>12} {'steepest s':>11} {'torch s':>8}")
    results: dict[str, list[float]] = {"steepest": [], "torch": [], "steepest_s": [], "torch_s": []}
    with thread_limits(1):
        steepest.set_num_threads(1)
        torch.set_num_threads(1)
        for seed in range(args.seeds):
            X_train, X_test = train_test_split(X_all, test_size=0.2, random_state=seed)
            torch.manual_seed(seed)
            start = torch_default_start(config, len(X_train), args.epochs, seed) if args.same_start else None
            trainers = {"steepest": vae.steepest_epoch(config, X_train, start, seed=seed), "torch": vae.torch_epoch(config, X_train, start)}
            for name, trainer in trainers.items():
                assert trainer is not None
                results[name + "_s"].append(sum(trainer() for _ in range(args.epochs)))
                results[name].append(negative_elbo(trainer.parameters(), X_test.astype(np.float64), config.sizes[-1]))
            print(f"{seed:>4} {results['steepest'][-1]:>15.2f} {results['torch'][-1]:>12.2f} {results['steepest_s'][-1]:>11.2f} {results['torch_s'][-1]:>8.2f}")
    median = {key: statistics.median(values) for key, values in results.items()}
    print(
        f"median: steepest {median['steepest']:.2f} nats, torch {median['torch']:.2f} nats "
        f"({100 * (median['steepest'] / median['torch'] - 1):+.2f}%); "
        f"steepest trains {median['torch_s'] / median['steepest_s']:.1f}x faster ({median['steepest_s']:.2f} s vs {median['torch_s']:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
