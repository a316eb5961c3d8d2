"""An uploader's rate to each of its connections, in windows, with connections in the order they
opened: does the first keep a larger share, does a newcomer climb to an even one?

    python validation/traces/shares.py UPLOADER SOURCE [SOURCE ...] [--window 5] [--to 60] [--runs N]

SOURCE: a run directory (its replications/NNNN/connections.csv[.gz|.xz], from ``leechsim lab`` or
``leechsim simulate`` with ``--trace-connections``) or a connections file itself (e.g.
validation/traces/seniority/r0000-u0001-connections.csv.gz). UPLOADER: the peer number, or
``seed`` (the first seed of each replication; needs its peers.csv). Prints, per window, the mean
over replications of kB/s (1,000 bytes) to the 1st, 2nd, ... connection the uploader opened,
counted in the order of each connection's first row in the trace.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: forensics
from forensics.traces import connections_file  # noqa: E402


def traces(sources: list[Path], runs: int | None) -> list[tuple[pd.DataFrame, Path | None]]:
    out = []
    for src in sources:
        if src.is_dir():
            reps = sorted((src / "replications").glob("*"))[:runs]
            for rep in reps:
                trace = connections_file(rep)
                if trace is not None:
                    out.append((pd.read_csv(trace), rep / "peers.csv"))
        elif src.is_file():
            out.append((pd.read_csv(src), None))
        else:
            raise SystemExit(f"{src}: no such run directory or connections file")
    for table, _ in out:
        missing = {"t_s", "local", "remote", "total_up_bytes"} - set(table.columns)
        if missing:
            raise SystemExit(f"a connections file lacks the columns {sorted(missing)} "
                             "(connections.csv of leechsim lab/simulate --trace-connections)")
    return out


def shares(tables, uploader: str, window: float, until: float) -> pd.DataFrame:
    """Rows: window start; columns: connection rank (0 = first opened); values: mean kB/s."""
    edges = np.arange(0.0, until + 1e-9, window)
    acc: dict[tuple[float, int], list[float]] = {}
    n = 0
    for conns, peers in tables:
        if uploader == "seed":
            if peers is None or not peers.is_file():
                raise SystemExit("uploader 'seed' needs run directories with peers.csv")
            p = pd.read_csv(peers)
            up = int(p[p.role == "seed"].peer.iloc[0])
        else:
            up = int(uploader)
        mine = conns[conns.local == up]
        if mine.empty:
            continue
        n += 1
        order = mine.groupby("remote").t_s.min().sort_values().index.tolist()
        for a, b in zip(edges[:-1], edges[1:]):
            t1 = mine[mine.t_s <= b].groupby("remote").total_up_bytes.max().reindex(order).fillna(0.0)
            t0 = mine[mine.t_s <= a].groupby("remote").total_up_bytes.max().reindex(order).fillna(0.0)
            for rank, v in enumerate((t1 - t0).to_numpy() / 1e3 / (b - a)):
                acc.setdefault((a, rank), []).append(v)
    if n == 0:
        raise SystemExit(f"no rows of uploader {uploader} in the sources")
    ranks = 1 + max(r for _, r in acc)
    table = pd.DataFrame(0.0, index=edges[:-1], columns=range(ranks))
    for (a, r), vals in acc.items():
        table.loc[a, r] = sum(vals) / n  # a replication without that many connections counts 0
    table.index.name = "from_s"
    return table


def _uploader(text: str) -> str:
    if text != "seed" and not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a peer number or 'seed'")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("uploader", type=_uploader)
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--to", dest="until", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=None, help="at most this many replications per run directory")
    a = ap.parse_args(argv)
    t = shares(traces(a.sources, a.runs), a.uploader, a.window, a.until)
    t["total"] = t.sum(axis=1)
    print(t.round(0).astype(int).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
