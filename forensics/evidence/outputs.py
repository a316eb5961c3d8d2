"""Capture evidence on disk: the simulator's ``transfer_log.csv`` plus what only a capture knows.

Written into one directory (staged as ``<out>.incomplete`` and renamed when complete):

- ``transfer_log.csv`` — the shared schema (sim/results.py): one row per block the subject sent,
  t_s from ``t0``, peer = the number in ``peers.csv`` (0 is the subject), piece, first_block,
  blocks = 1, bytes;
- ``peers.csv`` — per remote peer: address, peer ids, client, transports, payload bytes and blocks
  sent and received by the subject, whole pieces sent, first and last transfer times, streams
  that could not be read and why, and the content check of the blocks sent;
- ``blocks.csv`` — every block sent with its transport, byte offset and content check;
- ``received_blocks.csv`` — every block the subject received (t_s, peer, address, piece, begin, length);
- with ``--torrent``, ``files.csv`` — per-file exposure computed from that transfer log by the
  simulator's own ``summarize_replication`` (bytes, pieces touched and complete, whole copies), and
  its exposure figures in ``evidence.json`` → ``exposure``;
- ``evidence.json`` — provenance (command, tool version, UTC time, capture SHA-256), the capture's
  packet counts and everything the reader could not use, stream counts by kind, totals.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

from sim.layout import BLOCK_BYTES
from sim.results import FILE_COLUMNS, LOG_COLUMNS, ROLE_LEECHER, ROLE_SUBJECT, TransferLog, summarize_replication

from .. import __version__, atomic
from ..errors import UserError
from ..provenance import sha256_file, utc_now
from .pcap import MISMATCH, NOT_CAPTURED, PIECE_INCOMPLETE, VERIFIED, CaptureEvidence, PeerEvidence

EVIDENCE_VERSION = 1
PEER_EVIDENCE_COLUMNS = (
    "peer", "address", "peer_ids", "clients", "transports", "sent_bytes", "sent_blocks", "sent_distinct_pieces",
    "sent_whole_pieces", "received_bytes", "received_blocks", "first_sent_s", "last_sent_s",
    "first_transfer_s", "last_transfer_s", "cut_off_blocks", "cut_off_bytes", "encrypted_streams",
    "mid_stream_streams", "unreadable_sent_bytes", "unreadable_received_bytes", "unframed_streams", "blocks_verified", "blocks_hash_mismatch",
    "blocks_piece_incomplete", "blocks_not_fully_captured",
)
BLOCK_COLUMNS = ("t_s", "peer", "address", "transport", "piece", "begin", "length", "content")


def peer_order(ev: CaptureEvidence) -> list[PeerEvidence]:
    return [ev.peers[a] for a in sorted(ev.peers, key=ipaddress.ip_address)]


def cut_off_blocks(ev: CaptureEvidence, address: str) -> list[tuple[int, int, int, int]]:
    """Piece messages the subject had begun sending to ``address`` when the connection ended."""
    return [w.partial_block for w in ev.streams
            if w.partial_block is not None and w.stream.dst == address
            and any(s.matches(w.stream.src, w.stream.sport) for s in ev.subjects)]


def whole_pieces(ev: CaptureEvidence, p: PeerEvidence) -> int | None:
    if ev.torrent is None:
        return None
    got: dict[int, list[tuple[int, int]]] = {}
    for b in p.sent:
        got.setdefault(b.piece, []).append((b.begin, b.begin + b.length))
    n = 0
    for piece, spans in got.items():
        covered = 0
        for a, e in sorted(spans):
            if a > covered:
                break
            covered = max(covered, e)
        n += covered >= ev.torrent.piece_length(piece)
    return n


def _t(x: float | None, t0: float) -> float | None:
    return None if x is None else round(x - t0, 6)


def peer_rows(ev: CaptureEvidence, t0: float) -> list[dict]:
    rows = []
    for i, p in enumerate(peer_order(ev), start=1):
        content = Counter(b.content for b in p.sent)
        sent_t = [b.t for b in p.sent]
        times = sent_t + [t for t in (p.first_received_t, p.last_received_t) if t is not None]
        cut = cut_off_blocks(ev, p.address)
        rows.append({
            "peer": i, "address": p.address,
            "peer_ids": " ".join(sorted(x.decode("latin-1") for x in p.peer_ids)),
            "clients": " ".join(sorted(p.clients)),
            "transports": " ".join(f"{k}:{v}" for k, v in sorted(p.transports.items())),
            "sent_bytes": p.sent_bytes, "sent_blocks": len(p.sent),
            "sent_distinct_pieces": len({b.piece for b in p.sent}),
            "sent_whole_pieces": whole_pieces(ev, p),
            "received_bytes": p.received_bytes, "received_blocks": p.received_blocks,
            "first_sent_s": _t(min(sent_t, default=None), t0), "last_sent_s": _t(max(sent_t, default=None), t0),
            "first_transfer_s": _t(min(times, default=None), t0), "last_transfer_s": _t(max(times, default=None), t0),
            "cut_off_blocks": len(cut), "cut_off_bytes": sum(c[3] for c in cut),
            "encrypted_streams": p.unreadable["encrypted"], "mid_stream_streams": p.unreadable["mid_stream"],
            "unreadable_sent_bytes": p.unreadable_sent_bytes, "unreadable_received_bytes": p.unreadable_received_bytes,
            "unframed_streams": p.incomplete_streams,
            "blocks_verified": content[VERIFIED] if ev.torrent else None,
            "blocks_hash_mismatch": content[MISMATCH] if ev.torrent else None,
            "blocks_piece_incomplete": content[PIECE_INCOMPLETE] if ev.torrent else None,
            "blocks_not_fully_captured": content[NOT_CAPTURED],
        })
    return rows


def summary(ev: CaptureEvidence, t0: float) -> dict:
    st = ev.stats
    kinds = Counter((w.kind, w.stream.transport) for w in ev.streams)
    bt = [w for w in ev.streams if w.kind == "bittorrent"]
    sent = [b for p in ev.peers.values() for b in p.sent]
    return {
        "subjects": [str(s) for s in ev.subjects],
        "t0_unix": t0,
        "torrent_info_hash": ev.torrent.info_hash.hex() if ev.torrent else None,
        "info_hashes_seen": sorted({w.info_hash.hex() for w in bt}),
        "subject_peer_ids": sorted({w.peer_id.decode("latin-1") for w in bt
                                    if any(x.matches(w.stream.src, w.stream.sport) for x in ev.subjects)}),
        "capture": {
            "packets": st.records, "tcp_packets": st.tcp_packets, "udp_packets": st.udp_packets,
            "other_packets": st.other_packets, "ip_fragments_not_read": st.ip_fragments,
            "undecodable_packets": st.undecodable_packets,
            "packets_cut_by_snaplen": st.snaplen_cut_packets, "bytes_cut_by_snaplen": st.snaplen_cut_bytes,
            "first_packet_unix": st.first_ts, "last_packet_unix": st.last_ts,
            "truncated_file_read_to_record": st.truncated_at_record if ev.truncated else None,
        },
        "streams": {f"{k}_{t}": n for (k, t), n in sorted(kinds.items())},
        "streams_of_other_torrents": ev.other_torrent_streams,
        "gaps": {
            "retransmitted_packets": sum(w.stream.retransmitted_packets for w in ev.streams),
            "retransmitted_bytes": sum(w.stream.retransmitted_bytes for w in ev.streams),
            "streams_with_holes": sum(1 for w in ev.streams if w.stream.holes),
            "hole_bytes": sum(w.stream.hole_bytes for w in ev.streams),
            "streams_unframed": sum(1 for w in bt if w.framing_lost_at is not None),
            "unread_bytes": sum(w.unread_bytes for w in bt),
            "notes": [n for w in ev.streams for n in w.stream.notes][:50],
        },
        "sent": {
            "bytes": sum(b.length for b in sent), "blocks": len(sent),
            "peers_received_block": sum(1 for p in ev.peers.values() if p.sent),
            "content": dict(Counter(b.content for b in sent)),
        },
        "received": {"bytes": sum(p.received_bytes for p in ev.peers.values()),
                     "blocks": sum(p.received_blocks for p in ev.peers.values())},
    }


# The headline quantities a capture alone determines (no completion time, no swarm-wide counters).
EXPOSURE_FIELDS = ("subject_upload_total_bytes", "peers_received_block", "peers_received_piece",
                   "complete_pieces_uploaded", "distinct_pieces_uploaded", "blocks_uploaded", "files_with_complete_copy")


def exposure(ev: CaptureEvidence, log: TransferLog) -> tuple[dict, dict]:
    """Per-file exposure and the capture-determined headline figures, by the shared code."""
    n = len(ev.peers) + 1
    nan = np.full(n, np.nan)
    zero = np.zeros(n, dtype=np.int64)
    peers = {"peer": np.arange(n), "role": np.array([ROLE_SUBJECT] + [ROLE_LEECHER] * (n - 1)),
             "join_s": nan, "complete_s": nan, "leave_s": nan, "upload_bps": zero, "download_bps": zero,
             "connectable": np.ones(n, dtype=bool), "uploaded_bytes": zero, "downloaded_bytes": zero}
    r = summarize_replication(0, ev.torrent.layout(), log, np.nan, np.nan, peers, {}, np.nan)
    return {k: r.headline[k] for k in EXPOSURE_FIELDS}, r.files


def write_evidence(ev: CaptureEvidence, out: Path, t0: float, command: list[str], force: bool = False) -> Path:
    out = Path(out)
    if out.exists() and not force:
        raise UserError(f"{out}: already exists; choose another --out or pass --force")
    stage = out.with_name(out.name + ".incomplete")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    order = {p.address: i for i, p in enumerate(peer_order(ev), start=1)}
    blocks = ev.sent_blocks
    log = TransferLog.from_columns([round(b.t - t0, 6) for b in blocks], [order[b.remote] for b in blocks],
                                   [b.piece for b in blocks], [b.begin // BLOCK_BYTES for b in blocks],
                                   np.ones(len(blocks), dtype=np.int64), [b.length for b in blocks])
    atomic.write_columns_csv(stage / "transfer_log.csv", log.columns(), LOG_COLUMNS)
    exposure_figures = None
    if ev.torrent is not None:
        exposure_figures, files = exposure(ev, log)
        atomic.write_columns_csv(stage / "files.csv", files, FILE_COLUMNS)
    atomic.write_csv(stage / "blocks.csv", BLOCK_COLUMNS, (
        (round(b.t - t0, 6), order[b.remote], b.remote, b.transport, b.piece, b.begin, b.length, b.content)
        for b in blocks))
    received = sorted(((t, p.address, pc, b, n) for p in ev.peers.values() for t, pc, b, n in p.received),
                      key=lambda r: r[0])  # stable: stream order within one packet
    atomic.write_csv(stage / "received_blocks.csv", ("t_s", "peer", "address", "piece", "begin", "length"), (
        (round(t - t0, 6), order[a], a, pc, b, n) for t, a, pc, b, n in received))
    rows = peer_rows(ev, t0)
    atomic.write_csv(stage / "peers.csv", PEER_EVIDENCE_COLUMNS, (
        ["" if r[c] is None else r[c] for c in PEER_EVIDENCE_COLUMNS] for r in rows))
    atomic.write_json(stage / "evidence.json", {
        "evidence_version": EVIDENCE_VERSION, "kind": "pcap", "tool": f"leechsim {__version__}",
        "command": command, "created_utc": utc_now(),
        "capture_file": str(ev.capture), "capture_sha256": sha256_file(ev.capture),
        "capture_bytes": ev.capture.stat().st_size,
        **summary(ev, t0),
        "unaligned_blocks": sum(1 for b in blocks if b.begin % BLOCK_BYTES),
        "exposure": exposure_figures,
    })
    if out.exists():
        shutil.rmtree(out)
    stage.rename(out)
    return out
