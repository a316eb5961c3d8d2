"""The lab command's refusals, failures and cleanup: nothing it starts outlives it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .conftest import (
    SLOW_SCENARIO, lab_range_of, listening_loopback_ports, processes_with, require_opentracker, run_cli, write_scenario,
)

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


class LabProcess:
    """``leechsim lab`` on SLOW_SCENARIO in a child process, tagged so its leftovers can be found."""

    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.out = tmp_path / "run"
        self.tmpdir = tmp_path / "tmp"
        self.tmpdir.mkdir()
        self.tag = f"LEECHSIM_TEST_TAG={uuid.uuid4().hex}"
        key, value = self.tag.split("=")
        env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(self.tmpdir), **{key: value})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leechsim", "lab", str(write_scenario(tmp_path, SLOW_SCENARIO)),
             "--out", str(self.out), *extra], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def children(self) -> set[int]:
        return processes_with(self.tag.encode()) - {self.proc.pid}

    def wait_for_children(self, n: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.children()) < n:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"the lab's processes never started: {self.proc.communicate()}")
            time.sleep(0.2)

    def leftovers(self, settle_s: float = 10.0) -> tuple[set, set, list]:
        """(processes, listening sockets, temporary files) of this lab still there, after waiting
        up to settle_s for them to go."""
        deadline = time.monotonic() + settle_s
        while True:
            procs = self.children()
            ports = {(ip, port) for ip, port in listening_loopback_ports() if ip.startswith(lab_range_of(self.proc.pid))}
            tmps = sorted(p.name for p in self.tmpdir.iterdir())
            if not (procs or ports or tmps) or time.monotonic() > deadline:
                return procs, ports, tmps
            time.sleep(0.2)


def _assert_clean(lab: LabProcess) -> None:
    procs, ports, tmps = lab.leftovers()
    assert not procs, f"processes left behind: {procs}"
    assert not ports, f"listening sockets left behind: {ports}"
    assert not tmps, f"temporary files left behind: {tmps}"


def test_ctrl_c_cleans_up_and_marks_incomplete(tmp_path):
    """SIGINT mid-run: exit 130, <out>.incomplete says why, no process/port/temp file is left."""
    require_opentracker()
    lab = LabProcess(tmp_path)
    lab.wait_for_children(4 + 2)  # 4 peers, opentracker and its guard
    time.sleep(2.0)
    lab.proc.send_signal(signal.SIGINT)
    _, err = lab.proc.communicate(timeout=60)
    assert lab.proc.returncode == 130, err
    assert not lab.out.exists()
    marker = Path(str(lab.out) + ".incomplete") / "INCOMPLETE"
    assert "interrupted" in marker.read_text()
    _assert_clean(lab)


def test_timeout_cleans_up_and_marks_incomplete(tmp_path):
    """--timeout-s reached: exit 1 with a clear message, incomplete run dir, nothing left (direct connects)."""
    lab = LabProcess(tmp_path, "--timeout-s", "6", "--tracker", "none")
    _, err = lab.proc.communicate(timeout=90)
    assert lab.proc.returncode == 1, err
    assert "did not finish within --timeout-s" in err and "Traceback" not in err
    assert "did not finish" in (Path(str(lab.out) + ".incomplete") / "INCOMPLETE").read_text()
    _assert_clean(lab)


def test_a_crashing_peer_fails_the_run_cleanly(tmp_path):
    """A peer process dying mid-run: exit 1 naming the peer, incomplete run dir, nothing left."""
    lab = LabProcess(tmp_path, "--tracker", "none")
    lab.wait_for_children(4)
    time.sleep(2.0)
    peer = next(pid for pid in lab.children() if b"forensics.lab.peer" in Path(f"/proc/{pid}/cmdline").read_bytes())
    os.kill(peer, signal.SIGKILL)
    _, err = lab.proc.communicate(timeout=60)
    assert lab.proc.returncode == 1, err
    assert "exited unexpectedly" in err and "Traceback" not in err
    assert (Path(str(lab.out) + ".incomplete") / "INCOMPLETE").exists()
    _assert_clean(lab)


def test_leftover_probes_can_fail(tmp_path):
    """The leftover probes see a socket listening on a 127/8 address and a tagged process."""
    marker = uuid.uuid4().hex
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=dict(os.environ, T=marker))
    try:
        deadline = time.monotonic() + 5
        while sleeper.pid not in processes_with(marker.encode()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sleeper.pid in processes_with(marker.encode())
    finally:
        sleeper.kill()
        sleeper.wait()
    with socket.socket() as s:
        s.bind(("127.45.0.9", 0))
        s.listen()
        assert ("127.45.0.9", s.getsockname()[1]) in listening_loopback_ports()


def test_sigkill_of_the_lab_takes_its_children_along(tmp_path):
    """Even a SIGKILL of the lab (no cleanup code runs) leaves no peer or tracker process and no
    listening socket: the kernel signals the children (PR_SET_PDEATHSIG). Only its temporary
    directory stays."""
    require_opentracker()
    lab = LabProcess(tmp_path)
    lab.wait_for_children(4 + 2)
    time.sleep(1.0)
    lab.proc.kill()
    lab.proc.communicate(timeout=30)
    procs, ports, _ = lab.leftovers(settle_s=15.0)
    assert not procs, f"processes left behind: {procs}"
    assert not ports, f"listening sockets left behind: {ports}"
