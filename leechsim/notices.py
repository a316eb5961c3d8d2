"""One-line notices on stderr, shown with or without a terminal (a log file needs them too)."""

from __future__ import annotations

from pathlib import Path

from .env import Environment

SIMULATING_COMMANDS = frozenset({"simulate", "sweep", "corpus", "report", "validate", "verify"})
# docs/benchmarks.md#compilation: cold compile 47.8 s (python -m benchmarks.report)
COLD_COMPILE_S = 80


def kernels_compiled(cache_dir: Path) -> bool:
    """True once this version's kernels are in the on-disk cache (numba writes an index per function)."""
    return cache_dir.is_dir() and any(cache_dir.rglob("*.nbi"))


def compile_notice(command: str, env: Environment, cache_dir: Path | None = None) -> None:
    """Say why the first simulation of this leechsim version seems to hang for ~50 s."""
    if command not in SIMULATING_COMMANDS:
        return
    if cache_dir is None:
        from sim.kernels import CACHE_DIR as cache_dir  # the directory keyed to these kernels' sources
    if not kernels_compiled(cache_dir):
        env.stderr.write(f"leechsim: first simulation with this version: compiling the model's kernels "
                         f"(about {COLD_COMPILE_S} s, once; cached in {cache_dir})\n")
        env.stderr.flush()
