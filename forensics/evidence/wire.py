"""The BitTorrent peer wire protocol (BEP 3, with BEP 6 fast and BEP 10 extension messages) over
one reassembled stream.

A stream is read only if it starts with the plaintext handshake (``\\x13BitTorrent protocol``).
Anything else is classified, never dropped silently: ``encrypted`` (it starts with at least 96
high-entropy bytes, the shape of an MSE/PE Diffie-Hellman key; MSE cannot be read without the
keys), ``mid_stream`` (the capture began after the connection did, so the first bytes are not
the handshake), ``not_bittorrent`` (anything else: HTTP to a tracker, for instance).

Holes in a stream (bytes not captured) are survivable while the message framing is known: a piece
message whose block has a hole still counts as sent — its header says how long it is and the
transport says those bytes left — but its content cannot be checked. A hole across a length
prefix or a message header ends the reading of that stream (``framing_lost_at``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from .reassembly import Stream

PSTR = b"\x13BitTorrent protocol"
HANDSHAKE_BYTES = 68
MSE_KEY_BYTES = 96
MAX_MESSAGE_BYTES = 4 * 1024**2  # larger than any sane message (a bitfield of 32 M pieces): framing is wrong
MESSAGE_NAMES = {0: "choke", 1: "unchoke", 2: "interested", 3: "not_interested", 4: "have", 5: "bitfield",
                 6: "request", 7: "piece", 8: "cancel", 9: "port", 13: "suggest", 14: "have_all",
                 15: "have_none", 16: "reject", 17: "allowed_fast", 20: "extended"}
PIECE = 7


@dataclass
class Block:
    """One piece message: a block of payload on the wire."""

    t: float  # capture time of the packet that carried the block's last byte
    piece: int
    begin: int
    length: int
    data: memoryview | None  # None: a hole in the capture covers part of it


@dataclass
class WireStream:
    stream: Stream
    kind: str  # "bittorrent", "encrypted", "mid_stream", "not_bittorrent"
    info_hash: bytes | None = None
    peer_id: bytes | None = None
    reserved: bytes | None = None
    messages: Counter = field(default_factory=Counter)
    blocks: list[Block] = field(default_factory=list)
    client: str | None = None  # from the extension handshake's "v"
    framing_lost_at: int | None = None
    partial_tail_bytes: int = 0  # a message cut off where the stream ends (connection closed mid-send)
    partial_block: tuple[int, int, int, int] | None = None  # that message if a piece: piece, begin, length, bytes seen
    unread_bytes: int = 0  # captured bytes after framing was lost (past a uTP gap too)


def _entropy_bits(b: bytes) -> float:
    c = Counter(b)
    n = len(b)
    return -sum(k / n * math.log2(k / n) for k in c.values())


def classify(s: Stream) -> str:
    head = s.data[:HANDSHAKE_BYTES]
    if head[:20] == PSTR and not s.hole_in(0, HANDSHAKE_BYTES):
        return "bittorrent"
    if not s.start_known:
        return "mid_stream"
    if len(s.data) >= MSE_KEY_BYTES and not s.hole_in(0, MSE_KEY_BYTES) and _entropy_bits(s.data[:MSE_KEY_BYTES]) > 5.5:
        return "encrypted"
    return "not_bittorrent"


def parse(s: Stream) -> WireStream:
    w = WireStream(s, classify(s))
    if w.kind != "bittorrent":
        return w
    data = s.data
    view = memoryview(data)
    w.reserved, w.info_hash, w.peer_id = data[20:28], data[28:48], data[48:68]
    end = len(data) if s.stop_at is None else s.stop_at
    pos = HANDSHAKE_BYTES
    messages = w.messages
    blocks = w.blocks
    hole_in = s.hole_in
    while pos + 4 <= end:
        if hole_in(pos, pos + 5):
            w.framing_lost_at = pos
            break
        n = int.from_bytes(data[pos:pos + 4], "big")
        if n == 0:
            messages["keep_alive"] += 1
            pos += 4
            continue
        if n > MAX_MESSAGE_BYTES:
            w.framing_lost_at = pos
            break
        if pos + 4 + n > end:
            break
        mid = data[pos + 4]
        messages[MESSAGE_NAMES.get(mid, f"unknown_{mid}")] += 1
        if mid == PIECE:
            if n < 9 or hole_in(pos, pos + 13):
                w.framing_lost_at = pos
                break
            piece = int.from_bytes(data[pos + 5:pos + 9], "big")
            begin = int.from_bytes(data[pos + 9:pos + 13], "big")
            stop = pos + 4 + n
            intact = not hole_in(pos + 13, stop)
            blocks.append(Block(s.ts_at(stop - 1), piece, begin, n - 9, view[pos + 13:stop] if intact else None))
        elif mid == 20 and n >= 2 and data[pos + 5] == 0 and w.client is None:
            w.client = _client_name(data[pos + 6:pos + 4 + n])
        pos += 4 + n
    if w.framing_lost_at is None and s.stop_at is not None and pos < end:
        w.framing_lost_at = pos  # the stream stops at a gap of unknown length, not at its end
    if w.framing_lost_at is not None:
        w.unread_bytes = end - w.framing_lost_at + s.bytes_past_stop
    else:
        w.partial_tail_bytes = end - pos
        if end - pos >= 13 and data[pos + 4] == PIECE and not hole_in(pos, end):
            n = int.from_bytes(data[pos:pos + 4], "big")
            w.partial_block = (int.from_bytes(data[pos + 5:pos + 9], "big"), int.from_bytes(data[pos + 9:pos + 13], "big"),
                               n - 9, end - pos - 13)
    return w


def _client_name(payload: bytes) -> str | None:
    from .bencode import BencodeError, bdecode

    try:
        d = bdecode(payload)
    except BencodeError:
        return None
    v = d.get(b"v") if isinstance(d, dict) else None
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else None
