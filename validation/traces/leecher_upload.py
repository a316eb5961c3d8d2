"""How much of their upload limit the leechers use, phase by phase of their own download, and how
often a connection open for upload (the remote is interested, the leecher unchokes it) carries no
bytes: read the same way from a recorded lab run and from a traced model run.

Run:  python validation/traces/leecher_upload.py RUN_DIR... [--phases 10]
e.g.  leechsim simulate validation/v02-subject-capped.toml --runs 10 --trace-connections --out runs/sim-v02
      python validation/traces/leecher_upload.py validation/recorded/v02-subject-capped runs/sim-v02

For each leecher that completed, its download (join to completion) is cut into equal phases:
- utilisation: the payload it sent in the phase (over all its connections, each connection's
  ``total_up_bytes`` at its last sample at or before each phase edge) over its upload limit times
  the phase's length;
- idle while open: of its connection samples in the phase that are open for upload (``choked`` 0,
  ``remote_interested`` 1), the share whose ``total_up_bytes`` has not grown one second later (the
  remote had asked for nothing the leecher could send).
Both are pooled over leechers and replications (bytes over capacity; samples over samples).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from favourites import for_each_run, trace_of  # this directory's script: run as python validation/traces/leecher_upload.py

AHEAD_S = 1.0


def _total_at(t: np.ndarray, total: np.ndarray, at: float) -> float:
    i = np.searchsorted(t, at, side="right") - 1
    return float(total[i]) if i >= 0 else 0.0


def measure(rep: Path, phases: int) -> dict | None:
    """Sums for one replication: sent bytes, capacity bytes, open samples and idle open samples, per
    phase (arrays of ``phases``). None if the replication has no connection trace."""
    trace = trace_of(rep)
    if trace is None:
        return None
    peers = pd.read_csv(rep / "peers.csv")
    leechers = peers[(peers.role == "leecher") & peers.complete_s.notna()]
    d = pd.read_csv(trace, usecols=["t_s", "local", "remote", "total_up_bytes", "choked", "remote_interested"])
    sent, cap = np.zeros(phases), np.zeros(phases)
    open_n, idle_n = np.zeros(phases), np.zeros(phases)
    for _, lee in leechers.iterrows():
        j, c, rate = float(lee.join_s), float(lee.complete_s), float(lee.upload_bps)
        if c <= j:
            continue
        edges = j + (c - j) * np.arange(phases + 1) / phases
        cap += rate * (c - j) / phases
        for _, conn in d[d.local == int(lee.peer)].groupby("remote"):
            conn = conn.sort_values("t_s", kind="stable")
            t = conn.t_s.to_numpy(float)
            tot = conn.total_up_bytes.fillna(0).to_numpy(float)
            at_edges = np.array([_total_at(t, tot, e) for e in edges])
            sent += np.diff(at_edges)
            is_open = (conn.choked.to_numpy() == 0) & (conn.remote_interested.to_numpy() == 1)
            later = np.searchsorted(t, t + AHEAD_S, side="left")
            has_later = later < len(t)
            grew = np.zeros(len(t), bool)
            grew[has_later] = tot[later[has_later]] > tot[has_later]
            inside = (t >= j) & (t < c) & is_open & has_later
            k = np.minimum(((t[inside] - j) / (c - j) * phases).astype(int), phases - 1)
            np.add.at(open_n, k, 1)
            np.add.at(idle_n, k, ~grew[inside])
    return {"sent": sent, "cap": cap, "open": open_n, "idle": idle_n}


def summarise(run: Path, phases: int) -> dict | None:
    parts = [m for rep in sorted((run / "replications").iterdir()) if (m := measure(rep, phases))]
    if not parts:
        return None
    tot = {key: sum(p[key] for p in parts) for key in parts[0]}
    return {"replications": len(parts),
            "utilisation": tot["sent"] / np.maximum(tot["cap"], 1e-9),
            "idle_open": tot["idle"] / np.maximum(tot["open"], 1.0),
            "overall": float(tot["sent"].sum() / max(tot["cap"].sum(), 1e-9))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--phases", type=int, default=10)
    ns = ap.parse_args(argv)
    if ns.phases < 1:
        ap.error(f"--phases {ns.phases}: must be at least 1")

    def report(run: Path, s: dict) -> None:
        print(f"{run}: {s['replications']} replications; leechers' upload over their limit "
              f"{s['overall']:.3f}; by phase of their download:")
        print("  utilisation " + " ".join(f"{x:5.2f}" for x in s["utilisation"]))
        print("  idle open   " + " ".join(f"{x:5.2f}" for x in s["idle_open"]))

    for_each_run(ap, ns.run_dirs, lambda run: summarise(run, ns.phases), report)


if __name__ == "__main__":
    main()
