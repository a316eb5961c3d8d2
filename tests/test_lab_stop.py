"""The lab's end of a run: a peer that wrote its measurements but does not exit is stopped by force
and named (with its threads' stacks); one that did not write them fails the run, saying where it hung.

A hold-out recording of 2026-12-04 failed with "peer 4 did not stop within 20 s" and nothing more.
libtorrent's teardown cannot be made to hang on demand, so the peers here are small Python
programs speaking the peer's protocol on stdout (a "done" event once its files are written) and
installing the same SIGUSR1 stack dump as forensics/lab/peer.py; the coordinator code is the
lab's own (swarm._PeerProcs; for the session lab's subject, session_lab._SubjectProc).
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from forensics.lab import session_lab, swarm
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


def _procs(tmp_path, programs: list[str], first_index: int = 0) -> swarm._PeerProcs:
    """The lab's peer processes; ``first_index`` 1 as in the session lab, whose plan for these
    processes leaves out the subject (peer 0, its own process)."""
    pp = swarm._PeerProcs.__new__(swarm._PeerProcs)
    pp.work = tmp_path
    pp.plan = SimpleNamespace(peers=[SimpleNamespace(index=first_index + n) for n in range(len(programs))])
    pp.procs, pp.threads, pp.events = [], [], queue.Queue()
    pp.done, pp.stopped_by_force = set(), []
    for i, program in enumerate(programs, start=first_index):
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


def test_session_lab_peers_are_named_by_their_own_numbers(tmp_path, monkeypatch):
    # the session lab starts peers 1.. (the subject is its own process): the one that hangs after
    # its files is peer 2, its stack read from peer-0002.stderr, and the one before it is not blamed
    monkeypatch.setattr(swarm, "STOP_TIMEOUT_S", 1.0)
    pp = _procs(tmp_path, [_STOPS, _HANGS_AFTER_DONE, _STOPS], first_index=1)
    _wait_done(pp, 3)
    pp.stop_all()
    assert [s["peer"] for s in pp.stopped_by_force] == [2]
    assert "teardown_that_hangs" in pp.stopped_by_force[0]["threads"]
    assert pp.procs[0].returncode == 0 and pp.procs[2].returncode == 0


def _subject(tmp_path, program: str) -> session_lab._SubjectProc:
    """The session lab's subject process, running ``program`` instead of session_subject (whose
    stop protocol it speaks: "done" on stdout after its files, on "stop")."""
    sp = session_lab._SubjectProc.__new__(session_lab._SubjectProc)
    sp.stderr_path = tmp_path / "subject.stderr"
    with open(sp.stderr_path, "wb") as err:
        sp.proc = popen_child([sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=err, text=True, bufsize=1)
    sp.events, sp.done, sp.stopped_by_force = queue.Queue(), False, None
    threading.Thread(target=sp._read, daemon=True).start()
    return sp


_SUBJECT_STOPS = _PRELUDE + "sys.stdin.readline()\nprint(json.dumps({'ev': 'done'}), flush=True)\n"
_SUBJECT_HANGS_AFTER_DONE = _PRELUDE + ("sys.stdin.readline()\nprint(json.dumps({'ev': 'done'}), flush=True)\n"
                                        "def subject_teardown_that_hangs():\n    time.sleep(600)\n"
                                        "subject_teardown_that_hangs()\n")
_SUBJECT_HANGS_BEFORE_DONE = _PRELUDE + "def subject_stuck():\n    time.sleep(600)\nsubject_stuck()\n"


def test_session_subject_that_stops_is_not_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(session_lab, "STOP_TIMEOUT_S", 5.0)
    sp = _subject(tmp_path, _SUBJECT_STOPS)
    sp.stop()
    assert sp.proc.returncode == 0 and sp.stopped_by_force is None


def test_session_subject_hanging_after_its_files_is_stopped_and_named(tmp_path, monkeypatch):
    monkeypatch.setattr(session_lab, "STOP_TIMEOUT_S", 1.0)
    sp = _subject(tmp_path, _SUBJECT_HANGS_AFTER_DONE)
    sp.stop()
    assert sp.proc.returncode not in (None, 0)  # killed
    assert sp.stopped_by_force["peer"] == 0
    assert "subject_teardown_that_hangs" in sp.stopped_by_force["threads"]


def test_session_subject_hanging_before_its_files_fails_the_run_with_its_stack(tmp_path, monkeypatch):
    monkeypatch.setattr(session_lab, "STOP_TIMEOUT_S", 1.0)
    sp = _subject(tmp_path, _SUBJECT_HANGS_BEFORE_DONE)
    try:
        with pytest.raises(LabRunError, match=r"subject session did not stop within 1 s and had not written") as e:
            sp.stop()
        assert "subject_stuck" in str(e.value)
        assert sp.stopped_by_force is None
    finally:
        sp.kill()
