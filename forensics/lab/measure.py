"""From the peers' raw files to a ``ReplicationResult`` in the simulator's schema.

The subject's transfer log is built from ``block_uploaded_alert``s, one row per block. The alert
fires when the block is placed in a send buffer, and a block still buffered when a connection
closes was never sent, so the log is cut to each connection's payload counter (sent.py); the
cross-checks in ``extra["subject_check"]`` show how much was cut.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from sim.layout import BLOCK_BYTES, Layout
from sim.population import SUBJECT_ROW
from sim.results import PEER_COLUMNS, ROLE_SEED, ReplicationResult, TransferLog, summarize_replication

from .plan import RunPlan
from .sent import SENT_FILE, cut_log, read_sent_file


def _nan(x) -> float:
    return math.nan if x is None else float(x)


def read_peer(raw_dir: Path, i: int) -> dict:
    return json.loads((raw_dir / f"peer-{i:04d}.json").read_text())


def read_samples(raw_dir: Path, i: int) -> np.ndarray:
    with open(raw_dir / f"peer-{i:04d}-samples.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    return np.array([[float(r[0]), int(r[1]), int(r[2])] for r in rows], dtype=np.float64).reshape(-1, 3)


def subject_log(raw_dir: Path, plan: RunPlan, layout: Layout) -> tuple[TransferLog, int, list]:
    """The subject's per-block log of blocks queued for sending; also the count of blocks queued
    for an unknown address, and each row's connection (address, port; address alone in raw logs
    without the port)."""
    ip_index = {p.ip: p.index for p in plan.peers} | {p.out_ip: p.index for p in plan.peers}
    piece_len = layout.piece_lengths()
    t, peer, piece, block, nbytes, conn = [], [], [], [], [], []
    unknown = 0
    with open(raw_dir / "subject-blocks.csv", newline="") as f:
        for row in list(csv.reader(f))[1:]:
            idx = ip_index.get(row[1])
            if idx is None:
                unknown += 1
                continue
            pc, bk = int(row[2]), int(row[3])
            t.append(float(row[0]))
            peer.append(idx)
            piece.append(pc)
            block.append(bk)
            nbytes.append(int(min(BLOCK_BYTES, piece_len[pc] - bk * BLOCK_BYTES)))
            conn.append((row[1], int(row[4])) if len(row) > 4 else row[1])
    order = np.argsort(np.asarray(t, dtype=np.float64), kind="stable")
    cols = [np.asarray(c)[order] if len(c) else c for c in (t, peer, piece, block)]
    n = np.asarray(nbytes, dtype=np.int64)[order] if nbytes else nbytes
    log = TransferLog.from_columns(cols[0], cols[1], cols[2], cols[3], np.ones(len(t), dtype=np.int64), n)
    return log, unknown, [conn[i] for i in order]


def sent_log(raw_dir: Path, log: TransferLog, conn: list, counter_bytes: int) -> tuple[TransferLog, dict]:
    """The queued-block log cut to what each connection sent (sent.py), and what was cut."""
    path = raw_dir / SENT_FILE
    queued = int(log.bytes.sum())
    if not path.is_file():  # a raw directory from before the subject read its connections
        return log, {"cut_to_sent": False, "log_bytes_queued": queued}
    sent, last, unread = read_sent_file(path)
    cut, dropped = cut_log(log, conn, sent, last, counter_bytes, unread)
    return cut, {"cut_to_sent": True, "log_bytes_queued": queued, "blocks_queued_never_sent": dropped}


def _pause_lag(rec: dict) -> float | None:
    lag = _nan(rec.get("paused_s")) - _nan(rec["leave_s"])
    return None if math.isnan(lag) else round(lag, 6)


def _in_flight_bounds(recs: list[dict]) -> dict:
    """What the difference of uploads and downloads may be without a byte lost: every peer's totals
    are read once at its end (its pause, or the run's end), and a block written to a socket counts
    as sent at once but as received only when read. So the difference lies between minus what was
    requested of the peers at their last reads (sent after a receiver read its totals) and what the
    peers had requested of others then (in the transport when a receiver paused). None for raw files
    written before the lab recorded it (``in_flight_at_last_read``, forensics/lab/peer.py)."""
    reads = [r.get("in_flight_at_last_read") for r in recs]
    if any(x is None for x in reads):
        return {"max_in_flight_to_readers_bytes": None, "max_in_flight_from_readers_bytes": None}
    return {"max_in_flight_to_readers_bytes": sum(x["requested_of_others_bytes"] for x in reads),
            "max_in_flight_from_readers_bytes": sum(x["requested_of_it_bytes"] for x in reads)}


def collect_replication(plan: RunPlan, layout: Layout, raw_dir: Path, end_s: float) -> ReplicationResult:
    pop = plan.population
    recs = [read_peer(raw_dir, p.index) for p in plan.peers]
    role = pop.role.astype(np.int64)
    complete = np.array([_nan(r["complete_s"]) for r in recs])
    complete[role == ROLE_SEED] = math.nan  # an initial seed never completes a download
    peers = {
        "peer": np.arange(len(recs), dtype=np.int64),
        "role": role,
        "join_s": np.array([_nan(r["join_s"]) for r in recs]),
        "complete_s": complete,
        "leave_s": np.array([_nan(r["leave_s"]) for r in recs]),
        "upload_bps": pop.up_bps.copy(),
        "download_bps": pop.down_bps.copy(),
        "connectable": pop.connectable.copy(),
        "uploaded_bytes": np.array([int(r["uploaded_bytes"]) for r in recs], dtype=np.int64),
        "downloaded_bytes": np.array([int(r["downloaded_bytes"]) for r in recs], dtype=np.int64),
    }
    if "uploaded_at_completion_bytes" in PEER_COLUMNS:
        peers["uploaded_at_completion_bytes"] = np.array(
            [_nan(r["uploaded_at_complete_bytes"]) for r in recs], dtype=np.float64)
    log, unknown, conn = subject_log(raw_dir, plan, layout)
    log, cut_note = sent_log(raw_dir, log, conn, int(peers["uploaded_bytes"][SUBJECT_ROW]))
    s = read_samples(raw_dir, SUBJECT_ROW)
    timeseries = {"t_s": s[:, 0], "subject_uploaded_bytes": s[:, 1].astype(np.int64),
                  "subject_downloaded_bytes": s[:, 2].astype(np.int64)}
    subj = recs[SUBJECT_ROW]
    result = summarize_replication(plan.replication, layout, log, float(peers["join_s"][SUBJECT_ROW]),
                                   float(complete[SUBJECT_ROW]), peers, timeseries, float(end_s))
    up, down = int(peers["uploaded_bytes"].sum()), int(peers["downloaded_bytes"].sum())
    result.extra.update({
        "conservation": {"uploaded_bytes": up, "downloaded_bytes": down, "difference_bytes": up - down,
                         **_in_flight_bounds(recs)},
        "subject_check": {
            "status_uploaded_bytes": int(subj["uploaded_bytes"]),
            "status_uploaded_at_complete_bytes": subj["uploaded_at_complete_bytes"],
            "log_bytes": int(log.bytes.sum()),
            "blocks_to_unknown_address": unknown,
            # how long after the application's pause libtorrent's network thread acted on it
            # (torrent_paused_alert; None: the subject never left, or a raw file from before it was kept)
            "pause_took_effect_after_s": _pause_lag(subj),
            **cut_note,
        },
        "incoming_connections": {str(r["index"]): sum(r["incoming_connections"].values()) for r in recs},
        "max_sample_gap_s": max((r["max_sample_gap_s"] or 0.0) for r in recs),
        "peer_cpu_s": {str(r["index"]): round(r.get("cpu_user_s", 0.0) + r.get("cpu_system_s", 0.0), 3) for r in recs},
        "connection_trace": {str(r["index"]): r["connection_trace"] for r in recs if r.get("connection_trace")},
        "clocks": sorted({r["clock"] for r in recs}),
        "tracker_errors": {str(r["index"]): r["tracker_errors"] for r in recs if r["tracker_errors"]},
    })
    return result
