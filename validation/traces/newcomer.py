"""How fast a newcomer gets going: the payload the subject had received, in 16 KiB blocks, at given
seconds after it joined, from each replication of a traced run directory (a recorded lab run, or
`leechsim simulate --trace-connections`), and the median over replications.

Run:  python validation/traces/newcomer.py RUN_DIR... [--at 2 4 8]
e.g.  leechsim simulate validation/v04-late-join.toml --runs 10 --trace-connections --out runs/sim-v04
      python validation/traces/newcomer.py validation/recorded/v04-late-join runs/sim-v04

Read from the subject's own connection samples (every 100 ms in the lab, every tick in the model):
at each time, the sum over its connections of ``total_down_bytes`` at its last sample at or before
it (a connection closed earlier keeps its last total).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from favourites import trace_of  # this directory's script: run as python validation/traces/newcomer.py

BLOCK = 16384


def received_blocks(rep: Path, at_s: list[float]) -> list[float] | None:
    trace = trace_of(rep)
    if trace is None:
        return None
    peers = pd.read_csv(rep / "peers.csv")
    join = float(peers.loc[peers.role == "subject", "join_s"].iloc[0])
    d = pd.read_csv(trace, usecols=["t_s", "local", "remote", "total_down_bytes"])
    d = d[d.local == 0]
    out = []
    for t in at_s:
        upto = d[d.t_s <= join + t]
        out.append(float(upto.groupby("remote").total_down_bytes.last().sum()) / BLOCK)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--at", nargs="+", type=float, default=[2.0, 4.0, 8.0], help="seconds after joining")
    ns = ap.parse_args(argv)
    for run in ns.run_dirs:
        if not (run / "replications").is_dir():
            ap.error(f"{run}: not a run directory (no replications/ in it)")
        rows = [r for rep in sorted((run / "replications").iterdir()) if (r := received_blocks(rep, ns.at))]
        if not rows:
            print(f"{run}: no connection traces")
            continue
        med = np.median(np.array(rows), axis=0)
        print(f"{run}: {len(rows)} replications; blocks received at " + ", ".join(f"{t:g} s" for t in ns.at))
        print("  median " + "  ".join(f"{x:7.1f}" for x in med))
        for r in rows:
            print("         " + "  ".join(f"{x:7.1f}" for x in r))


if __name__ == "__main__":
    main()
