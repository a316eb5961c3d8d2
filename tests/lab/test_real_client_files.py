"""Client state and settings files written by the real programs, read back by the case builder.

transmission-daemon and qbittorrent-nox (Debian packages) download a lab torrent from a real
libtorrent seed on loopback, are stopped as a service manager stops them, and the resume and
settings files they wrote are read. The lab's own --save-resume output is checked the same way.
Every expected value is known independently: what the test wrote into the settings, the payload
size, and zero upload (the only other peer is a seed, which takes nothing).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest

from forensics.case.client_settings import read_client_settings
from forensics.case.client_state import read_client_state
from forensics.case.evidence_file import read_evidence
from forensics.case.torrent_file import read_torrent_file
from forensics.errors import UserError
from sim.scenario import load_scenario

from .conftest import _lab_run, run_cli
from .real_clients import lab_torrent, libtorrent_seed, qbittorrent, serve_until_done, stop_client, transmission

pytestmark = pytest.mark.lab

SIZE_BYTES = 1_300_000


def torrent_of(path: Path):
    return read_torrent_file(read_evidence(path, ".torrent"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def case_from(tmp: Path, torrent: Path, state: Path, settings: Path):
    """leechsim case new with the client's files; the case as a validated scenario."""
    out = tmp / "case.toml"
    code, _, err = run_cli(["case", "new", out, "--torrent", torrent, "--client-state", state,
                            "--client-settings", settings])
    assert code == 0, err
    return load_scenario(out)


def test_transmission_resume_and_settings(tmp_path):
    """Transmission 3: downloaded = the payload, uploaded 0, added/done dates within the test's
    run; settings.json as the daemon rewrote it: 50 kB/s -> 50,000 B/s, ratio limit 2 -> seed
    until ratio 2; slots and peer caps listed as not mapped; a resume of another torrent refused."""
    torrent, root = lab_torrent(tmp_path, "book", SIZE_BYTES, 1)
    other, _ = lab_torrent(tmp_path, "other", SIZE_BYTES, 2)
    t0 = time.time()
    with libtorrent_seed(torrent, root) as seed, \
            transmission(tmp_path, {"speed-limit-up": 50, "speed-limit-up-enabled": True, "ratio-limit": 2,
                                    "ratio-limit-enabled": True, "upload-slots-per-torrent": 6}) as (proc, cfg, watch, addr):
        shutil.copy(torrent, watch / ".book.part")
        (watch / ".book.part").rename(watch / "book.torrent")  # the watch dir must see a whole file
        serve_until_done(seed, addr, SIZE_BYTES)
        assert stop_client(proc) == 0
    t1 = time.time()
    (resume,) = (cfg / "resume").glob("*.resume")
    t = torrent_of(torrent)
    assert resume.stem == t.info_hash_v1  # Transmission 3 names it by the info-hash
    state = read_client_state(read_evidence(resume, "client state"), t)
    assert state.kind == "Transmission resume"
    assert state.counters["downloaded"] == SIZE_BYTES
    assert state.observed["subject_upload_total_bytes"][0] == 0
    assert "subject_download_bytes" not in state.observed  # counts duplicates: not compared with the model
    assert t0 - 1 <= state.added_unix <= t1
    assert 0 <= state.observed["subject_download_time_s"][0] <= t1 - t0 + 1
    settings = read_client_settings(read_evidence(cfg / "settings.json", "client settings"))
    assert json.loads((cfg / "settings.json").read_text())["peer-limit-global"] == 200  # rewritten by the daemon
    assert settings.settings["subject.libtorrent.upload_rate_limit"][0] == 50_000
    assert settings.settings["subject.on_complete"][0] == "seed_until_ratio"
    assert settings.settings["subject.seed_until_ratio"][0] == 2.0
    assert {f for f, _, _ in settings.unmapped} >= {"upload-slots-per-torrent", "peer-limit-global"}
    with pytest.raises(UserError, match="is another torrent than other.torrent"):
        read_client_state(read_evidence(resume, "client state"), torrent_of(other))
    case = case_from(tmp_path, torrent, resume, cfg / "settings.json")
    assert case.subject.libtorrent.upload_rate_limit == 50_000
    assert (case.subject.on_complete, case.subject.seed_until_ratio) == ("seed_until_ratio", 2.0)
    assert case.evidence.subject_upload_total_bytes == 0
    assert case.sources["subject.libtorrent.upload_rate_limit"].startswith(
        f"evidence: settings.json, sha256 {sha256(cfg / 'settings.json')}")


