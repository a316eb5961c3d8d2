"""Proof of the capture reader against a swarm whose truth is known: ``lab --pcap --all-blocks``,
TCP only and with uTP on; ``evidence pcap`` on the run's capture must give, per peer, exactly the
blocks of the lab's block logs — except the blocks still in flight when the subject paused, which
are the last ones each log holds for that peer (docs/lab.md, "Residual after a stop")."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from sim.layout import BLOCK_BYTES

from .conftest import STOP_SCENARIO, _lab_run, run_cli

pytestmark = pytest.mark.lab


def _require_tcpdump() -> None:
    if shutil.which("tcpdump") is None and not Path("/usr/bin/tcpdump").exists():
        pytest.skip("tcpdump is not installed (apt-get install tcpdump)")


@pytest.fixture(scope="module", params=["tcp", "utp"])
def pcap_run(request, tmp_path_factory) -> tuple[str, Path, Path]:
    """One lab run with a capture, read by ``evidence pcap``: (transport, raw dir, evidence dir)."""
    _require_tcpdump()
    extra = ["--pcap", "--all-blocks"] + (["--utp"] if request.param == "utp" else ["--tcp-only"])
    run = _lab_run(tmp_path_factory, {**STOP_SCENARIO, "scenario": {"name": f"lab-pcap-{request.param}"}}, *extra)
    raw = run / "replications" / "0000" / "raw"
    lab = json.loads((raw / "lab.json").read_text())
    subject = lab["peers"][0]
    out = run.parent / "evidence"
    addrs = sorted({subject["ip"], subject["out_ip"]})
    args = ["evidence", "pcap", raw / "capture.pcap", "--torrent", raw / "payload.torrent",
            "--t0", repr(lab["t0_unix"]), "--out", out]
    for a in addrs:
        args += ["--subject", a]
    code, stdout, stderr = run_cli(args)
    assert code == 0, f"evidence pcap exited {code}\n{stdout}\n{stderr}"
    return request.param, raw, out


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _lab(raw: Path) -> dict:
    return json.loads((raw / "lab.json").read_text())


def _addresses(lab: dict) -> dict[int, set[str]]:
    return {p["index"]: {p["ip"], p["out_ip"]} for p in lab["peers"]}


def _block_bytes(raw: Path) -> callable:
    from forensics.evidence.torrent import read_torrent
    t = read_torrent(raw / "payload.torrent")
    return lambda piece, block: min(BLOCK_BYTES, t.piece_length(piece) - block * BLOCK_BYTES)


def _last_readings(raw: Path) -> dict[str, float]:
    """When the lab last read the subject's payload counter of a connection, per peer address."""
    out: dict[str, float] = {}
    for r in _rows(raw / "subject-sent.csv"):
        out[r["peer_ip"]] = max(out.get(r["peer_ip"], 0.0), float(r["last_read_s"]))
    return out


def _wire_after(sent: list[dict], addrs: set[str], read_at: dict[str, float]) -> int:
    """Bytes the capture shows sent to a peer (any of its addresses) after the lab's last reading of
    that connection's payload counter: an upper bound of what was handed over after the reading.
    A peer the lab never read has no such bytes (its blocks are all bound by the block tolerance)."""
    t = max((read_at[a] for a in addrs if a in read_at), default=float("inf"))
    return sum(int(r["length"]) for r in sent if r["address"] in addrs and float(r["t_s"]) > t)


def test_capture_is_whole(pcap_run):
    """tcpdump dropped nothing and stayed under its size bound; the run's own traffic only."""
    _, raw, _ = pcap_run
    cap = _lab(raw)["capture"]
    assert cap["packets_dropped_by_kernel"] == 0 and not cap["limit_reached"], cap
    assert cap["packets_captured"] > 100 and cap["filter"].startswith("net 127.")


