"""Training throughput: samples per second over whole epochs of mini-batch SGD, steepest
against a clean NumPy implementation, PyTorch CPU eager and JAX with the whole epoch
compiled (each when installed; JAX at one thread), same architecture, data, batch size and
threads, interleaved repetitions, medians after a warm-up epoch; and variational
autoencoders against PyTorch (:mod:`steepest.bench.vae`).

Run ``python -m steepest.bench.training`` (``--threads 1``, ``--repeats 5``, ``--quick``).

With ``precision="bfloat16"`` (the configurations where the products are the work:
mnist-mlp, autoencoder, wide), steepest trains with ``precision="bfloat16"`` beside its own
float32 run ("steepest_float32"), NumPy in float32 (it has no bfloat16 product) and PyTorch
under ``torch.autocast("cpu", dtype=torch.bfloat16)``.

steepest trains without its per-layer diagnostics here, as its peers have none; the same
epochs with ``fit``'s default diagnostics run in the same interleaved loop, and
``diagnostics_cost`` (the table's ``diag``) is how much slower they are (issue 15: at most 3%).

Each library initialises and shuffles its own way, as its users would. Given a :class:`Start`,
every library starts from the same parameters and takes the rows in the same order, so that
their epochs can be compared number for number (tests/test_bench_training.py does).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import steepest
from steepest import _core
from steepest.bench import machine, vae
from steepest.bench.epochs import Parameters, Start, Trainer, median_rates, steepest_trainer, thread_limits


@dataclass(frozen=True)
class TrainingConfig:
    name: str
    sizes: Sequence[int]
    activation: str
    output_activation: str
    batch: int
    loss: str
    samples: int  # per epoch: about a second of the slowest library's work

    @property
    def flops_per_sample(self) -> int:
        # Forward, input gradient and weight gradient: three products per layer (the first
        # layer needs no input gradient).
        macs = sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        first = self.sizes[0] * self.sizes[1]
        return 2 * (3 * macs - first)


CONFIGS = (
    TrainingConfig("tiny", (2, 16, 16, 1), "tanh", "identity", 32, "mse", 65536),
    TrainingConfig("small", (64, 64, 64, 10), "relu", "identity", 32, "softmax_cross_entropy", 32768),
    TrainingConfig("mnist-mlp", (784, 256, 256, 10), "relu", "identity", 128, "softmax_cross_entropy", 8192),
    TrainingConfig("autoencoder", (784, 256, 64, 256, 784), "relu", "sigmoid", 128, "mse", 4096),
    TrainingConfig("wide", (1024, 1024, 1024, 1024), "relu", "identity", 256, "mse", 2048),
)


#: The configurations measured in bfloat16 too.
BFLOAT16_CONFIGS = ("mnist-mlp", "autoencoder", "wide")


def make_data(config: TrainingConfig, samples: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, config.sizes[0])).astype(np.float32)
    if config.loss == "softmax_cross_entropy":
        return X, rng.integers(0, config.sizes[-1], samples)
    if config.output_activation == "sigmoid":
        return X, rng.random((samples, config.sizes[-1])).astype(np.float32)
    return X, rng.standard_normal((samples, config.sizes[-1])).astype(np.float32)


LR = 1e-3  # small enough that no configuration diverges on random data


def steepest_epoch(
    config: TrainingConfig, X: np.ndarray, y: np.ndarray, start: Optional[Start] = None, diagnostics: bool = False, precision: Optional[str] = None
) -> Trainer:
    model = steepest.MLP(config.sizes, config.activation, config.output_activation, seed=0, precision=precision)
    optimizer = steepest.SGD(lr=LR)
    settings: Dict[str, Any] = dict(epochs=1, batch_size=config.batch, loss=config.loss, optimizer=optimizer, verbose=0, diagnostics=diagnostics)
    orders = iter(start.orders) if start is not None else None

    def epoch() -> float:
        started = time.perf_counter()
        if orders is None:
            model.fit(X, y, **settings)
        else:
            order = next(orders)
            model.fit(X[order], y[order], shuffle=False, **settings)
        return time.perf_counter() - started

    return steepest_trainer(model, epoch, start)


def numpy_epoch(config: TrainingConfig, X: np.ndarray, y: np.ndarray, start: Optional[Start] = None) -> Trainer:
    """A clean NumPy training loop: what a careful user writes without a framework."""
    rng = np.random.default_rng(0)
    sizes = config.sizes
    if start is None:
        weights = [(rng.standard_normal((a, b)) * math.sqrt(2 / a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
        biases = [np.zeros(b, np.float32) for b in sizes[1:]]
    else:
        weights = [W.astype(np.float32) for W, _ in start.parameters]
        biases = [b.astype(np.float32) for _, b in start.parameters]
    orders = iter(start.orders) if start is not None else None
    last = len(weights) - 1
    one_hot = np.eye(sizes[-1], dtype=np.float32)

    def activate(z: np.ndarray, name: str) -> Any:
        if name == "relu":
            return np.maximum(z, 0, out=z)
        if name == "tanh":
            return np.tanh(z, out=z)
        if name == "sigmoid":
            return 1 / (1 + np.exp(-z))
        return z

    def derivative(a: np.ndarray, name: str) -> Any:
        if name == "relu":
            return a > 0
        if name == "tanh":
            return 1 - a * a
        if name == "sigmoid":
            return a * (1 - a)
        return None

    def epoch() -> float:
        started = time.perf_counter()
        order = rng.permutation(len(X)) if orders is None else next(orders)
        for begin in range(0, len(X), config.batch):
            index = order[begin : begin + config.batch]
            activations = [X[index]]
            for i, (W, b) in enumerate(zip(weights, biases)):
                activations.append(activate(activations[-1] @ W + b, config.activation if i < last else config.output_activation))
            out = activations[-1]
            if config.loss == "softmax_cross_entropy":
                shifted = np.exp(out - out.max(axis=1, keepdims=True))
                delta = shifted / shifted.sum(axis=1, keepdims=True)
                delta -= one_hot[y[index]]
                delta /= len(index)
            else:
                delta = 2 * (out - y[index]) / out.size
                d = derivative(out, config.output_activation)
                if d is not None:
                    delta *= d
            for i in range(last, -1, -1):
                gradient_w = activations[i].T @ delta
                gradient_b = delta.sum(axis=0)
                if i > 0:
                    delta = delta @ weights[i].T
                    delta *= derivative(activations[i], config.activation)
                weights[i] -= LR * gradient_w
                biases[i] -= LR * gradient_b
        return time.perf_counter() - started

    return Trainer(epoch, lambda: [(W.copy(), b.copy()) for W, b in zip(weights, biases)])


def torch_epoch(config: TrainingConfig, X: np.ndarray, y: np.ndarray, start: Optional[Start] = None, autocast: bool = False) -> Optional[Trainer]:
    """PyTorch CPU eager; with ``autocast`` its mixed precision, the forward pass and loss under
    ``torch.autocast("cpu", dtype=torch.bfloat16)`` (the backward pass follows it)."""
    try:
        import torch
    except ImportError:
        return None
    activations = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    layers: List[Any] = []
    linears: List[Any] = []
    for i, (a, b) in enumerate(zip(config.sizes[:-1], config.sizes[1:])):
        linears.append(torch.nn.Linear(a, b))
        layers.append(linears[-1])
        name = config.activation if i < len(config.sizes) - 2 else config.output_activation
        if name in activations:
            layers.append(activations[name]())
    net = torch.nn.Sequential(*layers)
    if start is not None:
        with torch.no_grad():
            for linear, (weight, bias) in zip(linears, start.parameters):
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight.T)))  # torch stores (out, in)
                linear.bias.copy_(torch.from_numpy(bias))
    orders = iter(start.orders) if start is not None else None
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    X_t = torch.from_numpy(X)
    y_t = torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss() if config.loss == "softmax_cross_entropy" else torch.nn.MSELoss()

    def epoch() -> float:
        started = time.perf_counter()
        order = torch.randperm(len(X_t)) if orders is None else torch.from_numpy(next(orders))
        for begin in range(0, len(X_t), config.batch):
            index = order[begin : begin + config.batch]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = loss_fn(net(X_t[index]), y_t[index])
            loss.backward()
            optimizer.step()
        return time.perf_counter() - started

    def parameters() -> Parameters:
        return [(linear.weight.detach().numpy().T.copy(), linear.bias.detach().numpy().copy()) for linear in linears]

    return Trainer(epoch, parameters)


def jax_epoch(config: TrainingConfig, X: np.ndarray, y: np.ndarray, threads: int, start: Optional[Start] = None) -> Optional[Trainer]:
    """JAX at its best for small networks: the whole epoch compiled as one ``lax.scan`` of
    SGD steps. Measured at one thread only: XLA fixes its thread count when it starts."""
    if threads != 1:
        return None
    # XLA reads its flags once, at import: ask for one thread before the first import.
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    sizes = config.sizes
    if start is None:
        params = [(jnp.asarray(rng.standard_normal((a, b)) * math.sqrt(2 / a), jnp.float32), jnp.zeros(b, jnp.float32)) for a, b in zip(sizes[:-1], sizes[1:])]
    else:
        params = [(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)) for W, b in start.parameters]
    orders = iter(start.orders) if start is not None else None
    functions = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "identity": lambda z: z}

    def loss(params: Any, xb: Any, yb: Any) -> Any:
        out = xb
        for i, (W, b) in enumerate(params):
            out = functions[config.activation if i < len(params) - 1 else config.output_activation](out @ W + b)
        if config.loss == "softmax_cross_entropy":
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(out), yb[:, None], axis=1))
        return jnp.mean((out - yb) ** 2)

    # jax is optional and, to mypy, untyped: jit returns a function of the same arguments.
    jit: Callable[[Callable[..., Any]], Callable[..., Any]] = jax.jit

    @jit
    def train(params: Any, batches_x: Any, batches_y: Any) -> Any:
        def step(params: Any, batch: Any) -> Tuple[Any, None]:
            gradients = jax.grad(loss)(params, *batch)
            return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, gradients), None

        return jax.lax.scan(step, params, (batches_x, batches_y))[0]

    # scan needs equal batches: the data is a whole number of batches (see run()).
    batches = len(X) // config.batch
    state = {"params": params}

    def epoch() -> float:
        started = time.perf_counter()
        order = (rng.permutation(len(X)) if orders is None else next(orders))[: batches * config.batch]
        batches_x = jnp.asarray(X[order].reshape(batches, config.batch, -1))
        batches_y = jnp.asarray(y[order].reshape((batches, config.batch) + y.shape[1:]))
        state["params"] = jax.block_until_ready(train(state["params"], batches_x, batches_y))
        return time.perf_counter() - started

    return Trainer(epoch, lambda: [(np.asarray(W), np.asarray(b)) for W, b in state["params"]])


Config = Union[TrainingConfig, vae.VAEConfig]


# steepest with fit's default per-layer diagnostics: timed beside the others, reported as
# the row's diagnostics_cost rather than as a peer.
_WITH_DIAGNOSTICS = "steepest with diagnostics"


def run(configs: Sequence[Config], threads: int, repeats: int, scale: float = 1.0, precision: str = "float32") -> List[Dict[str, Any]]:
    """Interleaved epochs of every library per configuration; median samples/s each.
    ``precision`` "bfloat16" measures the bfloat16 peers of the MLPs (see the top)."""
    with thread_limits(threads):
        return _run(configs, threads, repeats, scale, precision)


def _run(configs: Sequence[Config], threads: int, repeats: int, scale: float, precision: str) -> List[Dict[str, Any]]:
    steepest.set_num_threads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    rows = []
    for config in configs:
        samples = max(4, int(config.samples * scale) // config.batch) * config.batch
        rate = median_rates(_libraries(config, samples, threads, precision), samples, repeats)
        with_diagnostics = rate.pop(_WITH_DIAGNOSTICS, None)
        row: Dict[str, Any] = {"config": config.name, "precision": precision, "threads": threads, "samples": samples, "samples_per_second": rate}
        row["gflops"] = {name: value * config.flops_per_sample / 1e9 for name, value in rate.items()}
        row["ratio"] = {name: rate["steepest"] / value for name, value in rate.items() if name != "steepest"}
        if with_diagnostics is not None:
            row["diagnostics_cost"] = rate["steepest"] / with_diagnostics - 1
        rows.append(row)
    return rows


def _libraries(config: Config, samples: int, threads: int, precision: str) -> Dict[str, Trainer]:
    if isinstance(config, vae.VAEConfig):
        return vae.libraries(config, vae.make_data(config, samples))
    X, y = make_data(config, samples)
    if precision == "bfloat16":
        found = {
            "steepest": steepest_epoch(config, X, y, precision="bfloat16"),
            "steepest_float32": steepest_epoch(config, X, y),
            "numpy": numpy_epoch(config, X, y),
        }
        autocast = torch_epoch(config, X, y, autocast=True)
        if autocast is not None:
            found["torch_autocast"] = autocast
        return found
    found = {
        "steepest": steepest_epoch(config, X, y),
        _WITH_DIAGNOSTICS: steepest_epoch(config, X, y, diagnostics=True),
        "numpy": numpy_epoch(config, X, y),
    }
    for name, peer in (("torch", torch_epoch(config, X, y)), ("jax", jax_epoch(config, X, y, threads))):
        if peer is not None:
            found[name] = peer
    return found


def format_table(rows: List[Dict[str, Any]]) -> str:
    peers = sorted({peer for row in rows for peer in row["ratio"]})
    header = f"{'config':<12} {'precision':>9} {'threads':>7} {'steepest':>12} {'diag':>6} " + " ".join(f"{p:>16} {'x ' + p:>9}" for p in peers)
    lines = [header, "-" * len(header)]
    for row in rows:
        rate = row["samples_per_second"]
        cells = " ".join(f"{rate[p]:>16,.0f} {row['ratio'][p]:>8.2f}x" if p in rate else f"{'-':>16} {'-':>9}" for p in peers)
        cost = f"{100 * row['diagnostics_cost']:+5.1f}%" if "diagnostics_cost" in row else f"{'-':>6}"
        precision = row.get("precision", "float32")
        lines.append(f"{row['config']:<12} {precision:>9} {row['threads']:>7} {rate['steepest']:>12,.0f} {cost} {cells}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m steepest.bench.training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="*", default=[1, os.cpu_count() or 1], help="thread counts (default: 1 and all)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per library (default 5)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the data and 3 repeats: a smoke run, not a measurement")
    every: Sequence[Config] = CONFIGS + vae.CONFIGS
    names = [c.name for c in every]
    parser.add_argument("--configs", nargs="*", default=names, choices=names, metavar="NAME", help=f"which configurations (of {', '.join(names)})")
    parser.add_argument(
        "--precision",
        nargs="*",
        default=["float32", "bfloat16"],
        choices=["float32", "bfloat16"],
        help=f"float32 rows, and bfloat16 rows for {', '.join(BFLOAT16_CONFIGS)} (default both)",
    )
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    chosen = [c for c in every if c.name in args.configs]
    scale, repeats = (0.1, 3) if args.quick else (1.0, args.repeats)
    notes = []
    if "bfloat16" in args.precision and not _core.bfloat16_trains():
        notes.append("this CPU has no fast bfloat16 path: no bfloat16 rows (STEEPEST_BFLOAT16=emulated measures the emulated products)")
    rows = []
    for threads in sorted(set(args.threads)):
        for precision in args.precision:
            if precision == "float32":
                rows += run(chosen, threads, repeats, scale)
            elif not notes:
                rows += run([c for c in chosen if c.name in BFLOAT16_CONFIGS], threads, repeats, scale, precision)
    print(
        f"steepest {steepest.__version__}, simd {steepest.simd_level()}, bfloat16 {_core.bfloat16_level()}; "
        f"samples/s, median of {repeats} epochs; diag: the cost of fit's default diagnostics"
    )
    for note in notes:
        print(note)
    print(format_table(rows))
    if args.json:
        machine.write_json(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
