"""The model's numba kernels (pure array functions; see each module).

Compiled code is cached on disk, but never reused after a change: numba's own cache notices only
an edit of the file that *defines* a function, not of a kernel it calls in another module or a
constant it imports, which would silently give stale numbers. So the cache lives in a directory
named by a hash of every kernel module, the modules they import from (``sim/protocol.py``,
``sim/state.py``) and the numba and numpy versions: any edit, checkout or upgrade gets a fresh
directory and a recompile. Set before any kernel module is imported (numba reads the cache
directory when a function is decorated). ``NUMBA_CACHE_DIR``, if set, is the parent directory.

The hot helpers of the transfer step (transfer.py, picker.py, piece_complete_arrays and
release_run_arrays in topology.py), the per-tick bandwidth kernels, the choker (choke_peer and
its idle check) and opening a connection and the availability counts of opening and closing one
(topology.py: connect, _count_pair, disconnect and its callers disconnect_all and disconnect_seeds;
connect.py: open_connection) are compiled with ``_nrt=False``: they allocate nothing, and
without numba's runtime a call no longer counts references up and down on every array it is
passed (each an atomic operation). With it, reference counting took over half the run time of
the 1,000-peer benchmark (perf: NRT_incref/NRT_decref). Results are the same bit for bit: only the
reference counts, which nothing here reads, are left alone. A kernel that allocates (np.empty,
argsort) must keep the runtime, and a callee is compiled with its caller's flags unless it names
its own: those that allocate under a runtime-free caller say ``_nrt=True``. The
choker allocates its work arrays once per call of choke_all (choke.py: ChokeScratch), not per
peer round, one call in from choke_all, which stays runtime-free: a kernel compiled with the
runtime and called from Python first wraps every array it is passed for it (56 for the peer and
edge arrays), which, in the kernel benchmark, cost about as much as the choke rounds themselves.
The tick loop itself (tick.py: swarm_tick, swarm_ticks) runs without the runtime too — reference
counts on the state tuples it passes to every step took most of a small swarm's tick — so the
serve order is sorted in place (sorting.py: numba's own argsort, step for step) and the choker's
work arrays come with the flow buffers (tick.py: FlowBuffers.choke, allocated once per replication).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba
import numpy

_HERE = Path(__file__).resolve().parent
KERNEL_SOURCES = (*sorted(_HERE.glob("*.py")), _HERE.parent / "protocol.py", _HERE.parent / "state.py")


def kernel_source_hash() -> str:
    """SHA-256 (first 16 hex digits) of the kernels' source files and the numba/numpy versions."""
    h = hashlib.sha256(f"numba {numba.__version__} numpy {numpy.__version__}\n".encode())
    for path in KERNEL_SOURCES:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _cache_dir() -> Path:
    parent = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "leechsim")
    return Path(parent) / f"numba-{kernel_source_hash()}"


def _usable(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        return path
    except OSError:  # an unwritable home: a private directory for this process (compiles anew)
        import tempfile
        return Path(tempfile.mkdtemp(prefix="leechsim-numba-"))


CACHE_DIR = _usable(_cache_dir())
numba.config.CACHE_DIR = str(CACHE_DIR)
