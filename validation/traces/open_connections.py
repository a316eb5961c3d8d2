"""How many connections a peer holds open, window by window — lab against model.

    python validation/traces/open_connections.py validation/holdout/recorded/h08-subject-4-connections SIM_DIR \
        [--peer 0] [--edges 0,5,10,20,40,60,80]

SIM_DIR: ``leechsim simulate SCENARIO --runs 30 --trace-connections --out SIM_DIR``. From each
replication's ``connections.csv`` (``.gz``, or ``.xz`` as h13's recording keeps it): at each sample the number of distinct remote peers the
peer (``--peer``, default 0, the subject) has a row for (a connection through its handshake);
then the mean of those counts over the samples in each window (left-open, right-closed), over all
replications. A replication without connection traces is named and refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: forensics
from forensics.traces import connections_file  # noqa: E402


def _trace(rep: Path) -> Path:
    trace = connections_file(rep)
    if trace is not None:
        return trace
    raise SystemExit(f"{rep}: no connections.csv(.gz/.xz) (record or simulate with --trace-connections)")


def open_connections(run_dir: Path, peer: int, edges: list[float]) -> tuple[int, np.ndarray]:
    """(replications, the mean number of open connections in each window)."""
    reps = sorted(p for p in (Path(run_dir) / "replications").iterdir() if p.is_dir())
    if not reps:
        raise SystemExit(f"{run_dir}: no replications/")
    sums, counts = np.zeros(len(edges) - 1), np.zeros(len(edges) - 1)
    for rep in reps:
        path = _trace(rep)
        tr = pd.read_csv(path)
        missing = {"t_s", "local", "remote"} - set(tr.columns)
        if missing:
            raise SystemExit(f"{path}: missing columns {sorted(missing)}")
        n = tr[tr.local == peer].groupby("t_s").remote.nunique()
        w = np.searchsorted(edges, n.index.to_numpy(), side="left") - 1  # window (e[i], e[i+1]]
        ok = (w >= 0) & (w < len(edges) - 1)
        np.add.at(sums, w[ok], n.to_numpy()[ok])
        np.add.at(counts, w[ok], 1)
    return len(reps), np.divide(sums, counts, out=np.full(len(sums), np.nan), where=counts > 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run directories with connection traces")
    ap.add_argument("--peer", type=int, default=0, help="the peer (default 0, the subject)")
    ap.add_argument("--edges", default="0,5,10,20,40,60,80", help="window edges in seconds")
    ns = ap.parse_args(argv)
    try:
        edges = [float(e) for e in ns.edges.split(",")]
    except ValueError:
        ap.error(f"--edges: comma-separated seconds, got {ns.edges!r}")
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        ap.error(f"--edges: at least two increasing seconds, got {ns.edges!r}")
    print("run | " + " | ".join(f"{a:g}-{b:g} s" for a, b in zip(edges, edges[1:])))
    for d in ns.runs:
        n, mean = open_connections(d, ns.peer, edges)
        print(f"{d} ({n} runs) | " + " | ".join("n/a" if np.isnan(m) else f"{m:.2f}" for m in mean))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
