"""Shared fixtures: small scenarios built in code, and a helper to run one replication."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from sim.engine import SwarmRun
from sim.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent

SMALL = {
    "scenario": {"name": "small-test"},
    "torrent": {"piece_size": "64KiB", "total_size": "4MiB"},
    "swarm": {
        "seeds": {"count": 1, "upload": "400kB/s"},
        "leechers": {"arrival": "flash_crowd", "count": 6, "spread_s": 5,
                     "upload": "200kB/s", "download": "1MB/s", "seed_time": "leave"},
        "announce_interval_s": 60,
    },
    "subject": {"upload": "300kB/s", "download": "1MB/s", "on_complete": "stop"},
    "simulation": {"horizon_s": 1200, "replications": 4, "seed": 3},
}


def make_scenario(**changes) -> Scenario:
    """The small test scenario with dotted-path changes, e.g. make_scenario(**{'subject.join_s': 5})."""
    data = copy.deepcopy(SMALL)
    sc = parse_scenario(data, "<test>")
    return sc.with_changes(**changes) if changes else sc


def run_one(sc: Scenario, seed: int = 0, keep_state: bool = False):
    return SwarmRun(sc, 0, np.random.SeedSequence(seed), keep_state=keep_state).run()
