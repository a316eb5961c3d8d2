"""Bytes one peer sends (or receives) per second, the mean over replications, from connection traces
of the lab and of the model side by side: a seed's first seconds, a late joiner's rate from a
seed, or when a subject's uploads come relative to each downloader's completion.

    python validation/traces/pair_rates.py SOURCE [SOURCE ...] --local N [--remote M]
        [--column total_up_bytes|total_down_bytes] [--from 0] [--to 50] [--runs R]
    python validation/traces/pair_rates.py SOURCE [SOURCE ...] --local N --before-completion [--bin 2]

SOURCE: a run directory with replications/NNNN/connections.csv[.gz|.xz] (``leechsim lab`` or
``leechsim simulate`` with ``--trace-connections``; a validation recording such as
validation/recorded/v06-seed-after). ``--local``: the peer whose side of its connections is read
(its row number in peers.csv: 0 the subject, 1 the first seed); ``--remote``: one peer at the other
end, else all of them summed. The column is the local peer's running total on each connection
(``total_up_bytes``: what it sent; ``total_down_bytes``: what it received). Each second [s, s+1)
counts the growth of the total between the last rows sampled at or before s and at or before s+1
(samples every 100 ms in the lab; in the model at the end of every quota tick, for the tick that
ends there), so a second holds what was sent in it to within one sample. Prints one row per source, kB (1,000 bytes) per second,
and the total from ``--from`` to ``--to`` in MiB (what was sent by ``--to`` when ``--from`` is 0);
``--each-run`` adds that total for each replication on its own, in MiB, to show the spread the
mean hides.

``--before-completion``: what the local peer sent to each peer, binned by the time left until that
peer completed (peers.csv ``complete_s``; bins of ``--bin`` seconds, -2 = the last two seconds
before it completed), summed over peers, mean over replications, in kB; and the total.

``--served-seconds``: the seconds from ``--from`` to ``--to`` in which the local peer had a peer
unchoked and that peer was interested (``choked`` = 0, ``remote_interested`` = 1 at the second's
start), pooled over its connections to peers numbered 2 and up (the leechers) and over
replications: how many, the share of them in which nothing was sent, and the kB sent in one (mean
and quartiles). Tells a rate that is low because little is sent while a peer is served from one
that is low because peers are seldom served.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: forensics
from forensics.traces import connections_file  # noqa: E402

COLUMNS = ("total_up_bytes", "total_down_bytes")
FLAGS = ("choked", "remote_interested")


TRACE_COLUMNS = frozenset({"t_s", "local", "remote", *COLUMNS})


def replications(source: Path, runs: int | None,
                 needed: frozenset[str] = TRACE_COLUMNS) -> list[tuple[pd.DataFrame, Path]]:
    """(connections table, peers.csv path) of each replication of a run directory (at most
    ``runs``), each table checked for the ``needed`` columns."""
    if not source.is_dir():
        raise SystemExit(f"{source}: no such run directory (one with replications/NNNN/connections.csv)")
    out = []
    for rep in sorted((source / "replications").glob("*"))[:runs]:
        trace = connections_file(rep)
        if trace is not None:
            out.append((pd.read_csv(trace), rep / "peers.csv"))
    if not out:
        raise SystemExit(f"{source}: no replications/NNNN/connections.csv[.gz|.xz] "
                         "(run it with --trace-connections)")
    for table, _ in out:
        missing = needed - set(table.columns)
        if missing:
            raise SystemExit(f"{source}: a connections file lacks the columns {sorted(missing)}")
    return out


def _last_rows(conn: pd.DataFrame, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one connection's rows sorted by time: the row last sampled at or before each edge (0 where
    none) and whether there is one."""
    idx = np.searchsorted(conn.t_s.to_numpy(), edges, side="right") - 1
    return np.maximum(idx, 0), idx >= 0


def _totals_at(rows: pd.DataFrame, column: str, edges: np.ndarray) -> np.ndarray:
    """Each connection's running total as last sampled at or before each edge, summed over connections."""
    out = np.zeros(len(edges))
    for _, conn in rows.groupby("remote"):
        conn = conn.sort_values("t_s")
        at, seen = _last_rows(conn, edges)
        out += np.where(seen, conn[column].to_numpy(dtype=float)[at], 0.0)
    return out


def per_second(tables, local: int, remote: int | None, column: str, start: int, stop: int) -> np.ndarray:
    """Mean over replications of the bytes per second [s, s+1) for s in start..stop-1."""
    edges = np.arange(start, stop + 1, dtype=float)
    acc = np.zeros(stop - start)
    for conns, _ in tables:
        rows = conns[conns.local == local]
        if remote is not None:
            rows = rows[rows.remote == remote]
        acc += np.diff(_totals_at(rows, column, edges))
    return acc / len(tables)


