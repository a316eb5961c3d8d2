"""Child processes that cannot outlive the lab.

Each child runs in its own session (so a Ctrl-C on the terminal reaches only the lab, which then
stops its children in order) and asks the kernel to signal it if the lab dies (PR_SET_PDEATHSIG),
even by SIGKILL. A program that drops privileges, like opentracker, loses that flag: it runs under
a tiny shell guard that keeps the flag and takes the program down with it (``guarded``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from sim.worker_pool import die_with_parent


def _death_signal(sig: int):
    def set_it() -> None:
        die_with_parent(sig)
    return set_it


def popen_child(cmd: list[str], death_signal: int = signal.SIGKILL, **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_death_signal(death_signal), close_fds=True, **kw)


# On TERM/INT the guard passes the signal on and waits for the program to finish (tcpdump, say,
# prints its packet counts on the way out): a guard that exited at once would let the caller's
# follow-up SIGKILL of the group cut the program short.
_GUARD = 'trap \'kill "$child" 2>/dev/null; wait "$child"; exit 0\' TERM INT; "$@" & child=$!; wait "$child"'


def popen_guarded(cmd: list[str], **kw) -> subprocess.Popen:
    """Run ``cmd`` under /bin/sh that gets SIGTERM when the lab dies and then kills ``cmd``."""
    return popen_child(["/bin/sh", "-c", _GUARD, "lab-guard", *cmd], death_signal=signal.SIGTERM, **kw)


def group_members_alive(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that have not died (a zombie has: a killed orphan waits for init
    to reap it), from /proc."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def stop_process(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM, wait, then SIGKILL the child's whole process group; always reaps it, and returns
    only once no process of the group is running (or 5 s after the SIGKILL): the kernel carries a
    SIGKILL out asynchronously, so a grandchild of a guard shell (whose own death ``wait`` sees) may
    still be running, holding its ports and files, for a moment after the shell is reaped (CI
    once saw it: tests/test_lab_procs.py)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 5.0
    while group_members_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
