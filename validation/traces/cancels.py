"""Does libtorrent cancel a block that came first from another peer? From the peer logs of lab runs
recorded with ``--peer-log``: every CANCEL message each peer wrote, and, for each downloader, the blocks
it asked of two peers or more and how many of those came twice or more.

    leechsim lab validation/v13-late-join-linger.toml --runs 1 --peer-log --all-blocks --out DIR
    python validation/traces/cancels.py DIR

Reads ``replications/NNNN/raw/peer-NNNN-peerlog.csv.gz`` (libtorrent's own per-connection log:
``==> REQUEST`` and ``<== PIECE`` lines name the piece and the block's byte offset, ``==> CANCEL`` a
cancelled request). In libtorrent 2.x ``peer_connection::incoming_piece`` marks the arrived block as
writing before ``torrent::cancel_block``, so each other connection's ``cancel_request`` finds it no
longer requested and returns without writing a CANCEL; the uploader then serves the request.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
import sys
from collections import defaultdict
from pathlib import Path

BLOCK = re.compile(r"piece: (\d+) s: ([0-9a-f]+)")


def peer_log_counts(path: Path) -> tuple[int, int, int, int]:
    """(CANCELs written, blocks asked, blocks asked of two peers or more, of those received twice or
    more) in one peer's log."""
    cancels = 0
    asked: dict[tuple[int, int], set[str]] = defaultdict(set)
    got: dict[tuple[int, int], int] = defaultdict(int)
    try:
        with gzip.open(path, "rt") as fh:
            rows = csv.DictReader(fh)
            missing = {"direction", "event", "detail", "remote_ip"} - set(rows.fieldnames or ())
            if missing:
                raise SystemExit(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            for r in rows:
                event, direction = r["event"], r["direction"]
                if event == "CANCEL" and direction == "==>":
                    cancels += 1
                elif (event == "REQUEST" and direction == "==>") or (event == "PIECE" and direction == "<=="):
                    m = BLOCK.search(r["detail"])
                    if m is None:
                        raise SystemExit(f"{path}: a {event} line without 'piece: N s: HEX': {r['detail']!r}")
                    key = (int(m.group(1)), int(m.group(2), 16))
                    if event == "REQUEST":
                        asked[key].add(r["remote_ip"])
                    else:
                        got[key] += 1
    except (OSError, EOFError) as e:
        raise SystemExit(f"{path}: cannot read it ({e})")
    multi = [k for k, peers in asked.items() if len(peers) > 1]
    return cancels, len(asked), len(multi), sum(1 for k in multi if got.get(k, 0) > 1)


def run_counts(run_dir: Path) -> dict[str, tuple[int, int, int, int]]:
    """peer log name -> peer_log_counts, over every replication of a lab run directory."""
    logs = sorted(run_dir.glob("replications/*/raw/peer-*-peerlog.csv.gz"))
    if not logs:
        raise SystemExit(f"{run_dir}: no replications/NNNN/raw/peer-NNNN-peerlog.csv.gz (record with --peer-log)")
    return {f"{p.parents[1].name}/{p.name}": peer_log_counts(p) for p in logs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", type=Path, nargs="+")
    a = ap.parse_args(argv)
    for run in a.runs:
        counts = run_counts(run)
        for name, (c, n, multi, twice) in counts.items():
            print(f"{name}: {c} CANCEL written; {n} blocks asked, {multi} of them of two peers or more, "
                  f"{twice} of those received twice or more")
        tot = [sum(x[i] for x in counts.values()) for i in range(4)]
        print(f"{run}: {tot[0]} CANCEL written in {len(counts)} peer logs; blocks asked of two peers or more "
              f"{tot[2]}, received twice or more {tot[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
