"""What the subject's connections really sent: its block log cut to libtorrent's payload counters.

libtorrent posts ``block_uploaded_alert`` in ``bt_peer_connection::write_piece``, when a block is
appended to the connection's send buffer, not when it leaves the host. A block still in the send
buffer when the connection closes (the other end completed and left, or the subject paused) was
never sent, yet it is in the alert log. At a rate-limited subject that is about one block per
connection: 6-7 % of what a 25 kB/s subject uploads in the v12 recording.

The send buffer is first in, first out, so a connection sent the first blocks queued on it, up to
the payload bytes its counter (``peer_info.total_upload``) shows. ``cut_to_sent`` keeps, per
connection, the blocks queued on it in order while they fit in what it sent; a block only partly
sent when the connection closed is left out, as the simulator only logs whole blocks.

Where the counts come from:
* ``raw/subject-sent.csv`` (lab runs from 2026-11-30 on): the subject's largest ``total_upload`` per
  connection (address and port), read every 100 ms and once more just before it pauses; the
  raw block log names each block's connection by address and port.
* a recorded run's merged connection trace (``--trace-connections``; re-measured by
  ``calibration.cut_recorded_to_sent``): the same counters, per other peer; a connection that
  closes and reopens restarts its counter, so each run of non-decreasing counts is added.

A connection the other end closes may send for up to one sampling interval after its last
reading. The torrent's own payload counter says how much went unread in all; whose it was:
* lab runs from 2026-12-07 on read the torrent's counter at every reading, between two reads of
  the connections (``read_connections``): the open connections' second reading holds every byte the
  counter holds for them, so what the counter holds beyond all readings was sent by connections
  that closed since the previous reading, and goes to them (``vanished_s``, ``unread_bytes``: one
  amount for all the connections that closed in the same interval);
* what is left (and all of it in older files and recorded traces) goes to the connections read
  last first: those read just before the torrent's counter at the end (it counted what they
  sent between the two reads).
``extra["subject_check"]`` records the total cut and how it compares with the torrent's payload
counter. (Before 2026-12-07 all of it went the second way, so a connection still open at the pause
with blocks left in its send buffer could take bytes a connection closed earlier had sent: two
blocks in a CI run's capture test.)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sim.results import TransferLog

from ..traces import open_by_suffix

SENT_FILE = "subject-sent.csv"
SENT_COLUMNS = ("peer_ip", "peer_port", "sent_bytes", "last_read_s", "vanished_s", "unread_bytes")


class SentCounter:
    """The subject's side: the largest payload counter seen per connection (address, port), and
    (given the torrent's counter at each reading) the bytes sent unread by connections that closed."""

    def __init__(self) -> None:
        self.now: dict[tuple[str, int], int] = {}  # the open connection's count
        self.closed: dict[tuple[str, int], int] = {}  # earlier connections on the same address and port
        self.last: dict[tuple[str, int], float] = {}
        self.present: set[tuple[str, int]] = set()  # the connections of the previous reading
        self.vanished: dict[tuple[str, int], float] = {}  # reading at which a connection was gone
        self.unread: dict[float, int] = {}  # per such reading: the torrent's counter beyond all readings
        self.attributed = 0

    def _count(self, infos, t_s: float, seen: set) -> None:
        for p in infos:
            key = (str(p.ip[0]), int(p.ip[1]))
            v = int(p.total_upload)
            before = self.now.get(key)
            if before is not None and v < before:  # a new connection reusing the port: counts restart
                self.closed[key] = self.closed.get(key, 0) + before
            self.now[key] = v
            self.last[key] = t_s
            seen.add(key)
            self.vanished.pop(key, None)

    def update(self, infos, t_s: float, total: int | None = None, after=None) -> None:
        """One reading: ``infos`` (``get_peer_info()``); optionally the torrent's payload counter
        read just after it (``total``) and ``get_peer_info()`` read again after that (``after``)."""
        seen: set = set()
        self._count(infos, t_s, seen)
        if after is not None:
            self._count(after, t_s, seen)
        gone = self.present - seen
        self.present = seen
        if total is None or not gone:
            return
        for key in gone:
            self.vanished[key] = t_s
        unread = total - sum(self.now.values()) - sum(self.closed.values()) - self.attributed
        if unread > 0:
            self.unread[t_s] = unread
            self.attributed += unread

    def rows(self) -> list[tuple]:
        out = []
        for (ip, port), v in sorted(self.now.items()):
            gone = self.vanished.get((ip, port))
            out.append((ip, port, v + self.closed.get((ip, port), 0), f"{self.last[(ip, port)]:.4f}",
                        "" if gone is None else f"{gone:.4f}",
                        "" if gone is None else self.unread.get(gone, 0)))
        return out


def read_connections(counter: SentCounter, handle, t_s: float, infos=None) -> list:
    """Read a torrent's connections into ``counter``: ``get_peer_info()`` (or ``infos``, read just
    now), the torrent's payload counter, ``get_peer_info()`` again. Returns the first read."""
    if infos is None:
        infos = handle.get_peer_info()
    total = int(handle.status().total_payload_upload)
    counter.update(infos, t_s, total, handle.get_peer_info())
    return infos


def read_sent_file(path: Path) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], float], dict]:
    """``raw/subject-sent.csv``: per connection (address, port), its bytes sent and last reading, and
    for a connection that closed (files from 2026-12-07 on) the reading at which it was gone and the
    bytes the torrent's counter held beyond all readings then (``(vanished_s, unread_bytes)``)."""
    sent, last, unread = {}, {}, {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            key = (r["peer_ip"], int(r["peer_port"]))
            sent[key], last[key] = int(r["sent_bytes"]), float(r["last_read_s"])
            if r.get("vanished_s"):
                unread[key] = (float(r["vanished_s"]), int(r["unread_bytes"] or 0))
    return sent, last, unread


def sent_from_trace_rows(t_s: np.ndarray, remote: np.ndarray, total_up: np.ndarray) -> tuple[dict[int, int], dict[int, float]]:
    """Per other peer, the bytes its connections sent, and when it was last read, from time-ordered
    trace rows of one uploader: each run of non-decreasing counts is one connection; its largest
    count is added."""
    out: dict[int, int] = {}
    last: dict[int, float] = {}
    for r in np.unique(remote):
        sel = remote == r
        v = total_up[sel]
        starts = np.flatnonzero(np.diff(v) < 0) + 1  # a counter that drops: a new connection
        ends = np.append(starts, len(v)) - 1
        out[int(r)] = int(v[ends].sum())
        last[int(r)] = float(t_s[sel][-1])
    return out, last


def sent_from_merged_trace(path: Path, local: int = 0) -> tuple[dict[int, int], dict[int, float]]:
    """``replications/NNNN/connections.csv[.gz|.xz]``: per other peer index, what ``local`` sent it
    and when that was last read."""
    t, rem, tot = [], [], []
    with open_by_suffix(path) as f:
        for r in csv.DictReader(f):
            if int(r["local"]) == local:
                t.append(float(r["t_s"]))
                rem.append(int(r["remote"]))
                tot.append(int(r["total_up_bytes"]))
    return sent_from_trace_rows(np.asarray(t), np.asarray(rem, dtype=np.int64), np.asarray(tot, dtype=np.int64))


def top_up_to_counter(sent: dict, last_read: dict, log_bytes: dict, counter_bytes: int,
                      unread: dict | None = None) -> dict:
    """Bytes sent after a connection's last reading: the torrent's own payload counter (read just
    before the subject paused, or at the end) says how many in all. Where the readings say which
    connections closed with bytes unread (``unread``: connection -> (vanished_s, unread_bytes), one
    amount per interval), those bytes go to them first, interval by interval, the last read first
    within one; the rest of the shortfall goes to the connections whose log holds more than their
    reading, the last read first (those read just before the counter). Each connection gets at most
    what its log holds. Returns the topped-up counts (a new dict)."""
    out = dict(sent)
    known = sum(min(log_bytes.get(k, 0), v) for k, v in sent.items())
    known += sum(b for k, b in log_bytes.items() if k not in sent)
    short = counter_bytes - known

    def give(k, most: int) -> int:
        add = max(0, min(most, short, log_bytes.get(k, 0) - out[k]))
        out[k] += add
        return add

    unread = {k: w for k, w in (unread or {}).items() if k in sent}
    left = {when: nbytes for when, nbytes in unread.values()}  # what each interval has still to place
    for k in sorted(unread, key=lambda k: (unread[k][0], -last_read.get(k, 0.0), str(k))):
        add = give(k, left[unread[k][0]])
        left[unread[k][0]] -= add
        short -= add
    for k in sorted(sent, key=lambda k: (-last_read.get(k, 0.0), str(k))):
        short -= give(k, short)
    return out


def cut_to_sent(log: TransferLog, key: list, sent: dict) -> tuple[TransferLog, int]:
    """Keep, per connection ``key[i]`` (one per log row, the log in time order), the blocks queued
    first while their bytes fit in ``sent[key]``; return the cut log and the blocks dropped.
    A connection missing from ``sent`` keeps its blocks (nothing is known about it). With one key
    per other peer (a trace without ports), a peer's later connections lose the blocks an earlier
    one did not send: the bytes are right, the pieces named may not be."""
    n = len(log)
    keep = np.ones(n, dtype=bool)
    used: dict = {}
    for i in range(n):
        k = key[i]
        if k not in sent:
            continue
        u = used.get(k, 0) + int(log.bytes[i])
        if u <= sent[k]:
            used[k] = u
        else:
            keep[i] = False
            used[k] = sent[k] + 1  # FIFO: nothing queued later on this connection was sent either
    cut = TransferLog(log.t_s[keep], log.peer[keep], log.piece[keep], log.first_block[keep],
                      log.blocks[keep], log.bytes[keep])
    return cut, int(log.blocks[~keep].sum())


def cut_log(log: TransferLog, key: list, sent: dict, last_read: dict, counter_bytes: int,
            unread: dict | None = None) -> tuple[TransferLog, int]:
    """The whole cut: the readings topped up to the torrent's counter, then each connection's log
    cut to them (``top_up_to_counter``, ``cut_to_sent``). Returns the cut log and the blocks dropped."""
    log_bytes: dict = {}
    for k, b in zip(key, log.bytes):
        log_bytes[k] = log_bytes.get(k, 0) + int(b)
    return cut_to_sent(log, key, top_up_to_counter(sent, last_read, log_bytes, counter_bytes, unread))
