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
    code, out, err = run_cli(["lab", d / "session.toml", "--out", d / "lab"])
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
