"""Monte Carlo replications, in one process or spread over worker processes.

Replication i always draws from ``SeedSequence(master_seed).spawn(n)[i]`` and depends on nothing
else, so the results are bit-identical whatever the number of workers and whatever order the
workers finish in; results are returned in replication order.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, TypeVar

import numpy as np

from .engine import simulate_replication
from .results import ReplicationResult
from .scenario import Scenario

T = TypeVar("T")
R = TypeVar("R")

SEED_RULE = "replication i uses numpy.random.SeedSequence(master_seed).spawn(replications)[i]"


def replication_seeds(master_seed: int, n: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(master_seed).spawn(n)


def default_workers(n_replications: int) -> int:
    return max(1, min(os.cpu_count() or 1, n_replications))


def _one(args: tuple[Scenario, int, np.random.SeedSequence, bool]) -> ReplicationResult:
    sc, i, seed, trace = args
    return simulate_replication(sc, i, seed, trace_connections=trace)


def run_replications(
    sc: Scenario,
    n: int | None = None,
    master_seed: int | None = None,
    workers: int = 1,
    on_done: Callable[[int], None] | None = None,
    scheduler: str | None = None,
    trace_connections: bool = False,
) -> list[ReplicationResult]:
    """Run ``n`` replications (default: the scenario's) with ``master_seed`` (default: the scenario's).

    ``scheduler`` (``tcp://host:port``): run them on that Dask distributed cluster instead of
    local processes; every worker needs the same leechsim installed. ``trace_connections``: each
    result carries every connection's state at every tick (``extra["connections"]``).
    """
    n = sc.simulation.replications if n is None else n
    master_seed = sc.simulation.seed if master_seed is None else master_seed
    seeds = replication_seeds(master_seed, n)
    tasks = [(sc, i, seeds[i], trace_connections) for i in range(n)]
    if scheduler:
        results: list[ReplicationResult | None] = [None] * n
        _run_on_dask(scheduler, tasks, results, on_done)
        return results  # type: ignore[return-value]
    return map_in_order(_one, tasks, workers, on_done)


def map_in_order(fn: Callable[[T], R], tasks: list[T], workers: int,
                 on_done: Callable[[int], None] | None = None) -> list[R]:
    """``fn(task)`` for every task — on a process pool when ``workers > 1`` — in task order.

    ``fn`` must be a module-level function (it is pickled to the workers); ``on_done(1)`` is
    called as each task finishes, in whatever order they finish.
    """
    results: list[R | None] = [None] * len(tasks)
    if workers <= 1 or len(tasks) <= 1:
        for i, t in enumerate(tasks):
            results[i] = fn(t)
            if on_done:
                on_done(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if on_done:
                    on_done(1)
    return results  # type: ignore[return-value]


def _run_on_dask(scheduler: str, tasks: list, results: list, on_done: Callable[[int], None] | None) -> None:
    try:
        from distributed import Client, as_completed as dask_completed  # optional dependency
    except ImportError:
        raise ImportError("running on a Dask cluster needs the 'distributed' extra: "
                          "pip install 'leechsim[distributed]'") from None

    with Client(scheduler, timeout="30s") as client:
        futures = client.map(_one, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            results[index[fut.key]] = fut.result()
            if on_done:
                on_done(1)
