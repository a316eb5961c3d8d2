"""Ctrl-C, SIGTERM and kill -9 sent to a real running ``leechsim`` process, and the end state.

Each test starts ``python3 -m leechsim`` as a subprocess on a scenario long enough to be still
running (book-corpus, 300 replications, 2 workers), waits until both pool workers exist and the
run directory is staged, sends the signal, and then checks the exit code, stderr, the
``<out>.incomplete`` directory and the process table (the workers captured before the signal).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
LONG = ROOT / "examples" / "book-corpus.toml"
STOP_WITHIN_S = 10  # a bound against hangs (the old behaviour: ~70 s, or a deadlock), not a speed target


def _start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, list[psutil.Process]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "leechsim", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120  # first start may compile the kernels
    while time.monotonic() < deadline:
        workers = [c for c in parent.children(recursive=True) if _is_worker(c)]
        staged = list(tmp_path.glob("*.incomplete"))
        if len(workers) >= 2 and staged:
            time.sleep(1.0)  # let the workers take replications
            return proc, parent.children(recursive=True)
        if proc.poll() is not None:
            pytest.fail(f"leechsim ended before it could be stopped: {proc.communicate()}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the pool workers never started")


def _is_worker(p: psutil.Process) -> bool:
    try:
        return "leechsim" in " ".join(p.cmdline())  # forked pool workers carry the parent's command line
    except psutil.Error:
        return False


def _gone(procs: list[psutil.Process], within_s: float = 5.0) -> list[psutil.Process]:
    """The processes still alive (zombies waiting for init to reap them count as gone)."""
    deadline = time.monotonic() + within_s
    alive = procs
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _running(p)]
        time.sleep(0.1)
    return alive


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _simulate_args() -> list[str]:
    return ["simulate", str(LONG), "--runs", "300", "--workers", "2", "--out", "run"]


@pytest.mark.parametrize("signals, code, name", [
    ([signal.SIGINT], 130, "SIGINT (Ctrl-C)"),
    ([signal.SIGINT, signal.SIGINT, signal.SIGINT], 130, "SIGINT (Ctrl-C)"),
    ([signal.SIGTERM], 143, "SIGTERM"),
    ([signal.SIGINT, signal.SIGTERM], 130, "SIGINT (Ctrl-C)"),
], ids=["ctrl-c", "ctrl-c-three-times", "sigterm", "ctrl-c-then-sigterm"])
def test_a_stop_signal_ends_simulate_and_its_workers(tmp_path, signals, code, name):
    """Exit 130/143 within seconds, no traceback, workers gone, run left incomplete with the reason."""
    proc, children = _start(_simulate_args(), tmp_path)
    assert len(children) >= 2
    for sig in signals:
        proc.send_signal(sig)
        time.sleep(0.05)
    out, err = proc.communicate(timeout=STOP_WITHIN_S)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert f"leechsim: error: interrupted by {name}" in err and "run.incomplete" in err
    assert not (tmp_path / "run").exists()
    marker = tmp_path / "run.incomplete" / "INCOMPLETE"
    assert f"interrupted by {name}" in marker.read_text()
    assert _gone(children) == []


def test_ctrl_c_inside_a_replication_on_one_worker(tmp_path):
    """With --workers 1 the signal lands inside the SimPy loop in the main process (which re-raises
    exceptions by re-creating them): still exit 130, no traceback, the run left incomplete."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "leechsim", *_simulate_args()[:-4], "--workers", "1", "--out", "run"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("*.incomplete")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # inside the replications by now
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc.send_signal(sig)
        time.sleep(0.05)
    out, err = proc.communicate(timeout=STOP_WITHIN_S)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "interrupted by SIGINT (Ctrl-C)" in (tmp_path / "run.incomplete" / "INCOMPLETE").read_text()


def test_the_stop_exception_survives_being_re_created():
    """SimPy and pickle re-create exceptions from their args; the signal must survive that."""
    import pickle
    from forensics.errors import Interrupted
    e = Interrupted(signal.SIGTERM)
    for again in (type(e)(*e.args), pickle.loads(pickle.dumps(e))):
        assert again.signum == signal.SIGTERM and str(again) == "interrupted by SIGTERM" and again.exit_code == 143


def test_kill_9_of_the_parent_leaves_no_worker(tmp_path):
    """SIGKILL cannot be caught: the workers die with the parent (PR_SET_PDEATHSIG), the run stays incomplete."""
    proc, children = _start(_simulate_args(), tmp_path)
    assert len(children) >= 2
    proc.kill()
    proc.communicate(timeout=STOP_WITHIN_S)
    assert _gone(children) == []
    assert (tmp_path / "run.incomplete" / "INCOMPLETE").is_file() and not (tmp_path / "run").exists()


def test_ctrl_c_stops_a_sweep_with_its_cells(tmp_path):
    """A sweep's cells run on the same pool: one Ctrl-C stops the whole sweep."""
    proc, children = _start(["sweep", str(LONG), "--vary", "subject.on_complete=stop,never_stop", "--runs", "300",
                             "--workers", "2", "--out", "sweep"], tmp_path)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=STOP_WITHIN_S)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "interrupted by SIGINT" in (tmp_path / "sweep.incomplete" / "INCOMPLETE").read_text()
    assert _gone(children) == []


def test_ctrl_c_stops_a_corpus_run(tmp_path):
    """A corpus's work units run on one pool: one Ctrl-C stops it, workers gone, run left incomplete."""
    corpus = ROOT / "examples" / "case-study" / "corpus.toml"
    proc, children = _start(["corpus", str(corpus), "--limit", "40", "--runs", "10", "--workers", "2", "--out", "run"],
                            tmp_path)
    assert len(children) >= 2
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=STOP_WITHIN_S)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "interrupted by SIGINT" in (tmp_path / "run.incomplete" / "INCOMPLETE").read_text()
    assert not (tmp_path / "run").exists()
    assert _gone(children) == []
