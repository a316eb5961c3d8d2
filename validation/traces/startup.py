"""How long a downloader's torrent takes to start asking: per recorded matrix run, the time from a
peer's join to its first INTERESTED towards an initial seed (which has every piece, so interest
comes as soon as the downloader can express it), for connections that opened within 0.25 s of the
join. Prints per-scenario quantiles and the pooled distribution.

Run:  python validation/traces/startup.py [validation/recorded]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: forensics
from forensics.traces import connections_file  # noqa: E402


def startup_delays(run_dir: Path) -> list[float]:
    out: list[float] = []
    for rep in sorted((run_dir / "replications").glob("*/")):
        trace = connections_file(rep)  # .gz as recorded (or .xz, .csv)
        if trace is None:
            continue
        d = pd.read_csv(trace)
        peers = pd.read_csv(rep / "peers.csv")
        for s in peers.index[peers.role == "seed"]:
            x = d[(d.remote == s) & (d.local != s)]
            opened = x.groupby("local").t_s.min()
            interested = x[x.interesting == 1].groupby("local").t_s.min()
            for k in interested.index:
                if opened[k] - peers.join_s[k] < 0.25:
                    out.append(float(interested[k] - peers.join_s[k]))
    return out


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "recorded"
    pooled: list[float] = []
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        v = startup_delays(run_dir)
        if v:
            pooled += v
            q = np.quantile(v, [0.1, 0.5, 0.9])
            print(f"{run_dir.name:28s} n={len(v):3d}  join->interested q10/50/90 = {q[0]:.2f} {q[1]:.2f} {q[2]:.2f} s")
    q = np.quantile(pooled, [0, 0.1, 0.5, 0.9, 1])
    print(f"all: n={len(pooled)}  min {q[0]:.2f}  q10 {q[1]:.2f}  median {q[2]:.2f}  q90 {q[3]:.2f}  max {q[4]:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
