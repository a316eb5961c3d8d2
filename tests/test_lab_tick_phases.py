"""The lab's sessions tick at independent phases (forensics/lab/plan.session_delays).

A libtorrent session's quota ticks fall every tick_interval (500 ms) from its creation. Created as
each peer process starts, a run's sessions ticked in the order the processes were launched, within
a few hundred milliseconds of each other (a v06 run's peer log: the seed's ticks at 0.28 s past
each half second, the subject's at 0.34, the leechers' at 0.41-0.51), which hands the subject the
seed's first burst more often than chance (docs/lab.md, "Tick phases"). Each process now waits a
delay drawn from the run's payload seed before it creates its session. (That a recording made
before takes no new runs is tested in test_record_add_runs.py, on a real recording.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forensics.lab.plan import LAB_TICK_INTERVAL_S, plan_run, session_delays, start_offset
from sim.montecarlo import replication_seeds
from sim.population import draw_population
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_delays_are_reproducible_within_one_tick_and_not_ordered():
    a = session_delays(12345, 200)
    assert np.array_equal(a, session_delays(12345, 200))  # same payload seed, same delays
    assert not np.array_equal(a, session_delays(12346, 200))
    assert a.min() >= 0.0 and a.max() < LAB_TICK_INTERVAL_S
    # spread over the whole interval, not clustered: every tenth of it holds some of the 200
    counts = np.histogram(a, bins=10, range=(0.0, LAB_TICK_INTERVAL_S))[0]
    assert counts.min() > 5, counts
    # and not in peer order (the launch order the processes' own start-up would give)
    assert not np.all(np.diff(a[:8]) > 0)
    # a prefix does not depend on how many peers there are
    assert np.array_equal(session_delays(12345, 8), a[:8])


def test_each_planned_peer_carries_its_delay_and_the_population_is_unchanged():
    sc = load_scenario(ROOT / "examples" / "lab-small.toml")
    seeds = replication_seeds(sc.simulation.seed, 2)
    plan = plan_run(sc, 0, seeds[0], 100)
    delays = [p.session_delay_s for p in plan.peers]
    assert delays == session_delays(plan.payload_seed, len(plan.peers)).tolist()
    assert len(set(delays)) == len(delays)
    # the delays come from their own stream: the population and payload seed are what they were
    # before the delays existed - the replication's generator's first draws, and nothing after
    rng = np.random.default_rng(seeds[0])
    pop = draw_population(sc, rng)
    assert [p.join_s for p in plan.peers] == pop.join_s.tolist()
    assert plan.payload_seed == int(rng.integers(0, 2**63))
    other = plan_run(sc, 1, seeds[1], 100)
    assert [p.session_delay_s for p in other.peers] != delays


def test_the_swarm_start_is_offset_within_one_tick_from_its_own_stream():
    offs = [start_offset(s) for s in range(200)]
    assert all(0.0 <= o < LAB_TICK_INTERVAL_S for o in offs)
    assert start_offset(7) == start_offset(7)
    assert np.histogram(offs, bins=5, range=(0.0, LAB_TICK_INTERVAL_S))[0].min() > 20
    # not any peer's delay: its own stream
    assert start_offset(7) not in session_delays(7, 50).tolist()

