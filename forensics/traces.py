"""Finding and opening a replication's connection trace, ``replications/NNNN/connections.csv``,
and reading a lab peer's block log (``read_block_log``).

A traced run writes the table uncompressed (``forensics/rundir.py``, ``lab/trace.py``); the recorded
validation matrix keeps it gzip-compressed (``connections.csv.gz``, ``calibration.compress_file``),
and a recording whose table would pass the repository's 5 MiB file limit even as gzip keeps it
xz-compressed (``connections.csv.xz``: the hold-out h13-default-scenario). Every reader of the table
finds it with ``connections_file``, so each of the three forms works everywhere.

Standard library only: cheap to import from the validation scripts and the lab's processes.
"""

from __future__ import annotations

import csv
import gzip
import lzma
from pathlib import Path
from typing import TextIO

# The forms of the table, in the order they are looked for (see connections_file).
CONNECTIONS_NAMES = ("connections.csv", "connections.csv.gz", "connections.csv.xz")


def connections_file(rep_dir: str | Path) -> Path | None:
    """The connections table of one replication directory (``replications/NNNN``), or None when it
    has none (the run was not traced).

    The names are tried in a fixed order and the first that is a file wins: ``connections.csv``,
    then ``connections.csv.gz``, then ``connections.csv.xz``. This is the order of a sorted glob of
    ``connections.csv*``, which most readers used before. Normally only one of them exists; when two
    do, the uncompressed table wins: it is what a run writes, while a compressed copy next to it is
    either the same bytes (compression interrupted before the original was removed) or older (a
    rerun into the same directory)."""
    rep_dir = Path(rep_dir)
    for name in CONNECTIONS_NAMES:
        path = rep_dir / name
        if path.is_file():
            return path
    return None


def open_by_suffix(path: str | Path) -> TextIO:
    """``path`` opened for reading text, decompressed by its name's ending: ``.gz`` with gzip,
    ``.xz`` with lzma, anything else as a plain file. Rows as written (``newline=""``, for csv)."""
    name = str(path)
    if name.endswith(".gz"):
        return gzip.open(path, "rt", newline="")
    if name.endswith(".xz"):
        return lzma.open(path, "rt", newline="")
    return open(path, newline="")


# A lab block log's columns (forensics/lab/peer.py writes them): one row per block_uploaded_alert.
BLOCK_LOG_COLUMNS = ("t_s", "peer_ip", "piece", "block", "peer_port")


def read_block_log(path: str | Path) -> list[tuple[float, str, int, int]]:
    """A lab block log (``subject-blocks.csv`` or ``peer-NNNN-blocks.csv``, plain or compressed as
    the recordings keep it): one (t_s, peer_ip, piece, block) per row, in file order.

    Read by position, not by header: the other peers' logs written from 2026-11-30 to 2026-12-06
    (the validation recordings of those days) are headed ``t_s,peer_ip,piece,block`` over rows
    that also carry the receiver's port, so a reader going by the header alone (pandas) shifts
    every column by one. A header that does not start with these four names is an error naming
    the file."""
    with open_by_suffix(path) as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or tuple(header[:4]) != BLOCK_LOG_COLUMNS[:4]:
            raise ValueError(f"{path}: not a block log (expected a header starting "
                             f"{','.join(BLOCK_LOG_COLUMNS[:4])}, got {header})")
        out = []
        for line, r in enumerate(rows, start=2):
            try:
                out.append((float(r[0]), r[1], int(r[2]), int(r[3])))
            except (IndexError, ValueError):
                raise ValueError(f"{path}, line {line}: expected t_s, peer_ip, piece and block, got {r}") from None
        return out
