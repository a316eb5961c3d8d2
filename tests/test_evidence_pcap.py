"""The capture reader (``leechsim evidence pcap``) on small synthetic captures: streams, gaps,
encryption, content checks, and every bad input with its message and exit 2."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from leechsim.env import Environment
from leechsim.main import main
from forensics.evidence.pcap import NOT_CAPTURED, PIECE_INCOMPLETE, VERIFIED, SubjectAddress, read_capture
from forensics.evidence.torrent import read_torrent

from .pcap_synth import Capture, TcpConn, UtpConn, handshake, make_torrent, message, piece, request

SUBJECT, PEER, OTHER = ("127.10.0.1", 6881), ("127.10.0.2", 51000), ("127.10.0.3", 6881)
PIECE_BYTES = 32768
CONTENT = bytes((i * 7 + i // 251) % 256 for i in range(3 * PIECE_BYTES - 5000))  # last piece shorter
TORRENT, INFO_HASH = make_torrent(CONTENT, PIECE_BYTES)
BLOCK = 16384


def blk(p: int, b: int) -> bytes:
    start = p * PIECE_BYTES + b * BLOCK
    return CONTENT[start:min(start + BLOCK, (p + 1) * PIECE_BYTES, len(CONTENT))]


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], Environment(stdout=out, stderr=err, progress=False))
    return int(code), out.getvalue(), err.getvalue()


def bt_exchange(conn, blocks, subject_side: int = 1) -> None:
    """Handshakes both ways, a bitfield, requests from the peer, pieces from the subject."""
    conn.send(1 - subject_side, handshake(INFO_HASH, b"-XX0001-peerpeerpeer"))
    conn.send(subject_side, handshake(INFO_HASH, b"-LT2110-subjectsubje"))
    conn.send(subject_side, message(5, b"\xe0") + message(1))
    for p, b in blocks:
        conn.send(1 - subject_side, request(p, b * BLOCK, len(blk(p, b))))
        conn.send(subject_side, piece(p, b * BLOCK, blk(p, b)))


@pytest.fixture
def torrent_file(tmp_path) -> Path:
    path = tmp_path / "payload.torrent"
    path.write_bytes(TORRENT)
    return path


def test_tcp_blocks_per_peer_with_retransmission_and_reordering(tmp_path, torrent_file):
    """A TCP stream with a retransmitted and a reordered segment yields every block once, in order."""
    cap = Capture()
    conn = TcpConn(cap, PEER, SUBJECT)
    bt_exchange(conn, [(0, 0), (0, 1)], subject_side=1)
    segs = conn.send(1, piece(1, 0, blk(1, 0)))
    conn.resend(1, *segs[3])  # a retransmission
    later = conn.send(1, piece(1, BLOCK, blk(1, 1)))
    cap.frames[-1], cap.frames[-2] = cap.frames[-2], cap.frames[-1]  # two segments out of order
    assert len(later) > 2
    ev = read_capture(cap.write_pcap(tmp_path / "c.pcap"), [SubjectAddress(*SUBJECT[:1])], read_torrent(torrent_file))
    p = ev.peers[PEER[0]]
    assert [(b.piece, b.begin) for b in p.sent] == [(0, 0), (0, BLOCK), (1, 0), (1, BLOCK)]
    assert p.sent_bytes == 4 * BLOCK
    assert {b.content for b in p.sent} == {VERIFIED}
    assert p.peer_ids == {b"-XX0001-peerpeerpeer"}
    sent_stream = next(w for w in ev.streams if w.stream.src == SUBJECT[0])
    assert sent_stream.stream.retransmitted_packets == 1 and not sent_stream.stream.holes


def test_utp_stream_with_sequence_wraparound_and_duplicates(tmp_path, torrent_file):
    """uTP: packets numbered across 65535 -> 0, one duplicate, selective-ack extensions: read whole."""
    cap = Capture()
    conn = UtpConn(cap, PEER, SUBJECT, seq_b=65533)
    bt_exchange(conn, [(2, 0), (2, 1)], subject_side=1)
    seq, payload = conn.send(1, piece(0, 0, blk(0, 0)))[0]
    conn.resend(1, seq, payload)
    ev = read_capture(cap.write_pcap(tmp_path / "u.pcap"), [SubjectAddress(SUBJECT[0])], read_torrent(torrent_file))
    p = ev.peers[PEER[0]]
    assert [(b.piece, b.begin, b.length) for b in p.sent] == [(2, 0, BLOCK), (2, BLOCK, len(blk(2, 1))), (0, 0, BLOCK)]
    assert p.transports == {"utp": 2}
    assert [b.content for b in p.sent] == [VERIFIED, VERIFIED, PIECE_INCOMPLETE]  # piece 0: one block of two
    assert sum(w.stream.retransmitted_packets for w in ev.streams) == 1


def test_missing_utp_packet_stops_the_stream_there(tmp_path):
    """A uTP packet missing from the capture: the blocks before it are read, the message it falls in
    is neither a block nor a block cut off by a disconnect, and the stream is reported unframed."""
    cap = Capture()
    conn = UtpConn(cap, PEER, SUBJECT)
    bt_exchange(conn, [(0, 0)], subject_side=1)
    n = len(cap.frames)
    conn.send(1, piece(0, BLOCK, blk(0, 1)) + piece(1, 0, blk(1, 0)))
    del cap.frames[n + 3]
    ev = read_capture(cap.write_pcap(tmp_path / "u.pcap"), [SubjectAddress(SUBJECT[0])])
    assert [(b.piece, b.begin) for b in ev.sent_blocks] == [(0, 0)]
    w = next(w for w in ev.streams if w.stream.src == SUBJECT[0])
    assert w.partial_block is None and w.framing_lost_at is not None and w.unread_bytes > BLOCK
    assert "missing" in w.stream.notes[0]


def test_pcapng_reads_like_pcap(tmp_path):
    """The same packets as pcapng give the same blocks."""
    cap = Capture()
    bt_exchange(TcpConn(cap, SUBJECT, PEER), [(0, 0)], subject_side=0)
    a = read_capture(cap.write_pcap(tmp_path / "c.pcap"), [SubjectAddress(SUBJECT[0])])
    b = read_capture(cap.write_pcapng(tmp_path / "c.pcapng"), [SubjectAddress(SUBJECT[0])])
    assert [(x.piece, x.begin, x.t) for x in a.sent_blocks] == [(x.piece, x.begin, x.t) for x in b.sent_blocks]
    assert len(a.sent_blocks) == 1


@pytest.mark.parametrize("linktype", [113, 101, 0])
def test_other_link_types(tmp_path, linktype):
    """Linux cooked, raw IP and BSD loopback captures read like Ethernet ones."""
    cap = Capture()
    bt_exchange(TcpConn(cap, SUBJECT, PEER), [(0, 0), (1, 1)], subject_side=0)
    ev = read_capture(cap.write_pcap_link(tmp_path / "c.pcap", linktype), [SubjectAddress(SUBJECT[0])])
    assert [(b.piece, b.begin) for b in ev.sent_blocks] == [(0, 0), (1, BLOCK)]
    assert ev.stats.linktype == linktype


def test_encrypted_and_mid_stream_are_counted_not_dropped(tmp_path):
    """An MSE-looking stream and one begun before the capture are reported per peer, not read."""
    cap = Capture()
    bt_exchange(TcpConn(cap, PEER, SUBJECT), [(0, 0)])
    enc = TcpConn(cap, OTHER, SUBJECT, isn_a=77, isn_b=99)
    enc.send(0, os.urandom(96 + 200))
    enc.send(1, os.urandom(96 + 100))
    mid = TcpConn(cap, ("127.10.0.4", 4000), SUBJECT, syn=False)
    mid.send(1, piece(0, 0, blk(0, 0))[5000:])
    ev = read_capture(cap.write_pcap(tmp_path / "c.pcap"), [SubjectAddress(SUBJECT[0])])
    assert ev.peers[OTHER[0]].unreadable["encrypted"] == 2
    assert ev.peers["127.10.0.4"].unreadable["mid_stream"] == 1
    assert len(ev.sent_blocks) == 1
    out = tmp_path / "ev"
    code, stdout, _ = run_cli("evidence", "pcap", tmp_path / "c.pcap", "--subject", SUBJECT[0], "--out", out)
    assert code == 0
    assert "2 encrypted" in " ".join(stdout.split())
    rows = {r["address"]: r for r in csv.DictReader(open(out / "peers.csv"))}
    assert rows[OTHER[0]]["encrypted_streams"] == "2" and rows["127.10.0.4"]["mid_stream_streams"] == "1"


def test_snaplen_cut_blocks_are_counted_but_not_verified(tmp_path, torrent_file):
    """With a short snaplen a block still counts as sent (its header and TCP say so) but its content
    is marked not fully captured; the messages after it are still framed."""
    cap = Capture()
    conn = TcpConn(cap, PEER, SUBJECT)
    conn.send(0, handshake(INFO_HASH, b"-XX0001-peerpeerpeer"))
    conn.send(1, handshake(INFO_HASH, b"-LT2110-subjectsubje"))
    conn.send(1, piece(0, 0, blk(0, 0)), mss=BLOCK + 13)  # one segment per message: headers survive
    conn.send(1, piece(0, BLOCK, blk(0, 1)), mss=BLOCK + 13)
    ev = read_capture(cap.write_pcap(tmp_path / "s.pcap", snaplen=200), [SubjectAddress(SUBJECT[0])],
                      read_torrent(torrent_file))
    assert [(b.piece, b.begin, b.content) for b in ev.sent_blocks] == [(0, 0, NOT_CAPTURED), (0, BLOCK, NOT_CAPTURED)]
    assert ev.stats.snaplen_cut_packets >= 2


def test_gaps_inside_a_block_and_across_a_header(tmp_path, torrent_file):
    """A segment missing inside a block: the block counts, its content is not checkable, the next
    message is still read. A segment missing across a message header: the stream is read up to
    there and the rest is reported unread."""
    cap = Capture()
    conn = TcpConn(cap, PEER, SUBJECT)
    conn.send(0, handshake(INFO_HASH, b"-XX0001-peerpeerpeer"))
    conn.send(1, handshake(INFO_HASH, b"-LT2110-subjectsubje"))
    n = len(cap.frames)
    conn.send(1, piece(0, 0, blk(0, 0)), mss=1000)
    del cap.frames[n + 5]  # inside the first block's payload
    conn.send(1, piece(0, BLOCK, blk(0, 1)), mss=1000)
    n = len(cap.frames)
    conn.send(1, piece(1, 0, blk(1, 0)) + piece(1, BLOCK, blk(1, 1)), mss=1000)
    del cap.frames[n]  # the segment holding the third message's header
    ev = read_capture(cap.write_pcap(tmp_path / "g.pcap"), [SubjectAddress(SUBJECT[0])], read_torrent(torrent_file))
    assert [(b.piece, b.begin, b.content) for b in ev.sent_blocks] == [(0, 0, NOT_CAPTURED), (0, BLOCK, "piece_incomplete_in_capture")]
    w = next(w for w in ev.streams if w.stream.src == SUBJECT[0])
    assert w.stream.hole_bytes == 2000 and w.framing_lost_at is not None and w.unread_bytes > 2 * BLOCK
    assert ev.peers[PEER[0]].incomplete_streams == 1


def test_wrong_content_is_a_hash_mismatch_and_port_narrows_the_subject(tmp_path, torrent_file):
    """A piece whose bytes do not hash to the torrent's is flagged; --subject IP:PORT keeps only
    connections on that port."""
    cap = Capture()
    conn = TcpConn(cap, PEER, SUBJECT)
    conn.send(0, handshake(INFO_HASH, b"-XX0001-peerpeerpeer"))
    conn.send(1, handshake(INFO_HASH, b"-LT2110-subjectsubje"))
    conn.send(1, piece(0, 0, blk(0, 0)) + piece(0, BLOCK, bytes(BLOCK)))
    other = TcpConn(cap, (SUBJECT[0], 40000), OTHER)
    bt_exchange(other, [(1, 0)], subject_side=0)
    path = cap.write_pcap(tmp_path / "m.pcap")
    ev = read_capture(path, [SubjectAddress(SUBJECT[0])], read_torrent(torrent_file))
    assert {b.content for b in ev.peers[PEER[0]].sent} == {"hash_mismatch"}
    assert len(ev.peers[OTHER[0]].sent) == 1
    narrowed = read_capture(path, [SubjectAddress.parse(f"{SUBJECT[0]}:{SUBJECT[1]}")])
    assert OTHER[0] not in narrowed.peers and len(narrowed.sent_blocks) == 2


def test_cli_writes_the_shared_transfer_log_schema(tmp_path, torrent_file):
    """transfer_log.csv has the simulator's columns; peers are numbered from 1 by address."""
    cap = Capture()
    bt_exchange(TcpConn(cap, PEER, SUBJECT), [(0, 0), (2, 0)])
    bt_exchange(UtpConn(cap, OTHER, SUBJECT), [(0, 1)])
    path = cap.write_pcap(tmp_path / "c.pcap")
    out = tmp_path / "ev"
    code, stdout, stderr = run_cli("evidence", "pcap", path, "--subject", SUBJECT[0], "--torrent", torrent_file,
                                   "--out", out, "--t0", cap.frames[0][0])
    assert code == 0, stderr
    rows = list(csv.DictReader(open(out / "transfer_log.csv")))
    assert list(rows[0]) == ["t_s", "peer", "piece", "first_block", "blocks", "bytes"]
    assert [(r["peer"], r["piece"], r["first_block"], r["bytes"]) for r in rows] == [
        ("1", "0", "0", str(BLOCK)), ("1", "2", "0", str(BLOCK)), ("2", "0", "1", str(BLOCK))]
    ev = json.loads((out / "evidence.json").read_text())
    # piece 0 is whole in the capture (its two blocks went to two peers); piece 2 is not
    assert ev["sent"]["content"] == {"verified": 2, "piece_incomplete_in_capture": 1} and ev["streams"] == {"bittorrent_tcp": 2, "bittorrent_utp": 2}
    assert ev["exposure"]["blocks_uploaded"] == 3 and ev["exposure"]["peers_received_block"] == 2
    assert ev["exposure"]["complete_pieces_uploaded"] == 0  # no peer got a whole piece from the subject
    assert ev["subject_peer_ids"] == ["-LT2110-subjectsubje"]
    files = list(csv.DictReader(open(out / "files.csv")))
    assert files[0]["bytes_uploaded"] == str(3 * BLOCK) and files[0]["pieces_touched"] == "2"
    code, _, stderr = run_cli("evidence", "pcap", path, "--subject", SUBJECT[0], "--out", out)
    assert code == 2 and "already exists" in stderr


