"""Realistic states for the kernel benchmarks: a swarm advanced part-way, frozen, copied per round."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest

from sim.engine import SwarmRun
from sim.scenario import load_scenario

HERE = Path(__file__).resolve().parent


def swarm_at(scenario: str, t_s: float, seed: int = 1) -> SwarmRun:
    """A replication of ``benchmarks/scenarios/<scenario>.toml`` advanced to t_s seconds."""
    run = SwarmRun(load_scenario(HERE / "scenarios" / f"{scenario}.toml"), 0, np.random.SeedSequence(seed))
    run.start()
    run.env.run(until=t_s)
    return run


def snapshot(state):
    return copy.deepcopy(state)


@pytest.fixture(scope="session")
def mid_swarm():
    """The state arrays (pa, ea, pc) of the 1,000-peer benchmark swarm after 1 simulated hour
    (about 200 active peers, 4,096 pieces). Built with the compiled kernels once and kept in
    .benchmarks/, so the twins (run with NUMBA_DISABLE_JIT=1) start from the very same state."""
    import hashlib
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((HERE.parent / "sim").rglob("*.py")))).hexdigest()[:12]
    cache = HERE.parent / ".benchmarks" / f"mid_swarm-peers-1000-3600-{code}.pkl"  # rebuilt when sim/ changes
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    run = swarm_at("peers-1000", 3600.0)
    state = (run.pa, run.ea, run.pc)
    cache.parent.mkdir(exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(state))
    tmp.replace(cache)
    return state
