"""Connection traces (``leechsim lab --trace-connections``): every peer samples
``torrent_handle.get_peer_info()`` every 100 ms; the run merges the samples into
``replications/NNNN/connections.csv``, one row per (sample, connection).

Peer side: ``ConnectionSampler`` writes rows as it goes to ``raw/peer-NNNN-connections.csv.gz``
(gzip, under a temporary name renamed at the end, so the raw file is complete or absent).
Coordinator side: ``merge_connection_traces`` maps each connection's address to the lab's peer
index (0 subject, then seeds, then leechers) and writes the table atomically, sorted by time.

Byte totals are libtorrent's ``peer_info.total_upload`` / ``total_download``, which are the
connection's *payload* bytes (``statistics().total_payload_upload()`` in
``peer_connection::get_peer_info``), the same kind of bytes as the lab's other upload figures.
The installed bindings (2.1.x) do not expose ``target_dl_queue_length``: that column is empty.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import os
from pathlib import Path
from typing import Iterable

from sim.results import CONNECTION_COLUMNS

from ..atomic import open_text

TRACE_INTERVAL_S = 0.1

# The raw per-peer file: the same, with the other end's address instead of its index.
RAW_COLUMNS = ("t_s", "remote_ip", "remote_port") + CONNECTION_COLUMNS[3:]

# peer_info attribute (None: not in the installed bindings, column left empty) for each column
_INT_FIELDS = (
    ("payload_up_bps", "payload_up_speed"), ("payload_down_bps", "payload_down_speed"),
    ("total_up_bytes", "total_upload"), ("total_down_bytes", "total_download"),
    ("send_buffer_size", "send_buffer_size"), ("used_send_buffer", "used_send_buffer"),
    ("queue_bytes", "queue_bytes"), ("download_queue_length", "download_queue_length"),
    ("target_dl_queue_length", "target_dl_queue_length"), ("upload_queue_length", "upload_queue_length"),
    ("send_quota", "send_quota"), ("receive_quota", "receive_quota"),
)
_FLAGS = (("choked", "choked"), ("interesting", "interesting"), ("remote_choked", "remote_choked"),
          ("remote_interested", "remote_interested"), ("optimistic_unchoke", "optimistic_unchoke"),
          ("snubbed", "snubbed"), ("endgame", "endgame_mode"))


def bw_state_name(value: int, bits: dict[int, str]) -> str:
    """libtorrent's bandwidth-state bit set as names: ``limit``, ``network``, ``disk`` (joined by
    ``+`` when several are set), ``idle`` when none of them is. libtorrent 2.x never clears its
    ``bw_idle`` bit (bit 0, set at construction), so that bit alone says nothing and is not named
    beside the others."""
    names = [name for bit, name in sorted(bits.items()) if value & bit and name != "idle"]
    rest = value & ~sum(bits)
    if rest:
        names.append(f"0x{rest:x}")
    return "+".join(names) or "idle"


class ConnectionSampler:
    """One peer's trace: ``sample(t_s, handle)`` appends a row per connection to a gzip CSV."""

    def __init__(self, lt, raw_dir: Path, index: int) -> None:
        pi = lt.peer_info
        self.final = Path(raw_dir) / f"peer-{index:04d}-connections.csv.gz"
        self.tmp = self.final.with_name(f".{self.final.name}.partial")
        self._fields = [(col, attr if hasattr(pi, attr) else None) for col, attr in _INT_FIELDS]
        self.missing = [col for col, attr in self._fields if attr is None]
        self._flags = [int(getattr(pi, attr)) for _, attr in _FLAGS]
        self._bw = {int(pi.bw_idle): "idle", int(pi.bw_limit): "limit", int(pi.bw_network): "network",
                    int(pi.bw_disk): "disk"}
        self._bw.pop(0, None)  # libtorrent 1.x: bw_idle = 0, i.e. no bit set
        self._file = gzip.open(self.tmp, "wt", newline="", compresslevel=6)
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(RAW_COLUMNS)
        self.instants: list[float] = []

    def sample(self, t_s: float, handle, infos=None) -> None:
        infos = handle.get_peer_info() if infos is None else infos
        self.instants.append(t_s)
        t = f"{t_s:.4f}"
        for p in infos:
            flags = int(p.flags)
            row = [t, p.ip[0], p.ip[1]]
            row += ["" if attr is None else int(getattr(p, attr)) for _, attr in self._fields]
            row += [bw_state_name(int(p.read_state), self._bw), bw_state_name(int(p.write_state), self._bw)]
            row += [1 if flags & f else 0 for f in self._flags]
            self._csv.writerow(row)

    def close(self) -> dict:
        """Finish the raw file; return the sampling statistics for the peer's record."""
        self._file.close()
        os.replace(self.tmp, self.final)
        gaps = sorted(b - a for a, b in zip(self.instants, self.instants[1:]))
        return {"samples": len(self.instants), "interval_s": TRACE_INTERVAL_S,
                "gap_median_s": _quantile(gaps, 0.5), "gap_p99_s": _quantile(gaps, 0.99),
                "gap_max_s": gaps[-1] if gaps else None, "fields_not_in_bindings": self.missing}


def _quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


def _rows(raw_file: Path, local: int, ip_index: dict[str, int]) -> Iterable[tuple]:
    with gzip.open(raw_file, "rt", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for r in reader:
            yield (float(r[0]), local, ip_index.get(r[1], -1), r)


def merge_connection_traces(raw_dir: Path, out_csv: Path, addresses: dict[int, tuple[str, ...]]) -> int:
    """Merge the peers' raw traces into one table sorted by (t_s, local); return its rows.

    ``addresses``: peer index -> its addresses (listen and outgoing). A connection is named by the
    other end's IP alone: every lab peer has its own addresses, and the port of a connection the
    other end opened is an ephemeral one, not its listen port. Self-connections (a peer reaching
    its own address from the tracker's list; libtorrent drops them within a second, no payload)
    are left out."""
    ip_index = {ip: i for i, ips in addresses.items() for ip in ips}
    streams = [_rows(raw_dir / f"peer-{i:04d}-connections.csv.gz", i, ip_index) for i in sorted(addresses)
               if (raw_dir / f"peer-{i:04d}-connections.csv.gz").is_file()]
    out_csv = Path(out_csv)
    n = 0
    with open_text(out_csv) as f:  # streamed: a 32-peer trace does not fit in memory as one string
        f.write(",".join(CONNECTION_COLUMNS) + "\n")
        for t, local, remote, r in heapq.merge(*streams, key=lambda x: (x[0], x[1])):
            if remote == local:  # a self-connection (own address from the tracker): not a peer
                continue
            f.write(",".join([r[0], str(local), str(remote), *r[3:]]) + "\n")
            n += 1
    return n
