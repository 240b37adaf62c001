"""Training throughput per configuration of issue 4: one benchmark group per config, one
entry per library; run with ``python -m pytest benchmarks/test_training_throughput.py``.

The epochs are the ones ``python -m steepest.bench.training`` times, so the suite and the
report measure the same work.
"""

import pytest

from steepest.bench import training

LIBRARIES = {"steepest": training.steepest_epoch, "numpy": training.numpy_epoch, "torch": training.torch_epoch}


@pytest.mark.parametrize("library", sorted(LIBRARIES))
@pytest.mark.parametrize("config", training.CONFIGS, ids=lambda c: c.name)
def test_epoch(benchmark, config, library):
    X, y = training.make_data(config, max(config.batch * 4, config.samples // 4))
    epoch = LIBRARIES[library](config, X, y)
    if epoch is None:
        pytest.skip(f"{library} is not installed")
    benchmark.group = f"training {config.name}"
    benchmark.extra_info["samples"] = len(X)
    benchmark.pedantic(epoch, rounds=3, warmup_rounds=1)
