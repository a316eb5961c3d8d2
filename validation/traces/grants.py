"""How libtorrent's rate limiter hands one uploader's quota to each connection, from a lab run's
peer log (``leechsim lab SCENARIO --runs 1 --peer-log --out DIR``).

For each of the uploader's connections, over a time window: consecutive ASSIGN_BANDWIDTH grants
taken in pairs (a connection in steady state gets a second of its own rate in two grants), and
the larger grant's share of each pair; the median per connection. And how the queued requests
(REQUEST_BANDWIDTH) were made: right after a grant, before any write (the quota held is the grant
just assigned), or after writes (less than that).

    python validation/traces/grants.py RUN_DIR UPLOADER [--from 10] [--to 40] [--replication 0]

``--waits``: instead, how many of the uploader's queued requests (REQUEST_BANDWIDTH) were
granted at the first quota tick after them and how many waited longer (their ASSIGN_BANDWIDTH
more than ``--tick`` + 0.1 s later: the quota tick's share, the channel's saved quota over the
requests waiting, did not cover them). ``--model SCENARIO`` counts the same in the model, stepped
tick by tick over ``--runs`` replications: the requests queued on the uploader's channel in the
window, and those still waiting, part-granted, after a quota tick (``ea.bw_req``/``ea.bw_ttl``).
RUN_DIR is then not read.

    python validation/traces/grants.py RUN_DIR UPLOADER --waits [--from 10] [--to 40]
    python validation/traces/grants.py - UPLOADER --waits --model SCENARIO [--runs 10]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: sim (--model)

BYTES = re.compile(r"bytes: (\d+)")
QUOTA = re.compile(r"quota: (\d+)")


def _upload_grants(log: pd.DataFrame, uploader: int) -> pd.DataFrame:
    """The uploader's upload-channel requests and grants (its ``>>>`` REQUEST_/ASSIGN_BANDWIDTH lines)."""
    return log[(log.local == uploader) & log.event.isin(["ASSIGN_BANDWIDTH", "REQUEST_BANDWIDTH"])
               & (log.direction == ">>>")]


def grant_pairs(log: pd.DataFrame, uploader: int, t0: float, t1: float) -> pd.DataFrame:
    """Per connection of ``uploader``: pairs of consecutive grants, the larger one's share, and
    the requests made before a write and after writes."""
    rows = []
    mine = _upload_grants(log, uploader)
    for remote, g in mine.groupby("remote"):
        g = g[(g.t_s >= t0) & (g.t_s < t1)]
        grants = [int(BYTES.search(d).group(1)) for e, d in zip(g.event, g.detail) if e == "ASSIGN_BANDWIDTH"]
        shares = [max(a, b) / (a + b) for a, b in zip(grants, grants[1:]) if a + b > 0]
        before = after = 0
        last = None
        for e, d in zip(g.event, g.detail):
            if e == "ASSIGN_BANDWIDTH":
                last = int(BYTES.search(d).group(1))
                continue
            q = int(QUOTA.search(d).group(1))
            if last is not None and q == last:
                before += 1
            elif last is not None and q < last:
                after += 1
            last = None
        if shares:
            rows.append({"remote": int(remote), "pairs": len(shares),
                         "larger_share_median": float(pd.Series(shares).median()),
                         "requests_before_write": before, "requests_after_writes": after})
    return pd.DataFrame(rows)


def request_waits(log: pd.DataFrame, uploader: int, t0: float, t1: float, tick_s: float = 0.5) -> dict:
    """The uploader's queued requests made in [t0, t1): how many, and how many were granted more
    than one quota tick (``tick_s``, plus 0.1 s for the tick's own spread) after they were made. A
    request is followed by the next ASSIGN_BANDWIDTH on its connection; one with none is left out."""
    mine = _upload_grants(log, uploader)
    asked = waited = 0
    for _, g in mine.groupby("remote"):
        made = None
        for t, e in zip(g.t_s, g.event):
            if e == "REQUEST_BANDWIDTH":
                made = t if t0 <= t < t1 else None
            elif made is not None:
                asked += 1
                waited += int(t - made > tick_s + 0.1)
                made = None
    return {"requests": asked, "waited_longer": waited}


def model_waits(scenario: Path, runs: int, uploader: int, t0: float, t1: float) -> dict:
    """The same count in the model: replications 0..runs-1 of ``scenario`` stepped tick by tick;
    after each tick from t0 to t1, the uploader's requests made at it (queued, not yet at a quota
    tick: ``bw_ttl`` at its start value) and those that a quota tick left waiting, part-granted."""
    from sim.engine import SwarmRun
    from sim.kernels.bandwidth import REQUEST_TTL_TICKS
    from sim.montecarlo import replication_seeds
    from sim.scenario import load_scenario

    sc = load_scenario(scenario)
    if not 1 <= runs <= sc.simulation.replications:
        raise ValueError(f"--runs {runs}: between 1 and the scenario's simulation.replications "
                         f"({sc.simulation.replications}, {scenario})")
    seeds = replication_seeds(sc.simulation.seed, sc.simulation.replications)
    asked = waited = 0
    for rep in range(runs):
        run = SwarmRun(sc, rep, seeds[rep], max_batch_ticks=1)
        run.start()
        while run.env.now < t1 and not run.finished:
            run.advance_to_next_tick()
            if run.env.now <= t0:
                continue
            d = run.pa.deg[uploader]
            req = run.ea.bw_req[uploader, :d]
            ttl = run.ea.bw_ttl[uploader, :d]
            asked += int(((req > 0) & (ttl == REQUEST_TTL_TICKS)).sum())
            waited += int(((req > 0) & (ttl < REQUEST_TTL_TICKS)).sum())
    return {"requests": asked, "waited_longer": waited}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("uploader", type=int)
    ap.add_argument("--from", dest="t0", type=float, default=10.0)
    ap.add_argument("--to", dest="t1", type=float, default=40.0)
    ap.add_argument("--replication", type=int, default=0)
    ap.add_argument("--waits", action="store_true", help="requests granted at the next quota tick or later")
    ap.add_argument("--tick", type=float, default=0.5, help="the quota tick, s (--waits)")
    ap.add_argument("--model", type=Path, default=None, help="a scenario: count in the model instead (--waits)")
    ap.add_argument("--runs", type=int, default=10, help="replications (--model)")
    a = ap.parse_args(argv)
    if a.waits and a.model is not None:
        from sim.scenario import ScenarioError

        try:
            w = model_waits(a.model, a.runs, a.uploader, a.t0, a.t1)
        except (ScenarioError, ValueError) as e:
            print(e, file=sys.stderr)
            return 2
        print(f"model, {a.runs} replications: {w['requests']} requests, {w['waited_longer']} waited past a quota "
              f"tick ({w['waited_longer'] / max(w['requests'], 1):.3f})")
        return 0
    path = a.run_dir / "replications" / f"{a.replication:04d}" / "peer_log.csv"
    if not path.is_file():
        print(f"{path}: no peer log (run the lab with --peer-log)", file=sys.stderr)
        return 2
    if a.waits:
        w = request_waits(pd.read_csv(path), a.uploader, a.t0, a.t1, a.tick)
        print(f"lab: {w['requests']} requests, {w['waited_longer']} waited past a quota tick "
              f"({w['waited_longer'] / max(w['requests'], 1):.3f})")
        return 0
    table = grant_pairs(pd.read_csv(path), a.uploader, a.t0, a.t1)
    if table.empty:
        print(f"{path}: no grants of peer {a.uploader} between {a.t0} and {a.t1} s", file=sys.stderr)
        return 2
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
