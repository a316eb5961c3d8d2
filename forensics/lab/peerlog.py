"""libtorrent's own per-connection log from a lab run (``leechsim lab --peer-log``).

With ``--peer-log`` every lab peer asks its session for ``peer_log`` alerts: the lines libtorrent
writes for each connection as it works — each message sent and received, and the rate limiter's
steps (``REQUEST_BANDWIDTH``: a request that had to wait, with its size, the quota the connection
held and its ``wanted_transfer``; ``ASSIGN_BANDWIDTH``: the quota it got when the request was
released). A request granted at once is not logged by libtorrent (``request_bandwidth`` logs only
a request that waits). What the model's bandwidth kernels reproduce from libtorrent's source can so
be checked against what a real session did, request by request.

Each peer writes ``raw/peer-NNNN-peerlog.csv.gz`` (its own view: remote address and port); the run
merges them into ``replications/NNNN/peer_log.csv``: t_s, local, remote (peer indices, as in
``connections.csv``), direction, event, detail. Directions are libtorrent's: ``>>>`` outgoing,
``<<<`` incoming, ``==>`` a message sent, ``<==`` a message received, ``***`` an internal event.
One peer's lines keep the order its session posted them: alerts posted from its disk and network
threads may cross by a few microseconds of their timestamps.

The log is for diagnosis, not measurement: posting an alert per message costs the peer's CPU
(``docs/lab.md`` gives the measured cost). ``read_peer_log`` and ``bandwidth_waits`` read it.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..atomic import open_text, write_bytes

PEER_LOG_COLUMNS = ("t_s", "local", "remote", "direction", "event", "detail")
RAW_COLUMNS = ("t_s", "remote_ip", "remote_port", "direction", "event", "detail")
PEER_LOG_FILE = "peer_log.csv"
# An alert queue that does not drop lines at a few thousand messages a second (libtorrent's
# default, 2,000, drops them; a dropped alert is counted in the peer's raw JSON)
PEER_LOG_ALERT_QUEUE = 1 << 20

_LINE = re.compile(r" (>>>|<<<|==>|<==|\*\*\*) (\S+)(?: \[ ?(.*?) ?\])?\s*$")


def parse_message(message: str) -> tuple[str, str, str] | None:
    """(direction, event, detail) of a peer_log_alert's message(), e.g.
    ``"ab12cd peer 127.0.0.1:6881 >>> REQUEST_BANDWIDTH [ bytes: 68 quota: 0 ... ]"``;
    None for a line of another shape."""
    m = _LINE.search(message)
    if m is None:
        return None
    return m.group(1), m.group(2), (m.group(3) or "").strip()


def raw_log_path(raw_dir: Path, index: int) -> Path:
    return Path(raw_dir) / f"peer-{index:04d}-peerlog.csv.gz"


def write_raw_log(path: Path, rows: list[tuple]) -> None:
    """One peer's lines, gzip-compressed CSV, written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RAW_COLUMNS)
    w.writerows(rows)
    write_bytes(path, gzip.compress(buf.getvalue().encode(), mtime=0))


def _raw_rows(path: Path, local: int, ip_index: dict[str, int]):
    with gzip.open(path, "rt", newline="") as f:
        r = csv.reader(f)
        next(r)
        for t, ip, _port, direction, event, detail in r:
            yield float(t), local, ip_index.get(ip, -1), direction, event, detail


def merge_peer_logs(raw_dir: Path, out_csv: Path, addresses: dict[int, tuple[str, ...]]) -> int:
    """Merge the peers' raw logs into one table sorted by (t_s, local); return its rows. A remote
    is named by its IP alone (``addresses``: peer index -> its listen and outgoing addresses), as in
    connections.csv; -1 for an address that is no lab peer (none is expected)."""
    ip_index = {ip: i for i, ips in addresses.items() for ip in ips}
    streams = [_raw_rows(raw_log_path(raw_dir, i), i, ip_index) for i in sorted(addresses)
               if raw_log_path(raw_dir, i).is_file()]
    n = 0
    with open_text(out_csv) as f:  # streamed: a long run's log does not fit in memory as one string
        w = csv.writer(f, lineterminator="\n")
        w.writerow(PEER_LOG_COLUMNS)
        for t, local, remote, direction, event, detail in heapq.merge(*streams, key=lambda x: (x[0], x[1])):
            if remote == local:  # a self-connection (own address from the tracker): not a peer
                continue
            w.writerow((f"{t:.6f}", local, remote, direction, event, detail))
            n += 1
    return n


def read_peer_log(path: Path) -> list[dict]:
    """replications/NNNN/peer_log.csv as a list of rows (t_s a float, local and remote ints)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["t_s"] = float(r["t_s"])
        r["local"] = int(r["local"])
        r["remote"] = int(r["remote"])
    return rows


_FIELDS = re.compile(r"(\w+): (-?\d+)")


def fields(detail: str) -> dict[str, int]:
    """The ``name: number`` pairs of a line's detail (``bytes: 68 quota: 0`` -> {bytes: 68, quota: 0})."""
    return {k: int(v) for k, v in _FIELDS.findall(detail)}


@dataclass(frozen=True)
class BandwidthWait:
    """One upload request that waited in a sender's rate limiter, and its release."""
    local: int  # the sender
    remote: int  # the connection's other end
    asked_s: float  # REQUEST_BANDWIDTH
    released_s: float  # the ASSIGN_BANDWIDTH that released it
    requested: int  # bytes asked for (wanted_transfer less the quota held)
    held: int  # quota the connection held when it asked
    wanted: int  # wanted_transfer
    assigned: int  # bytes the release brought

    @property
    def wait_s(self) -> float:
        return self.released_s - self.asked_s


def bandwidth_waits(rows: list[dict]) -> list[BandwidthWait]:
    """Each outgoing REQUEST_BANDWIDTH (a request that waited in the sender's upload limiter) paired
    with the connection's next outgoing ASSIGN_BANDWIDTH (libtorrent allows one request per
    connection and channel at a time). A request still waiting when the log ends is left out."""
    open_req: dict[tuple[int, int], dict] = {}
    out = []
    for r in rows:
        if r["direction"] != ">>>":
            continue
        key = (r["local"], r["remote"])
        if r["event"] == "REQUEST_BANDWIDTH":
            open_req[key] = r
        elif r["event"] == "ASSIGN_BANDWIDTH" and key in open_req:
            q = open_req.pop(key)
            f, a = fields(q["detail"]), fields(r["detail"])
            out.append(BandwidthWait(r["local"], r["remote"], q["t_s"], r["t_s"], f.get("bytes", 0),
                                     f.get("quota", 0), f.get("wanted_transfer", 0), a.get("bytes", 0)))
    return out
