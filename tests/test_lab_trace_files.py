"""The connection-trace files without a swarm: state names, and merging the peers' raw traces."""

from __future__ import annotations

import csv
import gzip

from forensics.lab.trace import CONNECTION_COLUMNS, RAW_COLUMNS, bw_state_name, merge_connection_traces

BITS = {1: "idle", 2: "limit", 4: "network", 16: "disk"}  # libtorrent 2.x values


def test_bw_state_names():
    """Bits as names joined by '+'; the always-set idle bit only when nothing else is set (or no
    bit at all); an unknown bit is shown, not dropped."""
    assert bw_state_name(1, BITS) == "idle"
    assert bw_state_name(5, BITS) == "network"
    assert bw_state_name(1 | 2 | 4, BITS) == "limit+network"
    assert bw_state_name(0, BITS) == "idle"
    assert bw_state_name(32 | 2, BITS) == "limit+0x20"


def raw_row(t: float, ip: str, up: int) -> list:
    row = dict.fromkeys(RAW_COLUMNS, 0)
    row.update(t_s=f"{t:.4f}", remote_ip=ip, remote_port=6881, total_up_bytes=up, target_dl_queue_length="",
               read_state="idle", write_state="idle")
    return [row[c] for c in RAW_COLUMNS]


def write_raw(path, rows) -> None:
    with gzip.open(path, "wt", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(RAW_COLUMNS)
        w.writerows(rows)


def test_merge_maps_addresses_and_sorts(tmp_path):
    """Peer 1's outgoing address maps to 1, an unknown address to -1, a self-connection is left
    out, and rows come out ordered by time then sampling peer."""
    addresses = {0: ("127.9.0.2", "127.9.0.2"), 1: ("127.9.0.3", "127.9.128.3")}
    write_raw(tmp_path / "peer-0000-connections.csv.gz",
              [raw_row(0.1, "127.9.128.3", 10), raw_row(0.1, "127.9.0.2", 0), raw_row(0.3, "127.10.0.1", 5)])
    write_raw(tmp_path / "peer-0001-connections.csv.gz", [raw_row(0.05, "127.9.0.2", 0), raw_row(0.2, "127.9.0.2", 7)])
    out = tmp_path / "connections.csv"
    assert merge_connection_traces(tmp_path, out, addresses) == 4
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CONNECTION_COLUMNS
    assert [(r["t_s"], r["local"], r["remote"], r["total_up_bytes"]) for r in rows] == [
        ("0.0500", "1", "0", "0"), ("0.1000", "0", "1", "10"), ("0.2000", "1", "0", "7"), ("0.3000", "0", "-1", "5")]
    assert not list(tmp_path.glob(".connections.csv.*"))  # no temporary file left
