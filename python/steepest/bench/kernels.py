"""Kernel speed: steepest's products, fused layers and SGD step against NumPy (and PyTorch CPU
when installed), side by side in one process, interleaved repetitions, medians (issue 3).

Run ``python -m steepest.bench`` (``--quick``, ``--threads 1,2``, ``--out DIR``, ``--only
TEXT``). It prints a table naming the machine and writes ``kernels.json`` and, when
matplotlib is installed, ``kernels.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

import steepest
from steepest import ops, plot
from steepest.bench import machine

LIBRARIES = ("steepest", "numpy", "torch", "steepest_float32")


@dataclass(frozen=True)
class Case:
    """One operation at one shape.

    matmul: ``shape`` is (M, K, N) of C = op(A)·op(B) and ``layout`` says which operand is
    transposed: "NN" (X·W), "NT" (dZ·Wᵀ), "TN" (Xᵀ·dZ). dense_forward / dense_backward:
    (batch, in_features, out_features). sgd_update: (elements,).

    dtype "bfloat16" (matmul only): float32 arrays multiplied with ``precision="bfloat16"``,
    beside steepest's own float32 product of the same arrays ("steepest_float32"), NumPy's
    float32 (it has no bfloat16 product) and PyTorch's bfloat16 tensors.
    """

    op: str
    shape: Tuple[int, ...]
    layout: str = ""
    activation: str = ""
    dtype: str = "float32"

    @property
    def name(self) -> str:
        detail = self.layout or self.activation
        return " ".join(part for part in (self.op, detail, "x".join(map(str, self.shape)), self.dtype) if part)

    @property
    def work(self) -> float:
        """Floating-point operations (products) or bytes moved (sgd_update) per call."""
        if self.op == "sgd_update":
            # param and velocity read and written, grad read
            return 5.0 * self.shape[0] * np.dtype(self.array_dtype).itemsize
        m, k, n = self.shape
        return (4.0 if self.op == "dense_backward" else 2.0) * m * k * n

    @property
    def array_dtype(self) -> str:
        """The dtype of the arrays: float32 for the bfloat16 products."""
        return "float32" if self.dtype == "bfloat16" else self.dtype

    @property
    def unit(self) -> str:
        return "GB/s" if self.op == "sgd_update" else "GFLOP/s"


def layer_products(batch: int, inputs: int, outputs: int, dtype: str = "float32") -> List[Case]:
    """The three products of a dense layer: Y = X·W, dX = dZ·Wᵀ, dW = Xᵀ·dZ."""
    return [
        Case("matmul", (batch, inputs, outputs), "NN", dtype=dtype),
        Case("matmul", (batch, outputs, inputs), "NT", dtype=dtype),
        Case("matmul", (inputs, batch, outputs), "TN", dtype=dtype),
    ]


def square_products(size: int, dtype: str = "float32") -> List[Case]:
    return [Case("matmul", (size, size, size), layout, dtype=dtype) for layout in ("NN", "NT", "TN")]


# MLP layers of issue 3's targets: (batch, in_features, out_features).
MLP_LAYERS = ((128, 784, 256), (128, 256, 10), (32, 64, 64), (256, 1024, 1024), (32, 16, 16))
QUICK_MLP_LAYERS = ((128, 784, 256), (32, 64, 64), (32, 16, 16))


def default_cases(quick: bool = False) -> List[Case]:
    cases: List[Case] = []
    for size in (512,) if quick else (512, 1024, 2048):
        cases += square_products(size)
    for layer in QUICK_MLP_LAYERS if quick else MLP_LAYERS:
        cases += layer_products(*layer)
    for layer in ((128, 784, 256), (32, 64, 64)) if quick else ((128, 784, 256), (128, 256, 10), (32, 64, 64), (256, 1024, 1024)):
        cases.append(Case("dense_forward", layer, activation="relu"))
        cases.append(Case("dense_backward", layer, activation="relu"))
    cases.append(Case("sgd_update", (1 << 20,), activation="momentum+l2"))
    for size in (512,) if quick else (512, 1024):
        cases.append(Case("matmul", (size, size, size), "NN", dtype="float64"))
    cases += square_products(512 if quick else 1024, dtype="bfloat16")
    for layer in QUICK_MLP_LAYERS if quick else MLP_LAYERS:
        cases += layer_products(*layer, dtype="bfloat16")
    return cases


# ------------------------------------------------------------------ the implementations ----

Call = Callable[[], object]


def make_calls(case: Case, seed: int = 0) -> Dict[str, Call]:
    """One zero-argument callable per library that offers the case (inputs made once)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(case.array_dtype)

    def array(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(dtype)

    torch = machine.torch_module()
    t: Any = torch.from_numpy if torch is not None else None
    calls: Dict[str, Call] = {}

    if case.op == "matmul":
        m, k, n = case.shape
        a = array(k, m) if case.layout[0] == "T" else array(m, k)
        b = array(n, k) if case.layout[1] == "T" else array(k, n)
        a_op = a.T if case.layout[0] == "T" else a
        b_op = b.T if case.layout[1] == "T" else b
        out, out_np = np.empty((m, n), dtype), np.empty((m, n), dtype)
        trans_a, trans_b = case.layout[0] == "T", case.layout[1] == "T"
        calls["numpy"] = lambda: np.matmul(a_op, b_op, out=out_np)
        if case.dtype == "bfloat16":
            out_f32 = np.empty((m, n), dtype)
            calls["steepest"] = lambda: ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out, precision="bfloat16")
            calls["steepest_float32"] = lambda: ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out_f32)
            if torch is not None:
                ta, tb = t(a_op).to(torch.bfloat16), t(b_op).to(torch.bfloat16)
                tout = torch.empty((m, n), dtype=torch.bfloat16)
                calls["torch"] = lambda: torch.matmul(ta, tb, out=tout)
        else:
            calls["steepest"] = lambda: ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out)
            if torch is not None:
                ta, tb, tout = t(a_op), t(b_op), t(np.empty((m, n), dtype))
                calls["torch"] = lambda: torch.matmul(ta, tb, out=tout)

    elif case.op == "dense_forward":
        batch, inputs, outputs = case.shape
        x, w, bias = array(batch, inputs), array(inputs, outputs), array(outputs)
        out, out_np = np.empty((batch, outputs), dtype), np.empty((batch, outputs), dtype)

        def numpy_forward() -> None:  # NumPy's fastest form of act(x @ w + b): in place, no temporaries
            np.matmul(x, w, out=out_np)
            np.add(out_np, bias, out=out_np)
            np.maximum(out_np, 0, out=out_np)

        calls["steepest"] = lambda: ops.dense_forward(x, w, bias, case.activation, out=out)
        calls["numpy"] = numpy_forward
        if torch is not None:
            tx, tw, tb, tout = t(x), t(w), t(bias), t(np.empty((batch, outputs), dtype))
            calls["torch"] = lambda: torch.relu_(torch.addmm(tb, tx, tw, out=tout))

    elif case.op == "dense_backward":
        batch, inputs, outputs = case.shape
        x, w = array(batch, inputs), array(inputs, outputs)
        y = np.maximum(array(batch, outputs), 0)
        dy = array(batch, outputs)
        dz = np.empty_like(dy)

        def numpy_backward() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
            np.multiply(dy, y > 0, out=dz)
            return dz @ w.T, x.T @ dz, dz.sum(axis=0)

        calls["steepest"] = lambda: ops.dense_backward(x, w, y, dy, case.activation)
        calls["numpy"] = numpy_backward
        if torch is not None:
            tx, tw, ty, tdy = t(x), t(w), t(y), t(dy)

            def torch_backward() -> Tuple[Any, Any, Any]:
                tdz = tdy * (ty > 0)
                return tdz @ tw.T, tx.T @ tdz, tdz.sum(0)

            calls["torch"] = torch_backward

    elif case.op == "sgd_update":
        (size,) = case.shape
        lr, momentum, l2 = 1e-3, 0.9, 1e-4
        p, g, v = array(size), array(size), np.zeros(size, dtype)
        p_np, v_np, scratch = p.copy(), v.copy(), np.empty(size, dtype)

        def numpy_sgd() -> None:  # in place: g' = g + l2·p; v = μ·v + g'; p -= lr·v
            np.multiply(p_np, l2, out=scratch)
            np.add(scratch, g, out=scratch)
            np.multiply(v_np, momentum, out=v_np)
            np.add(v_np, scratch, out=v_np)
            np.multiply(v_np, lr, out=scratch)
            np.subtract(p_np, scratch, out=p_np)

        calls["steepest"] = lambda: ops.sgd_update(p, g, v, lr=lr, momentum=momentum, l2=l2)
        calls["numpy"] = numpy_sgd

    else:
        raise ValueError(f"unknown operation {case.op!r}")
    return calls


