"""Where trials run: in this process, in local processes (joblib's loky) or on a Dask cluster,
with threads per trial chosen so that threads x concurrent trials never exceed the cores of
the machine they run on.

Each is a pool with ``slots`` trials running at once: a search submits jobs while a slot is
free and takes the records back one by one as they finish (:func:`drive`), so that a
scheduler can decide the next job from every result so far (asynchronous halving promotes,
Bayesian search samples) and an interrupted search keeps the finished trials.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
from typing import Any, Callable, Deque, Dict, List, NamedTuple, Optional, Protocol, Set, Tuple, cast

from steepest.tune.trial import Folds, Job, failed_record, run_trial

# How long a search waits for a worker to come back when every worker holding its data died.
_WORKER_WAIT_SECONDS = 120
# How long a local worker process waits for another trial before it exits.
_IDLE_WORKER_SECONDS = 300


class Inputs(NamedTuple):
    """What every trial of a search shares (run_trial's arguments after the job)."""

    estimator: Any
    X: Any
    y: Any
    folds: Folds
    validation: Optional[Tuple[Any, Any]]
    scorer: Any


class Pool(Protocol):
    slots: int

    def submit(self, job: Job) -> None: ...

    def pending(self) -> int: ...

    def next_finished(self) -> Dict[str, Any]: ...

    def close(self, interrupted: bool) -> None: ...


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's share)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def drive(pool: Pool, next_job: Callable[[], Optional[Job]], finished: Callable[[Dict[str, Any]], None]) -> None:
    """Keep the pool's slots busy with ``next_job()`` (None: nothing to start until another
    result is in) and hand each finished record to ``finished``, until nothing is left."""
    while True:
        while pool.pending() < pool.slots:
            job = next_job()
            if job is None:
                break
            pool.submit(job)
        if pool.pending() == 0:
            return
        finished(pool.next_finished())


class SequentialPool:
    """One trial after another in this process, with steepest's thread setting as it is."""

    slots = 1

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.queue: Deque[Job] = collections.deque()

    def submit(self, job: Job) -> None:
        self.queue.append(job)

    def pending(self) -> int:
        return len(self.queue)

    def next_finished(self) -> Dict[str, Any]:
        return run_trial(self.queue.popleft(), *self.inputs, None)

    def close(self, interrupted: bool) -> None:
        self.queue.clear()


class ProcessPool:
    """Local worker processes (joblib's loky executor), each trial with cores // workers threads."""

    def __init__(self, inputs: Inputs, n_jobs: int, most_trials: int) -> None:
        from joblib import effective_n_jobs
        from joblib.externals.loky import get_reusable_executor

        self.inputs = inputs
        self.slots = max(1, min(effective_n_jobs(n_jobs), most_trials))
        self.threads = max(1, usable_cores() // self.slots)
        # Idle workers stay 300 s, as under joblib's Parallel: loky's default of 10 s lets
        # them quit between the trials of a search, and one quitting just as a trial is
        # handed to it makes loky warn from its manager thread, which (under warnings as
        # errors) ends that thread and leaves the search waiting forever.
        self.executor = get_reusable_executor(max_workers=self.slots, timeout=_IDLE_WORKER_SECONDS)
        self.futures: Set[concurrent.futures.Future[Dict[str, Any]]] = set()

    def submit(self, job: Job) -> None:
        self.futures.add(self.executor.submit(run_trial, job, *self.inputs, self.threads))

    def pending(self) -> int:
        return len(self.futures)

    def next_finished(self) -> Dict[str, Any]:
        done, _ = concurrent.futures.wait(self.futures, return_when=concurrent.futures.FIRST_COMPLETED)
        future = next(iter(done))
        self.futures.remove(future)
        return future.result()

    def close(self, interrupted: bool) -> None:
        for future in self.futures:
            future.cancel()
        if interrupted:
            # Trials already running would go on for their whole fit: stop them now.
            self.executor.shutdown(wait=False, kill_workers=True)
        self.futures.clear()


def dask_threads_per_trial(client: Any) -> Dict[str, int]:
    """Threads for a trial on each worker: the cores of its machine divided by the trials
    that may run there at once (the task threads of every worker on that host)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(usable_cores)
    slots_by_host: Dict[str, int] = {}
    for info in workers.values():
        slots_by_host[info["host"]] = slots_by_host.get(info["host"], 0) + int(info["nthreads"])
    return {address: max(1, int(cores.get(address, 1)) // slots_by_host[info["host"]]) for address, info in workers.items()}


def _run_on_dask_worker(threads_by_worker: Dict[str, int], job: Job, *inputs: Any) -> Dict[str, Any]:
    from distributed import get_worker

    # A worker that joined after the search started gets 1 thread: never oversubscribed.
    fields = cast(Tuple[Any, Any, Any, Any, Any, Any], inputs)  # an Inputs' six fields, as submitted
    return run_trial(job, *fields, threads_by_worker.get(get_worker().address, 1))


def scatter_inputs(inputs: Inputs, client: Any) -> Inputs:
    """The inputs with the data sent to the cluster once for the whole search (not with
    every task). Unhashed keys: a rescatter of equal data must not share a key that the
    release of an earlier round's futures could drop ("lost dependencies"). Broadcast to
    every worker: a worker that dies must not take the only copy with it, which would cancel
    every trial still to run."""

    def scatter(value: Any) -> Any:
        return None if value is None else client.scatter(value, broadcast=True, hash=False)

    return inputs._replace(X=scatter(inputs.X), y=scatter(inputs.y), validation=scatter(inputs.validation))


class DaskPool:
    """Each trial a task on the cluster, as many at once as the workers have task threads;
    the data goes to the workers once (:func:`scatter_inputs`).

    A trial whose task fails (every error of the trial itself is caught into its record, so
    this is the worker dying under it, or the scheduler giving up on it) is submitted once
    more; a second failure is recorded as the trial's error, and the search goes on. When the
    workers holding the data have all died, the tasks waiting on it are cancelled: the data
    is sent again and those trials resubmitted, without counting it as their retry (their
    own workers did not fail).
    """

    def __init__(self, inputs: Inputs, client: Any, folds: Folds) -> None:
        from distributed import as_completed

        self.original, self.client, self.folds = inputs, client, folds
        self.inputs = scatter_inputs(inputs, client)
        self.threads_by_worker = dask_threads_per_trial(client)
        self.slots = max(1, sum(int(info["nthreads"]) for info in client.scheduler_info(n_workers=-1)["workers"].values()))
        self.completed = as_completed()
        self.running: Dict[str, Tuple[Any, Job, int]] = {}

    def submit(self, job: Job, tries: int = 0) -> None:
        future = self.client.submit(_run_on_dask_worker, self.threads_by_worker, job, *self.inputs, pure=False)
        self.running[future.key] = (future, job, tries)
        self.completed.add(future)

    def pending(self) -> int:
        return len(self.running)

    def next_finished(self) -> Dict[str, Any]:
        while True:
            future = next(self.completed)
            _, job, tries = self.running.pop(future.key)
            try:
                return dict(future.result())
            except Exception as error:  # noqa: BLE001 - the task's failure, not the trial's
                if self._data_lost():
                    # Workers restart after dying: wait for one rather than fail the scatter.
                    self.client.wait_for_workers(1, timeout=_WORKER_WAIT_SECONDS)
                    self.inputs = scatter_inputs(self.original, self.client)
                # Cancelled: the task never ran (its data was lost), so it keeps its retry.
                if isinstance(error, concurrent.futures.CancelledError):
                    self.submit(job, tries)
                elif tries == 0:
                    self.submit(job, tries + 1)
                else:
                    return failed_record(job, self.folds, f"{type(error).__name__}: {error} (the trial's task failed twice on the cluster)")

    def _data_lost(self) -> bool:
        data = [self.inputs.X, self.inputs.y, *(self.inputs.validation or ())]
        return any(getattr(future, "status", "finished") != "finished" for future in data)

    def close(self, interrupted: bool) -> None:
        # After an interrupt (or an error here), stop the trials still queued or running.
        self.client.cancel([future for future, _, _ in self.running.values()])
        self.running.clear()


def run_jobs(pool: Pool, jobs: List[Job], finished: Callable[[Dict[str, Any]], None]) -> None:
    """Run ``jobs`` in order of submission (no scheduling: a grid, random draws, a halving round)."""
    queue = collections.deque(jobs)
    drive(pool, lambda: queue.popleft() if queue else None, finished)