def test_sent_blocks_equal_the_subject_block_log(pcap_run):
    """Per peer, the blocks on the wire are the subject's block log in the same order; what the log
    holds beyond them is the tail still in flight at the pause: its first block is the one cut off
    mid-message (if any), and together they stay within the lab's documented bound (two blocks per
    peer plus one second of the subject's upload cap)."""
    transport, raw, ev = pcap_run
    lab = _lab(raw)
    log = _rows(raw / "subject-blocks.csv")
    sent = _rows(ev / "blocks.csv")
    peers = {r["address"]: r for r in _rows(ev / "peers.csv")}
    size = _block_bytes(raw)
    in_flight_bytes, total_blocks = 0, 0
    for index, addrs in _addresses(lab).items():
        if index == 0:
            continue
        want = [(int(r["piece"]), int(r["block"])) for r in log if r["peer_ip"] in addrs]
        got = [(int(r["piece"]), int(r["begin"]) // BLOCK_BYTES) for r in sent if r["address"] in addrs]
        assert got == want[:len(got)], f"peer {index}: the wire and the log disagree"
        tail = want[len(got):]
        in_flight_bytes += sum(size(*b) for b in tail)
        total_blocks += len(got)
        row = next((peers[a] for a in addrs if a in peers), None)
        if row is None:
            assert not want
            continue
        assert int(row["sent_blocks"]) == len(got)
        assert int(row["sent_bytes"]) == sum(size(*b) for b in got), f"peer {index}: bytes"
        assert int(row["cut_off_blocks"]) <= len(tail)
    # the subject did upload while leeching: something to prove (at least one piece's worth; a
    # real swarm's upload varies from run to run - a CI run of 2026-12-04 over uTP sent 33 blocks)
    assert total_blocks >= 16
    n_others = len(lab["peers"]) - 1
    assert in_flight_bytes <= 2 * BLOCK_BYTES * n_others + STOP_SCENARIO_SUBJECT_CAP_BPS
    assert {r["content"] for r in sent} == {"verified"}  # every piece is whole in the capture


STOP_SCENARIO_SUBJECT_CAP_BPS = 600_000  # STOP_SCENARIO's subject upload cap


def test_transfer_log_is_what_left_per_peer(pcap_run):
    """The run's transfer log (the block log cut to each connection's payload counter,
    forensics/lab/sent.py) against the wire, peer by peer: whole blocks on the wire to that peer
    minus the log's bytes for it. A block on the wire but not in the cut log was handed to the
    transport after the lab's last reading of that connection's counter (the counter counts a byte
    when the transport takes it), so it reached the wire after that reading: the wire may exceed the
    cut log by at most the bytes the capture shows to that peer after the reading, plus the block in
    transit at the reading. How many that is depends on how long libtorrent's network thread takes
    to act on the pause and on the quota the rate limiter had already granted (a connection's
    bandwidth request is about a second of its rate, sec. "quota tick" of the rate-dynamics notes),
    not on a fixed number of blocks: a CI run on 2026-12-03 handed 3 blocks to one peer in that gap.
    The cut log may also hold one block more than the wire over TCP: libtorrent counts a block sent
    when the kernel took it, and a block still in the socket buffer when the pause resets the
    connection (the receiver's window full: it reads only what its own download limit grants) never
    reaches the wire — seen once in 2026-11-30's lab tests, peer 2 wire 0 against 1 block counted;
    for uTP a block may also stay in uTP's queue, and uTP may have handed the transport several
    blocks in that gap. Over all peers the uncut log (blocks queued) is closer to the wire over TCP
    only by the blocks handed over in that gap (the queued log has them, the counter not yet), and
    at most two blocks closer over uTP. Bytes the torrent's counter holds beyond the readings go to
    the connections that closed unread (the readings name them, forensics/lab/sent.py): a CI run of
    2026-12-07, before they did, put two blocks of a closed connection down to one still open (wire 74
    blocks to it, the cut log 76, late 0), and failed here."""
    transport, raw, ev = pcap_run
    lab = _lab(raw)
    log = _rows(raw.parent / "transfer_log.csv")
    queued = _rows(raw / "subject-blocks.csv")
    sent = _rows(ev / "blocks.csv")
    size = _block_bytes(raw)
    cut_off, queued_off, gap = 0, 0, 0
    n_peers = len(lab["peers"]) - 1
    read_at = _last_readings(raw)
    for index, addrs in _addresses(lab).items():
        if index == 0:
            continue
        wire = sum(size(int(r["piece"]), int(r["begin"]) // BLOCK_BYTES) for r in sent if r["address"] in addrs)
        cut = sum(int(r["bytes"]) for r in log if int(r["peer"]) == index)
        q = sum(size(int(r["piece"]), int(r["block"])) for r in queued if r["peer_ip"] in addrs)
        late = _wire_after(sent, addrs, read_at)
        # uTP: up to as many blocks as the counter test below allows the whole transfer (one per
        # peer), all to one peer: 2 and 3 blocks to peer 2 in 2 of 9 runs on 2026-11-30, where the
        # uncut log matched the wire; the gap between the last reading and the pause
        low, high = (-BLOCK_BYTES, BLOCK_BYTES + late) if transport == "tcp" else (-2 * BLOCK_BYTES, max(n_peers * BLOCK_BYTES, BLOCK_BYTES + late))
        assert low <= wire - cut <= high, (index, wire, cut, q, late)
        cut_off += abs(wire - cut)
        queued_off += abs(wire - q)
        gap += max(0, wire - cut)  # on the wire, not yet counted: handed over after the last reading
    # uTP: the same gap can leave the cut log a block or two farther from the wire than the queued
    # log over the whole run (a CI run on 2026-12-01: cut 2 blocks off, queued 1); TCP: only by the
    # blocks the wire holds beyond the counter (a CI run on 2026-12-01: cut 2 blocks off, queued 1)
    slack = gap if transport == "tcp" else 2 * BLOCK_BYTES
    assert cut_off <= queued_off + slack, (cut_off, queued_off, gap)
    check = lab["subject_check"] if "subject_check" in lab else None
    assert check is None or check.get("cut_to_sent", True)


def test_sent_bytes_match_the_payload_counter(pcap_run):
    """Bytes on the wire (whole blocks + the block cut off mid-message) against libtorrent's own
    payload counter, which counts a byte when it is handed to the transport. The lab reads the
    counter just before it posts the pause (a pause resets it), and libtorrent's network thread
    keeps sending until it handles the pause: for TCP the wire may hold more than the counter, by
    what was handed over in that gap — all of it on the wire after the reading, so at most what the
    capture shows after it, plus the block each connection had in transit (usually 0; 3 blocks to
    one peer in a CI run on 2026-12-03). For uTP, bytes still in uTP's own send queue at the pause
    never leave, so the wire may also hold less, by at most 2 blocks a peer."""
    transport, raw, ev = pcap_run
    lab = _lab(raw)
    peers = _rows(ev / "peers.csv")
    wire = sum(int(r["sent_bytes"]) + int(r["cut_off_bytes"]) for r in peers)
    counter = lab["subject_check"]["status_uploaded_bytes"]
    others = len(lab["peers"]) - 1
    sent, read_at = _rows(ev / "blocks.csv"), _last_readings(raw)
    late = sum(_wire_after(sent, addrs, read_at) for i, addrs in _addresses(lab).items() if i != 0)
    if transport == "tcp":
        assert 0 <= wire - counter <= BLOCK_BYTES * others + late, (wire, counter, late)
    else:
        assert -(BLOCK_BYTES * others + late) <= counter - wire <= 2 * BLOCK_BYTES * others, (wire, counter, late)


def test_received_blocks_equal_the_other_peers_logs(pcap_run):
    """With --all-blocks every other peer logs what it uploads: what the subject received from each,
    on the wire, is that peer's log of blocks to the subject, in order, but for an in-flight tail
    (cut off when the subject paused and closed its connections)."""
    transport, raw, ev = pcap_run
    lab = _lab(raw)
    subject = _addresses(lab)[0]
    received = _rows(ev / "received_blocks.csv")
    assert received
    for index, addrs in _addresses(lab).items():
        if index == 0:
            continue
        want = [(int(r["piece"]), int(r["block"])) for r in _rows(raw / f"peer-{index:04d}-blocks.csv")
                if r["peer_ip"] in subject]
        got = [(int(r["piece"]), int(r["begin"]) // BLOCK_BYTES) for r in received if r["address"] in addrs]
        assert got == want[:len(got)], f"peer {index}"
        assert len(want) - len(got) <= 2 + STOP_SCENARIO_SUBJECT_CAP_BPS // BLOCK_BYTES


def test_transports_and_times(pcap_run):
    """TCP-only runs hold only TCP BitTorrent streams, uTP runs uTP ones; each block is on the wire
    no earlier than libtorrent logged it into a send buffer, and soon after."""
    transport, raw, ev = pcap_run
    summary = json.loads((ev / "evidence.json").read_text())
    kinds = {k for k in summary["streams"] if k.startswith("bittorrent_")}
    assert kinds == {f"bittorrent_{transport}"}, summary["streams"]
    assert summary["streams_of_other_torrents"] == 0
    assert not any(k.startswith(("encrypted", "mid_stream")) for k in summary["streams"])
    lab = _lab(raw)
    log = _rows(raw / "subject-blocks.csv")
    sent = _rows(ev / "blocks.csv")
    for index, addrs in _addresses(lab).items():
        want = [float(r["t_s"]) for r in log if r["peer_ip"] in addrs]
        got = [float(r["t_s"]) for r in sent if r["address"] in addrs]
        for t_log, t_wire in zip(want, got):
            assert t_log - 0.05 <= t_wire <= t_log + 3.0, (index, t_log, t_wire)


# ----- the capture process is cleaned up like every other lab process ---------------------------
def _tcpdumps(lab) -> set[int]:
    return {pid for pid in lab.children() if b"tcpdump" in Path(f"/proc/{pid}/cmdline").read_bytes()}


def test_ctrl_c_stops_the_capture(tmp_path):
    """SIGINT mid-run with --pcap: exit 130, and no tcpdump (nor anything else) is left."""
    from .conftest import require_opentracker
    from .test_lab_cli import LabProcess, _assert_clean
    _require_tcpdump()
    require_opentracker()
    lab = LabProcess(tmp_path, "--pcap")
    lab.wait_for_children(4 + 2 + 2)  # 4 peers, opentracker and tcpdump, each under its guard
    assert _tcpdumps(lab)
    time.sleep(1.0)
    lab.proc.send_signal(signal.SIGINT)
    _, err = lab.proc.communicate(timeout=60)
    assert lab.proc.returncode == 130, err
    _assert_clean(lab)


def test_sigkill_of_the_lab_takes_the_capture_along(tmp_path):
    """A SIGKILLed lab leaves no tcpdump behind: its guard gets the death signal and stops it."""
    from .conftest import require_opentracker
    from .test_lab_cli import LabProcess
    _require_tcpdump()
    require_opentracker()
    lab = LabProcess(tmp_path, "--pcap")
    lab.wait_for_children(4 + 2 + 2)
    time.sleep(1.0)
    lab.proc.kill()
    lab.proc.communicate(timeout=30)
    procs, ports, _ = lab.leftovers(settle_s=15.0)
    assert not procs, f"processes left behind: {procs}"
    assert not ports


# ----- encrypted streams (MSE/PE) from real libtorrent ------------------------------------------
def test_encrypted_streams_are_counted(tmp_path):
    """Two libtorrent sessions with encryption forced, captured like a lab run: the reader counts both
    directions as encrypted, with their bytes, and reads no block out of them."""
    import os
    import warnings

    import libtorrent as lt

    from forensics.lab.capture import LoopbackCapture

    _require_tcpdump()
    prefix = f"127.{60 + os.getpid() % 30}"  # outside the lab's 127.100-199 ranges; ports narrow it further

    def session(ip: str):
        s = lt.session({"listen_interfaces": f"{ip}:0", "outgoing_interfaces": ip, "enable_dht": False,
                        "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
                        "enable_outgoing_utp": False, "enable_incoming_utp": False,
                        "out_enc_policy": int(lt.enc_policy.forced), "in_enc_policy": int(lt.enc_policy.forced),
                        "allowed_enc_level": int(lt.enc_level.rc4), "prefer_rc4": True})
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        s.set_peer_class_filter(f)
        return s

    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    (seed_dir / "f.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    fs = lt.file_storage()
    fs.add_file("f.bin", 2 * 1024 * 1024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ct = lt.create_torrent(fs, 262144, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, str(seed_dir))
    (tmp_path / "t.torrent").write_bytes(lt.bencode(ct.generate()))
    seed, leech = session(f"{prefix}.0.2"), session(f"{prefix}.0.3")
    deadline = time.monotonic() + 10
    while not (seed.listen_port() and leech.listen_port()) and time.monotonic() < deadline:
        time.sleep(0.05)
    with LoopbackCapture(tmp_path / "mse.pcap", prefix, [seed.listen_port(), leech.listen_port()]) as cap:
        for ses, path, flags in ((seed, seed_dir, lt.torrent_flags.seed_mode), (leech, tmp_path / "dl", 0)):
            p = lt.add_torrent_params()
            p.ti = lt.torrent_info(str(tmp_path / "t.torrent"))
            p.save_path = str(path)
            p.flags |= flags
            h = ses.add_torrent(p)
        h.connect_peer((f"{prefix}.0.2", seed.listen_port()))
        deadline = time.monotonic() + 30
        while not h.status().is_seeding and time.monotonic() < deadline:
            time.sleep(0.1)
        assert h.status().is_seeding
        cap.stop()
    seed.pause()
    leech.pause()
    out = tmp_path / "ev"
    code, stdout, stderr = run_cli(["evidence", "pcap", tmp_path / "mse.pcap", "--subject", f"{prefix}.0.2",
                                    "--out", out])
    assert code == 0, stderr
    row = _rows(out / "peers.csv")[0]
    assert row["encrypted_streams"] == "2" and row["sent_blocks"] == "0"
    # most of the 2 MiB file, counted as unreadable rather than dropped (on a loaded machine
    # tcpdump may miss the last packets of the transfer, so not all of it)
    assert int(row["unreadable_sent_bytes"]) > 1.5 * 1024 * 1024
    assert json.loads((out / "evidence.json").read_text())["streams"] == {"encrypted_tcp": 2}
