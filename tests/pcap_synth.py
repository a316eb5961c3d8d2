"""Small synthetic captures for the capture reader's tests and benchmark: Ethernet/IPv4 frames built
with dpkt, TCP connections with real sequence numbers, uTP connections (BEP 29 headers), and the
BitTorrent messages that travel in them."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import dpkt

ACK, SYN, FIN, PSH = dpkt.tcp.TH_ACK, dpkt.tcp.TH_SYN, dpkt.tcp.TH_FIN, dpkt.tcp.TH_PUSH


def handshake(info_hash: bytes, peer_id: bytes) -> bytes:
    return b"\x13BitTorrent protocol" + bytes(8) + info_hash + peer_id


def message(mid: int, payload: bytes = b"") -> bytes:
    return struct.pack(">IB", len(payload) + 1, mid) + payload


def piece(index: int, begin: int, block: bytes) -> bytes:
    return message(7, struct.pack(">II", index, begin) + block)


def request(index: int, begin: int, length: int) -> bytes:
    return message(6, struct.pack(">III", index, begin, length))


def bencode(x) -> bytes:
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(bencode(v) for v in x) + b"e"
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(x.items())) + b"e"


def make_torrent(content: bytes, piece_bytes: int, name: str = "payload.bin") -> tuple[bytes, bytes]:
    """(.torrent bytes, v1 info-hash) for one file holding ``content``."""
    import hashlib
    hashes = b"".join(hashlib.sha1(content[i:i + piece_bytes]).digest() for i in range(0, len(content), piece_bytes))
    info = {"name": name, "piece length": piece_bytes, "length": len(content), "pieces": hashes}
    return bencode({"announce": "http://127.0.0.1/announce", "info": info}), hashlib.sha1(bencode(info)).digest()


class Capture:
    """Frames in time order; written as pcap (optionally cut to ``snaplen``) or pcapng."""

    def __init__(self, t0: float = 1_700_000_000.0) -> None:
        self.t = t0
        self.frames: list[tuple[float, bytes]] = []

    def add(self, src: str, dst: str, proto: int, l4, dt: float = 0.001) -> None:
        ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64, data=l4)
        ip.len = 20 + len(bytes(l4))
        eth = dpkt.ethernet.Ethernet(src=bytes(6), dst=bytes(6), type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
        self.t += dt
        self.frames.append((self.t, bytes(eth)))

    def write_pcap(self, path: Path, snaplen: int | None = None) -> Path:
        with open(path, "wb") as f:
            w = dpkt.pcap.Writer(f, snaplen=snaplen or 262144)
            for t, frame in self.frames:
                w.writepkt(frame[:snaplen] if snaplen else frame, ts=t)
        return path

    def write_pcap_link(self, path: Path, linktype: int) -> Path:
        """The same packets with another link layer: Linux cooked (113), raw IP (101) or BSD loopback (0)."""
        with open(path, "wb") as f:
            w = dpkt.pcap.Writer(f, linktype=linktype)
            for t, frame in self.frames:
                ip = frame[14:]
                if linktype == dpkt.pcap.DLT_LINUX_SLL:
                    frame = struct.pack(">HHH8sH", 0, 772, 6, bytes(8), 0x0800) + ip
                elif linktype == dpkt.pcap.DLT_NULL:
                    frame = struct.pack("<I", 2) + ip
                else:
                    frame = ip
                w.writepkt(frame, ts=t)
        return path

    def write_pcapng(self, path: Path) -> Path:
        with open(path, "wb") as f:
            w = dpkt.pcapng.Writer(f)
            for t, frame in self.frames:
                w.writepkt(frame, ts=t)
        return path


class TcpConn:
    def __init__(self, cap: Capture, a: tuple[str, int], b: tuple[str, int], isn_a: int = 1000, isn_b: int = 5000,
                 syn: bool = True) -> None:
        self.cap, self.ends = cap, {0: a, 1: b}
        self.seq = {0: isn_a + 1, 1: isn_b + 1}
        if syn:
            self._seg(0, isn_a, b"", SYN)
            self._seg(1, isn_b, b"", SYN | ACK)

    def _seg(self, side: int, seq: int, payload: bytes, flags: int = ACK | PSH) -> None:
        (s, sp), (d, dp) = self.ends[side], self.ends[1 - side]
        tcp = dpkt.tcp.TCP(sport=sp, dport=dp, seq=seq & 0xFFFFFFFF, ack=0, flags=flags, win=65535, data=payload)
        self.cap.add(s, d, dpkt.ip.IP_PROTO_TCP, tcp)

    def send(self, side: int, data: bytes, mss: int = 1460) -> list[tuple[int, bytes]]:
        """Send ``data`` from side 0 (a) or 1 (b); returns the segments (seq, payload) it made."""
        segs = []
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            segs.append((self.seq[side], chunk))
            self._seg(side, self.seq[side], chunk)
            self.seq[side] += len(chunk)
        return segs

    def resend(self, side: int, seq: int, payload: bytes) -> None:
        self._seg(side, seq, payload)


class UtpConn:
    """A uTP connection: a opens with ST_SYN (connection id ``cid``), data as ST_DATA packets."""

    HDR = struct.Struct(">BBHIIIHH")

    def __init__(self, cap: Capture, a: tuple[str, int], b: tuple[str, int], cid: int = 700, seq_a: int = 65530,
                 seq_b: int = 300) -> None:
        self.cap, self.ends = cap, {0: a, 1: b}
        self.cid = {0: (cid + 1) & 0xFFFF, 1: cid}  # the id each side's packets carry after the SYN
        self.seq = {0: (seq_a + 1) & 0xFFFF, 1: seq_b}
        self._pkt(0, 4, cid, seq_a, b"")
        self._pkt(1, 2, cid, seq_b, b"")

    def _pkt(self, side: int, kind: int, cid: int, seq: int, payload: bytes, ext: bytes = b"") -> None:
        (s, sp), (d, dp) = self.ends[side], self.ends[1 - side]
        first_ext = 1 if ext else 0
        body = self.HDR.pack(kind << 4 | 1, first_ext, cid, 0, 0, 1 << 20, seq & 0xFFFF, 0)
        if ext:  # one selective-ack extension, as libtorrent sends
            body += bytes([0, len(ext)]) + ext
        self.cap.add(s, d, dpkt.ip.IP_PROTO_UDP, dpkt.udp.UDP(sport=sp, dport=dp, ulen=8 + len(body) + len(payload),
                                                               data=body + payload))

    def send(self, side: int, data: bytes, mtu: int = 1400) -> list[tuple[int, bytes]]:
        pkts = []
        for i in range(0, len(data), mtu):
            chunk = data[i:i + mtu]
            pkts.append((self.seq[side], chunk))
            self._pkt(side, 0, self.cid[side], self.seq[side], chunk, ext=bytes(4) if i % (4 * mtu) == 0 else b"")
            self.seq[side] = (self.seq[side] + 1) & 0xFFFF
        return pkts

    def resend(self, side: int, seq: int, payload: bytes) -> None:
        self._pkt(side, 0, self.cid[side], seq, payload)