# --------------------------------------------------------------------------- measuring ----


@contextlib.contextmanager
def threads_for_all(threads: int) -> Iterator[None]:
    """Every library on `threads` threads for the duration."""
    before = steepest.get_num_threads()
    steepest.set_num_threads(threads)
    torch = machine.torch_module()
    torch_before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # NumPy then runs on its default threads; the header says so
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=threads, user_api="blas")
    try:
        with limits:
            yield
    finally:
        steepest.set_num_threads(before)
        if torch is not None:
            torch.set_num_threads(torch_before)


def loops_for(call: Call, seconds: float) -> int:
    """How many calls make a sample of about `seconds` (after a warm-up call)."""
    call()
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 8 or loops >= 1 << 20:
            return max(1, int(loops * seconds / max(elapsed, 1e-9)))
        loops *= 8


def measure(calls: Dict[str, Call], rounds: int, sample_seconds: float) -> Dict[str, float]:
    """Median seconds per call of each library over `rounds` interleaved rounds (the order
    rotates from round to round, so no library always runs right after another)."""
    loops = {name: loops_for(call, sample_seconds) for name, call in calls.items()}
    names = list(calls)
    samples: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            call, n = calls[name], loops[name]
            start = time.perf_counter()
            for _ in range(n):
                call()
            samples[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(values) for name, values in samples.items()}


