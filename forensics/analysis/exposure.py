"""Who received what from the subject: monitors, receiving peers, and files (from the run's tables).

A *monitoring peer* is modelled as an ordinary leecher that was downloading while the subject was
in the swarm: it joined before the subject left and had not completed when the subject joined.
Rights holders' monitors behave like such a leecher for as long as they download, so the share of
those leechers that received a whole piece (or a whole file) from the subject estimates the
probability that a monitor present in the swarm would have received one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.layout import Layout
from sim.results import distinct, unique_pairs

from ..rundir import RunData
from .stats import Stat, describe


@dataclass(frozen=True)
class MonitorExposure:
    present: np.ndarray  # per replication: leechers downloading while the subject was present
    got_block: np.ndarray  # ... of which received >= 1 block from the subject
    got_piece: np.ndarray  # ... >= 1 whole piece from the subject alone
    got_file: np.ndarray  # ... every piece of >= 1 file from the subject alone

    def pooled(self, which: str) -> float:
        """Share of all present leechers, over all replications (the probability estimate)."""
        total = int(self.present.sum())
        return float(getattr(self, which).sum() / total) if total else float("nan")

    def per_replication(self, which: str) -> Stat:
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(self.present > 0, getattr(self, which) / np.maximum(self.present, 1), np.nan)
        return describe(frac)

    def any_share(self, which: str) -> float:
        """Share of replications in which at least one present leecher got it."""
        return float(np.mean(getattr(self, which) > 0)) if len(self.present) else float("nan")


def _subject_interval(peers: dict, end_s: float) -> tuple[float, float]:
    subj = np.flatnonzero(peers["role"] == "subject")[0]
    leave = peers["leave_s"][subj]
    return float(peers["join_s"][subj]), float(end_s if np.isnan(leave) else leave)


def whole_pieces_by_peer(run: RunData, replication: int) -> tuple[np.ndarray, np.ndarray]:
    """(peer, piece) pairs that the subject delivered whole, alone (from the transfer log)."""
    return whole_pieces_of(run.table(replication, "transfer_log"), run.layout)


def whole_pieces_of(log: dict, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(peer, piece) pairs that the subject delivered whole, alone, from transfer-log columns."""
    if not len(log["peer"]):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    peer = np.asarray(log["peer"]).astype(np.int64)
    piece = np.asarray(log["piece"]).astype(np.int64)
    pairs, inverse = unique_pairs(peer, piece, layout.num_pieces)
    got = np.bincount(inverse, weights=log["bytes"], minlength=len(pairs))
    whole = got >= layout.piece_lengths()[pairs[:, 1]]
    return pairs[whole, 0], pairs[whole, 1]


def monitor_counts(peers: dict, log: dict, layout: Layout, end_s: float) -> tuple[int, int, int, int]:
    """One replication: leechers present while the subject was, and how many of them got >= 1 block,
    >= 1 whole piece, every piece of >= 1 file from the subject alone. ``peers["role"]`` holds role names."""
    first, last = layout.file_piece_ranges()
    need = last - first + 1
    P = layout.num_pieces
    s_join, s_leave = _subject_interval(peers, end_s)
    complete, leave = peers["complete_s"], peers["leave_s"]
    present = ((peers["role"] == "leecher") & (peers["join_s"] < s_leave)
               & (np.isnan(complete) | (complete > s_join)) & (np.isnan(leave) | (leave > s_join)))
    ids = np.flatnonzero(present)
    w_peer, w_piece = whole_pieces_of(log, layout)
    got_file = np.zeros(len(peers["role"]), bool)
    for p in distinct(w_peer):
        have = np.zeros(P + 1, np.int64)
        have[w_piece[w_peer == p]] = 1
        cs = np.concatenate(([0], np.cumsum(have[:P])))
        got_file[p] = bool(np.any((cs[last + 1] - cs[first] == need) & (need > 0)))  # not an empty file
    got_piece = np.zeros(len(peers["role"]), bool)
    got_piece[w_peer] = True
    return (len(ids), int(np.sum(peers["from_subject_bytes"][ids] > 0)), int(got_piece[ids].sum()),
            int(got_file[ids].sum()))


def monitor_exposure(run: RunData) -> MonitorExposure:
    out = {k: np.zeros(run.replications, np.int64) for k in ("present", "got_block", "got_piece", "got_file")}
    for i in range(run.replications):
        counts = monitor_counts(run.table(i, "peers"), run.table(i, "transfer_log"), run.layout,
                                float(run.results["end_s"][i]))
        for key, value in zip(("present", "got_block", "got_piece", "got_file"), counts):
            out[key][i] = value
    return MonitorExposure(**out)


@dataclass(frozen=True)
class Recipients:
    by_rank: np.ndarray  # [replications, max peers]: bytes from the subject, largest recipient first
    representative: int  # the replication whose total upload is nearest the median
    table: list[dict]  # that replication's receiving peers, largest first


def ranked_recipients(peers: dict[str, np.ndarray]) -> np.ndarray:
    """Bytes each other peer received from the subject in one replication, largest first."""
    got = peers["from_subject_bytes"][peers["role"] != "subject"]
    return np.sort(got)[::-1]


def recipients(run: RunData) -> Recipients:
    per_rep = [ranked_recipients(run.peers(i)) for i in range(run.replications)]
    width = max((len(x) for x in per_rep), default=0)
    by_rank = np.zeros((run.replications, width))
    for i, x in enumerate(per_rep):
        by_rank[i, : len(x)] = x
    total = run.results["subject_upload_total_bytes"]
    rep = int(np.argmin(np.abs(total - np.median(total))))
    peers = run.table(rep, "peers")
    order = np.argsort(-peers["from_subject_bytes"], kind="stable")
    table = [
        {"peer": int(peers["peer"][j]), "role": str(peers["role"][j]), "join_s": float(peers["join_s"][j]),
         "complete_s": float(peers["complete_s"][j]), "upload_bps": float(peers["upload_bps"][j]),
         "from_subject_bytes": float(peers["from_subject_bytes"][j])}
        for j in order if peers["from_subject_bytes"][j] > 0
    ]
    return Recipients(by_rank, rep, table)


def file_exposure(run: RunData) -> list[dict]:
    """Per file, over replications: bytes uploaded, pieces, and how often a complete copy went out."""
    n = run.replications
    first = run.table(0, "files")
    F = len(first["file"])
    up = np.zeros((n, F))
    touched = np.zeros((n, F))
    complete = np.zeros((n, F))
    copy = np.zeros((n, F), bool)
    for i in range(n):
        f = run.table(i, "files")
        up[i], touched[i], complete[i], copy[i] = f["bytes_uploaded"], f["pieces_touched"], f["pieces_complete"], f["complete_copy"]
    rows = []
    for j in range(F):
        rows.append({
            "file": int(first["file"][j]), "path": str(first["path"][j]), "size_bytes": float(first["size_bytes"][j]),
            "pieces": int(first["last_piece"][j] - first["first_piece"][j] + 1),
            "bytes_uploaded": describe(up[:, j]), "pieces_touched": describe(touched[:, j]),
            "pieces_complete": describe(complete[:, j]), "complete_copy_share": float(copy[:, j].mean()),
        })
    return rows
