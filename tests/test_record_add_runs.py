"""What `leechsim validate --record --add-runs` refuses, before any lab run starts or before a new run
joins a recording: each with a message naming the file and the difference, the recording untouched.
(The real addition of a lab run is tested in tests/lab/test_record_add_runs.py.)"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from forensics import atomic
from forensics.calibration import extend_recording, recorded_runs
from forensics.errors import UserError
from forensics.provenance import HASH_FILE, hash_list
from leechsim.env import Environment
from leechsim.main import main

ROOT = Path(__file__).resolve().parents[1]
NAME = "v14-uncapped-fast-seed"


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _never(*args):
    raise AssertionError("the lab must not run")


@pytest.fixture
def matrix(tmp_path) -> Path:
    m = tmp_path / "matrix"
    (m / "recorded").mkdir(parents=True)
    shutil.copy(ROOT / "validation" / f"{NAME}.toml", m)
    shutil.copytree(ROOT / "validation" / "recorded" / NAME, m / "recorded" / NAME)
    return m


def _cli(args) -> tuple[int, str]:
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main([str(a) for a in args], env)
    return int(code), env.stderr.getvalue()


def test_counts_and_nothing_to_add(matrix):
    n = recorded_runs(matrix, matrix / f"{NAME}.toml")
    assert n == json.loads((matrix / "recorded" / NAME / "manifest.json").read_text())["replications"] >= 3
    before = _hashes(matrix / "recorded" / NAME)
    assert extend_recording(matrix, matrix / f"{NAME}.toml", n, _never, ["test"]) == (n, n)
    assert _hashes(matrix / "recorded" / NAME) == before


def test_refuses_a_changed_scenario(matrix):
    f = matrix / f"{NAME}.toml"
    f.write_text(f.read_text() + "\n# changed\n")
    before = _hashes(matrix / "recorded" / NAME)
    with pytest.raises(UserError, match=rf"{NAME}\.toml: differs from the scenario .* was recorded with"):
        extend_recording(matrix, f, 99, _never, ["test"])
    assert _hashes(matrix / "recorded" / NAME) == before


def test_refuses_another_libtorrent(matrix):
    rec = matrix / "recorded" / NAME
    man = json.loads((rec / "manifest.json").read_text())
    man["lab"]["versions"]["libtorrent"] = "1.2.19.0"
    atomic.write_json(rec / "manifest.json", man)
    atomic.write_text(rec / HASH_FILE, hash_list(rec))
    with pytest.raises(UserError, match=r"recorded with libtorrent 1\.2\.19\.0, this machine has"):
        extend_recording(matrix, matrix / f"{NAME}.toml", 99, _never, ["test"])


def test_refuses_an_altered_recording(matrix):
    rec = matrix / "recorded" / NAME
    p = rec / "replications" / "0000" / "peers.csv"
    p.write_text(p.read_text().replace(",", ";", 1))
    with pytest.raises(UserError, match="refusing to report from this run directory"):
        extend_recording(matrix, matrix / f"{NAME}.toml", 99, _never, ["test"])


def _set_session_phases(rec: Path, value) -> None:
    """The recording's manifest says (value) or does not say (None) lab.session_phases."""
    man = json.loads((rec / "manifest.json").read_text())
    man["lab"].pop("session_phases", None)
    if value is not None:
        man["lab"]["session_phases"] = value
    atomic.write_json(rec / "manifest.json", man)
    atomic.write_text(rec / HASH_FILE, hash_list(rec))


def test_refuses_a_recording_made_before_the_phases_were_independent(matrix):
    """A recording made while the lab's sessions ticked in the order their processes started (no
    lab.session_phases in its manifest) takes no new runs, whose sessions tick at independent
    phases (docs/lab.md, "Tick phases"): refused before any lab run, the recording untouched."""
    rec = matrix / "recorded" / NAME
    _set_session_phases(rec, None)
    before = _hashes(rec)
    with pytest.raises(UserError, match=rf"{NAME}: recorded before the lab's sessions ticked at independent phases"):
        extend_recording(matrix, matrix / f"{NAME}.toml", 99, _never, ["test"])
    assert _hashes(rec) == before