def run(
    cases: Sequence[Case],
    threads: Sequence[int] = (1,),
    rounds: int = 7,
    sample_seconds: float = 0.02,
    progress: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """Measures every case at every thread count; returns the report as a dict (JSON-able)."""
    results = []
    peaks: Dict[str, Optional[float]] = {}
    for n_threads in threads:
        with threads_for_all(n_threads):
            for dtype in sorted({case.dtype for case in cases}):
                key = f"{dtype} threads={n_threads}"
                if dtype == "bfloat16":  # the same instruction as the products, or none to measure
                    peak = machine.bfloat16_peak(n_threads)
                    peaks[key] = None if peak is None else peak / 1e9
                else:
                    peaks[key] = machine.median_fma_peak(dtype, n_threads, repeats=max(3, rounds // 2)) / 1e9
            for case in cases:
                if progress is not None:
                    progress(f"{case.name}, {n_threads} thread(s)")
                seconds = measure(make_calls(case), rounds, sample_seconds)
                rates = {name: case.work / s / 1e9 for name, s in seconds.items()}
                peak = peaks[f"{case.dtype} threads={n_threads}"]
                results.append(
                    {
                        "case": asdict(case),
                        "name": case.name,
                        "threads": n_threads,
                        "unit": case.unit,
                        "seconds": seconds,
                        "rate": rates,
                        "ratio": {name: seconds[name] / seconds["steepest"] for name in seconds if name != "steepest"},
                        "percent_of_peak": 100 * rates["steepest"] / peak if case.unit == "GFLOP/s" and peak else None,
                    }
                )
    return {
        "machine": machine.describe(),
        "peak_gflops": peaks,
        "settings": {"threads": list(threads), "rounds": rounds, "sample_seconds": sample_seconds},
        "results": results,
    }


# ------------------------------------------------------------------------- reporting ----


def header_lines(report: Dict[str, Any]) -> List[str]:
    m = report["machine"]
    blas = m["blas"]
    lines = [
        f"CPU: {m['cpu']}, {m['cpus_available']} CPUs available",
        f"steepest {m['steepest']} ({m['compiler']}), SIMD level {m['simd_level']}",
        f"NumPy {m['numpy']} with {blas['library']} {blas['version']}, kernel {blas['kernel']}",
        f"PyTorch {m['torch']}" if m["torch"] else "PyTorch: not installed",
        "FMA peak (measured): " + ", ".join(f"{key} {'–' if value is None else f'{value:.1f}'} GFLOP/s" for key, value in report["peak_gflops"].items()),
        f"bfloat16 products: {m.get('bfloat16_level', '–')}",
    ]
    lines.append("idle worker threads: " + ", ".join(f"{k}={v}" for k, v in m["worker_settings"].items()))
    if m["handicaps_set"]:
        lines.append(f"warning: {m['handicaps_set']} was set when NumPy loaded: its baseline is handicapped")
    s = report["settings"]
    lines.append(f"medians of {s['rounds']} interleaved rounds; ratio = other library's time / steepest's")
    return lines


def table_lines(report: Dict[str, Any]) -> List[str]:
    """A Markdown table: one row per case and thread count."""
    rows = [
        "| case | threads | steepest | NumPy | PyTorch | × NumPy | × PyTorch | × steepest float32 | % of peak |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def number(value: Optional[float], digits: int = 1) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    for r in report["results"]:
        rate, ratio = r["rate"], r["ratio"]
        unit = "" if r["unit"] == "GFLOP/s" else " GB/s"
        rows.append(
            f"| {r['name']} | {r['threads']} | {number(rate['steepest'])}{unit} | {number(rate.get('numpy'))}"
            f" | {number(rate.get('torch'))} | {number(ratio.get('numpy'), 2)} | {number(ratio.get('torch'), 2)}"
            f" | {number(ratio.get('steepest_float32'), 2)} | {number(r['percent_of_peak'], 0)} |"
        )
    return rows


# A thread count whose measured FMA peak grows less than this fraction of linearly (0.8:
# 2 threads under 1.6 times 1 thread's) had cores taken by other work while it ran.
LINEAR_SCALING = 0.8


def noise_warning(report: Dict[str, Any], n_threads: int) -> Optional[str]:
    """Why the figures at ``n_threads`` are noisy, or None: the FMA peak measured at that
    count grew well short of linearly over one thread's (another process had the cores),
    or the count takes every CPU this process may use, which a shared machine's other
    tenants then compete for."""
    if n_threads <= 1:
        return None
    peaks = report["peak_gflops"]
    for dtype in ("float32", "float64"):
        one, many = peaks.get(f"{dtype} threads=1"), peaks.get(f"{dtype} threads={n_threads}")
        if one and many and many < LINEAR_SCALING * n_threads * one:
            return f"the {dtype} FMA peak grew {many / one:.2f}x over 1 thread's, not {n_threads}x: other work shared the cores"
    cpus = report["machine"].get("cpus_available")
    if cpus and n_threads >= cpus:
        return f"{n_threads} threads take all {cpus} CPUs: on a shared machine other work competes for them"
    return None


def write_chart(report: Dict[str, Any], path: str) -> Optional[str]:
    """Horizontal bars of steepest's speed-up over each library; returns why not if skipped."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no chart (pip install matplotlib)"
    thread_counts = report["settings"]["threads"]
    results = report["results"]
    fig, axes = plt.subplots(
        1,
        len(thread_counts),
        figsize=(7 * len(thread_counts), 0.28 * len(results) / len(thread_counts) + 1.8),
        squeeze=False,
        sharey=True,
    )
    for ax, n_threads in zip(axes[0], thread_counts):
        rows = [r for r in results if r["threads"] == n_threads]
        positions = np.arange(len(rows))
        for offset, other in ((-0.2, "numpy"), (0.2, "torch")):
            values = [r["ratio"].get(other, np.nan) for r in rows]
            ax.barh(positions + offset, values, height=0.4, label=f"vs {other}")
            # A missing bar says so: the library has no such kernel, or is not installed.
            for position, value in zip(positions, values):
                if np.isnan(value):
                    ax.text(0.02, position + offset, f"no {other} figure", transform=ax.get_yaxis_transform(), va="center", fontsize=6, color="grey")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_yticks(positions)
        ax.set_yticklabels([r["name"] for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("speed-up of steepest (other's time / steepest's)")
        noisy = noise_warning(report, n_threads)
        if noisy:
            # Shaded and titled in orange, so the panel is not read as the 1-thread one is.
            ax.set_facecolor("#fff3e0")
            ax.set_title(f"{n_threads} threads: NOISY\n{noisy}", fontsize=8, color="tab:orange")
        else:
            ax.set_title(f"{n_threads} thread(s)")
        ax.legend(fontsize=7)
    fig.suptitle(f"steepest {report['machine']['steepest']} on {report['machine']['cpu']}", fontsize=9)
    fig.tight_layout()
    plot.save(fig, path, dpi=110)
    return None


def write_report(report: Dict[str, Any], out_dir: str) -> List[str]:
    """Writes kernels.json (and kernels.png); returns the lines to print about it."""
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "kernels.json")
    machine.write_json(report, json_path)
    lines = [f"wrote {json_path}"]
    png_path = os.path.join(out_dir, "kernels.png")
    skipped = write_chart(report, png_path)
    lines.append(skipped if skipped else f"wrote {png_path}")
    return lines


def parse_threads(text: str) -> List[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads takes comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--threads takes integers >= 1, got {text!r}")
    return values


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m steepest.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and rounds (under ~30 s)")
    parser.add_argument("--threads", type=parse_threads, default=None, help="comma-separated thread counts (default: 1 and all CPUs)")
    parser.add_argument("--out", default="bench-results", help="directory for kernels.json and kernels.png")
    parser.add_argument("--only", default=None, help="run only the cases whose name contains this text")
    args = parser.parse_args(argv)

    cpus = machine.describe()["cpus_available"]
    threads = args.threads or sorted({1, cpus})
    cases = default_cases(args.quick)
    if args.only:
        cases = [case for case in cases if args.only in case.name]
        if not cases:
            parser.error(f"no case name contains {args.only!r}")
    rounds, sample_seconds = (3, 0.004) if args.quick else (7, 0.02)

    def progress(text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    report = run(cases, threads, rounds, sample_seconds, progress)
    print("\n".join(header_lines(report) + [""] + table_lines(report) + [""] + write_report(report, args.out)))
    return 0