# ----- bad input: a clear message, exit 2 -------------------------------------------------------
def test_not_a_capture(tmp_path):
    """A file that is not a capture is refused by name."""
    f = tmp_path / "notes.txt"
    f.write_text("hello, this is not a capture\n")
    code, _, err = run_cli("evidence", "pcap", f, "--subject", "127.10.0.1", "--out", tmp_path / "o")
    assert code == 2 and "not a packet capture" in err
    code, _, err = run_cli("evidence", "pcap", tmp_path / "missing.pcap", "--subject", "127.10.0.1")
    assert code == 2 and "cannot read" in err


def test_truncated_capture(tmp_path):
    """A capture cut inside a record is refused (exit 2), or read up to the cut when accepted."""
    cap = Capture()
    bt_exchange(TcpConn(cap, PEER, SUBJECT), [(0, 0), (0, 1)])
    path = cap.write_pcap(tmp_path / "c.pcap")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 700])
    code, _, err = run_cli("evidence", "pcap", path, "--subject", SUBJECT[0], "--out", tmp_path / "o")
    assert code == 2 and "truncated" in err and "--accept-truncated" in err
    code, _, err = run_cli("evidence", "pcap", path, "--subject", SUBJECT[0], "--out", tmp_path / "o",
                           "--accept-truncated")
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "evidence.json").read_text())["capture"]["truncated_file_read_to_record"] >= 1


