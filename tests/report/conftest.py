"""Fixtures for the report, verify, sweep and notebook tests: a fixed small run and a CLI runner."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from leechsim.env import Environment
from leechsim.main import main

DATA = Path(__file__).resolve().parent / "data"
FIXED_RUN = DATA / "small-run"  # made once from small-books.toml; see that file's header
SCENARIO = DATA / "small-books.toml"


def pytest_configure(config):
    config.addinivalue_line("markers", "notebooks: executes the notebooks/ (jupytext -> nbclient)")
    config.addinivalue_line("markers", "chromium: renders the HTML report with headless chromium")


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run leechsim in-process; (exit code, stdout, stderr)."""
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main([str(a) for a in args], env)
    return int(code), env.stdout.getvalue(), env.stderr.getvalue()


@pytest.fixture
def fixed_run(tmp_path: Path) -> Path:
    """A private copy of the fixed small run (a report writes into its run directory)."""
    dest = tmp_path / "small-run"
    shutil.copytree(FIXED_RUN, dest)
    return dest


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory) -> Path:
    """A run made now by this code (verify compares it with a re-run by the same code)."""
    out = tmp_path_factory.mktemp("fresh") / "run"
    code, _, err = run_cli("simulate", SCENARIO, "--runs", "2", "--workers", "1", "--out", out)
    assert code == 0, err
    return out
