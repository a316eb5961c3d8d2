"""A real swarm: libtorrent sessions and opentracker on loopback, measured like the simulator."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from forensics.lab.peer import DRAIN_AFTER_PAUSE_S
from forensics.traces import BLOCK_LOG_COLUMNS
from sim.layout import BLOCK_BYTES
from sim.results import FILE_COLUMNS, HEADLINE_FIELDS, LOG_COLUMNS, PEER_COLUMNS, TIMESERIES_COLUMNS

from .conftest import STOP_SCENARIO, SUBJECT_QUEUE_SETTINGS, run_cli, write_scenario

pytestmark = pytest.mark.lab


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def lab_json(run: Path) -> dict:
    return json.loads((run / "replications" / "0000" / "raw" / "lab.json").read_text())


def headline(run: Path) -> dict:
    return {k: float(v) if v != "" else float("nan") for k, v in read_csv(run / "results.csv")[0].items()}


def test_conservation(stop_run):
    """All payload uploaded equals all payload downloaded, but for what was in flight at the reads.

    Every peer's totals are read once, at its pause or at the run's end. A block written to a socket
    counts as sent at once and as received only when read: blocks in the transport when a receiver
    paused count as sent only (at most what the peers had requested of others at their reads);
    blocks a sender wrote after its own read count as received only (at most what had been
    requested of it then). Within those bounds and 4 blocks per peer: nothing else creates or
    destroys payload bytes."""
    c = lab_json(stop_run)["conservation"]
    peers = read_csv(stop_run / "replications" / "0000" / "peers.csv")
    assert c["downloaded_bytes"] > 4 * 4_597_152 * 0.99  # every downloader got (about) everything
    to_r, from_r = c["max_in_flight_to_readers_bytes"], c["max_in_flight_from_readers_bytes"]
    assert to_r >= 0 and from_r >= 0, c
    slack = 4 * BLOCK_BYTES * len(peers)
    assert -(from_r + slack) <= c["difference_bytes"] <= to_r + slack, c


def test_everyone_completed_and_subject_stopped_at_completion(stop_run):
    """Every downloader completed; the subject left the swarm at its torrent_finished_alert."""
    peers = read_csv(stop_run / "replications" / "0000" / "peers.csv")
    for p in peers:
        if p["role"] != "seed":
            assert p["complete_s"] != "", p
    subj = peers[0]
    assert subj["role"] == "subject"
    assert float(subj["leave_s"]) - float(subj["complete_s"]) < 0.5


def test_stop_at_completion_uploads_nothing_afterwards(stop_run):
    """A subject that stops at completion sends (almost) nothing after it: at most one block per
    connected peer may be stamped after the finish — blocks placed in send buffers between the
    alert and the pause taking effect, which the pause then discards (the status counter, which
    counts bytes actually sent, shows whether they left)."""
    h = headline(stop_run)
    n_peers = int(h["swarm_peers"])
    assert h["subject_completed"] == 1
    assert h["subject_upload_leech_bytes"] > 0  # it did upload while leeching: the point of the lab
    assert h["subject_upload_seed_bytes"] <= BLOCK_BYTES * (n_peers - 1)
    check = lab_json(stop_run)["subject_check"]
    sent_after = check["status_uploaded_bytes"] - check["status_uploaded_at_complete_bytes"]
    assert 0 <= sent_after <= BLOCK_BYTES * (n_peers - 1)
    # libtorrent's alerts name blocks placed in send buffers, the counter bytes that left: they
    # differ by what sat in the send buffers when connections closed. libtorrent keeps about half
    # a second of a connection's upload rate buffered (send_buffer_watermark_factor 50 %), at
    # least one block: allow two blocks per peer plus one second of the subject's upload cap.
    buffered = 2 * BLOCK_BYTES * (n_peers - 1) + 600_000
    assert 0 <= check["log_bytes_queued"] - check["status_uploaded_bytes"] <= buffered, check
    # The transfer log is cut to each connection's counter (forensics/lab/sent.py): whole blocks
    # only, so it may fall short of the counter by less than a block per connection, never exceed it.
    assert check["cut_to_sent"] is True
    assert -BLOCK_BYTES * (n_peers - 1) < check["log_bytes"] - check["status_uploaded_bytes"] <= 0, check
    assert check["blocks_queued_never_sent"] * BLOCK_BYTES >= check["log_bytes_queued"] - check["log_bytes"]
    assert check["blocks_to_unknown_address"] == 0
    # libtorrent acted on the pause (torrent_paused_alert) after the application posted it, within
    # the drain that follows (the alert's and the application's clocks agree to a few ms)
    lag = check["pause_took_effect_after_s"]
    assert lag is not None and -0.05 <= lag <= DRAIN_AFTER_PAUSE_S, check


def test_seed_upload_cap_is_honoured(stop_run):
    """The seed's 1 MB/s cap holds within -20 % / +10 % while every downloader wants its data.

    Without mapping loopback peers to the global peer class, libtorrent would ignore the cap on
    127/8 and the seed would send at memory speed (hundreds of MB/s): this test would fail.
    The band: the cap counts payload plus protocol messages (so payload sits a little below it),
    libtorrent hands out quota in 500 ms rounds, and the window is cut at 0.5 s samples; on
    examples/lab-small.toml the seed's payload rate came out at 1.6 % above its cap (docs/lab.md)."""
    s = np.loadtxt(stop_run / "replications" / "0000" / "raw" / "peer-0001-samples.csv", delimiter=",", skiprows=1)
    peers = read_csv(stop_run / "replications" / "0000" / "peers.csv")
    first_done = min(float(p["complete_s"]) for p in peers if p["role"] != "seed")
    window = s[(s[:, 0] >= 1.0) & (s[:, 0] <= first_done)]
    assert len(window) >= 4, "the swarm finished too fast to measure a rate"
    rate = (window[-1, 1] - window[0, 1]) / (window[-1, 0] - window[0, 0])
    cap = 1_000_000
    assert 0.80 * cap <= rate <= 1.10 * cap, f"seed uploaded at {rate:.0f} B/s with a {cap} B/s cap"


