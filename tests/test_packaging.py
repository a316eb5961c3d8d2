"""An installed leechsim (``pip install .``, not editable) carries its validation table, so its
reports state the model's measured error rate, and its manifests record the installed version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS_VALIDATION = ROOT / "docs" / "validation.json"


def test_the_packaged_validation_table_is_docs_validation_json():
    """The copy the package ships (forensics/data/validation.json) is the docs' table, byte for byte."""
    packaged = ROOT / "forensics" / "data" / "validation.json"
    assert packaged.read_bytes() == DOCS_VALIDATION.read_bytes()
    assert json.loads(DOCS_VALIDATION.read_text())["error_rate"]


@pytest.mark.slow
def test_a_non_editable_install_reports_its_error_rate(tmp_path):
    """A copy of the source tree pip-installed into a fresh venv (system site packages reused for
    numba and libtorrent; the build itself as ``pip install .`` does it): simulate and report there,
    from outside the source tree, and the report shows the error rate from the packaged table."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "runs", "__pycache__", ".pytest_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--quiet", str(src)], capture_output=True,
                         text=True, env=env, timeout=600)
    if pip.returncode != 0 and "No matching distribution" in pip.stderr:
        pytest.skip(f"the build requirements could not be fetched: {pip.stderr[-300:]}")
    assert pip.returncode == 0, pip.stderr
    where = tmp_path / "elsewhere"  # not the source tree, so nothing is imported from it
    where.mkdir()
    probe = subprocess.run([str(py), "-c", "import forensics, sim; print(forensics.__file__); print(sim.__file__)"],
                           capture_output=True, text=True, env=env, cwd=where, check=True)
    assert all(str(venv) in line for line in probe.stdout.split()), probe.stdout
    installed = next(venv.glob("lib/python*/site-packages/forensics/data/validation.json"))
    assert not installed.is_symlink() and installed.read_bytes() == DOCS_VALIDATION.read_bytes()

    leechsim = venv / "bin" / "leechsim"
    sim = subprocess.run([str(leechsim), "simulate", "--runs", "2", "--workers", "1", "--out", "run"], cwd=where,
                         env=env, capture_output=True, text=True, timeout=600)
    assert sim.returncode == 0, sim.stderr
    manifest = json.loads((where / "run" / "manifest.json").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert manifest["software"]["leechsim"] == version and manifest["software"]["git_commit"] is None
    rep = subprocess.run([str(leechsim), "report", "run", "--no-counterfactuals", "--no-sensitivity"], cwd=where,
                         env=env, capture_output=True, text=True, timeout=600)
    assert rep.returncode == 0, rep.stderr
    md = (where / "run" / "report.md").read_text()
    assert "no validation.json was found" not in md
    assert "Measured error of the model against real libtorrent swarms" in md
    assert json.loads(DOCS_VALIDATION.read_text())["summary"] in md
