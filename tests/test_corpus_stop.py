"""A corpus replication stops the moment the subject leaves: its row (end_s included) is the one the
stepped loop gave — a check every STEP_S simulated seconds until the subject had left."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forensics import corpus_table
from forensics.corpus_run import STEP_S, _step_at_or_after, simulate_until_subject_left
from sim.engine import SwarmRun, layout_of
from sim.montecarlo import replication_seeds
from sim.population import SUBJECT_ROW
from sim.warm_start import skip_idle_prefix
from tests.conftest import make_scenario


def stepped(sc, replication, seed, skip_idle=False):
    """The reference: the run checked every STEP_S seconds, as corpus_run did before it stopped at
    the leave (each check an event of SimPy's queue)."""
    run = SwarmRun(sc, replication, seed)
    skipped = skip_idle_prefix(run) if skip_idle else 0.0
    ticker = run.start()
    env = run.env
    while ticker.is_alive and math.isnan(run.leave_s[SUBJECT_ROW]):
        env.run(until=env.any_of([ticker, env.timeout(STEP_S)]))
    result = run.result()
    result.extra["idle_skipped_s"] = skipped
    return result


def row(sc, result):
    return corpus_table.row_of(0, result, layout_of(sc), sc.subject.join_s)


def swarm(**changes):
    """Leechers arriving over a window, the subject joining among them."""
    base = {"swarm.leechers": {"arrival": "poisson", "rate_per_s": 0.05, "window_s": [0, 600], "upload": "200kB/s",
                               "download": "1MB/s", "seed_time": {"dist": "exponential", "mean": 40}},
            "subject.join_s": 120, "simulation.horizon_s": 3000}
    return make_scenario(**{**base, **changes})


CASES = {
    "stop at completion": {},
    "the swarm ends after the leave, before the check, or not": {
        "swarm.leechers": {"arrival": "poisson", "rate_per_s": 0.05, "window_s": [0, 100], "upload": "200kB/s",
                           "download": "150kB/s", "seed_time": "leave"}, "subject.join_s": 95, "subject.download": "3MB/s"},
    "seed for a while": {"subject.on_complete": "seed_for", "subject.seed_for_s": 47},
    "seed for whole minutes": {"subject.on_complete": "seed_for", "subject.seed_for_s": 120},
    "ratio stop": {"subject.on_complete": "seed_until_ratio", "subject.seed_until_ratio": 0.2},
    "horizon before the check": {"simulation.horizon_s": 150, "swarm.leechers.window_s": [0, 2000]},
    "never completes": {"subject.download": "20kB/s", "simulation.horizon_s": 400},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_row_equals_the_stepped_run(case):
    """Over 12 seeds: the same row, end_s included, as the run checked every STEP_S seconds."""
    sc = swarm(**CASES[case])
    seeds = replication_seeds(5, 12)
    for r in range(12):
        for skip in (False, True):
            want = stepped(sc, r, seeds[r], skip)
            got = simulate_until_subject_left(sc, r, seeds[r], skip)
            assert got.extra["idle_skipped_s"] == want.extra["idle_skipped_s"]
            a, b = row(sc, want), row(sc, got)
            assert a.keys() == b.keys()
            for k in a:
                assert (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k], (case, r, k)


@pytest.mark.parametrize("policy", [{"subject.join_s": 172},
                                    {"subject.join_s": 112, "subject.on_complete": "seed_for", "subject.seed_for_s": 60}])
def test_a_leave_on_a_check_ends_there(policy):
    """A subject that leaves exactly at a check (a multiple of STEP_S; here its leave falls near 180 s,
    1 s ticks) stops there, as in the stepped run; some runs leave on the check, some not. Each
    replication's join is moved by how far its leave fell from the check, a few times at most, so
    that some leave lands on it whatever the model's download time is (a fixed join, and later a
    fixed range of joins, stopped hitting it when the model changed)."""
    on_check = off_check = 0
    seeds = replication_seeds(8, 6)
    for r in range(6):
        join = policy["subject.join_s"]
        for _ in range(6):
            sc = swarm(**{"simulation.tick_s": 1.0, **policy, "subject.join_s": join})
            got = simulate_until_subject_left(sc, r, seeds[r])
            leave = float(got.peers["leave_s"][SUBJECT_ROW])
            assert got.headline["end_s"] == stepped(sc, r, seeds[r]).headline["end_s"]
            if leave == 180.0:
                on_check += 1
                break
            off_check += 1
            join += int(round(180.0 - leave)) if abs(180.0 - leave) >= 1.0 else 1
    assert on_check > 0 and off_check > 0


def test_step_at_or_after():
    """The first multiple of STEP_S at or after t."""
    assert _step_at_or_after(0.0) == 0.0
    assert _step_at_or_after(60.0) == 60.0
    assert _step_at_or_after(60.5) == 120.0
    assert _step_at_or_after(np.nextafter(120.0, 0.0)) == 120.0
    assert _step_at_or_after(np.nextafter(120.0, 200.0)) == 180.0