def test_samples_at_least_once_per_second(stop_run):
    """Every peer's payload counters were sampled at least once per second."""
    assert lab_json(stop_run)["max_sample_gap_s"] <= 1.0


def test_run_dir_has_the_simulate_schema(stop_run, tmp_path):
    """The lab writes the same files and columns as `simulate` (plus raw/), and a complete run dir."""
    sim_out = tmp_path / "sim"
    code, _, err = run_cli(["simulate", write_scenario(tmp_path, STOP_SCENARIO), "--runs", "1", "--out", sim_out])
    assert code == 0, err

    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "raw" not in p.parts}

    assert files(stop_run) == files(sim_out)
    assert not (stop_run / "INCOMPLETE").exists()
    for name in ("results.csv", "replications/0000/transfer_log.csv", "replications/0000/peers.csv",
                 "replications/0000/files.csv", "replications/0000/timeseries.csv"):
        with open(stop_run / name) as a, open(sim_out / name) as b:
            assert a.readline() == b.readline(), name
    rep = stop_run / "replications" / "0000"
    assert tuple(read_csv(rep / "transfer_log.csv")[0]) == LOG_COLUMNS
    assert tuple(read_csv(rep / "peers.csv")[0]) == PEER_COLUMNS
    assert tuple(read_csv(rep / "files.csv")[0]) == FILE_COLUMNS
    assert tuple(read_csv(rep / "timeseries.csv")[0]) == TIMESERIES_COLUMNS
    assert tuple(read_csv(stop_run / "results.csv")[0])[1:] == HEADLINE_FIELDS
    man = json.loads((stop_run / "manifest.json").read_text())
    assert man["kind"] == "lab"
    assert man["lab"]["versions"]["libtorrent"].startswith("2.")
    host = man["lab"]["host"]  # the machine's load around each run: part of a real swarm's conditions
    assert host["cpus"] >= 1 and list(host["load_1min_before_after"]) == ["0000"]
    assert all(x >= 0.0 for x in host["load_1min_before_after"]["0000"])
    settings = json.loads((rep / "raw" / "peer-0000.json").read_text())["settings"]
    assert settings["enable_dht"] is False and settings["upload_rate_limit"] == 600_000


def test_multi_file_exposure(stop_run):
    """The two files of the torrent get per-file figures from the per-block log."""
    rows = read_csv(stop_run / "replications" / "0000" / "files.csv")
    assert [r["path"] for r in rows] == ["book/part1.bin", "book/part2.bin"]
    assert sum(int(r["bytes_uploaded"]) for r in rows) == int(headline(stop_run)["subject_upload_total_bytes"])


def test_free_rider_uploads_nothing(free_rider_run):
    """A free-rider subject downloads everything and uploads not one byte, never stopping."""
    h = headline(free_rider_run)
    assert h["subject_completed"] == 1
    assert h["subject_upload_total_bytes"] == 0
    check = lab_json(free_rider_run)["subject_check"]
    assert check["status_uploaded_bytes"] == 0 and check["log_bytes"] == 0


