"""The result schema shared by the simulator and the lab, and the one place its numbers are computed.

Both producers hand ``summarize_replication`` the same raw evidence — the subject's transfer log
(time, receiving peer, piece, first block, blocks, bytes), its completion time, its cumulative
upload/download samples and a per-peer table — so every headline number, per-file exposure figure
and per-peer count means exactly the same thing whether it came from the model or from real
libtorrent sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layout import BLOCK_BYTES, Layout, overlap_per_file

SCHEMA_VERSION = 1

# Headline quantities, in report order. Bytes are integers; times in seconds (NaN: never happened).
HEADLINE_FIELDS: tuple[str, ...] = (
    "subject_upload_leech_bytes",
    "subject_upload_seed_bytes",
    "subject_upload_total_bytes",
    "subject_download_bytes",
    "subject_completed",
    "subject_download_time_s",
    "subject_ratio_at_completion",
    "subject_ratio_total",
    "subject_upload_leech_torrent_fraction",
    "peers_received_block",
    "peers_received_piece",
    "complete_pieces_uploaded",
    "distinct_pieces_uploaded",
    "blocks_uploaded",
    "files_with_complete_copy",
    "swarm_peers",
    "swarm_leechers_completed",
    "swarm_median_download_time_s",
    "swarm_upload_by_seeds_bytes",
    "swarm_upload_by_leechers_bytes",
    "end_s",
)

LOG_COLUMNS = ("t_s", "peer", "piece", "first_block", "blocks", "bytes")
PEER_COLUMNS = (
    "peer", "role", "join_s", "complete_s", "leave_s", "upload_bps", "download_bps",
    "connectable", "uploaded_bytes", "downloaded_bytes", "uploaded_at_completion_bytes", "from_subject_bytes",
)
FILE_COLUMNS = (
    "file", "path", "size_bytes", "first_piece", "last_piece", "bytes_uploaded",
    "pieces_touched", "pieces_complete", "complete_copy", "complete_copy_peers",
)
TIMESERIES_COLUMNS = ("t_s", "subject_uploaded_bytes", "subject_downloaded_bytes")

# connections.csv: one row per (sample, connection), from the local peer's side. The lab samples
# libtorrent's peer_info every 100 ms (forensics/lab/trace.py); the model writes the same columns
# at every quota tick, leaving empty what it does not model.
CONNECTION_COLUMNS = (
    "t_s", "local", "remote",
    "payload_up_bps", "payload_down_bps", "total_up_bytes", "total_down_bytes",
    "send_buffer_size", "used_send_buffer", "queue_bytes",
    "download_queue_length", "target_dl_queue_length", "upload_queue_length",
    "send_quota", "receive_quota", "read_state", "write_state",
    "choked", "interesting", "remote_choked", "remote_interested", "optimistic_unchoke", "snubbed", "endgame",
)
ROLE_SUBJECT, ROLE_SEED, ROLE_LEECHER = 0, 1, 2
ROLE_NAMES = {ROLE_SUBJECT: "subject", ROLE_SEED: "seed", ROLE_LEECHER: "leecher"}


@dataclass
class TransferLog:
    """Every upload by the subject: one row per (time, receiving peer, piece, contiguous blocks)."""

    t_s: np.ndarray
    peer: np.ndarray
    piece: np.ndarray
    first_block: np.ndarray
    blocks: np.ndarray
    bytes: np.ndarray

    @staticmethod
    def from_columns(t_s, peer, piece, first_block, blocks, nbytes) -> "TransferLog":
        return TransferLog(
            np.asarray(t_s, dtype=np.float64), np.asarray(peer, dtype=np.int64),
            np.asarray(piece, dtype=np.int64), np.asarray(first_block, dtype=np.int64),
            np.asarray(blocks, dtype=np.int64), np.asarray(nbytes, dtype=np.int64),
        )

    def columns(self) -> dict[str, np.ndarray]:
        return {c: getattr(self, c) for c in LOG_COLUMNS}

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass
class ReplicationResult:
    """One replication (simulated) or one run (lab), in the shared schema."""

    replication: int
    headline: dict[str, float]
    log: TransferLog
    files: dict[str, np.ndarray]
    peers: dict[str, np.ndarray]
    timeseries: dict[str, np.ndarray]
    extra: dict[str, object] = field(default_factory=dict)


# unique_pairs and distinct mark keys in a table, not sort them, up to this many keys (or 8 per row)
SMALL_KEY_RANGE = 1 << 20


def distinct(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` for non-negative integers: marked in a table of their range when it is small
    (SMALL_KEY_RANGE, or 8 per element), sorted otherwise."""
    x = np.asarray(x)
    if len(x) and x.dtype.kind in "iu" and x.min() >= 0 and int(x.max()) < max(SMALL_KEY_RANGE, 8 * len(x)):
        present = np.zeros(int(x.max()) + 1, dtype=bool)
        present[x] = True
        return np.flatnonzero(present).astype(x.dtype, copy=False)
    return np.unique(x)


