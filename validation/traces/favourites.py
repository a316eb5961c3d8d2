"""Whom an uploader favours: from a traced run directory (a recorded lab run, or `leechsim simulate
--trace-connections`), each replication's uploader's payload sent to each remote by time T, ranked,
and where the subject (peer 0) ranks. A seed with more interested peers than its rate can serve
evenly ends up sending most of its bytes to two or three connections (libtorrent feeds each
connection's share back from its own rate); whether the subject is among them decides much of what
it can pass on.

Run:  python validation/traces/favourites.py RUN_DIR... [--uploader 1] [--at 30] [--top 2]
e.g.  python validation/traces/favourites.py validation/recorded/v11-one-slot-8 runs/sim-v11
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: forensics
from forensics.traces import connections_file  # noqa: E402


def trace_of(rep: Path) -> Path | None:
    """The replication's connections table (.csv, .gz or .xz; ``forensics.traces``), or None."""
    return connections_file(rep)


def for_each_run(ap: argparse.ArgumentParser, run_dirs: list[Path], summarise, report) -> None:
    """The trace scripts' common loop: each run directory checked, summarised, and reported (or
    said to have no connection traces when ``summarise`` returns None)."""
    for run in run_dirs:
        if not (run / "replications").is_dir():
            ap.error(f"{run}: not a run directory (no replications/ in it)")
        s = summarise(run)
        if s is None:
            print(f"{run}: no connection traces")
            continue
        report(run, s)


def sent_by(trace: Path, uploader: int, at_s: float) -> pd.Series:
    """Payload bytes the uploader had sent each remote by ``at_s`` (its last sample at or before),
    largest first."""
    d = pd.read_csv(trace, usecols=["t_s", "local", "remote", "total_up_bytes"])
    d = d[(d.local == uploader) & (d.t_s <= at_s)]
    return d.groupby("remote").total_up_bytes.last().sort_values(ascending=False, kind="stable")


def favourites(run_dir: Path, uploader: int, at_s: float, top: int, subject: int = 0) -> list[dict]:
    rows = []
    for rep in sorted((run_dir / "replications").glob("*/")):
        trace = trace_of(rep)
        if trace is None:
            continue
        s = sent_by(trace, uploader, at_s)
        rank = list(s.index).index(subject) + 1 if subject in s.index else None
        rows.append({"run": run_dir.name, "replication": rep.name, "total_bytes": int(s.sum()),
                     "subject_bytes": int(s.get(subject, 0)), "subject_rank": rank,
                     "subject_in_top": rank is not None and rank <= top,
                     "ranking": " ".join(f"{r}:{b / 1e6:.1f}" for r, b in s.items())})
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--uploader", type=int, default=1, help="the uploader's peer number (default 1: the first seed)")
    ap.add_argument("--at", type=float, default=30.0, help="time of the ranking, s (default 30)")
    ap.add_argument("--top", type=int, default=2, help="count runs where the subject is among the top N (default 2)")
    ns = ap.parse_args(argv)
    for run_dir in ns.runs:
        rows = favourites(run_dir, ns.uploader, ns.at, ns.top)
        for r in rows:
            print(f"{r['run']} {r['replication']}: subject {r['subject_bytes'] / 1e6:.1f} of "
                  f"{r['total_bytes'] / 1e6:.1f} MB (rank {r['subject_rank']})  [{r['ranking']}]")
        hit = sum(r["subject_in_top"] for r in rows)
        print(f"{run_dir}: subject among peer {ns.uploader}'s top {ns.top} by {ns.at:g} s in {hit} of {len(rows)} runs")


if __name__ == "__main__":
    main()
