"""The machine's own speed, on fixed work that no change of leechsim touches; prints one JSON line.

Run:  python -m benchmarks.yardstick [--rounds 5]

The benchmark report's times are this machine's at that hour, and the machine is not one thing:
sessions have run on an Intel Xeon and on an AMD EPYC under the same name, and one processor has
taken tens of per cent longer for the same work from one hour to the next (README "Speed"). A
time measured beside a yardstick can be read across hours and machines: if the yardstick took
1.6 times as long as at an earlier report, so should unchanged code.

Three workloads, each the median of ``--rounds`` timed rounds after one warm-up round, each
written once here and never changed (``WORKLOAD_VERSION``; tests/test_benchmark_yardstick.py pins
the source of the workload functions, so a change has to be made on purpose and named in the
report):

- ``compiled_cache_ms``: numba-compiled integer work in the caches — a bucketed order of 4,096
  entries in 2 x 64 KiB, entries moved between buckets by swaps at random (xorshift64), as the
  model's piece picker moves pieces. Stands for the compiled tick of a small swarm (the case
  study's corpus, the lab-sized scenarios).
- ``compiled_memory_ms``: the same moves scattered over 10,000 rows of 4,096 int32 (160 MiB in
  each of two arrays), a row chosen at random per move: memory latency, as the 10,000-peer
  swarm's per-HAVE updates pay it.
- ``interpreter_ms``: the cache workload, smaller, run by the Python interpreter: the pure-Python
  twins and the engine's Python bookkeeping.

The numbers are seconds of this machine, not a property of leechsim; nothing of the model runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
from numba import njit

WORKLOAD_VERSION = 1
BUCKET_ENTRIES = 4096  # entries per row, as the benchmark swarms' 4,096 pieces
BUCKETS = 64
CACHE_MOVES = 4_000_000
MEMORY_ROWS = 10_000  # as the 10,000-peer benchmark swarm
MEMORY_MOVES = 2_000_000
INTERPRETER_MOVES = 30_000
SEED = 0x9E3779B97F4A7C15


def _moves(order, pos, bound, n_moves, seed):
    """Move random entries of random rows one bucket up or down by swaps at the bucket edges;
    returns a checksum of the positions touched (so the work cannot be skipped)."""
    rows, width = order.shape
    nb = bound.shape[1] - 1
    x = np.uint64(seed)
    check = 0
    for _ in range(n_moves):
        x ^= x << np.uint64(13)
        x ^= x >> np.uint64(7)
        x ^= x << np.uint64(17)
        r = np.int64(x % np.uint64(rows))
        e = np.int64((x >> np.uint64(24)) % np.uint64(width))
        up = (x >> np.uint64(40)) & np.uint64(1)
        cur = pos[r, e]
        b = 0
        while b < nb - 1 and bound[r, b + 1] <= cur:
            b += 1
        if up == 1 and b < nb - 1:  # to the bucket above: swap with the last entry of this bucket
            j = bound[r, b + 1] - 1
            bound[r, b + 1] = j
        elif up == 0 and b > 0:  # to the bucket below: swap with the first entry of this bucket
            j = bound[r, b]
            bound[r, b] = j + 1
        else:
            j = cur
        q = order[r, j]
        order[r, cur] = q
        pos[r, q] = cur
        order[r, j] = e
        pos[r, e] = j
        check += j
    return check


_moves_compiled = njit(cache=True)(_moves)


def _arrays(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.tile(np.arange(BUCKET_ENTRIES, dtype=np.int32), (rows, 1))
    pos = order.copy()
    step = BUCKET_ENTRIES // BUCKETS
    bound = np.tile(np.arange(0, BUCKET_ENTRIES + 1, step, dtype=np.int32), (rows, 1))
    return order, pos, bound


def _timed(fn, rounds: int) -> float:
    fn()  # warm-up: compiled (or loaded), pages touched
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def measure(rounds: int = 5) -> dict:
    """The three workloads' median times (ms) on this machine, now."""
    small, interpreted = _arrays(2), _arrays(2)
    large = _arrays(MEMORY_ROWS)
    return {
        "workload_version": WORKLOAD_VERSION,
        "rounds": rounds,
        "compiled_cache_ms": _timed(lambda: _moves_compiled(*small, CACHE_MOVES, SEED), rounds),
        "compiled_memory_ms": _timed(lambda: _moves_compiled(*large, MEMORY_MOVES, SEED), rounds),
        "interpreter_ms": _timed(lambda: _moves(*interpreted, INTERPRETER_MOVES, SEED), rounds),
    }


def cli(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.yardstick", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per workload (default 5; median reported)")
    a = ap.parse_args(argv)
    if a.rounds < 1:
        ap.error(f"--rounds {a.rounds}: must be at least 1")
    print(json.dumps({"command": "python -m benchmarks.yardstick" + ("" if a.rounds == 5 else f" --rounds {a.rounds}"),
                      **measure(a.rounds)}))
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