def test_capture_without_bittorrent(tmp_path):
    """HTTP to and from the subject only: no BitTorrent traffic, exit 2."""
    cap = Capture()
    web = TcpConn(cap, SUBJECT, ("127.10.0.9", 80))
    web.send(0, b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    web.send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    code, _, err = run_cli("evidence", "pcap", cap.write_pcap(tmp_path / "w.pcap"), "--subject", SUBJECT[0],
                           "--out", tmp_path / "o")
    assert code == 2 and "no BitTorrent traffic" in err


def test_subject_absent(tmp_path):
    """A subject address that never appears in the capture: exit 2, saying so."""
    cap = Capture()
    bt_exchange(TcpConn(cap, PEER, SUBJECT), [(0, 0)])
    code, _, err = run_cli("evidence", "pcap", cap.write_pcap(tmp_path / "c.pcap"), "--subject", "127.10.9.9",
                           "--out", tmp_path / "o")
    assert code == 2 and "does not appear" in err
    code, _, err = run_cli("evidence", "pcap", tmp_path / "c.pcap", "--subject", "not-an-ip")
    assert code == 2 and "not an IP address" in err


def test_bad_torrent(tmp_path):
    """A --torrent that is not a torrent: exit 2."""
    cap = Capture()
    bt_exchange(TcpConn(cap, PEER, SUBJECT), [(0, 0)])
    bad = tmp_path / "bad.torrent"
    bad.write_bytes(b"d4:infoi3ee")
    code, _, err = run_cli("evidence", "pcap", cap.write_pcap(tmp_path / "c.pcap"), "--subject", SUBJECT[0],
                           "--torrent", bad)
    assert code == 2 and "not a usable v1 .torrent" in err
