"""One-line notices on stderr, shown with or without a terminal (a log file needs them too)."""

from __future__ import annotations

import threading
from pathlib import Path

from .env import Environment

SIMULATING_COMMANDS = frozenset({"simulate", "sweep", "corpus", "report", "validate", "verify"})
# the cold compile's range over the benchmark reports (python -m benchmarks.report, "Compilation"):
# 101.2 s on an Intel Xeon (2026-12-06 20:13 UTC), 218.3 s on an AMD EPYC (23:59, --skip-10000),
# 63.2-112 s in earlier reports: this machine's processor and hour decide it (README "Speed")
COLD_COMPILE_RANGE = "one to four minutes"
NOTICE_DELAY_S = 2.0  # the notice waits this long: a command refusing its input is done by then


def kernels_compiled(cache_dir: Path) -> bool:
    """True once this version's kernels are in the on-disk cache (numba writes an index per function)."""
    return cache_dir.is_dir() and any(cache_dir.rglob("*.nbi"))


def compile_notice_unless_done_soon(command: str, env: Environment, delay_s: float = NOTICE_DELAY_S,
                                    cache_dir: Path | None = None) -> threading.Timer | None:
    """The compile notice, if the kernel cache is cold when the command starts and the command is
    still running ``delay_s`` later: a command that stops at once (bad input: its error is then the
    first thing on stderr) or whose kernels are cached says nothing. The cache is looked at now, not
    when the timer fires: by then numba has already written some of its files. Cancel the returned
    timer when the command ends."""
    cache_dir = _cold_cache(command, cache_dir)
    if cache_dir is None:
        return None
    timer = threading.Timer(delay_s, _write_notice, args=(env, cache_dir))
    timer.daemon = True
    timer.start()
    return timer


def compile_notice(command: str, env: Environment, cache_dir: Path | None = None) -> None:
    """Say now why the first simulation of this leechsim version seems to hang for a minute or more."""
    cache_dir = _cold_cache(command, cache_dir)
    if cache_dir is not None:
        _write_notice(env, cache_dir)


def _cold_cache(command: str, cache_dir: Path | None) -> Path | None:
    """The kernel cache directory if ``command`` simulates and its kernels are not cached yet, else None."""
    if command not in SIMULATING_COMMANDS:
        return None
    if cache_dir is None:
        from sim.kernels import CACHE_DIR as cache_dir  # the directory keyed to these kernels' sources
    return None if kernels_compiled(cache_dir) else cache_dir


def _write_notice(env: Environment, cache_dir: Path) -> None:
    env.stderr.write(f"leechsim: first simulation with this version: compiling the model's kernels "
                     f"({COLD_COMPILE_RANGE}, once; cached in {cache_dir})\n")
    env.stderr.flush()
