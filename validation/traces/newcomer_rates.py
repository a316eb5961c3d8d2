"""What the leechers give a newcomer, second by second after it joins, against what they give each
other: does the newcomer get the leechers' spare capacity as fast as in the lab?

    python validation/traces/newcomer_rates.py SOURCE [SOURCE ...] [--peer 0] [--seconds 15] [--runs N]

SOURCE: a run directory of ``leechsim lab`` or ``leechsim simulate`` run with
``--trace-connections`` (its replications/NNNN/connections.csv[.gz|.xz] and peers.csv). The newcomer
is ``--peer`` (0, the subject). For each second s after the newcomer's join (its peers.csv
join_s) it prints, as medians over the replications:

- ``to_newcomer``: kB/s (1,000 bytes) a leecher sent the newcomer in [s, s + 1), averaged over
  the leechers;
- ``to_leecher``: kB/s a leecher sent one other leecher, averaged over the ordered pairs;
- ``leecher_total``: kB/s a leecher sent in all, to anyone, averaged over the leechers;
- ``completed``: leechers that had completed by s + 1 (peers.csv complete_s).

Leechers are the peers whose role is ``leecher``; the newcomer is not among them.

``--each A B``: instead, for every replication, each leecher's kB/s to the newcomer and to the
other leechers (summed) between A and B seconds after the join: who gives the newcomer what;
then, pooled over the replications, the median kB/s to the newcomer of the leechers with upload to
spare (those that sent the other leechers under ``--spare-below`` kB/s, 100), of the largest giver
of each replication, and of all leechers together.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shares import traces  # noqa: E402  (the same reading of run directories)


def _sent_by(conns: pd.DataFrame, t: float) -> pd.Series:
    """Bytes each (local, remote) connection had sent by time t (0 for one not open yet)."""
    return conns[conns.t_s <= t].groupby(["local", "remote"]).total_up_bytes.max()


def join_and_leechers(peers: pd.DataFrame, newcomer: int) -> tuple[float, list[int]]:
    """The newcomer's join time and the other leechers' peer numbers (a clear error if either is missing)."""
    row = peers[peers.peer == newcomer]
    if row.empty or not np.isfinite(float(row.join_s.iloc[0])):
        raise SystemExit(f"peer {newcomer} never joined in this replication (peers.csv)")
    ids = [int(p) for p in peers[peers.role == "leecher"].peer if int(p) != newcomer]
    if not ids:
        raise SystemExit("no leechers in this replication (peers.csv)")
    return float(row.join_s.iloc[0]), ids


def one_run(conns: pd.DataFrame, peers: pd.DataFrame, newcomer: int, seconds: int) -> np.ndarray:
    """Rows: second after the join; columns: to_newcomer, to_leecher, leecher_total, completed."""
    join, ids = join_and_leechers(peers, newcomer)
    done = peers[peers.role == "leecher"].complete_s.to_numpy(dtype=float)
    pairs = [(a, b) for a in ids for b in ids if a != b]
    out = np.zeros((seconds, 4))
    before = _sent_by(conns, join)
    for s in range(seconds):
        after = _sent_by(conns, join + s + 1)
        d = after.sub(before, fill_value=0.0)
        out[s, 0] = np.mean([d.get((a, newcomer), 0.0) for a in ids]) / 1e3
        out[s, 1] = np.mean([d.get(p, 0.0) for p in pairs]) / 1e3 if pairs else 0.0
        out[s, 2] = np.mean([d[d.index.get_level_values(0) == a].sum() for a in ids]) / 1e3
        out[s, 3] = int(np.sum(done <= join + s + 1))
        before = after
    return out


def each_leecher(conns: pd.DataFrame, peers: pd.DataFrame, newcomer: int, a: float, b: float) -> pd.DataFrame:
    """Rows: leechers; columns: kB/s to the newcomer and to the other leechers in [join + a, join + b]."""
    join, ids = join_and_leechers(peers, newcomer)
    d = _sent_by(conns, join + b).sub(_sent_by(conns, join + a), fill_value=0.0)
    rows = [(i, d.get((i, newcomer), 0.0) / 1e3 / (b - a),
             sum(d.get((i, j), 0.0) for j in ids if j != i) / 1e3 / (b - a)) for i in ids]
    return pd.DataFrame(rows, columns=["leecher", "to_newcomer", "to_leechers"]).set_index("leecher")


def spare_summary(tables: list[pd.DataFrame], below: float) -> dict[str, float]:
    """Pooled over replications' each_leecher tables: how many leechers sent the other leechers
    under ``below`` kB/s and their median kB/s to the newcomer; the median over replications of
    the largest giver's kB/s and of all leechers' kB/s to the newcomer."""
    spare = np.concatenate([t[t.to_leechers < below].to_newcomer.to_numpy() for t in tables])
    return {"spare_leechers": float(len(spare)),
            "spare_to_newcomer": float(np.median(spare)) if len(spare) else float("nan"),
            "largest_giver": float(np.median([t.to_newcomer.max() for t in tables])),
            "all_leechers": float(np.median([t.to_newcomer.sum() for t in tables]))}


def newcomer_table(sources: list[Path], newcomer: int, seconds: int, runs: int | None) -> pd.DataFrame:
    per_run = []
    for conns, peers in traces(sources, runs):
        if peers is None or not peers.is_file():
            raise SystemExit("newcomer_rates.py needs run directories (their peers.csv), not bare connections files")
        per_run.append(one_run(conns, pd.read_csv(peers), newcomer, seconds))
    if not per_run:
        raise SystemExit("no replications with a connections file in the sources")
    med = np.median(np.stack(per_run), axis=0)
    table = pd.DataFrame(med, columns=["to_newcomer", "to_leecher", "leecher_total", "completed"])
    table.index.name = "second"
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--peer", type=int, default=0, help="the newcomer's peer number (0: the subject)")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--runs", type=int, default=None, help="at most this many replications per run directory")
    ap.add_argument("--each", nargs=2, type=float, metavar=("A", "B"), default=None,
                    help="per replication, each leecher's kB/s between A and B seconds after the join")
    ap.add_argument("--spare-below", type=float, default=100.0,
                    help="with --each: a leecher sending the other leechers under this many kB/s has upload to spare")
    a = ap.parse_args(argv)
    if a.seconds < 1:
        ap.error("--seconds: at least 1")
    if a.each is not None:
        if not a.each[1] > a.each[0]:
            ap.error("--each A B: B must be after A")
        for src in a.sources:
            tables = []
            for i, (conns, peers) in enumerate(traces([src], a.runs)):
                if peers is None or not peers.is_file():
                    raise SystemExit("newcomer_rates.py needs run directories (their peers.csv)")
                tables.append(each_leecher(conns, pd.read_csv(peers), a.peer, *a.each))
                print(f"{src} replication {i}")
                print(tables[-1].round(0).astype(int).T.to_string())
            s = spare_summary(tables, a.spare_below)
            print(f"{src}: {len(tables)} replications; {s['spare_leechers']:.0f} leechers sent the other leechers "
                  f"under {a.spare_below:g} kB/s, median {s['spare_to_newcomer']:.0f} kB/s to the newcomer; "
                  f"the largest giver {s['largest_giver']:.0f}, all leechers {s['all_leechers']:.0f} (medians over "
                  "replications)")
        return 0
    for src in a.sources:
        print(f"{src}")
        t = newcomer_table([src], a.peer, a.seconds, a.runs)
        print(t.round(1).T.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
