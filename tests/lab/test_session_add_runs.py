"""`leechsim validate --sessions DIR --record --add-runs`: runs added to a real session recording.

One real recording of one run of a two-torrent session, then one run added: the first run stays
byte for byte in every torrent, the new run is the replication the seed rule gives index 1 (its
peers join when replication 1's plan says), the session's and each torrent's results and summaries
cover both runs, the manifest says what was added, and the comparison with the model reads two lab
runs. A changed scenario file cannot join the recording."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from forensics.lab.plan import plan_run
from forensics.tables import read_columns
from sim.montecarlo import replication_seeds
from sim.session import torrent_seed
from sim.session_config import load_session

from .conftest import require_opentracker, run_cli

pytestmark = pytest.mark.lab

SWARM = """
[torrent]
piece_size = "256KiB"
total_size = "2MiB"
[swarm]
announce_interval_s = 5
[swarm.seeds]
count = 1
upload = "1MB/s"
[swarm.leechers]
count = 2
spread_s = 4
upload = "300kB/s"
download = "4MB/s"
seed_time = "leave"
"""

SESSION = """
[session]
name = "lab-test-add-session-runs"
upload = "600kB/s"
download = "4MB/s"
on_complete = "stop"
[simulation]
horizon_s = 90
replications = 1
seed = 31
[[torrent]]
scenario = "torrents/a.toml"
[[torrent]]
scenario = "torrents/b.toml"
"""


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_add_runs_keeps_the_session_recording_and_continues_its_seeds(tmp_path):
    require_opentracker()
    (tmp_path / "torrents").mkdir()
    for name in ("a", "b"):
        (tmp_path / "torrents" / f"{name}.toml").write_text(f'[scenario]\nname = "{name}"\n' + SWARM)
    session_file = tmp_path / "lab-test-add-session-runs.toml"
    session_file.write_text(SESSION)
    session = load_session(session_file)[0]
    seeds = replication_seeds(session.simulation.seed, 2)
    plans = {(i, j): [p.join_s for p in plan_run(session.scenarios[j], i, torrent_seed(seeds[i], j), 100).peers]
             for i in (0, 1) for j in (0, 1)}
    assert max(abs(a - b) for a, b in zip(plans[0, 0], plans[1, 0])) > 0.5  # the check below can tell them apart

    code, out, err = run_cli(["validate", "--sessions", tmp_path, "--record", "--lab-runs", "1"])
    assert code == 0, err
    rec = tmp_path / "recorded" / "lab-test-add-session-runs"
    first = {j: _hashes(rec / "torrents" / f"{j:02d}" / "replications" / "0000") for j in (0, 1)}
    rows_before = (rec / "results.csv").read_text().splitlines()

    code, out, err = run_cli(["validate", "--sessions", tmp_path, "--record", "--add-runs", "--lab-runs", "2"])
    assert code == 0, err
    assert "1 → 2 runs" in out

    rows = (rec / "results.csv").read_text().splitlines()
    assert rows[:2] == rows_before and rows[2].startswith("1,") and len(rows) == 3
    summary = json.loads((rec / "summary.json").read_text())
    totals = [float(r["session_upload_leech_bytes"]) for r in _rows(rec / "results.csv")]
    assert summary["replications"] == 2
    assert summary["session"]["session_upload_leech_bytes"]["median"] == pytest.approx(float(np.median(totals)))
    for j in (0, 1):
        t = rec / "torrents" / f"{j:02d}"
        assert _hashes(t / "replications" / "0000") == first[j]
        assert [r["replication"] for r in _rows(t / "results.csv")] == ["0", "1"]
        joined = read_columns(t / "replications" / "0001" / "peers.csv")["join_s"]
        # the subject joins when the session's queue starts the torrent; the other peers as planned
        assert max(abs(a - b) for a, b in zip(joined[1:], plans[1, j][1:])) < 0.25, (list(joined), plans[1, j])
        t_summary = json.loads((t / "summary.json").read_text())
        times = [float(r["subject_download_time_s"]) for r in _rows(t / "results.csv")]
        assert t_summary["replications"] == 2
        assert t_summary["headline"]["subject_download_time_s"]["median"] == pytest.approx(float(np.median(times)))
        assert summary["torrents"][j]["headline"] == t_summary["headline"]
        assert not list(t.glob("replications/*/raw"))
    man = json.loads((rec / "manifest.json").read_text())
    assert man["replications"] == 2 and "first_replication" not in man
    ext = man["extensions"]
    assert len(ext) == 1 and ext[0]["replications"] == [1]
    assert ext[0]["command"][:3] == ["leechsim", "validate", "--sessions"]
    assert ext[0]["lab"]["versions"]["libtorrent"] == man["lab"]["versions"]["libtorrent"]
    assert sorted(p.name for p in rec.parent.iterdir()) == ["lab-test-add-session-runs"]  # nothing left beside it

    # the hash list covers the merged recording
    listed = dict(line.split("  ", 1)[::-1] for line in (rec / "SHA256SUMS").read_text().splitlines())
    assert listed == {k: v for k, v in _hashes(rec).items() if k != "SHA256SUMS"}

    # the comparison with the model reads both lab runs
    code, out, err = run_cli(["validate", "--sessions", tmp_path, "--sim-runs", "10", "--out", tmp_path / "v"])
    assert code == 0, err
    compared = json.loads((tmp_path / "v" / "validation.json").read_text())["rows"]
    assert compared and {r["lab_runs"] for r in compared} == {2}

    # a recording at the count asked for gets nothing more
    whole = _hashes(rec)
    code, out, err = run_cli(["validate", "--sessions", tmp_path, "--record", "--add-runs", "--lab-runs", "2"])
    assert code == 0 and "1 → 2" not in out and "lab-test-add-session-runs 2" in out
    assert _hashes(rec) == whole

    # a scenario file changed since the recording: refused before any lab run, nothing touched
    (tmp_path / "torrents" / "b.toml").write_text('[scenario]\nname = "b"\n' + SWARM.replace("300kB/s", "200kB/s"))
    code, out, err = run_cli(["validate", "--sessions", tmp_path, "--record", "--add-runs", "--lab-runs", "3"])
    assert code == 2 and "torrents/b.toml" in err and "record it again with --record" in err, err
    assert "Traceback" not in err
    assert _hashes(rec) == whole