def test_qbittorrent_fastresume_and_config(tmp_path):
    """qBittorrent (headless qbittorrent-nox): fastresume with the torrent's info-hash, downloaded =
    the payload, uploaded 0; qBittorrent.conf as it rewrote it: 40 KiB/s -> 40,960 B/s, 5 slots,
    150 connections, ratio 1.5, a 256 KiB send buffer watermark -> 262,144 B, a request queue of at
    most 250 blocks; a fastresume of another torrent refused."""
    torrent, root = lab_torrent(tmp_path, "book", SIZE_BYTES, 3)
    other, _ = lab_torrent(tmp_path, "other", SIZE_BYTES, 4)
    with libtorrent_seed(torrent, root) as seed, \
            qbittorrent(tmp_path, torrent, {"GlobalUPSpeedLimit": 40, "MaxUploads": 5, "MaxConnections": 150,
                                            "GlobalMaxRatio": 1.5, "SendBufferWatermark": 256,
                                            "RequestQueueSize": 250, "IncludeOverheadInLimits": "true"}) \
            as (proc, qdir, addr):
        serve_until_done(seed, addr, SIZE_BYTES)
        assert stop_client(proc) == 0
    t = torrent_of(torrent)
    fastresume = qdir / "data" / "BT_backup" / f"{t.info_hash_v1}.fastresume"
    state = read_client_state(read_evidence(fastresume, "client state"), t)
    assert state.kind == "qBittorrent fastresume"
    assert state.counters["total_downloaded"] == SIZE_BYTES
    assert state.observed["subject_upload_total_bytes"][0] == 0
    conf = qdir / "config" / "qBittorrent.conf"
    assert "[Meta]" in conf.read_text()  # rewritten by qBittorrent, not only what the test wrote
    settings = read_client_settings(read_evidence(conf, "client settings"))
    got = {k: v for k, (v, _) in settings.settings.items()}
    assert got == {"subject.libtorrent.upload_rate_limit": 40_960, "subject.libtorrent.unchoke_slots_limit": 5,
                   "subject.libtorrent.connections_limit": 150, "subject.on_complete": "seed_until_ratio",
                   "subject.seed_until_ratio": 1.5, "subject.libtorrent.send_buffer_watermark": 262_144,
                   "subject.libtorrent.max_out_request_queue": 250, "subject.libtorrent.rate_limit_ip_overhead": True}
    with pytest.raises(UserError, match="info-hash: .* is another torrent than other.torrent"):
        read_client_state(read_evidence(fastresume, "client state"), torrent_of(other))
    case = case_from(tmp_path, torrent, fastresume, conf)
    lts = case.subject.libtorrent
    assert (lts.upload_rate_limit, lts.unchoke_slots_limit, lts.connections_limit) == (40_960, 5, 150)
    assert (case.subject.on_complete, case.subject.seed_until_ratio) == ("seed_until_ratio", 1.5)
    assert case.evidence.subject_upload_total_bytes == 0
    assert case.sources["subject.libtorrent.unchoke_slots_limit"].startswith(
        f"evidence: qBittorrent.conf, sha256 {sha256(conf)}")
    assert case.sources["subject.libtorrent.seed_choking_algorithm"].startswith("assumed: qBittorrent's default")
    assert lts.seed_choking_algorithm == "fastest_upload"  # qBittorrent's default, not libtorrent's
    assert (lts.send_buffer_watermark, lts.max_out_request_queue) == (262_144, 250)
    assert lts.rate_limit_ip_overhead is True
    assert case.sources["subject.libtorrent.send_buffer_low_watermark"].startswith("assumed: qBittorrent's default")


SAVE_RESUME_SCENARIO = {
    "scenario": {"name": "lab-test-save-resume"},
    "torrent": {"piece_size": "256KiB", "total_size": "3MiB"},
    "swarm": {"seeds": {"count": 1, "upload": "1MB/s"},
              "leechers": {"count": 2, "spread_s": 12, "upload": "300kB/s", "download": "4MB/s", "seed_time": "forever"},
              "announce_interval_s": 3},
    # the subject seeds for 4 s while a late leecher still downloads
    "subject": {"upload": "500kB/s", "download": "4MB/s", "on_complete": "seed_for", "seed_for_s": 4},
    "simulation": {"horizon_s": 30, "replications": 1, "seed": 3},
}


@pytest.fixture(scope="module")
def resume_run(tmp_path_factory) -> Path:
    return _lab_run(tmp_path_factory, SAVE_RESUME_SCENARIO, "--save-resume")


def test_lab_save_resume_into_a_case(resume_run, tmp_path):
    """lab --save-resume: every peer's fastresume (libtorrent's write_resume_data); 'case new' on
    the run's torrent and the subject's file puts the subject's counters into [evidence], checked
    against the lab's separate measurement (raw/peer-0000.json: the live status counters)."""
    raw = resume_run / "replications" / "0000" / "raw"
    assert sorted(p.name for p in raw.glob("*.fastresume")) == [f"peer-{i:04d}.fastresume" for i in range(4)]
    measured = json.loads((raw / "peer-0000.json").read_text())
    out = tmp_path / "case.toml"
    code, _, err = run_cli(["case", "new", out, "--torrent", raw / "payload.torrent",
                            "--client-state", raw / "peer-0000.fastresume"])
    assert code == 0, err
    ev = load_scenario(out).evidence
    # libtorrent folds a torrent's byte counts into its all-time (resume) counter once a second
    # (torrent::second_tick); a paused torrent gets no more ticks, so the resume counter may miss
    # what was sent in the last second before the pause: never more, never less than that.
    lag = measured["uploaded_bytes"] - ev.subject_upload_total_bytes
    assert 0 <= lag <= 1.5 * 500_000, lag
    assert f"total_downloaded = {measured['downloaded_bytes']}: not compared" in out.read_text()
    # libtorrent's whole-second seeding clock against the lab's own completion and leave times (seed_for 4 s)
    assert measured["leave_s"] - measured["complete_s"] >= 3.5, "the subject seeded in this run"
    assert abs(ev.subject_seeding_time_s - (measured["leave_s"] - measured["complete_s"])) <= 1.5
    assert measured["downloaded_bytes"] >= 3 * 1024**2  # the whole torrent (plus any block fetched twice in end game)
