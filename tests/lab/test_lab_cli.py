"""The lab command's refusals, failures and cleanup: nothing it starts outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import SLOW_SCENARIO, lab_processes, listening_loopback_ports, require_opentracker, run_cli, write_scenario

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def test_too_large_scenario_is_refused(tmp_path):
    """A scenario too big for this machine exits 2 with the reason and a hint; nothing is written."""
    big = {**SLOW_SCENARIO, "scenario": {"name": "too-big"},
           "torrent": {"piece_size": "1MiB", "total_size": "4GiB"},
           "swarm": {"leechers": {"count": 200}}}
    out = tmp_path / "out"
    code, _, err = run_cli(["lab", write_scenario(tmp_path, big), "--out", out])
    assert code == 2
    assert "too large to run for real" in err and "202 peers" in err
    assert "4096 MiB torrent" in err and "hint: scale the scenario down" in err
    assert "Traceback" not in err
    assert not out.exists() and not Path(str(out) + ".incomplete").exists()


def test_expected_duration_is_checked(tmp_path):
    """A swarm that would need hours of real time is refused, naming --max-duration-s."""
    slow = {**SLOW_SCENARIO, "scenario": {"name": "too-slow"}, "simulation": {"horizon_s": 20000}}
    code, _, err = run_cli(["lab", write_scenario(tmp_path, slow), "--out", tmp_path / "o", "--max-duration-s", "30"])
    assert code == 2 and "expected duration" in err and "--max-duration-s" in err


def _start_lab(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "forensics.cli", "lab", str(write_scenario(tmp_path, SLOW_SCENARIO)),
                             "--out", str(out), *extra], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, out


def _wait_for_peers(n: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(lab_processes()) >= n:
            return
        time.sleep(0.2)
    raise AssertionError("the lab's peers never started")


def _assert_clean(leftovers) -> None:
    deadline = time.monotonic() + 10
    while True:
        procs, ports, tmps = leftovers()
        if not (procs or ports or tmps) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not procs, f"processes left behind: {procs}"
    assert not ports, f"listening sockets left behind: {ports}"
    assert not tmps, f"temporary directories left behind: {tmps}"


def test_ctrl_c_cleans_up_and_marks_incomplete(tmp_path, leftovers):
    """SIGINT mid-run: exit 130, <out>.incomplete says why, no process/port/temp dir is left."""
    require_opentracker()
    proc, out = _start_lab(tmp_path)
    _wait_for_peers(4 + 1)  # 4 peers + opentracker
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not out.exists()
    marker = Path(str(out) + ".incomplete") / "INCOMPLETE"
    assert "interrupted" in marker.read_text()
    _assert_clean(leftovers)


def test_timeout_cleans_up_and_marks_incomplete(tmp_path, leftovers):
    """--timeout-s reached: exit 1 with a clear message, incomplete run dir, nothing left (direct connects)."""
    proc, out = _start_lab(tmp_path, "--timeout-s", "6", "--tracker", "none")
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, err
    assert "did not finish within --timeout-s" in err and "Traceback" not in err
    assert "did not finish" in (Path(str(out) + ".incomplete") / "INCOMPLETE").read_text()
    _assert_clean(leftovers)


def test_listening_probe_sees_a_listener():
    """The leftover probe can fail: it sees a socket listening on a 127/8 address."""
    import socket
    with socket.socket() as s:
        s.bind(("127.45.0.9", 0))
        s.listen()
        assert ("127.45.0.9", s.getsockname()[1]) in listening_loopback_ports()


def test_sigkill_of_the_lab_takes_its_children_along(tmp_path, leftovers):
    """Even a SIGKILL of the lab (no cleanup code runs) leaves no peer or tracker process and no
    listening socket: the kernel signals the children (PR_SET_PDEATHSIG). Only the temporary
    directory stays, which this test removes itself."""
    require_opentracker()
    import shutil
    import tempfile

    proc, out = _start_lab(tmp_path)
    _wait_for_peers(4 + 2)  # 4 peers + opentracker and its guard
    time.sleep(1.0)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while (leftovers()[0] or leftovers()[1]) and time.monotonic() < deadline:
        time.sleep(0.2)
    procs, ports, tmps = leftovers()
    for name in tmps:
        shutil.rmtree(Path(tempfile.gettempdir()) / name, ignore_errors=True)
    assert not procs, f"processes left behind: {procs}"
    assert not ports, f"listening sockets left behind: {ports}"
