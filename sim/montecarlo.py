"""Monte Carlo replications, in one process or spread over worker processes.

Replication i always draws from ``SeedSequence(master_seed).spawn(n)[i]`` and depends on nothing
else, so the results are bit-identical whatever the number of workers and whatever order the
workers finish in; results are returned in replication order.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Callable

import numpy as np

from .engine import simulate_replication
from .results import ReplicationResult
from .scenario import Scenario
from .worker_pool import map_in_order

__all__ = ["SEED_RULE", "default_workers", "map_in_order", "replication_seeds", "run_replications"]

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


class _DropInterruptedSyncCancel(logging.Filter):
    """distributed's ``sync`` (2026.8) schedules a ``cancel`` callback on its event loop when the
    waiting thread is interrupted; if the interrupt comes before the awaited future exists, that
    callback raises NameError and tornado logs its traceback. Nothing is left to cancel then (the
    run's own ``client.cancel`` follows), so the record is dropped: a Ctrl-C ends in leechsim's
    message alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, NameError) or exc.__traceback__ is None:
            return True
        tb = exc.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        code = tb.tb_frame.f_code
        return not (code.co_name == "cancel" and code.co_filename.replace("\\", "/").endswith("distributed/utils.py"))


@contextlib.contextmanager
def quiet_interrupted_dask():
    """While a run waits on a Dask cluster: drop tornado's log of distributed's own cancel callback
    failing after a Ctrl-C (_DropInterruptedSyncCancel)."""
    log = logging.getLogger("tornado.application")
    f = _DropInterruptedSyncCancel()
    log.addFilter(f)
    try:
        yield
    finally:
        log.removeFilter(f)


def _run_on_dask(scheduler: str, tasks: list, results: list, on_done: Callable[[int], None] | None) -> None:
    try:
        from distributed import Client, as_completed as dask_completed  # optional dependency
    except ImportError:
        raise ImportError("running on a Dask cluster needs the 'distributed' extra: "
                          "pip install 'leechsim[distributed]'") from None

    with quiet_interrupted_dask(), Client(scheduler, timeout="30s") as client:
        futures = client.map(_one, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in dask_completed(futures):
                results[index[fut.key]] = fut.result()
                if on_done:
                    on_done(1)
        except BaseException:  # Ctrl-C or SIGTERM: the cluster's workers drop what is left of this run
            client.cancel(futures, force=True)
            raise
