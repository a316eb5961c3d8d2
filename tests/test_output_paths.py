"""Where a run directory may be written: every bad --out is a message (exit 2) before any work,
--force replaces only a previous leechsim run, and a run directory with a symbolic link inside is
refused by verify and report."""

from __future__ import annotations

import io
import os
import shutil

import pytest

from leechsim.env import Environment
from leechsim.main import main


def run_cli(*args) -> tuple[int, str, str]:
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main([str(a) for a in args], env)
    return int(code), env.stdout.getvalue(), env.stderr.getvalue()


def simulate(out, *more) -> tuple[int, str, str]:
    return run_cli("simulate", "--runs", "1", "--workers", "1", "--out", out, *more)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("out, fragment", [
    (".", "must name a new directory"),
    ("", "must name a new directory"),
    ("/", "must name a new directory"),
    ("..", "must name a new directory"),
    ("x" * 250, "at most 244 are allowed"),
    ("/proc/leechsim-test/run", "cannot create the run directory here"),
], ids=["dot", "empty", "root", "dotdot", "name-over-255-bytes", "proc"])
def test_an_impossible_out_is_refused(in_tmp, out, fragment):
    code, _, err = simulate(out)
    assert code == 2 and fragment in err and "Traceback" not in err, err
    assert list(in_tmp.iterdir()) == []


def test_out_under_a_file(in_tmp):
    (in_tmp / "evidence.txt").write_text("keep me\n")
    code, _, err = simulate("evidence.txt/run")
    assert code == 2 and "evidence.txt is a file, not a directory" in err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["evidence.txt"]


def test_an_incomplete_name_taken_by_a_file_is_not_removed(in_tmp):
    (in_tmp / "run.incomplete").write_text("someone's notes\n")
    code, _, err = simulate("run")
    assert code == 2 and "run.incomplete: exists and is not an unfinished leechsim run" in err
    assert (in_tmp / "run.incomplete").read_text() == "someone's notes\n"


@pytest.mark.parametrize("make", ["file", "folder", "symlink-to-run"])
def test_force_never_replaces_what_is_not_a_leechsim_run(in_tmp, make):
    """--force on a file, a folder of other things, or a link to a run: refused, left untouched."""
    if make == "file":
        (in_tmp / "out").write_text("precious\n")
    elif make == "folder":
        (in_tmp / "out").mkdir()
        (in_tmp / "out" / "precious.txt").write_text("precious\n")
    else:
        assert simulate("real")[0] == 0
        os.symlink(in_tmp / "real", in_tmp / "out")
    before = sorted(str(p.relative_to(in_tmp)) for p in in_tmp.rglob("*"))
    code, _, err = simulate("out", "--force")
    assert code == 2 and "is not a leechsim run directory" in err and "--force replaces only" in err, err
    assert sorted(str(p.relative_to(in_tmp)) for p in in_tmp.rglob("*")) == before


def test_force_replaces_a_previous_run_and_leaves_nothing_beside_it(in_tmp):
    assert simulate("run")[0] == 0
    code, _, err = simulate("run")
    assert code == 2 and "already exists" in err
    first = (in_tmp / "run" / "manifest.json").read_text()
    code, _, err = simulate("run", "--force", "--seed", "9")
    assert code == 0, err
    assert (in_tmp / "run" / "manifest.json").read_text() != first
    assert sorted(p.name for p in in_tmp.iterdir()) == ["run"]  # no .incomplete, no .replaced


def test_a_default_out_from_a_hostile_name_stays_under_runs(in_tmp):
    (in_tmp / "case.toml").write_text('[scenario]\nname = "../../x/\\u0000y"\n[torrent]\ntotal_size = "1MiB"\n'
                                      '[simulation]\nhorizon_s = 60\nreplications = 1\n')
    code, out, err = run_cli("simulate", "case.toml", "--workers", "1")
    assert code == 0, err
    (made,) = (in_tmp / "runs").iterdir()
    assert made.name.startswith("x-y-") and sorted(p.name for p in in_tmp.iterdir()) == ["case.toml", "runs"]


@pytest.mark.parametrize("command", ["verify", "report"])
def test_a_symlink_inside_a_run_directory_is_refused(in_tmp, command):
    """A file replaced by a link to identical content: the hashes match, the link is still refused."""
    assert simulate("run")[0] == 0
    target = in_tmp / "run" / "replications" / "0000" / "peers.csv"
    shutil.copy(target, in_tmp / "elsewhere.csv")
    target.unlink()
    os.symlink(in_tmp / "elsewhere.csv", target)
    code, _, err = run_cli(command, "run")
    assert code in (1, 2) and "replications/0000/peers.csv: a symbolic link" in err, err
    assert not (in_tmp / "run" / "report.md").exists()
