"""What a subject sent and received, per remote peer, measured from a packet capture.

``read_capture`` runs the layers in order — capture file (dpkt), TCP/uTP reassembly, BitTorrent
wire protocol — for the streams to and from the subject's address(es), and gathers per remote
peer: payload bytes and blocks sent and received, whole pieces sent, first and last transfer
time, and everything it could not read (encrypted streams, streams that began before the capture,
holes, retransmissions, framing lost). ``verify_content`` then checks, with the torrent's piece
hashes, that each block the subject sent carried the content (checked once every byte of its
piece is in the capture, from any stream).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from .capture_file import TCP, CaptureStats, CaptureTruncated, read_packets
from .reassembly import Reassembler
from .torrent import TorrentMeta
from .wire import WireStream, parse

# content check of one sent block
VERIFIED, MISMATCH, PIECE_INCOMPLETE, NOT_CAPTURED, NO_TORRENT = (
    "verified", "hash_mismatch", "piece_incomplete_in_capture", "block_not_fully_captured", "no_torrent")


@dataclass(frozen=True)
class SubjectAddress:
    ip: str
    port: int | None = None

    @staticmethod
    def parse(text: str) -> "SubjectAddress":
        t = text.strip()
        port = None
        if t.startswith("["):  # [IPv6]:port
            host, _, rest = t[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
            t = host
        elif t.count(":") == 1:
            t, p = t.split(":")
            if not p.isdigit() or not 0 < int(p) < 65536:
                raise UserError(f"--subject {text}: the port must be a number from 1 to 65535")
            port = int(p)
        import ipaddress
        try:
            ip = str(ipaddress.ip_address(t))
        except ValueError:
            raise UserError(f"--subject {text}: not an IP address (ADDRESS or ADDRESS:PORT)") from None
        return SubjectAddress(ip, port)

    def matches(self, ip: str, port: int) -> bool:
        return ip == self.ip and (self.port is None or port == self.port)

    def __str__(self) -> str:
        return self.ip if self.port is None else f"{self.ip}:{self.port}"


@dataclass
class SentBlock:
    t: float
    remote: str
    transport: str
    piece: int
    begin: int
    length: int
    data: memoryview | None
    content: str = NO_TORRENT


@dataclass
class PeerEvidence:
    address: str
    peer_ids: set = field(default_factory=set)
    clients: set = field(default_factory=set)
    info_hashes: set = field(default_factory=set)
    transports: Counter = field(default_factory=Counter)  # readable BitTorrent streams by transport
    sent: list[SentBlock] = field(default_factory=list)
    received: list[tuple[float, int, int, int]] = field(default_factory=list)  # (t, piece, begin, length)
    received_bytes: int = 0
    received_blocks: int = 0
    first_received_t: float | None = None
    last_received_t: float | None = None
    unreadable: Counter = field(default_factory=Counter)  # encrypted / mid_stream / not_bittorrent streams
    unreadable_sent_bytes: int = 0  # stream bytes of those streams, protocol and encryption included
    unreadable_received_bytes: int = 0
    incomplete_streams: int = 0  # framing lost (holes) in a BitTorrent stream

    @property
    def sent_bytes(self) -> int:
        return sum(b.length for b in self.sent)


@dataclass
class CaptureEvidence:
    capture: Path
    subjects: tuple[SubjectAddress, ...]
    stats: CaptureStats
    peers: dict[str, PeerEvidence]
    streams: list[WireStream]  # every stream to or from the subject, read or not
    other_torrent_streams: int = 0
    torrent: TorrentMeta | None = None
    truncated: bool = False

    @property
    def sent_blocks(self) -> list[SentBlock]:
        # stable on time alone: blocks that ended in the same packet keep their order in the stream
        return sorted((b for p in self.peers.values() for b in p.sent), key=lambda b: b.t)


def read_capture(path: Path, subjects: list[SubjectAddress], torrent: TorrentMeta | None = None,
                 accept_truncated: bool = False) -> CaptureEvidence:
    path = Path(path)
    stats = CaptureStats()
    subject_ips = {s.ip for s in subjects}
    kept_packets = 0
    re = Reassembler()

    def keep(src: str, dst: str) -> bool:
        return src in subject_ips or dst in subject_ips

    tcp, udp = re.tcp_packet, re.udp_packet
    for ts, src, sport, dst, dport, proto, seq, flags, payload, missing in read_packets(path, stats, keep):
        kept_packets += 1
        if proto == TCP:
            tcp(ts, src, sport, dst, dport, seq, flags, payload, missing)
        else:
            udp(ts, src, sport, dst, dport, payload, missing)
    if stats.truncated_at_record is not None and not accept_truncated:
        raise CaptureTruncated(
            f"{path}: the capture is truncated: it ends inside record {stats.truncated_at_record + 1} "
            f"(after {stats.records} whole packets); pass --accept-truncated to read the whole packets before the cut")
    if stats.records == 0:
        raise UserError(f"{path}: the capture holds no packets")
    if not kept_packets:
        raise UserError(f"subject {', '.join(map(str, subjects))} does not appear in {path}: no TCP or UDP "
                        f"packet from or to it among {stats.records} packets ({stats.tcp_packets} TCP, "
                        f"{stats.udp_packets} UDP)")
    ev = CaptureEvidence(path, tuple(subjects), stats, {}, [], torrent=torrent,
                         truncated=stats.truncated_at_record is not None)
    for s in re.streams():
        src_is = any(x.matches(s.src, s.sport) for x in subjects)
        dst_is = any(x.matches(s.dst, s.dport) for x in subjects)
        if src_is == dst_is:
            continue  # not the subject's (another port of its address), or the subject talking to itself
        w = parse(s)
        remote = s.dst if src_is else s.src
        if w.kind == "not_bittorrent":  # a tracker, a web page: counted in the summary, not a peer
            ev.streams.append(w)
            continue
        peer = ev.peers.setdefault(remote, PeerEvidence(remote))
        if w.kind != "bittorrent":
            ev.streams.append(w)
            peer.unreadable[w.kind] += 1
            if src_is:
                peer.unreadable_sent_bytes += len(s.data)
            else:
                peer.unreadable_received_bytes += len(s.data)
            continue
        if torrent is not None and w.info_hash != torrent.info_hash:
            ev.other_torrent_streams += 1
            continue
        ev.streams.append(w)
        peer.info_hashes.add(w.info_hash.hex())
        peer.transports[s.transport] += 1
        if w.framing_lost_at is not None:
            peer.incomplete_streams += 1
        if src_is:
            peer.sent.extend(SentBlock(b.t, remote, s.transport, b.piece, b.begin, b.length, b.data) for b in w.blocks)
        else:
            peer.peer_ids.add(w.peer_id)
            if w.client:
                peer.clients.add(w.client)
            peer.received.extend((b.t, b.piece, b.begin, b.length) for b in w.blocks)
            peer.received_blocks += len(w.blocks)
            peer.received_bytes += sum(b.length for b in w.blocks)
            if w.blocks:
                t0, t1 = min(b.t for b in w.blocks), max(b.t for b in w.blocks)
                peer.first_received_t = t0 if peer.first_received_t is None else min(t0, peer.first_received_t)
                peer.last_received_t = t1 if peer.last_received_t is None else max(t1, peer.last_received_t)
    readable = [w for w in ev.streams if w.kind == "bittorrent"]
    encrypted = [w for w in ev.streams if w.kind == "encrypted"]
    if not readable and not encrypted:
        kinds = Counter(w.kind for w in ev.streams)
        raise UserError(f"no BitTorrent traffic to or from {', '.join(map(str, subjects))} in {path} "
                        f"({sum(kinds.values())} other streams: {dict(kinds) or 'none'}"
                        + (f"; {ev.other_torrent_streams} BitTorrent streams of other torrents" if ev.other_torrent_streams else "")
                        + ")")
    for p in list(ev.peers):
        if not ev.peers[p].transports and not ev.peers[p].unreadable:
            del ev.peers[p]
    if torrent is not None:
        verify_content(ev, torrent)
    return ev


def verify_content(ev: CaptureEvidence, torrent: TorrentMeta) -> None:
    """Mark every sent block verified, hash_mismatch, piece_incomplete_in_capture or
    block_not_fully_captured. A piece is assembled from the first captured copy of each block,
    whichever direction carried it; once every byte is there, it is hashed."""
    copies: dict[int, dict[int, memoryview]] = defaultdict(dict)
    for w in ev.streams:
        for b in w.blocks:
            if b.data is not None and b.piece < len(torrent.piece_hashes):
                copies[b.piece].setdefault(b.begin, b.data)
    good: dict[int, bytes] = {}
    bad: set[int] = set()
    for piece, blocks in copies.items():
        length = torrent.piece_length(piece)
        buf = bytearray(length)
        covered = 0
        for begin in sorted(blocks):
            d = blocks[begin]
            if begin < covered or begin + len(d) > length:
                continue  # overlapping or out of range: the rest decides
            buf[begin:begin + len(d)] = d
            covered = begin + len(d)
        if covered == length and sum(len(d) for d in blocks.values()) >= length:
            if hashlib.sha1(buf).digest() == torrent.piece_hashes[piece]:
                good[piece] = bytes(buf)
            else:
                bad.add(piece)
    for p in ev.peers.values():
        for b in p.sent:
            if b.data is None:
                b.content = NOT_CAPTURED
            elif b.piece in good:
                b.content = VERIFIED if good[b.piece][b.begin:b.begin + b.length] == b.data else MISMATCH
            elif b.piece in bad:
                b.content = MISMATCH
            else:
                b.content = PIECE_INCOMPLETE
