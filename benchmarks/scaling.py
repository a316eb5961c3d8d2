"""One whole replication of a benchmark scenario, measured in this process; prints one JSON line.

Run: python -m benchmarks.scaling benchmarks/scenarios/peers-1000.toml [--breakdown]
Wall time excludes numba compilation (a warm-up replication of a tiny scenario runs first).

The engine runs the ticks between two events in one compiled call, so the kernels cannot be timed
one by one in the measured run. ``--breakdown`` therefore replicates a second time, one tick per
call with each step timed (sim.engine.MAX_BATCH_TICKS = 1; the same results): ``breakdown`` gives
its per-step seconds and ``breakdown_wall_s`` that run's wall time, which includes the per-call
overhead batching removes.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

import sim.engine as engine
from sim.engine import SwarmRun
from sim.kernels.bandwidth import (ask_when_asked, close_download_quota, download_quota_tick, grant_sends_into,
                                   open_download_quota, return_unsendable_quota, second_tick, upload_quota_tick)
from sim.kernels.choke import choke_all
from sim.kernels.transfer import ask_before_sending, collect_flows, serve_order_into, transfer_blocks
from sim.scenario import ScenarioError, load_scenario, parse_scenario

BREAKDOWN = {"choke": 0.0, "collect": 0.0, "bandwidth": 0.0, "transfer": 0.0}


def timed_tick(pa, ea, pc, fb, lb, now, dt, tick, ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes,
               subject):
    """The fused tick's steps (sim.kernels.tick._tick_steps) called one by one, each timed (same
    results as swarm_tick; benchmarks/test_kernels.py checks it)."""
    t0 = time.perf_counter()
    choke_all(pa, ea, now, dt, salt_choke, piece_bytes, total_bytes)
    t1 = time.perf_counter()
    open_download_quota(pa, dt)
    F = collect_flows(pa, ea, pc, fb.src, fb.dst, fb.slot, dt)
    order = fb.order
    serve_order_into(pa, ea, fb.dst, fb.slot, F, fb.keys, order, fb.stack, fb.sort_tmp, fb.sort_count)  # as the fused tick: no allocation
    ask_before_sending(pa, ea, pc, fb.dst, fb.slot, F, order, salt_pick, piece_bytes)
    t2 = time.perf_counter()
    ask_when_asked(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt)
    upload_quota_tick(pa, ea, dt)
    download_quota_tick(pa, ea, fb.dst, fb.slot, F, dt)
    grant_sends_into(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt, fb.rate, fb.want, fb.turns, fb.wanted)
    t3 = time.perf_counter()
    out = transfer_blocks(pa, ea, pc, fb.dst, fb.slot, fb.rate, F, order, dt, now, salt_pick, subject, piece_bytes,
                          lb.t, lb.peer, lb.piece, lb.first, lb.blocks, lb.nbytes, fb.completed)
    return_unsendable_quota(pa, ea, fb.src, fb.dst, fb.slot, F, fb.wanted)
    close_download_quota(pa, ea)
    second_tick(pa, ea, tick, ticks_per_s)
    t4 = time.perf_counter()
    for key, a, b in (("choke", t0, t1), ("collect", t1, t2), ("bandwidth", t2, t3), ("transfer", t3, t4)):
        BREAKDOWN[key] += b - a
    return (F, *out)


def main(path: str, breakdown: bool = False) -> dict:
    warm = parse_scenario({"torrent": {"total_size": "1MiB", "piece_size": "64KiB"},
                           "simulation": {"horizon_s": 60}})
    SwarmRun(warm, 0, np.random.SeedSequence(0)).run()
    sc = load_scenario(path)
    run = SwarmRun(sc, 0, np.random.SeedSequence(sc.simulation.seed))
    t0 = time.perf_counter()
    r = run.run()
    wall = time.perf_counter() - t0
    ticks = r.headline["end_s"] / sc.simulation.tick_s
    # the peak of the measured replication (and the tiny warm-up), before the breakdown's second
    # replication: the targets are per replication
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    headline = r.headline
    del run, r  # the breakdown's replication does not hold this one's state beside its own
    breakdown_wall = None
    if breakdown:
        engine.swarm_tick = timed_tick
        stepped = SwarmRun(sc, 0, np.random.SeedSequence(sc.simulation.seed), max_batch_ticks=1)
        t0 = time.perf_counter()
        stepped.run()
        breakdown_wall = time.perf_counter() - t0
    return {
        "scenario": sc.name, "peers": headline["swarm_peers"], "pieces": sc.torrent.num_pieces,
        "simulated_s": headline["end_s"], "wall_s": wall, "ticks": ticks, "ticks_per_s": ticks / wall,
        "sim_s_per_wall_s": headline["end_s"] / wall,
        "peak_rss_mib": peak_rss_mib,
        "leechers_completed": headline["swarm_leechers_completed"],
        "breakdown": dict(BREAKDOWN), "breakdown_wall_s": breakdown_wall,
    }


def cli(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", help="a scenario file, e.g. benchmarks/scenarios/peers-1000.toml")
    ap.add_argument("--breakdown", action="store_true", help="also time each step in a second, one-tick-per-call run")
    a = ap.parse_args(argv)
    try:
        result = main(a.scenario, a.breakdown)
    except (ScenarioError, OSError) as e:
        print(f"python -m benchmarks.scaling: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
