"""How a download-limited peer's rate limiter hands out its download quota, connection by
connection, from lab runs' peer logs (``leechsim lab SCENARIO --peer-log --out DIR``).

libtorrent logs each request a connection makes on its download channel (``<<<
REQUEST_BANDWIDTH``: the bytes asked, the quota it holds, its ``wanted_transfer``) and the grant
that releases it (``<<< ASSIGN_BANDWIDTH``: the bytes assigned). Each request is paired with the
connection's next grant. For the readers (peers 2 and up, the leechers, unless ``--reader``), by
whom they read from (the subject, peer 0; the first seed, peer 1; another leecher), over a window
of request times: how many requests, the seconds each waited for its grant (median, mean), the
bytes asked and held at the request (medians), the share fully granted, and what was granted a
second per connection (kB, 1,000 bytes) — which is what the connection could read.

    python validation/traces/download_grants.py RUN_DIR [RUN_DIR ...] [--from 10] [--to 40] [--reader N]

A connection logs a request only when it asks for more than it holds (``request_bandwidth``
returns early otherwise), so the figures describe the requests that were made; a request still
waiting at the end of the log has no grant and is left out. Findings: validation/ANALYSIS.md, the
h12 item of "Where the matrix still misses".
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KIND_ORDER = ("subject", "seed", "leecher")
LOG_COLUMNS = ("t_s", "local", "remote", "direction", "event", "detail")


def read_log(path: str) -> pd.DataFrame:
    """A replication's peer_log.csv, checked for the columns this script reads."""
    log = pd.read_csv(path)
    missing = [c for c in LOG_COLUMNS if c not in log.columns]
    if missing:
        sys.exit(f"{path}: not a lab peer log (no column {', '.join(missing)}; it needs {', '.join(LOG_COLUMNS)})")
    return log


def _field(detail: pd.Series, name: str) -> pd.Series:
    return detail.str.extract(rf"{name}: (\d+)", expand=False).astype(float)


def request_grants(log: pd.DataFrame, t0: float, t1: float, reader: int | None = None) -> pd.DataFrame:
    """One row per download-channel request made in [t0, t1) and granted: reader, remote, the
    request time, the wait for its grant, bytes asked, held and wanted at the request, bytes
    granted."""
    b = log[log.event.isin(["REQUEST_BANDWIDTH", "ASSIGN_BANDWIDTH"]) & (log.direction == "<<<")]
    b = b[(b.local == reader) if reader is not None else (b.local >= 2)]
    rows = []
    for (local, remote), g in b.sort_values("t_s", kind="stable").groupby(["local", "remote"]):
        asked = _field(g.detail, "bytes").to_numpy()
        held = _field(g.detail, "quota").to_numpy()
        wanted = _field(g.detail, "wanted_transfer").to_numpy()
        pending = None
        for i, (t, e) in enumerate(zip(g.t_s.to_numpy(), g.event.to_numpy())):
            if e == "REQUEST_BANDWIDTH":
                pending = i
            elif pending is not None:
                rows.append((local, remote, g.t_s.iloc[pending], t - g.t_s.iloc[pending], asked[pending],
                             held[pending], wanted[pending], asked[i]))
                pending = None
    out = pd.DataFrame(rows, columns=["reader", "remote", "t_s", "wait_s", "asked", "held", "wanted", "granted"])
    return out[(out.t_s >= t0) & (out.t_s < t1)].reset_index(drop=True)


def kind_of(remote: pd.Series) -> np.ndarray:
    return np.where(remote == 0, "subject", np.where(remote == 1, "seed", "leecher"))


def summarise(rows: pd.DataFrame, seconds: float) -> pd.DataFrame:
    """Per kind of the other end: requests, connections, wait (median, mean), asked, held and
    wanted (medians), the share fully granted, kB granted a second per connection and grants a
    second per connection."""
    r = rows.assign(kind=kind_of(rows.remote), full=rows.granted >= rows.asked)
    r["conn"] = r.run.astype(str) + ":" + r.reader.astype(str) + ":" + r.remote.astype(str)
    g = r.groupby("kind").agg(requests=("wait_s", "size"), connections=("conn", "nunique"),
                              wait_median_s=("wait_s", "median"), wait_mean_s=("wait_s", "mean"),
                              asked_kB=("asked", "median"), held_kB=("held", "median"),
                              wanted_kB=("wanted", "median"), fully_granted=("full", "mean"),
                              granted=("granted", "sum"))
    for c in ("asked_kB", "held_kB", "wanted_kB"):
        g[c] = g[c] / 1e3
    g["kB/s per connection"] = g.granted / g.connections / seconds / 1e3
    g["grants/s per connection"] = g.requests / g.connections / seconds
    g = g.drop(columns="granted")
    return g.reindex([k for k in KIND_ORDER if k in g.index])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="lab run directories recorded with --peer-log")
    ap.add_argument("--from", dest="t0", type=float, default=10.0)
    ap.add_argument("--to", dest="t1", type=float, default=40.0)
    ap.add_argument("--reader", type=int, default=None, help="one reader (peers.csv number), else peers 2 and up")
    a = ap.parse_args(argv)
    if a.t1 <= a.t0:
        ap.error(f"--to {a.t1:g} must be after --from {a.t0:g}")
    for run in a.runs:
        files = sorted(glob.glob(str(run / "replications" / "*" / "peer_log.csv")))
        if not files:
            sys.exit(f"{run}: no replications/NNNN/peer_log.csv (record it with `leechsim lab ... --peer-log`)")
        rows = pd.concat([request_grants(read_log(f), a.t0, a.t1, a.reader).assign(run=i)
                          for i, f in enumerate(files)], ignore_index=True)
        if rows.empty:
            sys.exit(f"{run}: no download-channel request granted between {a.t0:g} and {a.t1:g} s")
        print(f"{run} ({len(files)} runs, requests made {a.t0:g}-{a.t1:g} s)")
        print(summarise(rows, a.t1 - a.t0).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
