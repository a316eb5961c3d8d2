"""Each numba kernel against its pure-Python twin on realistic array sizes (pytest-benchmark).

Run: python -m pytest benchmarks/test_kernels.py --benchmark-only -k kernel
     NUMBA_DISABLE_JIT=1 python -m pytest benchmarks/test_kernels.py --benchmark-only -k twin
The picker twin is written out below. The bandwidth, choke and transfer
twins are the kernels' own code run by the interpreter (NUMBA_DISABLE_JIT=1, nested kernels
included): a pure-Python step doing exactly the same work. benchmarks/report.py runs both and
computes the speed-ups.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from benchmarks.conftest import snapshot
from sim.kernels.bandwidth import download_quota_tick, grant_sends, upload_quota_tick
from sim.kernels.choke import choke_all
from sim.kernels.picker import pick_piece
from sim.kernels.transfer import collect_flows, serve_order, transfer_blocks


needs_interpreter = pytest.mark.skipif(not numba.config.DISABLE_JIT,
                                       reason="the interpreted twin needs NUMBA_DISABLE_JIT=1")


def _flows(state):
    pa, ea, pc = snapshot(state)
    n = len(pa.active)
    k = ea.nbr.shape[1]
    src, dst, slot = (np.zeros(n * k, np.int64) for _ in range(3))
    F = collect_flows(pa, ea, pc, src, dst, slot, 0.5)
    return pa, ea, pc, src[:F], dst[:F], slot[:F]


# ---- bandwidth sharing ------------------------------------------------------------------------
def _limiter_step(pa, ea, src, dst, slot):
    """One quota tick of every rate limiter: the uploaders' and the downloaders' queues, then the
    transfers' sends."""
    k = ea.nbr.shape[1]
    rate, want = np.zeros(len(src)), np.zeros(len(src))
    upload_quota_tick(pa, ea, 0.5)
    download_quota_tick(pa, ea, dst, slot, len(src), 0.5)
    grant_sends(pa, ea, src, dst, slot, len(src), np.arange(len(src)), 0.5, rate, want)
    return rate


def _limiter_args(state):
    pa, ea, pc, src, dst, slot = _flows(state)
    return (pa, ea, src, dst, slot), {}


@pytest.mark.benchmark(group="bandwidth")
def test_bandwidth_kernel(benchmark, mid_swarm):
    rates = benchmark.pedantic(_limiter_step, setup=lambda: _limiter_args(mid_swarm), rounds=20, iterations=1)
    assert len(rates) > 100


@needs_interpreter
@pytest.mark.benchmark(group="bandwidth")
def test_bandwidth_twin(benchmark, mid_swarm):
    benchmark.pedantic(_limiter_step, setup=lambda: _limiter_args(mid_swarm), rounds=2, iterations=1)


# ---- piece picking ------------------------------------------------------------------------------
def _pairs(state, n=500):
    pa, ea, pc, src, dst, slot = _flows(state)
    return pc, pa, list(zip(dst[:n].tolist(), src[:n].tolist()))


def _pick_all_kernel(pc, pa, pairs):
    return [pick_piece(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, pc.owner, 10, v, u, np.uint64(1), False)
            for v, u in pairs]


def _pick_all_twin(pc, pa, pairs):
    out = []
    for v, u in pairs:
        out.append(next((int(p) for p in pc.order[v] if pc.have[u, p] and not pc.have[v, p] and not pc.owner[v, p]),
                        next((int(p) for p in pc.order[v] if pc.have[u, p] and not pc.have[v, p]), -1)))
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
def _choke_round(state):
    pa, ea, pc = snapshot(state)
    pa.next_round_t[:] = 0.0  # every peer runs its regular round now
    pa.next_opt_t[:] = 0.0
    return (pa, ea, 3601.0, 1.0, np.uint64(5), 262144, 1 << 30), {}


@pytest.mark.benchmark(group="choke")
def test_choke_kernel(benchmark, mid_swarm):
    benchmark.pedantic(choke_all, setup=lambda: _choke_round(mid_swarm), rounds=20, iterations=1)


@needs_interpreter
@pytest.mark.benchmark(group="choke")
def test_choke_twin(benchmark, mid_swarm):
    benchmark.pedantic(choke_all, setup=lambda: _choke_round(mid_swarm), rounds=2, iterations=1)


# ---- the transfer step -------------------------------------------------------------------------
def _transfer_args(state):
    pa, ea, pc, src, dst, slot = _flows(state)
    rate = _limiter_step(pa, ea, src, dst, slot)
    cap = 100_000
    logs = (np.zeros(cap), *(np.zeros(cap, np.int64) for _ in range(5)))
    return (pa, ea, pc, dst, slot, rate, len(dst), serve_order(pa, ea, dst, slot, len(dst)), 0.5, 3601.0, np.uint64(9), 0, int(pc.blocks[0]) * 16384, *logs, np.zeros(len(pa.active), np.int64))


@pytest.mark.benchmark(group="transfer")
def test_transfer_kernel(benchmark, mid_swarm):
    benchmark.pedantic(transfer_blocks, setup=lambda: (_transfer_args(mid_swarm), {}), rounds=20, iterations=1)


@needs_interpreter
@pytest.mark.benchmark(group="transfer")
def test_transfer_twin(benchmark, mid_swarm):
    benchmark.pedantic(transfer_blocks, setup=lambda: (_transfer_args(mid_swarm), {}), rounds=2, iterations=1)


# ---- the per-kernel breakdown ---------------------------------------------------------------------
def test_breakdown_tick_gives_the_fused_ticks_results(monkeypatch):
    """benchmarks/scaling.py times the tick's steps one by one; it must run the same steps as the
    fused swarm_tick, or the breakdown would describe another model."""
    import sim.engine as engine
    from benchmarks.scaling import timed_tick
    from sim.engine import SwarmRun
    from sim.scenario import parse_scenario

    sc = parse_scenario({"torrent": {"total_size": "2MiB", "piece_size": "64KiB"},
                         "swarm": {"leechers": {"count": 6, "spread_s": 5}}, "simulation": {"horizon_s": 300}})
    fused = SwarmRun(sc, 0, np.random.SeedSequence(3)).run()
    monkeypatch.setattr(engine, "swarm_tick", timed_tick)
    stepped = SwarmRun(sc, 0, np.random.SeedSequence(3), max_batch_ticks=1).run()
    assert fused.headline == stepped.headline
    assert fused.log.columns().keys() == stepped.log.columns().keys()
    for k, v in fused.log.columns().items():
        np.testing.assert_array_equal(v, stepped.log.columns()[k])
