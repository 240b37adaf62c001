"""Inference speed: the latency of predicting one row and the throughput of batches of 1,024,
for steepest's core model, steepest's scikit-learn estimator, onnxruntime running the model
steepest exports, PyTorch eager and scikit-learn's own MLPClassifier (each when installed),
all computing the same softmax network from the same weights, at one thread, side by side:
interleaved repetitions in rotating order, medians.

Run ``python -m steepest.bench.inference`` (``--repeats 7``, ``--quick``, ``--models digits``,
``--json FILE``, ``--profile`` for each layer's time in steepest's kernels and each node's in
onnxruntime's profiler).

Each library is called as its users call it for probabilities: ``MLP.predict``,
``predict_proba`` of the estimators, ``InferenceSession.run`` (a session of one intra-op
thread), and ``torch.no_grad()`` around ``net(torch.from_numpy(x))`` ending in ``softmax``;
the estimators' ``predict`` (labels) is timed for one row too. Before timing, every
library's output is checked against steepest's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import steepest
from steepest import io
from steepest.bench import machine
from steepest.bench.epochs import thread_limits

#: The libraries in the table's order; the first is the one the others are divided by.
LIBRARIES = ("steepest", "estimator", "onnxruntime", "torch", "sklearn")
BATCH = 1024
#: The largest difference from steepest's probabilities a library may show (float32 sums in
#: another order differ in their last bits; a wrong weight or activation differs by far more).
AGREEMENT = 1e-4


@dataclass(frozen=True)
class InferenceConfig:
    name: str
    sizes: Sequence[int]


CONFIGS = (InferenceConfig("digits", (64, 128, 10)), InferenceConfig("mnist-mlp", (784, 256, 256, 10)))

#: One library ready to predict: called with a C-contiguous float32 batch, returns probabilities.
Predict = Callable[[np.ndarray], Any]


def digits_model(config: InferenceConfig) -> Tuple[Any, np.ndarray]:
    """A trained MLPClassifier of the config's sizes, and rows to predict: the digits data for
    the digits model, random rows of the input width otherwise (only the work matters)."""
    from sklearn.datasets import load_digits

    from steepest.sklearn import MLPClassifier

    rng = np.random.default_rng(0)
    if config.sizes[0] == 64:
        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)
    else:
        X = rng.random((2048, config.sizes[0]), dtype=np.float32)
        y = rng.integers(0, config.sizes[-1], len(X))
    estimator = MLPClassifier(tuple(config.sizes[1:-1]), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs: the weights only need to be trained-like
        estimator.fit(X, y)
    rows = X[rng.integers(0, len(X), BATCH)]
    return estimator, np.ascontiguousarray(rows)


def libraries(estimator: Any) -> Dict[str, Predict]:
    """Each installed library's prediction of the estimator's probabilities."""
    model = estimator.model_
    found: Dict[str, Predict] = {"steepest": model.predict, "estimator": estimator.predict_proba}
    for name, make in (("onnxruntime", onnxruntime_predict), ("torch", torch_predict)):
        predict = make(estimator)
        if predict is not None:
            found[name] = predict
    found["sklearn"] = sklearn_model(estimator).predict_proba
    return found


def label_predictors(estimator: Any) -> Dict[str, Predict]:
    """``predict`` (the labels) of steepest's estimator and of scikit-learn's."""
    return {"estimator": estimator.predict, "sklearn": sklearn_model(estimator).predict}


def onnxruntime_predict(estimator: Any) -> Optional[Predict]:
    try:
        import onnxruntime
    except ImportError:
        return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(estimator.model_.to_onnx().SerializeToString(), options, providers=["CPUExecutionProvider"])

    def predict(x: np.ndarray) -> Any:
        return session.run(None, {"input": x})[0]

    return predict


def torch_predict(estimator: Any) -> Optional[Predict]:
    torch = machine.torch_module()
    if torch is None:
        return None
    torch.set_num_threads(1)
    layers: List[Any] = []
    for weight, bias in zip(estimator.coefs_, estimator.intercepts_):
        linear = torch.nn.Linear(*weight.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight.T)))  # torch stores (out, in)
            linear.bias.copy_(torch.from_numpy(bias.copy()))
        layers += [linear, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1], torch.nn.Softmax(dim=1)).eval()

    def predict(x: np.ndarray) -> Any:
        with torch.no_grad():
            return net(torch.from_numpy(x))

    return predict


def sklearn_model(estimator: Any) -> Any:
    """scikit-learn's MLPClassifier with steepest's weights (fitted for one epoch on two
    rows of each class, so that it has its classes, then given the weights)."""
    from sklearn.neural_network import MLPClassifier

    width = estimator.n_features_in_
    theirs = MLPClassifier(estimator.hidden_layer_sizes, max_iter=1)
    X = np.zeros((2 * len(estimator.classes_), width), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, np.repeat(estimator.classes_, 2))
    theirs.coefs_ = [weight.copy() for weight in estimator.coefs_]
    theirs.intercepts_ = [bias.copy() for bias in estimator.intercepts_]
    return theirs


def check_agreement(found: Dict[str, Predict], rows: np.ndarray) -> Dict[str, float]:
    """Each library's largest difference from steepest's probabilities; ValueError above
    :data:`AGREEMENT` (a benchmark of a wrong computation measures nothing)."""
    want = found["steepest"](rows)
    differences = {name: float(np.max(np.abs(np.asarray(predict(rows), dtype=np.float64) - want))) for name, predict in found.items()}
    wrong = {name: difference for name, difference in differences.items() if not difference <= AGREEMENT}
    if wrong:
        raise ValueError(f"these libraries do not compute steepest's probabilities: {wrong}")
    return differences


def calls_per_sample(predict: Predict, x: np.ndarray, seconds: float) -> int:
    """How many calls take about ``seconds``."""
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            predict(x)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds / 4 or calls >= 1 << 20:
            return max(1, int(calls * seconds / max(elapsed, 1e-9)))
        calls *= 4


def measure(found: Dict[str, Predict], x: np.ndarray, repeats: int, seconds: float) -> Dict[str, float]:
    """Median seconds per call of each library, over ``repeats`` interleaved samples of about
    ``seconds`` each, the order rotated every repeat (so no library always follows another)."""
    counts = {name: calls_per_sample(predict, x, seconds) for name, predict in found.items()}
    samples: Dict[str, List[float]] = {name: [] for name in found}
    names = list(found)
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            predict, calls = found[name], counts[name]
            started = time.perf_counter()
            for _ in range(calls):
                predict(x)
            samples[name].append((time.perf_counter() - started) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def run(configs: Sequence[InferenceConfig], repeats: int, seconds: float) -> List[Dict[str, Any]]:
    """One row per configuration: latency of one row and throughput of :data:`BATCH` rows."""
    rows = []
    with thread_limits(1):
        steepest.set_num_threads(1)
        for config in configs:
            estimator, X = digits_model(config)
            found = libraries(estimator)
            differences = check_agreement(found, X)
            one = np.ascontiguousarray(X[:1])
            latency = measure(found, one, repeats, seconds)
            labels = measure(label_predictors(estimator), one, repeats, seconds)
            batch = measure(found, X, repeats, seconds)
            rows.append(
                {
                    "config": config.name,
                    "sizes": list(config.sizes),
                    "latency_us": {name: value * 1e6 for name, value in latency.items()},
                    "predict_latency_us": {name: value * 1e6 for name, value in labels.items()},
                    "rows_per_second": {name: BATCH / value for name, value in batch.items()},
                    "largest_difference": differences,
                }
            )
    return rows


def profile(config: InferenceConfig, rows: int, repeats: int, seconds: float) -> List[str]:
    """Where the time goes at ``rows`` rows: each dense layer alone in steepest's kernels
    (``steepest.ops.dense_forward`` into a preallocated output) beside the median kernel time
    of each node in onnxruntime's own profiler, and each library's whole call."""
    from steepest import ops

    estimator, X = digits_model(config)
    x = np.ascontiguousarray(X[:rows])
    layers = [(weight, bias, "relu") for weight, bias in zip(estimator.coefs_, estimator.intercepts_)]
    layers[-1] = (layers[-1][0], layers[-1][1], "softmax")
    inputs = [x]
    for weight, bias, activation in layers:
        inputs.append(ops.dense_forward(inputs[-1], weight, bias, activation))

    def layer(index: int) -> Predict:
        weight, bias, activation = layers[index]
        return lambda _: ops.dense_forward(inputs[index], weight, bias, activation, out=inputs[index + 1])

    calls: Dict[str, Predict] = {
        f"steepest layer {i}: dense_forward {'x'.join(map(str, (rows, *w.shape)))} {a}": layer(i) for i, (w, _, a) in enumerate(layers)
    }
    calls["steepest MLP.predict, whole"] = estimator.model_.predict
    lines = [f"{config.name}, {rows} row{'s' if rows > 1 else ''}: median microseconds per call"]
    lines += [f"  {name:<58} {value * 1e6:10.1f}" for name, value in measure(calls, x, repeats, seconds).items()]
    try:
        import onnxruntime
    except ImportError:
        return lines + ["  (onnxruntime is not installed)"]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "onnxruntime")
    session = onnxruntime.InferenceSession(estimator.model_.to_onnx().SerializeToString(), options, providers=["CPUExecutionProvider"])
    started = time.perf_counter()
    runs = 0
    while time.perf_counter() - started < seconds * repeats or runs < 10:
        session.run(None, {"input": x})
        runs += 1
    path = session.end_profiling()
    with io.open_text(path) as file:
        events = json.load(file)
    os.remove(path)
    nodes: Dict[str, List[float]] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            nodes.setdefault(event["name"][: -len("_kernel_time")], []).append(event["dur"])
        elif event.get("cat") == "Session" and event["name"] == "model_run":
            nodes.setdefault("whole run (in the session)", []).append(event["dur"])
    lines += [f"  onnxruntime {name:<46} {statistics.median(values):10.1f}" for name, values in nodes.items()]
    return lines


def header_lines(description: Dict[str, Any], repeats: int) -> List[str]:
    blas = description["blas"]
    versions = ", ".join(f"{name} {version}" for name, version in library_versions().items())
    return [
        f"CPU: {description['cpu']}; SIMD level {description['simd_level']}; 1 thread (pinned to one CPU)",
        f"{versions}; NumPy {description['numpy']} with {blas['library']} {blas['version']} ({blas['kernel']})",
        f"median of {repeats} interleaved repeats; latency of one row in microseconds, throughput of batches of {BATCH} in rows/s;",
        "x = the library's time over steepest core's (above 1: steepest core is faster)",
    ]


def library_versions() -> Dict[str, str]:
    versions = {"steepest": steepest.__version__}
    for name in ("onnxruntime", "torch", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return versions


def table_lines(rows: List[Dict[str, Any]]) -> List[str]:
    """A Markdown table: per configuration, a latency row and a throughput row."""
    names = [name for name in LIBRARIES if any(name in row["latency_us"] for row in rows)]
    lines = ["| model | measure | " + " | ".join(names) + " | " + " | ".join(f"x {name}" for name in names[1:]) + " |"]
    lines.append("|---|---|" + "--:|" * (2 * len(names) - 1))
    for row in rows:
        model = f"{row['config']} {'-'.join(map(str, row['sizes']))}"
        latency, throughput = row["latency_us"], row["rows_per_second"]
        cells = [f"{latency[n]:,.1f}" if n in latency else "-" for n in names]
        ratios = [f"{latency[n] / latency['steepest']:.2f}" if n in latency else "-" for n in names[1:]]
        lines.append(f"| {model} | latency, 1 row (us) | " + " | ".join(cells + ratios) + " |")
        labels = row["predict_latency_us"]
        cells = [f"{labels[n]:,.1f}" if n in labels else "-" for n in names]
        ratios = [f"{labels[n] / latency['steepest']:.2f}" if n in labels else "-" for n in names[1:]]
        lines.append(f"| {model} | latency, 1 row, labels (us) | " + " | ".join(cells + ratios) + " |")
        cells = [f"{throughput[n]:,.0f}" if n in throughput else "-" for n in names]
        ratios = [f"{throughput['steepest'] / throughput[n]:.2f}" if n in throughput else "-" for n in names[1:]]
        lines.append(f"| {model} | throughput, batch {BATCH} (rows/s) | " + " | ".join(cells + ratios) + " |")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m steepest.bench.inference", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved samples per library (default 7)")
    parser.add_argument("--quick", action="store_true", help="3 short repeats: a smoke run, not a measurement")
    names = [c.name for c in CONFIGS]
    parser.add_argument("--models", nargs="*", default=names, choices=names, metavar="NAME", help=f"which models (of {', '.join(names)})")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--profile", action="store_true", help="also time each layer in steepest's kernels and each node in onnxruntime's profiler")
    args = parser.parse_args(argv)
    repeats, seconds = (3, 0.005) if args.quick else (args.repeats, 0.05)
    rows = run([c for c in CONFIGS if c.name in args.models], repeats, seconds)
    print("\n".join(header_lines(machine.describe(), repeats) + [""] + table_lines(rows)))
    if args.profile:
        with thread_limits(1):
            steepest.set_num_threads(1)
            for config in [c for c in CONFIGS if c.name in args.models]:
                for count in (1, BATCH):
                    print("\n" + "\n".join(profile(config, count, repeats, seconds)))
    if args.json:
        machine.write_json({"machine": machine.describe(), "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
