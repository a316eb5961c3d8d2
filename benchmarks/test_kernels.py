"""Each numba kernel against its pure-Python twin on realistic array sizes (pytest-benchmark).

Run: python -m pytest benchmarks/test_kernels.py --benchmark-only
The speed-up (twin time / kernel time) is computed by benchmarks/report.py from the JSON output.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.conftest import snapshot
from sim.kernels.bandwidth import _maxmin_fair, maxmin_fair
from sim.kernels.choke import choke_all
from sim.kernels.picker import pick_piece
from sim.kernels.transfer import collect_flows, transfer_blocks
from tests import naive


def _flows(run):
    pa, ea, pc = snapshot(run)
    n = len(pa.active)
    k = ea.nbr.shape[1]
    src, dst, slot = (np.zeros(n * k, np.int64) for _ in range(3))
    F = collect_flows(pa, ea, src, dst, slot)
    return pa, ea, pc, src[:F], dst[:F], slot[:F]


# ---- bandwidth sharing ------------------------------------------------------------------------
@pytest.mark.benchmark(group="bandwidth")
def test_bandwidth_kernel(benchmark, mid_swarm):
    pa, ea, pc, src, dst, slot = _flows(mid_swarm)
    rates = benchmark(maxmin_fair, src, dst, pa.up_cap, pa.down_cap)
    assert len(rates) == len(src) > 100


@pytest.mark.benchmark(group="bandwidth")
def test_bandwidth_twin(benchmark, mid_swarm):
    pa, ea, pc, src, dst, slot = _flows(mid_swarm)
    rates = benchmark.pedantic(naive.maxmin_fair, args=(src, dst, pa.up_cap, pa.down_cap), rounds=1, iterations=1)
    np.testing.assert_allclose(rates, maxmin_fair(src, dst, pa.up_cap, pa.down_cap), rtol=1e-9, atol=1e-6)


# ---- piece picking ------------------------------------------------------------------------------
def _pairs(run, n=500):
    pa, ea, pc, src, dst, slot = _flows(run)
    return pc, pa, list(zip(dst[:n].tolist(), src[:n].tolist()))


def _pick_all_kernel(pc, pa, pairs):
    return [pick_piece(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, 10, v, u, np.uint64(1)) for v, u in pairs]


def _pick_all_twin(pc, pa, pairs):
    out = []
    for v, u in pairs:
        out.append(next((int(p) for p in pc.order[v] if pc.have[u, p] and not pc.have[v, p]), -1))
    return out


@pytest.mark.benchmark(group="picker")
def test_picker_kernel(benchmark, mid_swarm):
    pc, pa, pairs = _pairs(mid_swarm)
    assert benchmark(_pick_all_kernel, pc, pa, pairs) == _pick_all_twin(pc, pa, pairs)


@pytest.mark.benchmark(group="picker")
def test_picker_twin(benchmark, mid_swarm):
    pc, pa, pairs = _pairs(mid_swarm)
    benchmark.pedantic(_pick_all_twin, args=(pc, pa, pairs), rounds=3, iterations=1)


# ---- choke ranking ---------------------------------------------------------------------------
def _choke_round(run, fn):
    pa, ea, pc = snapshot(run)
    pa.next_round_t[:] = 0.0  # every peer runs its regular round now
    pa.next_opt_t[:] = 0.0
    return (pa, ea, 3601.0, 1.0, np.uint64(5), 262144, 1 << 30), fn


@pytest.mark.benchmark(group="choke")
def test_choke_kernel(benchmark, mid_swarm):
    def setup():
        args, _ = _choke_round(mid_swarm, None)
        return args, {}
    benchmark.pedantic(choke_all, setup=setup, rounds=20, iterations=1)


@pytest.mark.benchmark(group="choke")
def test_choke_twin(benchmark, mid_swarm):
    """The twin ranks every active peer's interested connections with libtorrent's comparator."""
    pa, ea, pc = snapshot(mid_swarm)

    def rank_everyone():
        for u in np.flatnonzero(pa.active):
            conns = [dict(nbr=int(ea.nbr[u, k]), down_round=int(ea.down_round[u, k]), up_round=int(ea.up_round[u, k]),
                          unchoked=bool(ea.unchoked[u, k]), up_since_unchoke=int(ea.up_since_unchoke[u, k]),
                          last_unchoke_t=float(ea.last_unchoke_t[u, k]), up_conn_total=int(ea.up_conn_total[u, k]),
                          n_have=int(pa.n_have[ea.nbr[u, k]]))
                     for k in range(pa.deg[u]) if ea.was_interested[u, k]]
            naive.rank_for_unchoke(conns, 3601.0, int(pa.quota_bytes[u]), int(pa.seed_algo[u]), 5, int(u), 262144, 1 << 30)
    benchmark.pedantic(rank_everyone, rounds=3, iterations=1)


# ---- the transfer step -------------------------------------------------------------------------
def _transfer_args(run):
    pa, ea, pc, src, dst, slot = _flows(run)
    rate = maxmin_fair(src, dst, pa.up_cap, pa.down_cap)
    cap = 100_000
    logs = (np.zeros(cap), *(np.zeros(cap, np.int64) for _ in range(5)))
    return (pa, ea, pc, dst, slot, rate, len(dst), 1.0, 3601.0, np.uint64(9), 0, *logs, np.zeros(len(pa.active), np.int64))


@pytest.mark.benchmark(group="transfer")
def test_transfer_kernel(benchmark, mid_swarm):
    benchmark.pedantic(transfer_blocks, setup=lambda: (_transfer_args(mid_swarm), {}), rounds=20, iterations=1)


@pytest.mark.benchmark(group="transfer")
def test_transfer_twin(benchmark, mid_swarm):
    """The twin is the same step run as plain Python (numba's py_func, nested kernels interpreted
    too when NUMBA_DISABLE_JIT=1; here the nested calls stay compiled, so this is a lower bound)."""
    benchmark.pedantic(transfer_blocks.py_func, setup=lambda: (_transfer_args(mid_swarm), {}), rounds=3, iterations=1)
