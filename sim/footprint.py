"""What a run will allocate, estimated from the scenario before anything runs.

An upper estimate, part by part, so that a scenario too large for the machine is refused with a
message naming what to reduce instead of failing minutes later with a MemoryError (or the
machine swapping). The sizes follow the arrays ``sim.state`` and ``sim.engine`` allocate:

- in each worker: the piece arrays (N peers x P pieces: a bool and five int32 per entry), the
  connection arrays (N x K connections, ~170 bytes each plus the allowed fast set) and the
  subject's per-tick log buffer (the blocks it can send in a tick plus 3 s of saved quota);
- with connection tracing, every connection from both ends at every quota tick, for every
  replication (at most N x K rows a tick: an upper bound, as tracing is for small scenarios);
- kept until the run directory is written: each replication's time series and per-peer and
  per-file tables.

The subject's transfer logs are kept too, but their length depends on the outcome, not the
scenario: a bound from the bytes it could send would refuse runs that need a thousandth of it
(``leechsim simulate examples/book-corpus.toml --runs 2`` logged 3,762 and 8,080 rows, under
0.4 MB each as arrays), so they are left out.

Checked against a real replication by ``tests/test_footprint.py``: for 10,000 peers x 4,096 pieces
the estimate (1.16 GiB without the process) is above the measured peak growth (0.76 GiB: pages
numpy allocates zeroed are only counted once touched) and within 3x of it.

``sim`` does no I/O: comparing with the machine's memory is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .protocol import BLOCK_BYTES
from .scenario import Scenario
from .state import _EDGE_3D, _EDGE_FIELDS

PROCESS_BASE_BYTES = 250 * 1024**2  # a Python worker with numpy, numba and the compiled kernels loaded
_PIECE_ENTRY_BYTES = 1 + 6 * 4  # have (bool), recv, avail, order, pos, owner, asked (int32)
# the connection arrays of sim.state, one entry each (the allowed fast set, a third axis, apart)
_EDGE_ENTRY_BYTES = sum(np.dtype(spec[0] if isinstance(spec, tuple) else spec).itemsize
                        for name, spec in _EDGE_FIELDS.items() if name not in _EDGE_3D)
_LOG_ROW_BYTES = 6 * 8
_TRACE_ROW_BYTES = 24 * 8
_QUOTA_BURST_S = 3.0  # saved quota a limiter may spend at once (kernels/bandwidth.py)


@dataclass(frozen=True)
class Footprint:
    peers: int
    pieces: int
    connections_per_peer: int
    parts: dict[str, int]  # what -> bytes

    @property
    def total_bytes(self) -> int:
        return sum(self.parts.values())


def max_peers(sc: Scenario) -> int:
    """The most peers a replication can have: subject, seeds and every leecher that may arrive."""
    lee = sc.swarm.leechers
    if lee.arrival == "flash_crowd":
        leechers = lee.count or 0
    elif lee.arrival == "list":
        leechers = len(lee.join_s or ())
    else:
        expected = lee.rate_per_s * (lee.window_s[1] - lee.window_s[0])
        leechers = int(expected + 6 * expected ** 0.5 + 10)  # six standard deviations above the mean
        if lee.count is not None:
            leechers = min(leechers, lee.count)
    return 1 + sc.swarm.seeds.count + leechers


def estimate(sc: Scenario, replications: int, workers: int, trace_connections: bool = False) -> Footprint:
    """Upper estimate of the memory a run of ``replications`` on ``workers`` processes needs."""
    n = max_peers(sc)
    t = sc.torrent
    p = t.num_pieces
    limit = max(sc.subject.libtorrent.connections_limit, sc.swarm.libtorrent.connections_limit)
    k = max(1, min(n - 1, limit))
    fast = max(sc.subject.libtorrent.allowed_fast_set_size, sc.swarm.libtorrent.allowed_fast_set_size, 1)
    horizon, tick = sc.simulation.horizon_s, sc.simulation.tick_s
    step_rows = int(sc.subject.upload_bps * (tick + _QUOTA_BURST_S) // BLOCK_BYTES) + 2 * k + 16
    samples = int(horizon / sc.simulation.sample_interval_s) + 2
    per_replication_kept = samples * 3 * 8 + n * 12 * 8 + len(t.file_sizes) * (10 * 8 + 64)
    parts = {
        "processes": PROCESS_BASE_BYTES * (workers + 1),
        "peers x pieces arrays": workers * n * p * _PIECE_ENTRY_BYTES,
        "connection arrays": workers * n * k * (_EDGE_ENTRY_BYTES + 4 * fast),
        "subject's per-tick log buffer": workers * step_rows * _LOG_ROW_BYTES,
        "tables kept until written": replications * per_replication_kept,
    }
    if trace_connections:
        ticks = int(horizon / tick) + 1
        # every open connection from both ends at every quota tick: at most min(N*K, N*(N-1)) rows a tick
        parts["connection traces"] = replications * ticks * n * k * _TRACE_ROW_BYTES
    return Footprint(n, p, k, parts)
