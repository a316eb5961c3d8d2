"""Realistic states for the kernel benchmarks: a swarm advanced part-way, frozen, copied per round."""

from __future__ import annotations

import copy
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


def snapshot(run: SwarmRun):
    return copy.deepcopy((run.pa, run.ea, run.pc))


@pytest.fixture(scope="session")
def mid_swarm() -> SwarmRun:
    """The 1,000-peer benchmark swarm after 1 simulated hour (about 200 active peers, 4,096 pieces)."""
    return swarm_at("peers-1000", 3600.0)
