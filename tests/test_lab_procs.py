"""The lab's guarded children: a stop lets the program finish what it does on SIGTERM.

tcpdump prints its packet counts when it gets SIGTERM; the capture's summary reads them to say
whether the capture is whole. A guard shell that exited the moment it was signalled let
``stop_process``'s follow-up SIGKILL of the group cut the program short, now and then.
"""

import os
import subprocess
import sys

from forensics.lab.procs import group_members_alive, popen_guarded, stop_process

# A program that, on SIGTERM, takes a moment (like tcpdump draining its buffer) and then writes.
_SLOW_EXIT = (
    "import signal, sys, time\n"
    "def bye(*_):\n"
    "    time.sleep(0.3)\n"
    "    sys.stderr.write('counts written\\n'); sys.stderr.flush(); sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, bye)\n"
    "sys.stderr.write('ready\\n'); sys.stderr.flush()\n"
    "while True: time.sleep(0.05)\n"
)


def _wait_for(path, text, timeout_s=10.0):
    import time
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_stop_waits_for_the_guarded_program_to_finish(tmp_path):
    for i in range(5):
        log = tmp_path / f"err{i}.log"
        with open(log, "wb") as err:
            proc = popen_guarded([sys.executable, "-c", _SLOW_EXIT], stdout=subprocess.DEVNULL, stderr=err)
        _wait_for(log, "ready")
        stop_process(proc, grace_s=5.0)
        assert proc.returncode is not None
        assert "counts written" in log.read_text(), f"stop {i}: the program was killed before it finished"


def test_a_program_that_ignores_sigterm_is_still_killed():
    """stop_process returns only once the group's SIGKILL has been carried out: CI once saw the
    guarded python still running just after the guard shell was reaped (the kernel delivers a
    SIGKILL asynchronously, and a process killed while it runs takes a moment to go; with the
    stop that returned at the reaping, 9 and 10 of 60 stops in a row, each right after the
    program said it was ready, left it running). Twenty such stops, each with a short grace."""
    stubborn = "import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nsys.stderr.write('ready\\n'); sys.stderr.flush()\nwhile True: time.sleep(0.05)\n"
    for i in range(20):
        r, w = os.pipe()
        proc = popen_guarded([sys.executable, "-c", stubborn], stdout=subprocess.DEVNULL, stderr=w)
        os.close(w)
        with os.fdopen(r, "rb") as ready:
            assert ready.read(6) == b"ready\n"
            if i == 0:  # the helper sees the group as /proc does: the guard and python
                running = _live_members(proc.pid)
                assert len(running) == 2 and sorted(group_members_alive(proc.pid)) == sorted(running)
            stop_process(proc, grace_s=0.05)
        assert proc.returncode is not None
        assert _live_members(proc.pid) == [], f"stop {i}: a process of the guarded group is still running"


def _live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (a killed orphan waits for init to reap it).
    Read here on its own, not through procs.group_members_alive, so the check does not rest on the
    code it checks."""
    from pathlib import Path
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live
