"""Byte streams out of packets: TCP by sequence number, uTP (BEP 29) by packet sequence number.

Each direction of each connection is one ``Flow``; ``assemble`` turns it into a ``Stream``: the
bytes in order, the holes (bytes the capture does not hold: a packet never captured, or cut short
by the snaplen), the retransmitted bytes it dropped, and for each stretch of bytes the capture
time of the packet that first carried it.

TCP: a SYN fixes the stream's start (ISN + 1); without one (the connection began before the
capture) the lowest sequence number seen is taken as the start and the stream is marked
``start_known = False``. A new SYN on the same address/port pair starts a new stream.
uTP: a direction is (source, destination, connection id). The initiator's ST_SYN carries the
connection id its later packets use minus one; its data starts at the SYN's sequence number + 1.
uTP numbers packets, not bytes: a missing packet is a hole of unknown length, after which the
stream cannot be framed (``stop_at``).
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from dataclasses import dataclass, field

TCP_SYN, TCP_FIN, TCP_RST = 0x02, 0x01, 0x04
UTP_DATA, UTP_FIN, UTP_STATE, UTP_RESET, UTP_SYN = 0, 1, 2, 3, 4
UTP_HEADER = struct.Struct(">BBHIIIHH")
MAX_HOLE_BYTES = 64 * 1024**2  # a larger jump is not a plausible gap: the stream stops there


class Flow:
    """One direction of one connection, as packets arrive."""

    __slots__ = ("transport", "src", "sport", "dst", "dport", "conn_id", "start_known", "base",
                 "last_raw", "last_ext", "segs", "first_ts", "last_ts", "packets", "closed", "reset", "modulus")

    def __init__(self, transport: str, src: str, sport: int, dst: str, dport: int, conn_id: int | None,
                 ts: float, modulus: int) -> None:
        self.transport, self.src, self.sport, self.dst, self.dport = transport, src, sport, dst, dport
        self.conn_id = conn_id
        self.start_known = False
        self.base: int | None = None  # extended sequence number of the first stream byte/packet
        self.last_raw = self.last_ext = None
        self.segs: list[tuple[int, bytes, int, float]] = []  # (extended seq, payload, missing bytes, ts)
        self.first_ts = self.last_ts = ts
        self.packets = 0
        self.closed = self.reset = False
        self.modulus = modulus

    def extend(self, seq: int) -> int:
        """Sequence number without wrap-around, relative to the last one seen."""
        if self.last_raw is None:
            self.last_raw, self.last_ext = seq, seq
            return seq
        m = self.modulus
        d = (seq - self.last_raw) % m
        if d >= m // 2:
            d -= m
        ext = self.last_ext + d
        if d > 0:
            self.last_raw, self.last_ext = seq, ext
        return ext

    def start_at(self, seq: int) -> None:
        self.last_raw, self.last_ext = None, None
        self.base = self.extend(seq)
        self.start_known = True


@dataclass
class Stream:
    """One direction of one connection, reassembled."""

    transport: str  # "tcp" or "utp"
    src: str
    sport: int
    dst: str
    dport: int
    start_known: bool
    data: bytes
    holes: list[tuple[int, int]]  # [start, end) byte ranges the capture does not hold
    seg_starts: list[int]  # stream offset where each captured stretch starts ...
    seg_ts: list[float]  # ... and the capture time of the packet that carried it
    first_ts: float
    last_ts: float
    packets: int
    retransmitted_bytes: int = 0
    retransmitted_packets: int = 0
    stop_at: int | None = None  # framing cannot continue past this offset (a uTP packet missing)
    bytes_past_stop: int = 0  # captured payload after stop_at, not assembled
    closed: bool = False
    reset: bool = False
    notes: list[str] = field(default_factory=list)

    def ts_at(self, offset: int) -> float:
        i = bisect_right(self.seg_starts, offset) - 1
        return self.seg_ts[max(i, 0)] if self.seg_ts else self.first_ts

    def hole_in(self, start: int, end: int) -> bool:
        """Whether any byte of [start, end) is missing from the capture."""
        if not self.holes:
            return False
        i = bisect_right(self.holes, (start, float("inf"))) - 1
        if i >= 0 and self.holes[i][1] > start:
            return True
        return i + 1 < len(self.holes) and self.holes[i + 1][0] < end

    @property
    def hole_bytes(self) -> int:
        return sum(b - a for a, b in self.holes)


class Reassembler:
    """Feed packets in capture order (``tcp``/``udp``), then take ``streams()``."""

    def __init__(self) -> None:
        self.tcp: dict[tuple, Flow] = {}
        self.utp: dict[tuple, Flow] = {}
        self.done: list[Flow] = []
        self.utp_syn_reverse: set[tuple] = set()  # responder directions whose connection we saw open
        self.udp_not_utp_packets = 0

    def tcp_packet(self, ts: float, src: str, sport: int, dst: str, dport: int, seq: int, flags: int,
                   payload: bytes, missing: int) -> None:
        key = (src, sport, dst, dport)
        flow = self.tcp.get(key)
        if flags & TCP_SYN:
            if flow is not None and (flow.segs or flow.closed):
                self.done.append(flow)
                flow = None
            if flow is None:
                flow = self.tcp[key] = Flow("tcp", src, sport, dst, dport, None, ts, 1 << 32)
            flow.start_at((seq + 1) & 0xFFFFFFFF)
        elif flow is None:
            flow = self.tcp[key] = Flow("tcp", src, sport, dst, dport, None, ts, 1 << 32)
        flow.packets += 1
        flow.last_ts = ts
        if payload or missing:
            flow.segs.append((flow.extend(seq), payload, missing, ts))
        if flags & TCP_FIN:
            flow.closed = True
        if flags & TCP_RST:
            flow.reset = True

    def udp_packet(self, ts: float, src: str, sport: int, dst: str, dport: int, payload: bytes, missing: int) -> bool:
        """Take a UDP packet if it is uTP; False if it is not."""
        if len(payload) < 20:
            self.udp_not_utp_packets += 1
            return False
        b0, ext, conn_id, _t, _td, _wnd, seq, _ack = UTP_HEADER.unpack_from(payload)
        kind, version = b0 >> 4, b0 & 0x0F
        if version != 1 or kind > UTP_SYN:
            self.udp_not_utp_packets += 1
            return False
        p = 20
        while ext:  # the extension chain: (next type, length, data)
            if p + 2 > len(payload) or p + 2 + payload[p + 1] > len(payload):
                self.udp_not_utp_packets += 1
                return False
            ext, p = payload[p], p + 2 + payload[p + 1]
        if kind == UTP_SYN:
            key = (src, sport, dst, dport, (conn_id + 1) & 0xFFFF)
            if key in self.utp:
                self.done.append(self.utp.pop(key))
            flow = self.utp[key] = Flow("utp", src, sport, dst, dport, key[4], ts, 1 << 16)
            flow.start_at((seq + 1) & 0xFFFF)
            flow.packets += 1
            self.utp_syn_reverse.add((dst, dport, src, sport, conn_id))
            return True
        key = (src, sport, dst, dport, conn_id)
        flow = self.utp.get(key)
        if flow is None:
            flow = self.utp[key] = Flow("utp", src, sport, dst, dport, conn_id, ts, 1 << 16)
            if key in self.utp_syn_reverse:
                flow.start_known = True  # the responder's first data packet is its lowest one
        flow.packets += 1
        flow.last_ts = ts
        if kind == UTP_DATA:
            flow.segs.append((flow.extend(seq), payload[p:], missing, ts))
        elif kind == UTP_FIN:
            flow.closed = True
        elif kind == UTP_RESET:
            flow.reset = True
        return True

    def streams(self) -> list[Stream]:
        flows = self.done + list(self.tcp.values()) + list(self.utp.values())
        return [assemble(f) for f in flows if f.segs]


def assemble(flow: Flow) -> Stream:
    segs = sorted(flow.segs, key=lambda s: s[0])  # stable: a retransmission sorts after the original
    base = flow.base if flow.base is not None and flow.start_known else segs[0][0]
    s = Stream(flow.transport, flow.src, flow.sport, flow.dst, flow.dport, flow.start_known, b"", [], [], [],
               flow.first_ts, flow.last_ts, flow.packets, closed=flow.closed, reset=flow.reset)
    if flow.transport == "utp" and flow.base is None and segs:
        base = segs[0][0]
    out = bytearray()
    holes = s.holes
    if flow.transport == "tcp":
        pos = 0
        for i, (seq, payload, missing, ts) in enumerate(segs):
            off = seq - base
            end = off + len(payload) + missing
            if end <= pos:
                s.retransmitted_bytes += end - off
                s.retransmitted_packets += 1
                continue
            if off > pos:
                if off - pos > MAX_HOLE_BYTES:
                    s.stop_at = pos
                    s.bytes_past_stop = sum(len(x[1]) for x in segs[i:])
                    s.notes.append(f"a jump of {off - pos} bytes in sequence numbers: stream not read past it")
                    break
                holes.append((pos, off))
                out += bytes(off - pos)
                pos = off
            elif off < pos:
                s.retransmitted_bytes += pos - off
                s.retransmitted_packets += 1
            skip = pos - off
            s.seg_starts.append(pos)
            s.seg_ts.append(ts)
            chunk = payload[skip:] if skip < len(payload) else b""
            out += chunk
            pos += len(chunk)
            if pos < end:
                holes.append((pos, end))
                out += bytes(end - pos)
                pos = end
    else:
        expected = base
        for i, (seq, payload, missing, ts) in enumerate(segs):
            if seq < expected:
                s.retransmitted_bytes += len(payload)
                s.retransmitted_packets += 1
                continue
            if seq > expected:
                s.stop_at = len(out)
                s.bytes_past_stop = sum(len(x[1]) for x in segs[i:])
                s.notes.append(f"uTP packets {expected}..{seq - 1} (relative {expected - base}) missing: "
                               "their length is unknown, the stream is not read past them")
                break
            s.seg_starts.append(len(out))
            s.seg_ts.append(ts)
            out += payload
            if missing:
                holes.append((len(out), len(out) + missing))
                out += bytes(missing)
            expected = seq + 1
    # merge adjacent holes
    merged: list[tuple[int, int]] = []
    for a, b in holes:
        if merged and merged[-1][1] >= a:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    s.holes = merged
    s.data = bytes(out)
    return s
