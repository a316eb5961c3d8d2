"""Speed of the capture reader (``leechsim evidence pcap``): megabytes of capture per second, one core.

Run: python -m pytest benchmarks/test_pcap_reader.py --benchmark-only -s -p no:cacheprovider

Three captures of the same swarm traffic (a 24 MiB torrent, 256 KiB pieces; the subject uploads it
whole to 3 peers — 4 connections in all, with requests, haves and the peers' own uploads — about
100 MB of payload), built once with dpkt and kept in .benchmarks/:
- ``tcp-mss1448``: TCP segments of 1,448 bytes, as on an Ethernet internet path (the most packets
  per megabyte a TCP capture has);
- ``tcp-loopback``: TCP segments of up to 65,483 bytes, as the lab's loopback captures hold;
- ``utp-1400``: uTP packets of 1,400 bytes, libtorrent's usual uTP payload size.
Every round reads the whole file, reassembles, parses and checks every sent block against the
piece hashes (``--torrent``). The target (issue 13) is at least 50 MB/s.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from forensics.evidence.pcap import SubjectAddress, read_capture
from forensics.evidence.torrent import read_torrent
from tests.pcap_synth import Capture, TcpConn, UtpConn, handshake, make_torrent, message, piece, request

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / ".benchmarks"
PIECE_BYTES, BLOCK = 256 * 1024, 16384
TORRENT_BYTES = 24 * 1024**2
SUBJECT = "127.11.0.1"
TARGET_MB_S = 50.0


def _build(kind: str) -> tuple[Path, Path]:
    CACHE.mkdir(exist_ok=True)
    cap_path, tor_path = CACHE / f"pcap-bench-{kind}-v2.pcap", CACHE / "pcap-bench-v1.torrent"
    rnd = random.Random(1)
    content = rnd.randbytes(TORRENT_BYTES)
    torrent, info_hash = make_torrent(content, PIECE_BYTES)
    tor_path.write_bytes(torrent)
    if cap_path.exists():
        return cap_path, tor_path
    cap = Capture()
    mss = {"tcp-mss1448": 1448, "tcp-loopback": 65483, "utp-1400": 1400}[kind]
    peers = [f"127.11.0.{i}" for i in (2, 3, 4, 5)]
    conns = [(UtpConn(cap, (p, 40000 + i), (SUBJECT, 6881), cid=100 + 7 * i) if kind.startswith("utp")
              else TcpConn(cap, (p, 40000 + i), (SUBJECT, 6881), isn_a=rnd.getrandbits(32), isn_b=rnd.getrandbits(32)))
             for i, p in enumerate(peers)]
    for c in conns:
        c.send(0, handshake(info_hash, b"-XX0001-" + os.urandom(12)))
        c.send(1, handshake(info_hash, b"-LT2110-" + os.urandom(12)) + message(5, b"\xff" * 12) + message(1))
    n_pieces = TORRENT_BYTES // PIECE_BYTES
    for p in range(n_pieces):
        for k, c in enumerate(conns):
            if k == 3 and p % 2:  # the fourth peer uploads to the subject instead
                c.send(0, b"".join(piece(p, b, content[p * PIECE_BYTES + b:p * PIECE_BYTES + b + BLOCK])
                                   for b in range(0, PIECE_BYTES, BLOCK)), mss)
                continue
            if k == 3:
                continue
            c.send(0, b"".join(request(p, b, BLOCK) for b in range(0, PIECE_BYTES, BLOCK)), mss)
            c.send(1, b"".join(piece(p, b, content[p * PIECE_BYTES + b:p * PIECE_BYTES + b + BLOCK])
                               for b in range(0, PIECE_BYTES, BLOCK)) + message(4, p.to_bytes(4, "big")), mss)
    cap.write_pcap(cap_path.with_suffix(".tmp"))
    cap_path.with_suffix(".tmp").replace(cap_path)
    return cap_path, tor_path


@pytest.mark.parametrize("kind", ["tcp-mss1448", "tcp-loopback", "utp-1400"])
@pytest.mark.benchmark(group="pcap-reader")
def test_pcap_reader_speed(benchmark, kind):
    cap_path, tor_path = _build(kind)
    torrent = read_torrent(tor_path)
    size = cap_path.stat().st_size

    def read():
        return read_capture(cap_path, [SubjectAddress(SUBJECT)], torrent)

    t = time.perf_counter()
    ev = benchmark.pedantic(read, rounds=3, iterations=1)
    wall = time.perf_counter() - t
    assert len(ev.sent_blocks) == 3 * TORRENT_BYTES // BLOCK
    assert {b.content for b in ev.sent_blocks} == {"verified"}
    if benchmark.stats is None:  # --benchmark-disable (CI's smoke run): one read, no timing claims
        return
    mb_s = size / 1e6 / benchmark.stats.stats.mean
    benchmark.extra_info.update({"capture_bytes": size, "packets": ev.stats.records, "MB_per_s": round(mb_s, 1)})
    # The target is judged where it is reported (benchmarks/report.py: met or missed beside the
    # machine's yardstick), not asserted here: a slow hour of the machine failed this step and
    # with it a whole report run, an hour of measurements lost (2026-12-06).
    verdict = "met" if mb_s >= TARGET_MB_S else "MISSED"
    print(f"\n{kind}: {size / 1e6:.1f} MB, {ev.stats.records:,} packets, mean {benchmark.stats.stats.mean:.2f} s "
          f"-> {mb_s:.1f} MB/s (wall incl. warm-up {wall:.1f} s); target {TARGET_MB_S:.0f} MB/s {verdict}")
