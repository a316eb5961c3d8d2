"""The lab's end of a run: a peer that wrote its measurements but does not exit is stopped by force
and named (with its threads' stacks); one that did not write them fails the run, saying where it hung.

A hold-out recording of 2026-12-04 failed with "peer 4 did not stop within 20 s" and nothing more.
libtorrent's teardown cannot be made to hang on demand, so the peers here are small Python
programs speaking the peer's protocol on stdout (a "done" event once its files are written) and
installing the same SIGUSR1 stack dump as forensics/lab/peer.py; the coordinator code is the
lab's own (swarm._PeerProcs).
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading

import pytest

from forensics.lab import swarm
from forensics.lab.errors import LabRunError
from forensics.lab.procs import popen_child

_PRELUDE = ("import faulthandler, json, signal, sys, time\n"
            "faulthandler.register(signal.SIGUSR1, all_threads=True)\n")
# answers "stop" (or EOF) by exiting, as a healthy peer does
_STOPS = _PRELUDE + "print(json.dumps({'ev': 'done'}), flush=True)\nsys.stdin.read()\n"
# writes everything, then hangs in its teardown (ignores stop)
_HANGS_AFTER_DONE = _PRELUDE + ("print(json.dumps({'ev': 'done'}), flush=True)\n"
                                "def teardown_that_hangs():\n    time.sleep(600)\n"
                                "teardown_that_hangs()\n")
# hangs before it has written anything
_HANGS_BEFORE_DONE = _PRELUDE + "def stuck_before_writing():\n    time.sleep(600)\nstuck_before_writing()\n"


def _procs(tmp_path, programs: list[str]) -> swarm._PeerProcs:
    pp = swarm._PeerProcs.__new__(swarm._PeerProcs)
    pp.work = tmp_path
    pp.procs, pp.threads, pp.events = [], [], queue.Queue()
    pp.done, pp.stopped_by_force = set(), []
    for i, program in enumerate(programs):
        with open(tmp_path / f"peer-{i:04d}.stderr", "wb") as err:
            proc = popen_child([sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=err, text=True, bufsize=1)  # as the lab starts a peer
        pp.procs.append(proc)
        t = threading.Thread(target=pp._read, args=(i, proc), daemon=True)
        t.start()
        pp.threads.append(t)
    return pp


def _wait_done(pp: swarm._PeerProcs, n: int) -> None:
    for _ in range(200):
        if len(pp.finished()) >= n:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"only {pp.done} reported done")


def test_peer_hanging_after_its_files_is_stopped_and_named(tmp_path, monkeypatch):
    monkeypatch.setattr(swarm, "STOP_TIMEOUT_S", 1.0)
    pp = _procs(tmp_path, [_STOPS, _HANGS_AFTER_DONE, _STOPS])
    _wait_done(pp, 3)
    pp.stop_all()
    assert pp.procs[0].returncode == 0 and pp.procs[2].returncode == 0
    assert pp.procs[1].returncode not in (None, 0)  # killed, not exited
    assert [s["peer"] for s in pp.stopped_by_force] == [1]
    assert "teardown_that_hangs" in pp.stopped_by_force[0]["threads"]  # its stack, from faulthandler


def test_peer_hanging_before_its_files_fails_the_run_with_its_stack(tmp_path, monkeypatch):
    monkeypatch.setattr(swarm, "STOP_TIMEOUT_S", 1.0)
    pp = _procs(tmp_path, [_STOPS, _HANGS_BEFORE_DONE])
    _wait_done(pp, 1)
    try:
        with pytest.raises(LabRunError, match=r"peer 1 did not stop within 1 s and had not written") as e:
            pp.stop_all()
        assert "stuck_before_writing" in str(e.value)
        assert pp.stopped_by_force == []
    finally:
        pp.kill_all()
