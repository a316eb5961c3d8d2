"""A real subject session holding three torrents at once, each with its own swarm, one opentracker."""

from __future__ import annotations

import csv
import json

import pytest

from .conftest import require_opentracker, run_cli

pytestmark = pytest.mark.lab

SWARM = """
[torrent]
piece_size = "256KiB"
total_size = "3MiB"
[swarm]
announce_interval_s = 5
[swarm.seeds]
count = 1
upload = "1MB/s"
[swarm.leechers]
count = 2
spread_s = 1
upload = "300kB/s"
download = "4MB/s"
seed_time = "leave"
"""

SESSION = """
[session]
name = "lab-test-session"
upload = "600kB/s"
download = "4MB/s"
on_complete = "stop"
active_downloads = 2
[simulation]
horizon_s = 90
replications = 1
seed = 12
[[torrent]]
scenario = "t1.toml"
[[torrent]]
scenario = "t2.toml"
[[torrent]]
scenario = "t3.toml"
"""


@pytest.fixture(scope="module")
def session_run(tmp_path_factory):
    require_opentracker()
    d = tmp_path_factory.mktemp("session")
    for j in (1, 2, 3):
        (d / f"t{j}.toml").write_text(f'[scenario]\nname = "t{j}"\n' + SWARM)
    (d / "session.toml").write_text(SESSION)
    code, out, err = run_cli(["lab", d / "session.toml", "--out", d / "lab", "--trace-connections", "--all-blocks"])
    assert code == 0, err
    return d / "lab"


def test_every_torrent_completes_in_one_session(session_run):
    """The subject's one session downloads all three torrents; the run directory has each torrent's
    results in the model's shape and the session totals."""
    with open(session_run / "results.csv", newline="") as f:
        totals = list(csv.DictReader(f))
    assert len(totals) == 1 and int(totals[0]["session_torrents_completed"]) == 3
    assert int(totals[0]["session_download_bytes"]) >= 3 * 3 * 1024**2
    for j in range(3):
        with open(session_run / "torrents" / f"{j:02d}" / "results.csv", newline="") as f:
            row = next(csv.DictReader(f))
        assert int(row["subject_completed"]) == 1
    man = json.loads((session_run / "manifest.json").read_text())
    assert man["kind"] == "lab-session" and len(man["input_sha256"]) == 4


def test_each_torrent_records_how_its_peers_ended(session_run):
    """Each torrent's raw lab.json: the run's clock and tracker, and that no peer (the subject's
    shared session included) had to be stopped by force."""
    for j in range(3):
        lab = json.loads((session_run / "torrents" / f"{j:02d}" / "replications" / "0000" / "raw" / "lab.json").read_text())
        assert lab["torrent"] == j and lab["replication"] == 0
        assert lab["end_s"] > 0 and lab["announce_url"].startswith("http://127.")
        assert lab["stopped_by_force"] == []


def test_queue_holds_the_third_torrent_back(session_run):
    """active_downloads = 2: libtorrent's own queue starts the third torrent only once one of the
    first two has completed (and been stopped)."""
    def subject(j):
        with open(session_run / "torrents" / f"{j:02d}" / "replications" / "0000" / "peers.csv", newline="") as f:
            return next(csv.DictReader(f))
    first_done = min(float(subject(j)["complete_s"]) for j in (0, 1))
    assert float(subject(2)["join_s"]) >= first_done - 0.5  # sampled every 0.1 s


def test_a_queued_torrent_is_watched_from_its_start(session_run):
    """The session's one process stops a completed torrent without waiting for its last block
    alerts (it reads them in its loop), so the torrent the queue starts then is sampled from its
    start: its first sample within a sample interval (0.5 s) of its join, and no block reached the
    subject before its recorded join. (Draining a second after each stop held the next torrent's
    samples and join up: its first sample came a second late, and a torrent the queue started
    during the drain was stamped with the time before it.)"""
    rep = session_run / "torrents" / "02" / "replications" / "0000"
    with open(rep / "peers.csv", newline="") as f:
        join = float(next(r for r in csv.DictReader(f) if r["role"] == "subject")["join_s"])
    with open(rep / "timeseries.csv", newline="") as f:
        first_sample = float(next(csv.DictReader(f))["t_s"])
    assert join <= first_sample <= join + 0.5 + 0.15, (join, first_sample)
    got = []
    for log in (rep / "raw").glob("peer-*-blocks.csv"):
        with open(log, newline="") as f:
            got += [float(r["t_s"]) for r in csv.DictReader(f) if r["peer_ip"].endswith(".0.2")]
    assert got and min(got) >= join - 0.15, (join, min(got))  # the loop's 0.1-s cadence


def test_each_torrent_has_a_connection_trace_from_every_end(session_run):
    """--trace-connections: each torrent's connections.csv holds the subject's side (local 0, sampled
    by the session's one process) and its other peers' sides, every remote one of that torrent's
    peers; the subject's last totals per connection add up to what it uploaded in that torrent (to
    within a few blocks in flight when the counters were read). --all-blocks: every other peer's
    block log is in raw/. (The subject's last sample falls up to 0.1 s before it stops a completed
    torrent: what it sent after that sample is in its block log, not in the trace.)"""
    for j in range(3):
        rep = session_run / "torrents" / f"{j:02d}" / "replications" / "0000"
        with open(rep / "peers.csv", newline="") as f:
            peers = list(csv.DictReader(f))
        with open(rep / "connections.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        locals_ = {int(r["local"]) for r in rows}
        assert 0 in locals_ and len(locals_) >= 2, (j, locals_)
        assert {int(r["remote"]) for r in rows} <= set(range(len(peers))), j
        # per remote, each connection's last total (a total that drops is a new connection to it),
        # and when it was last sampled: what the subject's block log has for it after that was sent
        # as the connection closed (the peer left, or the subject stopped the torrent)
        last: dict[int, int] = {}
        last_t: dict[int, float] = {}
        closed = 0
        for r in rows:
            if r["local"] == "0":
                remote, total = int(r["remote"]), int(r["total_up_bytes"])
                if total < last.get(remote, 0):
                    closed += last[remote]
                last[remote], last_t[remote] = total, float(r["t_s"])
        with open(rep / "transfer_log.csv", newline="") as f:
            after = sum(int(b["bytes"]) for b in csv.DictReader(f)
                        if float(b["t_s"]) > last_t.get(int(b["peer"]), -1.0))
        uploaded = int(peers[0]["uploaded_bytes"])
        # blocks stamped by their alert, counters read by the sample: a few in flight either way
        traced = closed + sum(last.values())
        assert abs(traced + after - uploaded) <= 4 * 16384, (j, traced, after, uploaded)
        raw = rep / "raw"
        for p in peers[1:]:
            assert (raw / f"peer-{int(p['peer']):04d}-blocks.csv").is_file(), (j, p["peer"])
        subject = json.loads((raw / "peer-0000.json").read_text())
        assert subject["connection_trace"]["samples"] > 10
