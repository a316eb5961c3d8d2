"""How the subject's upload starts, and how much of the leechers' upload comes back to it, from the
connection traces of a traced run directory (a recorded lab run, or `leechsim simulate
--trace-connections`), measured the same way for both.

Run:  python validation/traces/forwarding.py RUN_DIR... [--at 1 1.5 2 3 4 8] [--window 10 25]
e.g.  leechsim simulate validation/v08-linger.toml --runs 20 --trace-connections --out runs/sim-v08
      python validation/traces/forwarding.py validation/recorded/v08-linger runs/sim-v08

Three measures, per replication and as the median over replications:
- **start**: seconds (on the swarm's clock) until the subject had received 64 KiB, 256 KiB and
  1 MiB of payload - how its own download starts;
- **ramp**: the subject's payload upload (MiB, all connections) at given seconds after the first
  leecher joined - how fast its upload starts when it first has someone to upload to;
- **return share**: over a window of the swarm's clock, the share of the leechers' payload upload
  that went to the subject (each leecher's share, then the median and mean over leechers), and in
  how many leechers the subject was the connection they uploaded most to.
Totals are each connection's ``total_down_bytes`` / ``total_up_bytes`` at its last sample at or before a time (every
100 ms in the lab, every quota tick in the model).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from favourites import trace_of  # this directory's script: run as python validation/traces/forwarding.py

MIB = 2**20
START_LEVELS = (64 * 1024, 256 * 1024, MIB)


def _sent_at(d: pd.DataFrame, t: float) -> pd.Series:
    """Bytes each (local, remote) connection had sent by ``t``."""
    return d[d.t_s <= t].groupby(["local", "remote"]).total_up_bytes.last()


def measure(rep: Path, at_s: list[float], window: tuple[float, float]) -> dict | None:
    trace = trace_of(rep)
    if trace is None:
        return None
    peers = pd.read_csv(rep / "peers.csv")
    leechers = peers.loc[peers.role == "leecher"]
    if leechers.empty:
        return None
    first_join = float(leechers.join_s.min())
    d = pd.read_csv(trace, usecols=["t_s", "local", "remote", "total_up_bytes", "total_down_bytes"])
    subj = d[d.local == 0]
    # the subject's received total after each of its samples (a connection keeps its last total)
    got = subj.pivot_table(index="t_s", columns="remote", values="total_down_bytes", aggfunc="last")
    got = got.ffill().fillna(0.0).sum(axis=1)
    start = [float(got.index[np.argmax(got.values >= lv)]) if (got.values >= lv).any() else np.nan
             for lv in START_LEVELS]
    ramp = [float(_sent_at(subj, first_join + t).sum()) / MIB for t in at_s]
    ld = d[d.local.isin(set(leechers.peer.astype(int)))]
    sent = _sent_at(ld, window[1]).sub(_sent_at(ld, window[0]), fill_value=0.0)
    shares, top = [], 0
    for _, s in sent.groupby(level="local"):
        s = s.droplevel("local")
        if s.sum() <= 0:
            continue
        shares.append(float(s.get(0, 0.0)) / float(s.sum()))
        top += int(s.idxmax() == 0)
    return {"start": start, "ramp": ramp, "shares": shares, "top": top}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--at", nargs="+", type=float, default=[1.0, 1.5, 2.0, 3.0, 4.0, 8.0],
                    help="seconds after the first leecher joined")
    ap.add_argument("--window", nargs=2, type=float, default=[10.0, 25.0], metavar=("FROM_S", "TO_S"))
    ns = ap.parse_args(argv)
    for run in ns.run_dirs:
        if not (run / "replications").is_dir():
            ap.error(f"{run}: not a run directory (no replications/ in it)")
        rows = [m for rep in sorted((run / "replications").iterdir())
                if (m := measure(rep, ns.at, tuple(ns.window)))]
        if not rows:
            print(f"{run}: no connection traces")
            continue
        start = np.nanmedian(np.array([r["start"] for r in rows]), axis=0)
        ramp = np.median(np.array([r["ramp"] for r in rows]), axis=0)
        shares = np.array([s for r in rows for s in r["shares"]])
        top = sum(r["top"] for r in rows)
        print(f"{run}: {len(rows)} replications")
        print("  subject had received 64 KiB, 256 KiB, 1 MiB at (s), median: " + "  ".join(f"{x:.2f}" for x in start))
        print("  subject's upload (MiB) at " + ", ".join(f"{t:g}" for t in ns.at)
              + " s after the first leecher joined, median: " + "  ".join(f"{x:.2f}" for x in ramp))
        print(f"  leechers' upload {ns.window[0]:g}-{ns.window[1]:g} s going to the subject: median "
              f"{np.median(shares):.3f}, mean {shares.mean():.3f} over {len(shares)} leechers; the subject "
              f"was a leecher's largest receiver in {top} of {len(shares)}")


if __name__ == "__main__":
    main()