def before_completion(tables, local: int, width: int) -> dict[int, float]:
    """Mean over replications of the bytes ``local`` sent to each peer, binned by the seconds left
    until that peer completed (bin start, negative), summed over peers."""
    acc: dict[int, float] = {}
    for conns, peers in tables:
        if not peers.is_file():
            raise SystemExit(f"{peers}: missing (--before-completion needs each replication's peers.csv)")
        done = pd.read_csv(peers).set_index("peer").complete_s
        for remote, conn in conns[conns.local == local].groupby("remote"):
            c = done.get(remote, math.nan)
            if not math.isfinite(c):
                continue
            conn = conn.sort_values("t_s")
            sent = np.diff(conn.total_up_bytes.to_numpy(dtype=float), prepend=0.0)
            for t, b in zip(conn.t_s.to_numpy(), sent):
                if b > 0:
                    key = math.floor((t - c) / width) * width
                    acc[key] = acc.get(key, 0.0) + b
    return {k: v / len(tables) for k, v in sorted(acc.items())}


def served_seconds(tables, local: int, start: int, stop: int) -> np.ndarray:
    """Bytes ``local`` sent in each second [s, s+1), start <= s < stop, in which it had the peer
    unchoked and the peer interested at the second's start; connections to peers 2 and up, pooled."""
    edges = np.arange(start, stop + 1, dtype=float)
    out = []
    for conns, _ in tables:
        rows = conns[(conns.local == local) & (conns.remote >= 2)]
        for _, conn in rows.groupby("remote"):
            conn = conn.sort_values("t_s")
            at, seen = _last_rows(conn, edges)
            total = np.where(seen, conn.total_up_bytes.to_numpy(dtype=float)[at], 0.0)
            served = seen & (conn.choked.to_numpy()[at] == 0) & (conn.remote_interested.to_numpy()[at] == 1)
            out.extend(np.diff(total)[served[:-1]])
    return np.asarray(out, dtype=float)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--local", type=int, required=True)
    ap.add_argument("--remote", type=int, default=None)
    ap.add_argument("--column", choices=COLUMNS, default="total_up_bytes")
    ap.add_argument("--from", dest="start", type=int, default=0)
    ap.add_argument("--to", dest="stop", type=int, default=50)
    ap.add_argument("--runs", type=int, default=None, help="at most this many replications per source")
    ap.add_argument("--before-completion", action="store_true")
    ap.add_argument("--bin", type=int, default=2, help="seconds (--before-completion)")
    ap.add_argument("--served-seconds", action="store_true")
    ap.add_argument("--each-run", action="store_true", help="also each replication's total, in MiB")
    a = ap.parse_args(argv)
    if a.stop <= a.start:
        ap.error(f"--to {a.stop} must be after --from {a.start}")
    if a.bin <= 0:
        ap.error(f"--bin {a.bin}: must be a positive number of seconds")
    if a.runs is not None and a.runs < 1:
        ap.error(f"--runs {a.runs}: must be at least 1")
    if (a.served_seconds or a.before_completion) and (a.column != "total_up_bytes" or a.remote is not None):
        ap.error("--served-seconds and --before-completion read what --local sent to every peer: "
                 "--column and --remote do not apply")
    if a.each_run and (a.served_seconds or a.before_completion):
        ap.error("--each-run applies to the bytes per second (not --served-seconds or --before-completion)")
    if a.served_seconds and a.before_completion:
        ap.error("--served-seconds and --before-completion: one at a time")
    needed = TRACE_COLUMNS | set(FLAGS) if a.served_seconds else TRACE_COLUMNS
    for src in a.sources:
        tables = replications(src, a.runs, frozenset(needed))
        name = f"{src.name} ({len(tables)})"
        if a.served_seconds:
            x = served_seconds(tables, a.local, a.start, a.stop) / 1e3
            if x.size == 0:
                print(f"{name}: no second with a peer unchoked and interested")
                continue
            q1, q2, q3 = np.percentile(x, [25, 50, 75])
            print(f"{name}: {x.size} seconds served, nothing sent in {np.mean(x == 0):.0%}; kB sent in one: "
                  f"mean {x.mean():.0f}, quartiles {q1:.0f} / {q2:.0f} / {q3:.0f}")
        elif a.before_completion:
            bins = before_completion(tables, a.local, a.bin)
            cells = " ".join(f"{k:+d}:{v / 1e3:.0f}" for k, v in bins.items() if k < 0)
            print(f"{name}: {cells}  total {sum(v for k, v in bins.items() if k < 0) / 1e3:.0f} kB")
        else:
            each = [per_second([t], a.local, a.remote, a.column, a.start, a.stop) for t in tables]
            rates = np.mean(each, axis=0)  # per_second over all the tables: the mean of each one's
            print(f"{name}: " + " ".join(f"{x / 1e3:.0f}" for x in rates) + f"  total {rates.sum() / 2**20:.2f} MiB")
            if a.each_run:
                print(f"{name}: each run's total, MiB: " + " ".join(f"{x.sum() / 2**20:.2f}" for x in each))
    return 0


if __name__ == "__main__":
    sys.exit(main())
