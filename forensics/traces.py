"""Finding and opening a replication's connection trace, ``replications/NNNN/connections.csv``.

A traced run writes the table uncompressed (``forensics/rundir.py``, ``lab/trace.py``); the recorded
validation matrix keeps it gzip-compressed (``connections.csv.gz``, ``calibration.compress_file``),
and a recording whose table would pass the repository's 5 MiB file limit even as gzip keeps it
xz-compressed (``connections.csv.xz``: the hold-out h13-default-scenario). Every reader of the table
finds it with ``connections_file``, so each of the three forms works everywhere.

Standard library only: cheap to import from the validation scripts and the lab's processes.
"""

from __future__ import annotations

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
