"""Explicit peers and absolute leave times in a real swarm, against the model on the same scenario."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.kernels.bandwidth import QUOTA_BURST_S
from sim.montecarlo import run_replications
from sim.scenario import load_scenario

from .conftest import _lab_run

pytestmark = pytest.mark.lab

SEED_BPS = 200_000
SEED_LEAVES_S = 8.0
LEECHER_LEAVES_S = 5.0
TORRENT_BYTES = 4 * 1024**2

# Nobody generated: one explicit seed (200 kB/s) that leaves at 8 s, one explicit leecher that
# leaves at 5 s; the subject cannot complete a 4 MiB torrent from 8 s of a 200 kB/s seed.
EXPLICIT_SCENARIO = {
    "scenario": {"name": "lab-test-explicit"},
    "torrent": {"piece_size": "256KiB", "total_size": TORRENT_BYTES},
    "swarm": {"seeds": {"count": 0}, "leechers": {"count": 0}, "announce_interval_s": 2,
              "peer": [{"id": "S1", "role": "seed", "upload": SEED_BPS, "leave_s": SEED_LEAVES_S},
                       {"id": "L1", "role": "leecher", "join_s": 0.5, "upload": 100_000, "download": 1_000_000,
                        "leave_s": LEECHER_LEAVES_S}]},
    "subject": {"upload": "500kB/s", "download": "4MB/s", "on_complete": "stop"},
    "simulation": {"horizon_s": 15, "replications": 1, "seed": 5, "sample_interval_s": 1},
}


@pytest.fixture(scope="module")
def explicit_run(tmp_path_factory) -> Path:
    return _lab_run(tmp_path_factory, EXPLICIT_SCENARIO)


def peers(run: Path) -> list[dict]:
    with open(run / "replications" / "0000" / "peers.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_lab_runs_the_explicit_peers_with_their_leave_times(explicit_run):
    """The lab's plan has exactly the explicit peers; each left at its leave time (within the
    peer loop's 0.1 s alert wait and one 0.5 s sample), the leecher and subject incomplete."""
    rows = peers(explicit_run)
    assert [r["role"] for r in rows] == ["subject", "seed", "leecher"]
    lab = json.loads((explicit_run / "replications" / "0000" / "raw" / "lab.json").read_text())
    assert [p["leave_at_s"] for p in lab["peers"]] == [None, SEED_LEAVES_S, LEECHER_LEAVES_S]
    assert SEED_LEAVES_S <= float(rows[1]["leave_s"]) < SEED_LEAVES_S + 0.6
    assert LEECHER_LEAVES_S <= float(rows[2]["leave_s"]) < LEECHER_LEAVES_S + 0.6
    assert rows[0]["complete_s"] == "" and rows[2]["complete_s"] == ""


def test_subject_gets_no_more_than_the_seed_could_send_before_leaving(explicit_run):
    """Lab and model: the subject received at most 200 kB/s x (8 s + 3 s of saved quota) plus
    what the leecher passed on (itself bounded by the seed), is incomplete, and the lab's figure
    lies within the model's range over 20 replications widened by a third."""
    lab_down = int(peers(explicit_run)[0]["downloaded_bytes"])
    bound = SEED_BPS * (SEED_LEAVES_S + QUOTA_BURST_S) + 4 * 16384
    assert 0 < lab_down <= bound
    sc = load_scenario(next(explicit_run.parent.glob("*.toml"))).with_changes(**{"simulation.replications": 20})
    sim = np.array([r.headline["subject_download_bytes"] for r in run_replications(sc, workers=1)])
    assert (sim <= bound).all() and (sim < TORRENT_BYTES).all()
    assert sim.min() * (2 / 3) <= lab_down <= sim.max() * (4 / 3), (lab_down, sim.min(), sim.max())
    assert not math.isnan(sim.mean())
