"""One uploader's rate limiter in the model, quota tick by quota tick: the quota its channel holds
and, per connection, the bytes sent so far, the quota granted and unsent, the request waiting and
what it has been granted so far, whether the uploader unchokes the peer and the peer is
interested, and the peer's request queue (blocks) and the requests it has out at the uploader.

    python validation/traces/channel_ticks.py SCENARIO REPLICATION UPLOADER FROM_S TO_S

The model is stepped one quota tick at a time (sim.engine.SwarmRun with max_batch_ticks=1: the
same run as ``leechsim simulate``'s replication REPLICATION, tick for tick), and the state is
printed after each tick from FROM_S to TO_S (at its time). Columns per connection: ``peer: sent kB | q quota |
r request | g granted | U/c unchoked or choked, I/- interested | dq request queue | ro requests
out (blocks)``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from sim.engine import SwarmRun
from sim.montecarlo import replication_seeds
from sim.scenario import ScenarioError, load_scenario


def ticks(scenario: Path, replication: int, uploader: int, t0: float, t1: float):
    """Yield (time, channel quota, [per-connection tuple]) after each quota tick in [t0, t1]."""
    try:
        sc = load_scenario(scenario)
    except ScenarioError as e:
        raise SystemExit(str(e)) from None
    run = SwarmRun(sc, replication, replication_seeds(sc.simulation.seed, replication + 1)[replication],
                   max_batch_ticks=1)
    if not 0 <= uploader < run.pa.active.shape[0]:
        raise SystemExit(f"peer {uploader}: the scenario has peers 0-{run.pa.active.shape[0] - 1}")
    ticker = run.start()
    env = run.env
    pa, ea = run.pa, run.ea
    dt = run.dt
    k = max(1, math.ceil(t0 / dt - 1e-9))  # the first quota tick at or after t0 (ticks at k * dt)
    while k * dt <= t1 + 1e-9 and ticker.is_alive:
        env.run(until=k * dt + dt / 2)  # everything at the tick k * dt, nothing of the next
        conns = []
        for j in range(int(pa.deg[uploader])):
            v, kv = int(ea.nbr[uploader, j]), int(ea.rev[uploader, j])
            conns.append((v, float(ea.up_conn_total[uploader, j]), float(ea.bw_quota[uploader, j]),
                          float(ea.bw_req[uploader, j]), float(ea.bw_got[uploader, j]), bool(ea.unchoked[uploader, j]),
                          bool(ea.wants[v, kv] > 0), int(ea.dq_size[v, kv]), float(ea.rq_open[v, kv]) / 16384))
        yield k * dt, float(pa.up_quota[uploader]), conns
        k += 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 5:
        raise SystemExit(__doc__.split("\n\n")[1].strip())
    try:
        scenario, rep, up, t0, t1 = Path(argv[0]), int(argv[1]), int(argv[2]), float(argv[3]), float(argv[4])
    except ValueError:
        raise SystemExit("REPLICATION and UPLOADER are whole numbers, FROM_S and TO_S seconds: "
                         + __doc__.split("\n\n")[1].strip()) from None
    for t, quota, conns in ticks(scenario, rep, up, t0, t1):
        cells = [f"{v}: {s / 1e3:6.0f} kB q{q:7.0f} r{r:7.0f} g{g:7.0f} {'U' if u else 'c'}{'I' if i else '-'} dq{dq} ro{ro:5.1f}"
                 for v, s, q, r, g, u, i, dq, ro in conns]
        print(" | ".join([f"t={t:7.2f} quota={quota:9.0f}"] + cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
