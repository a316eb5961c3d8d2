"""How long before each receiver completed the subject sent it what it sent: from a run directory's
transfer log (the subject's uploads, lab or model) and peers.csv (each peer's completion time).

Run:  python validation/traces/lead.py RUN_DIR...
e.g.  leechsim simulate validation/v04-late-join.toml --runs 60 --out runs/sim-v04
      python validation/traces/lead.py validation/recorded/v04-late-join runs/sim-v04

For every byte the subject uploaded while leeching, the lead is the receiver's completion time less
the time the byte was sent. Printed: the median over replications of the subject's upload, the
byte-weighted quartiles of the lead over all replications, and the share of the bytes sent more
than 5 s before their receiver completed. (A receiver that never completed is left out.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

MIB = 2**20
EARLY_S = 5.0


def leads(rep: Path) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(lead of each logged transfer in s, its bytes, the subject's bytes in all) for one replication."""
    if not (rep / "transfer_log.csv").exists() or not (rep / "peers.csv").exists():
        return None
    log = pd.read_csv(rep / "transfer_log.csv")
    peers = pd.read_csv(rep / "peers.csv").set_index("peer")
    done = peers.complete_s.reindex(log.peer).to_numpy(dtype=float)
    lead = done - log.t_s.to_numpy(dtype=float)
    ok = ~np.isnan(lead)
    return lead[ok], log.bytes.to_numpy(dtype=float)[ok], int(log.bytes.sum())


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: list[float]) -> list[float]:
    """The smallest x at which the cumulative weight reaches each q of the total."""
    o = np.argsort(x, kind="stable")
    cw = np.cumsum(w[o]) / w.sum()
    return [float(x[o][min(np.searchsorted(cw, q), len(x) - 1)]) for q in qs]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ns = ap.parse_args(argv)
    for run in ns.run_dirs:
        if not (run / "replications").is_dir():
            ap.error(f"{run}: not a run directory (no replications/ in it)")
        got = [r for rep in sorted((run / "replications").iterdir()) if (r := leads(rep))]
        totals = np.array([r[2] for r in got], dtype=float)
        x = np.concatenate([r[0] for r in got]) if got else np.zeros(0)
        w = np.concatenate([r[1] for r in got]) if got else np.zeros(0)
        if w.sum() <= 0:
            print(f"{run}: the subject uploaded nothing to a peer that completed")
            continue
        q25, q50, q75 = weighted_quantiles(x, w, [0.25, 0.5, 0.75])
        print(f"{run}: {len(got)} replications; the subject's upload, median {np.median(totals) / MIB:.2f} MiB; "
              f"lead before the receiver completed, by bytes: q25 {q25:.1f} s, median {q50:.1f} s, q75 {q75:.1f} s; "
              f"sent more than {EARLY_S:g} s before: {w[x > EARLY_S].sum() / w.sum():.0%}")


if __name__ == "__main__":
    main()