def test_refuses_runs_made_with_other_lab_options(matrix):
    """A lab run directory made with other options (here: with a capture) does not join; the
    recording stays as it was and the new runs stay where the message says."""
    from forensics.lab.plan import SESSION_PHASES

    rec = matrix / "recorded" / NAME
    _set_session_phases(rec, SESSION_PHASES)  # recorded with independent phases, as the new runs are
    n = recorded_runs(matrix, matrix / f"{NAME}.toml")
    before = _hashes(rec)

    def run_more(path, runs, out, first, seed):  # a lab directory holding run `first` (a copy of run 0)
        assert (runs, first) == (n + 1, n)
        assert seed == json.loads((rec / "manifest.json").read_text())["master_seed"]
        out.mkdir()
        shutil.copytree(rec / "replications" / "0000", out / "replications" / f"{first:04d}")
        lines = (rec / "results.csv").read_text().splitlines()
        (out / "results.csv").write_text(lines[0] + "\n" + f"{first}," + lines[1].split(",", 1)[1] + "\n")
        man = json.loads((rec / "manifest.json").read_text())
        man["lab"]["pcap"] = True
        return man
    with pytest.raises(UserError, match=r"other lab options than the recording \(pcap: False against True\)"):
        extend_recording(matrix, matrix / f"{NAME}.toml", n + 1, run_more, ["test"])
    assert _hashes(rec) == before
    assert (matrix / "recorded" / f".{NAME}.more" / "replications" / f"{n:04d}").is_dir()


def test_cli_refusals(matrix, tmp_path):
    code, err = _cli(["validate", "--matrix", matrix, "--add-runs", "--lab-runs", "9"])
    assert code == 2 and "--add-runs goes with --record" in err and "Traceback" not in err
    shutil.copy(matrix / f"{NAME}.toml", matrix / "v99-new.toml")
    code, err = _cli(["validate", "--matrix", matrix, "--record", "--add-runs", "--lab-runs", "9", "--only", "v99-new"])
    assert code == 2 and "no recording of v99-new to add runs to" in err and "Traceback" not in err
    assert "--record --only v99-new" in err


def test_a_recording_left_aside_by_a_stopped_addition_comes_back(matrix):
    """Stopped between the two renames that replace a recording, an addition leaves it beside its
    place (.NAME.replaced); the next command puts it back before anything else."""
    rec = matrix / "recorded" / NAME
    before = _hashes(rec)
    rec.rename(rec.with_name(f".{NAME}.replaced"))
    n = recorded_runs(matrix, matrix / f"{NAME}.toml")
    assert n >= 3 and _hashes(rec) == before
    rec.rename(rec.with_name(f".{NAME}.replaced"))
    assert extend_recording(matrix, matrix / f"{NAME}.toml", n, _never, ["test"]) == (n, n)
    assert _hashes(rec) == before


def test_an_only_name_that_names_no_file_is_refused_before_anything_runs(matrix, tmp_path):
    # one right name beside a mistyped one: the mistyped one must not be skipped without a word
    before = _hashes(matrix)
    code, err = _cli(["validate", "--matrix", matrix, "--record", "--add-runs", "--lab-runs", "9",
                      "--only", NAME, "--only", "v14-uncapped-fast"])
    assert code == 2 and "Traceback" not in err
    assert "--only v14-uncapped-fast: no such scenario file" in err and str(matrix) in err
    assert f"allowed: {NAME}" in err
    assert _hashes(matrix) == before
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "s01-three.toml").write_text("")
    code, err = _cli(["validate", "--sessions", sessions, "--only", "s01-thre"])
    assert code == 2 and "Traceback" not in err
    assert "--only s01-thre: no such session file" in err and "allowed: s01-three" in err
