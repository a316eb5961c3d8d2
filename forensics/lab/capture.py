"""``--pcap``: the run's loopback traffic, captured by Debian's ``tcpdump`` as evidence is captured.

One capture per run, ``raw/capture.pcap``: interface ``lo``, only the run's own address range
(``net 127.B.0.0/16``) and, within it, only packets to or from the run's listen ports (every peer's
and the tracker's: every connection of the run has one at one end, TCP or uTP) — another lab
process may draw the same 127.B range (plan.base_octet_for_this_process), and its swarm must not
end up in this run's evidence. Whole packets (snaplen 262144), a 64 MiB kernel buffer so a burst on
loopback is not dropped. The size is bounded: a watcher stops tcpdump when the file passes
``max_bytes`` and says so (``limit_reached``); the summary also keeps tcpdump's own counts of
packets captured and dropped by the kernel, so a reader knows whether the capture is whole.

tcpdump runs like the lab's other children (procs.py): its own session, under the shell guard
that takes it down if the lab dies, stopped with SIGTERM (it then flushes and closes the file) and
SIGKILL. ``-Z root`` keeps it from dropping privileges, which would also drop the death signal.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from ..errors import UserError
from .errors import LabRunError
from .procs import popen_guarded, stop_process

TCPDUMP = "tcpdump"
SNAPLEN = 262144
KERNEL_BUFFER_KIB = 65536
DEFAULT_MAX_BYTES = 2 * 1024**3
READY_TIMEOUT_S = 10.0
SETTLE_QUIET_S = 0.5  # at stop: the file has stopped growing for this long
SETTLE_MAX_S = 5.0


def tcpdump_path() -> str:
    path = shutil.which(TCPDUMP) or next((p for p in ("/usr/bin/tcpdump", "/usr/sbin/tcpdump") if Path(p).exists()), None)
    if path is None:
        raise UserError("--pcap needs tcpdump (Debian/Ubuntu: apt-get install tcpdump)")
    return path


def tcpdump_version() -> str | None:
    try:
        out = subprocess.run([tcpdump_path(), "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError, UserError):
        return None
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else None


class LoopbackCapture:
    """Context manager: tcpdump writing ``path``; always stopped on exit."""

    def __init__(self, path: Path, prefix: str, ports: list[int], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        """``prefix`` is the run's "127.B"; ``ports`` its listen ports."""
        self.path = Path(path)
        self.net = f"{prefix}.0.0/16"
        self.filter = f"net {self.net} and (" + " or ".join(f"port {p}" for p in ports) + ")"
        self.max_bytes = int(max_bytes)
        self.proc: subprocess.Popen | None = None
        self.limit_reached = False
        self._stopped = threading.Event()
        self.stderr_path = self.path.with_name(self.path.name + ".tcpdump.log")
        self.command = [tcpdump_path(), "-i", "lo", "-n", "-s", str(SNAPLEN), "-B", str(KERNEL_BUFFER_KIB),
                        "-U", "-Z", "root", "-w", str(self.path), self.filter]

    def __enter__(self) -> "LoopbackCapture":
        with open(self.stderr_path, "wb") as err:
            self.proc = popen_guarded(self.command, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "listening on" not in self._log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self._log()
                stop_process(self.proc)
                raise LabRunError(f"tcpdump did not start capturing: {log[-500:] or '(no output)'}")
            time.sleep(0.05)
        threading.Thread(target=self._watch_size, daemon=True).start()
        return self

    def _log(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def _watch_size(self) -> None:
        while not self._stopped.wait(0.2):
            try:
                size = self.path.stat().st_size
            except OSError:
                continue
            if size > self.max_bytes:
                self.limit_reached = True
                self.stop()
                return

    def stop(self) -> None:
        """Let tcpdump write what the kernel still holds for it, then stop it. (On SIGTERM it
        flushes its file but drops packets not yet read from the kernel's buffer: a swarm stopped
        a moment earlier would lose its last packets.)"""
        self._stopped.set()
        if self.proc is not None and self.proc.poll() is None and not self.limit_reached:
            self._settle()
        if self.proc is not None:
            stop_process(self.proc, grace_s=5.0)

    def _settle(self, quiet_s: float = SETTLE_QUIET_S, max_s: float = SETTLE_MAX_S) -> None:
        """Wait until the file has not grown for ``quiet_s`` (at most ``max_s``)."""
        deadline = time.monotonic() + max_s
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size != last:
                last, since = size, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.05)

    def summary(self) -> dict:
        """What the capture holds and whether it is whole (after ``stop``)."""
        log = self._log()

        def count(what: str) -> int | None:
            m = re.search(rf"(\d+) packets? {what}", log)
            return int(m.group(1)) if m else None

        return {"file": self.path.name, "filter": self.filter, "interface": "lo", "snaplen": SNAPLEN,
                "command": self.command, "bytes": self.path.stat().st_size if self.path.exists() else 0,
                "max_bytes": self.max_bytes, "limit_reached": self.limit_reached,
                "packets_captured": count("captured"), "packets_dropped_by_kernel": count("dropped by kernel")}

    def __exit__(self, *exc) -> None:
        self.stop()
