"""The corpus's per-replication table: one row per torrent x replication, the subject's side only.

Written as ``per_replication.parquet`` (columnar, for corpora of hundreds of thousands of rows,
read with pandas) or ``per_replication.csv`` (the CSV format of ``tables``); ``read_table`` reads
either and checks the columns. Rows are in (torrent, replication) order whatever the workers.

A corpus replication stops once the subject has left its swarm (``corpus_run``): nothing later
can change the subject's numbers, so only the subject's side is kept here (not the swarm figures,
which would describe a swarm cut short).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from sim.layout import Layout
from sim.results import ROLE_NAMES, ReplicationResult

from . import atomic
from .analysis.exposure import monitor_counts
from .errors import UserError
from .tables import read_columns

PARQUET = "per_replication.parquet"
CSV = "per_replication.csv"
FORMATS = {"parquet": PARQUET, "csv": CSV}

# column -> numpy dtype; the first two identify the row (the torrent's name is in torrents.csv)
COLUMNS: dict[str, str] = {
    "torrent": "int64",                      # position in the corpus (torrents.csv order)
    "replication": "int64",
    "subject_upload_leech_bytes": "int64",   # before completion
    "subject_upload_seed_bytes": "int64",    # after completion
    "subject_upload_total_bytes": "int64",
    "subject_download_bytes": "int64",
    "subject_completed": "int64",
    "subject_join_s": "float64",             # when the subject added the torrent (its swarm's clock)
    "subject_download_time_s": "float64",    # NaN: did not complete
    "peers_received_block": "int64",         # peers served >= 1 block
    "peers_received_piece": "int64",         # ... >= 1 whole piece
    "complete_pieces_uploaded": "int64",
    "distinct_pieces_uploaded": "int64",
    "blocks_uploaded": "int64",
    "files_touched": "int64",                # works of which >= 1 byte went out
    "files_piece_complete": "int64",         # works of which >= 1 whole piece went to some peer
    "files_with_complete_copy": "int64",     # works some peer got entirely from the subject
    "monitors_present": "int64",             # leechers downloading while the subject was there
    "monitors_got_block": "int64",
    "monitors_got_piece": "int64",
    "monitors_got_file": "int64",
    "end_s": "float64",                      # when the replication stopped (the subject had left, or the end)
}

SUBJECT_HEADLINE = ("subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_upload_total_bytes",
                    "subject_download_bytes", "subject_completed", "subject_download_time_s", "peers_received_block",
                    "peers_received_piece", "complete_pieces_uploaded", "distinct_pieces_uploaded", "blocks_uploaded",
                    "files_with_complete_copy", "end_s")


def row_of(torrent: int, r: ReplicationResult, layout: Layout, subject_join_s: float) -> dict[str, float]:
    """One replication reduced to its row (done in the worker: only this travels back)."""
    h = r.headline
    row: dict[str, float] = {"torrent": torrent, "replication": r.replication, "subject_join_s": subject_join_s}
    row.update({k: h[k] for k in SUBJECT_HEADLINE})
    files = r.files
    row["files_touched"] = int(np.count_nonzero(files["bytes_uploaded"] > 0))
    row["files_piece_complete"] = int(np.count_nonzero(files["pieces_complete"] > 0))
    peers = dict(r.peers)
    peers["role"] = np.asarray([ROLE_NAMES[int(x)] for x in peers["role"]], dtype=object)
    counts = monitor_counts(peers, r.log.columns(), layout, float(h["end_s"]))
    for key, value in zip(("monitors_present", "monitors_got_block", "monitors_got_piece", "monitors_got_file"), counts):
        row[key] = value
    return row


def columns_of(rows: list[dict[str, float]]) -> dict[str, np.ndarray]:
    return {c: np.array([row[c] for row in rows], dtype=dt) for c, dt in COLUMNS.items()}


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {c: np.concatenate([p[c] for p in parts]) if parts else np.zeros(0, dt) for c, dt in COLUMNS.items()}


def write_table(root: Path, table: dict[str, np.ndarray], fmt: str) -> str:
    """Write the table into ``root`` atomically; the file's name."""
    name = FORMATS[fmt]
    if fmt == "csv":
        atomic.write_columns_csv(root / name, table, tuple(COLUMNS))
        return name
    import pandas as pd  # Parquet is written through pandas and pyarrow (dependencies of leechsim)
    buf = io.BytesIO()
    pd.DataFrame({c: table[c] for c in COLUMNS}).to_parquet(buf, engine="pyarrow", index=False, compression="zstd")
    atomic.write_bytes(root / name, buf.getvalue())  # temporary file + os.replace, like every run file
    return name


def read_table(root: Path) -> dict[str, np.ndarray]:
    """The per-replication table of a corpus run directory, from its Parquet or its CSV file."""
    root = Path(root)
    if (root / PARQUET).is_file():
        import pandas as pd
        try:
            df = pd.read_parquet(root / PARQUET, engine="pyarrow")
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise UserError(f"{root / PARQUET}: cannot be read as Parquet ({type(e).__name__}: {e})") from None
        table = {c: df[c].to_numpy() for c in df.columns}
        source = root / PARQUET
    elif (root / CSV).is_file():
        table = read_columns(root / CSV)
        source = root / CSV
    else:
        raise UserError(f"{root}: neither {PARQUET} nor {CSV}; not a corpus run directory of this leechsim version")
    missing = [c for c in COLUMNS if c not in table]
    if missing:
        raise UserError(f"{source}: columns {missing} missing; not a table this leechsim version wrote")
    return {c: np.asarray(table[c]).astype(dt) if dt == "float64" else np.asarray(table[c]) for c, dt in COLUMNS.items()}
