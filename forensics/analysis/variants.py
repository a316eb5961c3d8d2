"""Run many variants of one scenario on one process pool, keeping only the headline numbers.

Counterfactuals and the sensitivity analysis need (variants × replications) runs. One pool for all
of them avoids starting (and re-loading the compiled kernels in) new workers for every variant,
and returning only the headline dict keeps the transfer logs out of inter-process traffic.
Replication i of every variant uses ``replication_seeds(master_seed, n)[i]``, exactly as
``sim.montecarlo.run_replications`` does, so the numbers are the same as a ``simulate`` run's.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from sim.engine import simulate_replication
from sim.montecarlo import map_in_order, replication_seeds
from sim.scenario import Scenario

from ..capacity import check_run_size


def _headline(args: tuple[Scenario, int, np.random.SeedSequence]) -> dict[str, float]:
    sc, i, seed = args
    return simulate_replication(sc, i, seed).headline


def run_variants(scenarios: list[Scenario], n: int, master_seed: int, workers: int,
                 on_done: Callable[[int], None] | None = None) -> list[list[dict[str, float]]]:
    """Headline dicts, per variant, in replication order."""
    for k, sc in enumerate(scenarios):  # every variant must fit in memory before the first one runs
        check_run_size(sc, n, max(1, workers or 1), f"re-simulation {k + 1} of {len(scenarios)} ({sc.name})")
    seeds = replication_seeds(master_seed, n)
    heads = map_in_order(_headline, [(sc, i, seeds[i]) for sc in scenarios for i in range(n)], workers, on_done)
    return [heads[v * n:(v + 1) * n] for v in range(len(scenarios))]
