"""A recorded lab run's scenario restated (python -m forensics.calibration restate-scenario): allowed
only to state what the lab imposed at the time (rate_limit_ip_overhead = false until 2026-11-30);
any other difference needs a new recording."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from forensics.calibration import _main, restate_recorded_scenario
from forensics.errors import UserError
from forensics.rundir import load_run

ROOT = Path(__file__).resolve().parent.parent
NAME = "v07-hetero-churn"
LINE = "rate_limit_ip_overhead = false"


def _recording(tmp_path: Path) -> Path:
    dest = tmp_path / NAME
    shutil.copytree(ROOT / "validation" / "recorded" / NAME, dest)
    return dest


def _scenario(tmp_path: Path, text: str) -> Path:
    p = tmp_path / f"{NAME}.toml"
    p.write_text(text)
    return p


def test_the_matrix_file_restates_its_recording(tmp_path):
    dest = _recording(tmp_path)
    before = json.loads((dest / "manifest.json").read_text())["scenario_sha256"]
    matrix_file = ROOT / "validation" / f"{NAME}.toml"
    assert _main(["restate-scenario", str(dest), str(matrix_file)]) == 0
    man = json.loads((dest / "manifest.json").read_text())
    assert man["scenario_sha256"] == hashlib.sha256(matrix_file.read_bytes()).hexdigest()
    assert man["scenario_restated"][-1]["sha256_before"] == before
    assert man["scenario_restated"][-1]["settings"] == {"swarm.libtorrent.rate_limit_ip_overhead": False,
                                                        "subject.libtorrent.rate_limit_ip_overhead": False}
    run = load_run(dest)  # the hash list still holds: the directory is consistent
    assert run.scenario.subject.libtorrent.rate_limit_ip_overhead is False


def test_a_scenario_without_the_imposed_value_is_refused(tmp_path):
    dest = _recording(tmp_path)
    text = (ROOT / "validation" / f"{NAME}.toml").read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith(LINE)]
    with pytest.raises(UserError, match="rate_limit_ip_overhead must be False"):
        restate_recorded_scenario(dest, _scenario(tmp_path, "\n".join(lines) + "\n"), ["test"])
    assert _main(["restate-scenario", str(dest), str(tmp_path / f"{NAME}.toml")]) == 2


def test_any_other_change_is_refused_and_nothing_is_written(tmp_path):
    dest = _recording(tmp_path)
    manifest = (dest / "manifest.json").read_bytes()
    text = (ROOT / "validation" / f"{NAME}.toml").read_text().replace("seed = 107", "seed = 108")
    assert "seed = 108" in text
    with pytest.raises(UserError, match="needs a new recording"):
        restate_recorded_scenario(dest, _scenario(tmp_path, text), ["test"])
    assert (dest / "manifest.json").read_bytes() == manifest


def test_a_directory_that_is_not_a_run_gets_a_clear_error(tmp_path):
    (tmp_path / "scenario.toml").write_bytes((ROOT / "validation" / "recorded" / NAME / "scenario.toml").read_bytes())
    with pytest.raises(UserError, match="not a leechsim run directory"):
        restate_recorded_scenario(tmp_path, ROOT / "validation" / f"{NAME}.toml", ["test"])
    assert _main(["restate-scenario", str(tmp_path / "missing"), str(ROOT / "validation" / f"{NAME}.toml")]) == 2