def test_scenario_settings_reach_the_real_sessions(free_rider_run):
    """The subject's send buffer and request queue settings from the scenario are the ones its
    libtorrent session ran with (as read back from it); the others run with libtorrent's defaults."""
    import libtorrent as lt

    raw = free_rider_run / "replications" / "0000" / "raw"
    subject = json.loads((raw / "peer-0000.json").read_text())["settings"]
    other = json.loads((raw / "peer-0001.json").read_text())["settings"]
    defaults = lt.default_settings()
    assert {k: subject[k] for k in SUBJECT_QUEUE_SETTINGS} == SUBJECT_QUEUE_SETTINGS
    assert {k: other[k] for k in SUBJECT_QUEUE_SETTINGS} == {k: defaults[k] for k in SUBJECT_QUEUE_SETTINGS}
    assert all(SUBJECT_QUEUE_SETTINGS[k] != defaults[k] for k in SUBJECT_QUEUE_SETTINGS)


def test_non_connectable_peers_accept_no_connection(free_rider_run):
    """Non-connectable peers (the subject and about half the others) never get an incoming
    connection, yet complete by connecting out; connectable ones do get incoming connections."""
    lab = lab_json(free_rider_run)
    incoming = lab["incoming_connections"]
    conn = {p["index"]: p["connectable"] for p in lab["peers"]}
    assert not conn[0]
    assert any(not c for c in conn.values()) and any(c for c in conn.values())
    for i, c in conn.items():
        if not c:
            assert incoming[str(i)] == 0, f"peer {i} is not connectable but accepted {incoming[str(i)]}"
    assert sum(incoming[str(i)] for i, c in conn.items() if c) > 0
    peers = read_csv(free_rider_run / "replications" / "0000" / "peers.csv")
    assert all(p["complete_s"] != "" for p in peers if p["role"] != "seed")


def test_a_finished_run_leaves_nothing_running(stop_run):
    """After a successful run none of its peers' addresses is listening, its temporary directory is
    gone and no process mentions it (peers and tracker were started with paths inside it)."""
    from .conftest import listening_loopback_ports, processes_with

    lab = lab_json(stop_run)
    ips = {p["ip"] for p in lab["peers"]}
    assert not {ip for ip, _ in listening_loopback_ports()} & ips
    workdir = Path(lab["tracker_command"][lab["tracker_command"].index("-d") + 1]).parent
    assert workdir.name.startswith("leechsim-lab-")
    assert not workdir.exists()
    assert not processes_with(str(workdir).encode())


def test_all_blocks_accounts_for_every_download(stop_run):
    """With --all-blocks every peer logs what it uploads; summed per receiver, the logs account
    for what each peer downloaded, and the seed's row for what the seed uploaded. The logs may
    hold more: libtorrent reports a block when it is queued for sending, so blocks still in the
    senders' buffers when a receiver leaves are logged but never arrive (a few per connection)."""
    from forensics.lab.shares import load_uploads, main as shares_main

    raw = stop_run / "replications" / "0000" / "raw"
    for log in sorted(raw.glob("*-blocks.csv")):  # each row has the fields its header names
        with open(log, newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == list(BLOCK_LOG_COLUMNS) and len(rows) > 1, log
        assert {len(r) for r in rows[1:]} == {len(BLOCK_LOG_COLUMNS)}, log
    up = load_uploads(raw)
    m = up.matrix_bytes()
    peers = read_csv(stop_run / "replications" / "0000" / "peers.csv")
    assert len(peers) == m.shape[0]
    for i, p in enumerate(peers):
        assert m[i, i] == 0  # nobody uploads to itself
        extra = m[:, i].sum() - float(p["downloaded_bytes"])
        assert -4 * BLOCK_BYTES <= extra <= 8 * BLOCK_BYTES * len(peers), (i, m[:, i].sum(), p)
        if p["role"] == "seed":
            assert abs(m[i].sum() - float(p["uploaded_bytes"])) <= 8 * BLOCK_BYTES * len(peers)
    seed = next(i for i, p in enumerate(peers) if p["role"] == "seed")
    starts, rates = up.rates(seed, 1.0)
    assert rates.sum() == pytest.approx(m[seed].sum(), rel=1e-12)  # 1 s windows: bytes/s sum to bytes
    out = io.StringIO()
    assert shares_main([str(stop_run), "--window-s", "2"], out=out) == 0
    assert f"peer {seed} (seed): upload to each receiver" in out.getvalue()