def unique_pairs(a: np.ndarray, b: np.ndarray, b_bound: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(np.stack((a, b), axis=1), axis=0, return_inverse=True)`` (inverse flat): the
    distinct (a, b) rows, sorted, and each row's place among them. With 0 <= b < b_bound and a >= 0
    each row is one integer, a * b_bound + b, in the same order, and sorting those is several
    times faster than sorting rows (a replication's transfer log has thousands)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if len(a) and b_bound >= 1 and a.min() >= 0 and b.min() >= 0 and b.max() < b_bound \
            and a.max() < np.iinfo(np.int64).max // b_bound - 1:
        flat = a * b_bound + b
        n_keys = (int(a.max()) + 1) * b_bound
        if n_keys <= max(SMALL_KEY_RANGE, 8 * len(flat)):
            # the keys' range is small: mark them in a table of that range instead of sorting
            # them (linear; the same distinct keys, in order, and the same places)
            present = np.zeros(n_keys, dtype=bool)
            present[flat] = True
            keys = np.flatnonzero(present)
            inverse = (np.cumsum(present) - 1)[flat]
        else:
            keys, inverse = np.unique(flat, return_inverse=True)
        return np.stack((keys // b_bound, keys % b_bound), axis=1), inverse.ravel()
    rows, inverse = np.unique(np.stack((a, b), axis=1), axis=0, return_inverse=True)
    return rows, inverse.ravel()


def summarize_replication(
    replication: int,
    layout: Layout,
    log: TransferLog,
    subject_join_s: float,
    subject_complete_s: float,
    peers: dict[str, np.ndarray],
    timeseries: dict[str, np.ndarray],
    end_s: float,
) -> ReplicationResult:
    """Compute every reported quantity from the raw evidence; used by the simulator and the lab.

    ``peers`` holds one array per PEER_COLUMNS entry except ``from_subject_bytes`` (computed here),
    indexed by peer number: the subject is peer 0, then the initial seeds, then the leechers.
    ``timeseries`` holds the TIMESERIES_COLUMNS arrays. Times are seconds from the swarm's start.
    """
    piece_len = layout.piece_lengths()
    completed = not np.isnan(subject_complete_s)
    # A block stamped at the completion instant was sent while the subject was still leeching.
    leech_mask = log.t_s <= subject_complete_s if completed else np.ones(len(log), dtype=bool)
    up_leech = int(log.bytes[leech_mask].sum())
    up_seed = int(log.bytes[~leech_mask].sum())
    role = peers["role"]
    subj_rows = np.flatnonzero(role == ROLE_SUBJECT)
    subj_down = int(peers["downloaded_bytes"][subj_rows[0]]) if len(subj_rows) else 0

    # (peer, piece) pairs: bytes the subject sent of that piece to that peer.
    if len(log):
        uniq_pairs, inverse = unique_pairs(log.peer, log.piece, layout.num_pieces)
        pair_bytes = np.bincount(inverse, weights=log.bytes, minlength=len(uniq_pairs)).astype(np.int64)
        pair_complete = pair_bytes >= piece_len[uniq_pairs[:, 1]]
    else:
        uniq_pairs = np.zeros((0, 2), dtype=np.int64)
        pair_complete = np.zeros(0, dtype=bool)
    peers_block = len(distinct(log.peer))
    peers_piece = len(np.unique(uniq_pairs[pair_complete, 0]))

    files = _file_exposure(layout, log, uniq_pairs, pair_complete)
    peers = dict(peers)
    if "uploaded_at_completion_bytes" not in peers:  # optional for producers that cannot tell
        peers["uploaded_at_completion_bytes"] = np.full(len(peers["role"]), np.nan)
    peers["from_subject_bytes"] = np.bincount(log.peer, weights=log.bytes, minlength=len(peers["role"])).astype(np.int64)

    complete_s = peers["complete_s"]
    leech_rows = role == ROLE_LEECHER
    leech_done = leech_rows & ~np.isnan(complete_s)
    dl_times = complete_s[leech_done] - peers["join_s"][leech_done]
    up = peers["uploaded_bytes"]
    headline = {
        "subject_upload_leech_bytes": up_leech,
        "subject_upload_seed_bytes": up_seed,
        "subject_upload_total_bytes": up_leech + up_seed,
        "subject_download_bytes": subj_down,
        "subject_completed": int(completed),
        "subject_download_time_s": float(subject_complete_s - subject_join_s) if completed else float("nan"),
        "subject_ratio_at_completion": up_leech / layout.total_bytes if completed else float("nan"),
        "subject_ratio_total": (up_leech + up_seed) / subj_down if subj_down else float("nan"),
        "subject_upload_leech_torrent_fraction": up_leech / layout.total_bytes,
        "peers_received_block": int(peers_block),
        "peers_received_piece": int(peers_piece),
        "complete_pieces_uploaded": int(pair_complete.sum()),
        "distinct_pieces_uploaded": int(len(distinct(log.piece))),
        "blocks_uploaded": int(log.blocks.sum()),
        "files_with_complete_copy": int(files["complete_copy"].sum()),
        "swarm_peers": int(len(role)),
        "swarm_leechers_completed": int(leech_done.sum()),
        "swarm_median_download_time_s": float(np.median(dl_times)) if len(dl_times) else float("nan"),
        "swarm_upload_by_seeds_bytes": int(up[role == ROLE_SEED].sum()),
        "swarm_upload_by_leechers_bytes": int(up[role != ROLE_SEED].sum()),
        "end_s": float(end_s),
    }
    assert tuple(headline) == HEADLINE_FIELDS
    return ReplicationResult(replication, headline, log, files, peers, timeseries)


def _file_exposure(layout: Layout, log: TransferLog, pairs: np.ndarray, pair_complete: np.ndarray) -> dict[str, np.ndarray]:
    offsets = layout.file_offsets()
    starts = log.piece * layout.piece_bytes + log.first_block * BLOCK_BYTES
    ends = np.minimum(starts + log.blocks * BLOCK_BYTES, (log.piece + 1) * layout.piece_bytes)
    ends = np.minimum(ends, layout.total_bytes)
    bytes_per_file = overlap_per_file(starts, ends, offsets)
    first, last = layout.file_piece_ranges()
    P = layout.num_pieces

    touched = np.zeros(P + 1, dtype=np.int64)
    touched[distinct(log.piece)] = 1
    touched_cs = np.concatenate(([0], np.cumsum(touched[:P])))
    done_any = np.zeros(P, dtype=np.int64)
    done_any[distinct(pairs[pair_complete, 1])] = 1
    done_cs = np.concatenate(([0], np.cumsum(done_any)))

    copy_peers = np.zeros(layout.num_files, dtype=np.int64)
    need = last - first + 1
    for peer in distinct(pairs[pair_complete, 0]):
        got = np.zeros(P, dtype=np.int64)
        got[pairs[pair_complete & (pairs[:, 0] == peer), 1]] = 1
        cs = np.concatenate(([0], np.cumsum(got)))
        copy_peers += ((cs[last + 1] - cs[first]) == need) & (need > 0)  # nobody copies an empty file
    return {
        "file": np.arange(layout.num_files, dtype=np.int64),
        "path": np.asarray(layout.file_paths, dtype=object),
        "size_bytes": layout.file_bytes.copy(),
        "first_piece": first,
        "last_piece": last,
        "bytes_uploaded": bytes_per_file,
        "pieces_touched": touched_cs[last + 1] - touched_cs[first],
        "pieces_complete": done_cs[last + 1] - done_cs[first],
        "complete_copy": copy_peers > 0,
        "complete_copy_peers": copy_peers,
    }


def aggregate(results: list[ReplicationResult]) -> dict[str, dict[str, float]]:
    """Median, mean, 5th and 95th percentile of every headline quantity over replications.

    NaN (an event that did not happen in a replication, e.g. no completion) is left out of the
    statistics of that quantity; ``n`` says how many replications each statistic rests on.
    """
    out: dict[str, dict[str, float]] = {}
    for key in HEADLINE_FIELDS:
        vals = np.array([r.headline[key] for r in results], dtype=np.float64)
        ok = vals[~np.isnan(vals)]
        if len(ok):
            p5, med, p95 = np.percentile(ok, [5, 50, 95])
            out[key] = {"n": int(len(ok)), "median": float(med), "mean": float(ok.mean()),
                        "p5": float(p5), "p95": float(p95), "min": float(ok.min()), "max": float(ok.max())}
        else:
            out[key] = {"n": 0, "median": float("nan"), "mean": float("nan"), "p5": float("nan"),
                        "p95": float("nan"), "min": float("nan"), "max": float("nan")}
    return out
