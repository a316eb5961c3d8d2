"""verify: passes on a fresh run, names the file when any output byte changes."""

from __future__ import annotations

import shutil
from pathlib import Path


from forensics.provenance import hash_list
from forensics.reproduce import rerun_differences
from forensics.rundir import integrity_problems
from forensics.runs import rerun

from .conftest import run_cli


def _flip(f: Path, where: float = 0.5) -> None:
    data = bytearray(f.read_bytes())
    i = min(len(data) - 1, int(len(data) * where))
    data[i] = ord("7") if data[i] != ord("7") else ord("8")
    f.write_bytes(bytes(data))


def _outputs(run: Path) -> list[str]:
    return sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file() and p.name != "SHA256SUMS")


def test_verify_passes_on_a_fresh_run(fresh_run):
    """A run made by this code re-runs to identical bytes (on a different worker count)."""
    code, out, err = run_cli("verify", fresh_run, "--workers", "2")
    assert code == 0, err
    assert "SHA256SUMS: all" in out and "identical to the re-run" in out


def test_changed_byte_in_any_output_fails_the_hash_check(fresh_run, tmp_path):
    """Every file of the run: one changed byte makes verify's hash check name that file."""
    for rel in _outputs(fresh_run):
        copy = tmp_path / rel.replace("/", "_")
        shutil.copytree(fresh_run, copy)
        _flip(copy / rel)
        problems = integrity_problems(copy)
        assert problems and problems[0].startswith(f"{rel}: content differs"), (rel, problems)
        shutil.rmtree(copy)


def test_hash_failure_exits_1_naming_the_file(fresh_run, tmp_path):
    """Through the CLI: exit 1, the file named, no re-run needed."""
    copy = tmp_path / "run"
    shutil.copytree(fresh_run, copy)
    _flip(copy / "replications" / "0001" / "peers.csv")
    code, _, err = run_cli("verify", copy)
    assert code == 1 and "verify FAILED" in err and "replications/0001/peers.csv" in err


def test_forged_hash_list_is_caught_by_the_rerun(fresh_run, tmp_path):
    """A changed output whose SHA256SUMS was rewritten to match is caught by the byte comparison."""
    again = tmp_path / "again"
    rerun(fresh_run, again, workers=1)
    assert rerun_differences(fresh_run, again) == []
    deterministic = [r for r in _outputs(fresh_run) if r != "manifest.json"]
    assert len(deterministic) >= 10
    for rel in deterministic:
        copy = tmp_path / ("forged-" + rel.replace("/", "_"))
        shutil.copytree(fresh_run, copy)
        _flip(copy / rel, where=0.9)
        diffs = rerun_differences(copy, again)
        assert diffs and diffs[0].path == rel, (rel, diffs[:2])
        shutil.rmtree(copy)

    forged = tmp_path / "forged"
    shutil.copytree(fresh_run, forged)
    _flip(forged / "results.csv", where=0.9)
    (forged / "SHA256SUMS").write_text(hash_list(forged))
    code, _, err = run_cli("verify", forged, "--workers", "1")
    assert code == 1 and "results.csv" in err and "differs from the re-run" in err


def test_manifest_seed_change_is_caught(fresh_run, tmp_path):
    """A manifest whose master seed was edited (and re-hashed) no longer reproduces its outputs."""
    forged = tmp_path / "forged"
    shutil.copytree(fresh_run, forged)
    man = (forged / "manifest.json").read_text().replace('"master_seed": 3', '"master_seed": 4')
    assert man != (fresh_run / "manifest.json").read_text()
    (forged / "manifest.json").write_text(man)
    (forged / "SHA256SUMS").write_text(hash_list(forged))
    code, _, err = run_cli("verify", forged, "--workers", "1")
    assert code == 1 and "differs from the re-run" in err


def test_verify_rejects_a_non_run(tmp_path):
    """Not a run directory: exit 2 with a one-line reason."""
    code, _, err = run_cli("verify", tmp_path)
    assert code == 2 and "manifest.json missing" in err
