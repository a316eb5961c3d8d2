"""What each downloader reads from each kind of peer, and the queues on both ends of those connections,
from connection traces of the lab and of the model side by side: where a download limit binds (the
hold-out h12, leechers capped at 600 kB/s), how a downloader's rate limiter splits what it reads
among its connections.

    python validation/traces/read_split.py SOURCE [SOURCE ...] [--from 10] [--to 40] [--runs R]

SOURCE: a run directory with replications/NNNN/connections.csv[.gz|.xz] and peers.csv (``leechsim lab``
or ``leechsim simulate`` with ``--trace-connections``; a recording such as
validation/holdout/recorded/h12-leechers-download-600k). Peers are told apart by peers.csv's
``role``: subject, seed, leecher. For each kind of connection (uploader kind -> downloader kind)
present in the window [--from, --to) it prints, pooled over connections and replications:

- ``kB/s``: what the downloader received on one such connection per second (the growth of the
  downloader's ``total_down_bytes`` over the window, divided by the window and by the number of
  such connections open at its start);
- ``upload queue``: the uploader's ``upload_queue_length`` (requests that reached it and are not
  yet sent), mean over samples;
- ``downloader's queue``: the downloader's ``download_queue_length`` (blocks it asked for and has
  not received), mean over samples;
- ``receive quota``: the download quota the downloader's end holds (``receive_quota``, bytes);
- ``waits to read``: the share of samples in which the downloader's end waits for download quota
  (``read_state`` contains ``limit``).

A column the source lacks prints as ``-``. Blocks written ahead of the reader are the difference
of the two queues: those the downloader still waits for that are no longer waiting at the uploader.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pair_rates import replications  # noqa: E402

NEEDED = frozenset({"t_s", "local", "remote", "total_down_bytes"})


def roles(peers_csv: Path) -> dict[int, str]:
    """Row number (the trace's peer number) -> role, from a replication's peers.csv."""
    try:
        peers = pd.read_csv(peers_csv)
    except (OSError, pd.errors.ParserError) as exc:
        raise SystemExit(f"{peers_csv}: cannot read it ({exc})")
    if "role" not in peers.columns:
        raise SystemExit(f"{peers_csv}: no 'role' column (subject, seed, leecher)")
    ids = peers["peer"] if "peer" in peers.columns else pd.Series(range(len(peers)))
    return {int(i): str(r) for i, r in zip(ids, peers["role"])}


def _mean(frame: pd.DataFrame, column: str) -> float:
    """Mean of a column's numbers (NaN when the column is missing or empty)."""
    if column not in frame.columns:
        return float("nan")
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")


def split(source: Path, start: float, stop: float, runs: int | None) -> pd.DataFrame:
    """One row per connection kind (uploader -> downloader) with the figures the module lists."""
    if stop <= start:
        raise SystemExit(f"--to ({stop}) must be after --from ({start})")
    received: dict[tuple[str, str], float] = {}
    open_at_start: dict[tuple[str, str], int] = {}
    down_side: dict[tuple[str, str], list[pd.DataFrame]] = {}
    up_side: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for table, peers_csv in replications(source, runs, NEEDED):
        role = roles(peers_csv)
        table = table[(table["t_s"] >= start) & (table["t_s"] < stop)]
        for (local, remote), rows in table.groupby(["local", "remote"]):
            rows = rows.sort_values("t_s")
            # the local end's rows are the downloader's side of remote -> local ...
            kind = (role.get(int(remote), "?"), role.get(int(local), "?"))
            received[kind] = received.get(kind, 0.0) + float(rows["total_down_bytes"].iloc[-1]
                                                              - rows["total_down_bytes"].iloc[0])
            if rows["t_s"].iloc[0] < start + 1.0:
                open_at_start[kind] = open_at_start.get(kind, 0) + 1
            down_side.setdefault(kind, []).append(rows)
            # ... and the uploader's side of local -> remote
            up_side.setdefault(kind[::-1], []).append(rows)
    out = []
    for kind in sorted(received):
        down_rows = pd.concat(down_side[kind])
        up_rows = pd.concat(up_side.get(kind, [pd.DataFrame()]))
        n = open_at_start.get(kind, 0)
        waits = float("nan")
        if "read_state" in down_rows.columns:
            states = down_rows["read_state"].dropna().astype(str)
            if len(states):
                waits = float(states.str.contains("limit").mean())
        out.append({
            "connection": f"{kind[0]} -> {kind[1]}",
            "connections": n,
            "kB/s": received[kind] / (stop - start) / n / 1000 if n else float("nan"),
            "upload queue": _mean(up_rows, "upload_queue_length"),
            "downloader's queue": _mean(down_rows, "download_queue_length"),
            "receive quota": _mean(down_rows, "receive_quota"),
            "waits to read": waits,
        })
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("--from", dest="start", type=float, default=10.0)
    ap.add_argument("--to", dest="stop", type=float, default=40.0)
    ap.add_argument("--runs", type=int, default=None, help="at most this many replications per source")
    args = ap.parse_args(argv)
    for source in args.sources:
        table = split(source, args.start, args.stop, args.runs)
        print(f"{source} ({args.start:g}-{args.stop:g} s)")
        with pd.option_context("display.width", 200, "display.max_columns", None):
            print(table.to_string(index=False, float_format=lambda x: "-" if np.isnan(x) else f"{x:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
