"""`leechsim validate --sessions DIR --record --add-runs`: what it refuses before any lab run (no lab
needed; tests/lab/test_session_add_runs.py adds a real run). Every refusal is a clear error (exit 2)
naming the file, and leaves the recording as it was."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

from leechsim.env import Environment
from leechsim.main import main

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = ROOT / "validation" / "sessions"


def _cli(args: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], Environment(stdout=out, stderr=err, progress=False))
    return int(code), out.getvalue(), err.getvalue()


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _copy_s02(tmp: Path) -> Path:
    """validation/sessions' s02-queue with its scenario files and recording, in a directory of its own."""
    d = tmp / "sessions"
    (d / "torrents").mkdir(parents=True)
    shutil.copy(SESSIONS / "s02-queue.toml", d)
    for f in SESSIONS.glob("torrents/s02-*.toml"):
        shutil.copy(f, d / "torrents")
    shutil.copytree(SESSIONS / "recorded" / "s02-queue", d / "recorded" / "s02-queue")
    return d


def test_add_runs_needs_record():
    code, out, err = _cli(["validate", "--sessions", SESSIONS, "--add-runs", "--lab-runs", "20"])
    assert code == 2 and "--add-runs goes with --record" in err and "Traceback" not in err


def test_add_runs_without_a_recording_names_the_command_that_makes_one(tmp_path):
    d = _copy_s02(tmp_path)
    shutil.rmtree(d / "recorded")
    code, out, err = _cli(["validate", "--sessions", d, "--record", "--add-runs", "--lab-runs", "20"])
    assert code == 2 and "Traceback" not in err
    assert str(d / "recorded" / "s02-queue") in err and "--record --only s02-queue" in err
    assert not (d / "recorded").exists()


def test_a_damaged_manifest_is_named(tmp_path):
    d = _copy_s02(tmp_path)
    (d / "recorded" / "s02-queue" / "manifest.json").write_text("{")
    before = _hashes(d / "recorded")
    code, out, err = _cli(["validate", "--sessions", d, "--record", "--add-runs", "--lab-runs", "20"])
    assert code == 2 and "manifest.json" in err and "not valid JSON" in err and "Traceback" not in err
    assert _hashes(d / "recorded") == before


def test_a_changed_scenario_file_cannot_join_the_recording(tmp_path):
    d = _copy_s02(tmp_path)
    t3 = d / "torrents" / "s02-t3.toml"
    t3.write_text(t3.read_text() + "\n# changed after the recording\n")
    before = _hashes(d / "recorded")
    code, out, err = _cli(["validate", "--sessions", d, "--record", "--add-runs", "--lab-runs", "20"])
    assert code == 2 and "Traceback" not in err
    assert "torrents/s02-t3.toml" in err and "record it again with --record" in err
    assert "s02-t1" not in err  # only what changed is named
    assert _hashes(d / "recorded") == before
    assert sorted(p.name for p in (d / "recorded").iterdir()) == ["s02-queue"]  # nothing made beside it


def test_a_recording_already_that_long_is_left_alone(tmp_path):
    d = _copy_s02(tmp_path)
    before = _hashes(d / "recorded")
    have = len((d / "recorded" / "s02-queue" / "results.csv").read_text().splitlines()) - 1
    code, out, err = _cli(["validate", "--sessions", d, "--record", "--add-runs", "--lab-runs", have])
    assert code == 0, err
    assert f"s02-queue {have}" in out and "→" not in out
    assert _hashes(d / "recorded") == before
