"""How libtorrent's rate limiter hands one uploader's quota to each connection, from a lab run's
peer log (``leechsim lab SCENARIO --runs 1 --peer-log --out DIR``).

For each of the uploader's connections, over a time window: consecutive ASSIGN_BANDWIDTH grants
taken in pairs (a connection in steady state gets a second of its own rate in two grants), and
the larger grant's share of each pair; the median per connection. And how the queued requests
(REQUEST_BANDWIDTH) were made: right after a grant, before any write (the quota held is the grant
just assigned), or after writes (less than that).

    python validation/traces/grants.py RUN_DIR UPLOADER [--from 10] [--to 40] [--replication 0]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

BYTES = re.compile(r"bytes: (\d+)")
QUOTA = re.compile(r"quota: (\d+)")


def grant_pairs(log: pd.DataFrame, uploader: int, t0: float, t1: float) -> pd.DataFrame:
    """Per connection of ``uploader``: pairs of consecutive grants, the larger one's share, and
    the requests made before a write and after writes."""
    rows = []
    mine = log[(log.local == uploader) & log.event.isin(["ASSIGN_BANDWIDTH", "REQUEST_BANDWIDTH"])
               & (log.direction == ">>>")]
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("uploader", type=int)
    ap.add_argument("--from", dest="t0", type=float, default=10.0)
    ap.add_argument("--to", dest="t1", type=float, default=40.0)
    ap.add_argument("--replication", type=int, default=0)
    a = ap.parse_args(argv)
    path = a.run_dir / "replications" / f"{a.replication:04d}" / "peer_log.csv"
    if not path.is_file():
        print(f"{path}: no peer log (run the lab with --peer-log)", file=sys.stderr)
        return 2
    table = grant_pairs(pd.read_csv(path), a.uploader, a.t0, a.t1)
    if table.empty:
        print(f"{path}: no grants of peer {a.uploader} between {a.t0} and {a.t1} s", file=sys.stderr)
        return 2
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
