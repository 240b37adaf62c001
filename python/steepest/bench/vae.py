"""Variational autoencoders in the training benchmark: steepest's :class:`~steepest.VAE`
against the same model written in PyTorch eager as its examples/vae does it (an encoder, one
linear head for the mean and log-variance, the reparameterized sample, a mirrored decoder,
the negative ELBO with a Bernoulli likelihood from the decoder's logits), Adam at PyTorch's
default rate, the same data, batch size and threads.

:mod:`steepest.bench.training` times these beside the multilayer perceptrons; the
:class:`~steepest.bench.epochs.Start` gives both libraries the same
parameters and batch order, so that tests/test_bench_training.py can check that they do the
same work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

import steepest
from steepest.bench.epochs import Parameters, Start, Trainer, steepest_trainer

LR = 1e-3  # Adam's default, as PyTorch's examples/vae trains


@dataclass(frozen=True)
class VAEConfig:
    name: str
    sizes: Sequence[int]  # the encoder's, ending with the latent size; the decoder mirrors it
    batch: int
    samples: int  # per epoch

    @property
    def layers(self) -> List[Tuple[int, int]]:
        """(in, out) of every dense layer: the encoder, the head of means and log-variances,
        the decoder."""
        encoder = list(self.sizes[:-1])
        latent = self.sizes[-1]
        decoder = [latent] + encoder[::-1]
        return list(zip(encoder[:-1], encoder[1:])) + [(encoder[-1], 2 * latent)] + list(zip(decoder[:-1], decoder[1:]))

    @property
    def flops_per_sample(self) -> int:
        # Three products per layer (forward, input gradient, weight gradient), but none for
        # the first layer's input gradient.
        macs = sum(a * b for a, b in self.layers)
        first = self.layers[0][0] * self.layers[0][1]
        return 2 * (3 * macs - first)


CONFIGS = (
    # steepest's digits VAE (the demo's model without its second hidden layer) and PyTorch
    # examples' MNIST VAE, on synthetic data of the same shapes.
    VAEConfig("vae-digits", (64, 128, 8), 32, 32768),
    VAEConfig("vae-mnist", (784, 400, 20), 128, 8192),
)


def make_data(config: VAEConfig, samples: int, seed: int = 0) -> np.ndarray:
    """Intensities in [0, 1], what a Bernoulli likelihood models."""
    return np.random.default_rng(seed).random((samples, config.sizes[0])).astype(np.float32)


def steepest_epoch(config: VAEConfig, X: np.ndarray, start: Optional[Start] = None, seed: int = 0) -> Trainer:
    model = steepest.VAE(config.sizes, seed=seed)
    optimizer = steepest.Adam(lr=LR)
    rng = np.random.default_rng(seed)
    orders = iter(start.orders) if start is not None else None

    def epoch() -> float:
        # partial_fit: an epoch that carries Adam's moments on to the next, as PyTorch's
        # optimizer does (each fit starts its optimizer afresh, as scikit-learn's does).
        started = time.perf_counter()
        order = rng.permutation(len(X)) if orders is None else next(orders)
        model.partial_fit(X, batch_size=config.batch, optimizer=optimizer, order=order)
        return time.perf_counter() - started

    return steepest_trainer(model, epoch, start)


def torch_epoch(config: VAEConfig, X: np.ndarray, start: Optional[Start] = None) -> Optional[Trainer]:
    try:
        import torch
    except ImportError:
        return None
    functional = torch.nn.functional
    linears = [torch.nn.Linear(a, b) for a, b in config.layers]
    encoder_depth = len(config.sizes) - 2  # hidden layers before the head
    latent = config.sizes[-1]
    if start is not None:
        with torch.no_grad():
            for linear, (weight, bias) in zip(linears, start.parameters):
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight.T)))  # torch stores (out, in)
                linear.bias.copy_(torch.from_numpy(bias))
    parameters = [p for linear in linears for p in linear.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=LR)
    orders = iter(start.orders) if start is not None else None
    X_t = torch.from_numpy(X)

    def negative_elbo(x: Any) -> Any:
        h = x
        for linear in linears[:encoder_depth]:
            h = functional.relu(linear(h))
        heads = linears[encoder_depth](h)
        mean, log_var = heads[:, :latent], heads[:, latent:]
        h = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        for linear in linears[encoder_depth + 1 : -1]:
            h = functional.relu(linear(h))
        reconstruction = functional.binary_cross_entropy_with_logits(linears[-1](h), x, reduction="sum")
        kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
        return (reconstruction + kl) / len(x)  # per sample, as steepest's objective

    def epoch() -> float:
        started = time.perf_counter()
        order = torch.randperm(len(X_t)) if orders is None else torch.from_numpy(next(orders))
        for begin in range(0, len(X_t), config.batch):
            optimizer.zero_grad(set_to_none=True)
            negative_elbo(X_t[order[begin : begin + config.batch]]).backward()
            optimizer.step()
        return time.perf_counter() - started

    def trained() -> Parameters:
        return [(linear.weight.detach().numpy().T.copy(), linear.bias.detach().numpy().copy()) for linear in linears]

    return Trainer(epoch, trained)


def libraries(config: VAEConfig, X: np.ndarray) -> Dict[str, Trainer]:
    """steepest and each installed peer, ready to time."""
    found = {"steepest": steepest_epoch(config, X)}
    peer = torch_epoch(config, X)
    if peer is not None:
        found["torch"] = peer
    return found
