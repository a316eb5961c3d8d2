"""opentracker, started by the lab on a loopback port with only this run's torrent whitelisted.

The Debian build is whitelist-only and refuses to run as root: it gets ``-u nobody`` and a chroot
directory that holds the whitelist (read after the chroot, so the path given is relative to it).
Its announce interval is compiled in (30 min); the peers re-announce on the scenario's interval
themselves (``force_reannounce``), see peer.py.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from ..errors import UserError
from .errors import LabRunError
from .procs import popen_guarded, stop_process

OPENTRACKER = "opentracker"


def opentracker_path() -> str:
    path = shutil.which(OPENTRACKER) or ("/usr/bin/opentracker" if Path("/usr/bin/opentracker").exists() else None)
    if path is None:
        raise UserError("opentracker is not installed (Debian/Ubuntu: apt-get install opentracker); "
                        "or run with --tracker none to connect the peers directly")
    return path


def opentracker_version() -> str | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", OPENTRACKER], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def free_tcp_port(ip: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


class Opentracker:
    """Context manager: a running opentracker; always stopped on exit."""

    def __init__(self, workdir: Path, ip: str, info_hash_hex: str) -> None:
        self.dir = workdir / "tracker"
        self.ip = ip
        self.info_hash = info_hash_hex
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def announce_url(self) -> str:
        return f"http://{self.ip}:{self.port}/announce"

    def __enter__(self) -> "Opentracker":
        exe = opentracker_path()
        self.dir.mkdir(parents=True)
        self.dir.chmod(0o755)  # readable by 'nobody' after the chroot
        (self.dir / "whitelist").write_text(self.info_hash + "\n")
        (self.dir / "whitelist").chmod(0o644)
        self.stderr_path = self.dir.parent / "tracker.stderr"
        for _attempt in range(5):
            self.port = free_tcp_port(self.ip)
            self.command = [exe, "-i", self.ip, "-p", str(self.port), "-P", str(self.port),
                            "-w", "whitelist", "-u", "nobody", "-d", str(self.dir)]
            with open(self.stderr_path, "ab") as err:
                self.proc = popen_guarded(self.command, stdout=subprocess.DEVNULL, stderr=err)
            if self._wait_ready(5.0):
                return self
            stop_process(self.proc)
        raise LabRunError(f"opentracker did not start: {self.stderr_path.read_text(errors='replace')[-500:]}")

    def _wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection((self.ip, self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
