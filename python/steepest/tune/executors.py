"""Where trials run: in this process, in local processes (joblib) or on a Dask cluster, with
threads per trial chosen so that threads x concurrent trials never exceed the cores of the
machine they run on.

Each ``run_*`` yields trial records as they finish, so an interrupted search keeps them.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, cast

from steepest.tune.trial import Folds, run_trial

#: (trial index, parameters) of each trial to run.
Trials = List[Tuple[int, Dict[str, Any]]]


class Inputs(NamedTuple):
    """What every trial of a search shares (run_trial's arguments after the parameters)."""

    estimator: Any
    X: Any
    y: Any
    folds: Folds
    validation: Optional[Tuple[Any, Any]]
    scorer: Any


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's share)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_sequentially(trials: Trials, inputs: Inputs) -> Iterator[Dict[str, Any]]:
    """One trial after another in this process, with steepest's thread setting as it is."""
    for index, params in trials:
        yield run_trial(index, params, *inputs, None)


def run_with_joblib(trials: Trials, inputs: Inputs, n_jobs: int) -> Iterator[Dict[str, Any]]:
    """Worker processes (joblib's loky), each trial with cores // workers threads."""
    from joblib import Parallel, delayed, effective_n_jobs

    workers = max(1, min(effective_n_jobs(n_jobs), len(trials)))
    threads = max(1, usable_cores() // workers)
    parallel = Parallel(n_jobs=workers, return_as="generator_unordered")
    yield from parallel(delayed(run_trial)(index, params, *inputs, threads) for index, params in trials)


def dask_threads_per_trial(client: Any) -> Dict[str, int]:
    """Threads for a trial on each worker: the cores of its machine divided by the trials
    that may run there at once (the task threads of every worker on that host)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(usable_cores)
    slots_by_host: Dict[str, int] = {}
    for info in workers.values():
        slots_by_host[info["host"]] = slots_by_host.get(info["host"], 0) + int(info["nthreads"])
    return {address: max(1, int(cores.get(address, 1)) // slots_by_host[info["host"]]) for address, info in workers.items()}


def _run_on_dask_worker(threads_by_worker: Dict[str, int], index: int, params: Dict[str, Any], *inputs: Any) -> Dict[str, Any]:
    from distributed import get_worker

    # A worker that joined after the search started gets 1 thread: never oversubscribed.
    fields = cast(Tuple[Any, Any, Any, Any, Any, Any], inputs)  # an Inputs' six fields, as submitted
    return run_trial(index, params, *fields, threads_by_worker.get(get_worker().address, 1))


def scatter_inputs(inputs: Inputs, client: Any) -> Inputs:
    """The inputs with the data sent to the cluster once for the whole search (not with
    every task). Unhashed keys: a rescatter of equal data must not share a key that the
    release of an earlier round's futures could drop ("lost dependencies")."""

    def scatter(value: Any) -> Any:
        return None if value is None else client.scatter(value, broadcast=False, hash=False)

    return inputs._replace(X=scatter(inputs.X), y=scatter(inputs.y), validation=scatter(inputs.validation))


def run_on_dask(trials: Trials, inputs: Inputs, client: Any) -> Iterator[Dict[str, Any]]:
    """Each trial a task on the cluster; ``inputs`` comes from :func:`scatter_inputs`."""
    from distributed import as_completed

    threads_by_worker = dask_threads_per_trial(client)
    futures = [client.submit(_run_on_dask_worker, threads_by_worker, index, params, *inputs, pure=False) for index, params in trials]
    try:
        for future in as_completed(futures):
            yield future.result()
    finally:
        # After an interrupt (or an error here), stop the trials still queued or running.
        client.cancel([future for future in futures if not future.done()])
