"""A tick leaves out the steps that provably change nothing (sim/kernels/tick.py: no choker with
work, no transfer, no connection at its second tick): whole runs equal those of the tick that
calls every step, bit for bit, and such quiet steps do occur in them."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import sim.engine as engine
from sim.kernels.bandwidth import (ask_when_asked, close_download_quota, download_quota_tick, grant_sends_into,
                                   open_download_quota, return_unsendable_quota, second_tick, upload_quota_tick)
from sim.kernels.choke import choke_all, choker_idle_arrays
from sim.kernels.tick import any_choker_due, any_second_tick_work
from sim.kernels.transfer import ask_before_sending, collect_flows, serve_order, transfer_blocks
from tests.conftest import make_scenario
from tests.test_batched_ticks import CASES, EXPLICIT, digest, run

# Besides test_batched_ticks' cases: a first seed leaves early, the leechers trade what it gave them
# until none has anything another lacks, and wait (their rate averages decaying, their channels
# gaining quota, in ticks without a transfer) for a second seed.
QUIET_CASES = {**CASES, "a pause between two seeds": {"swarm.seeds.count": 0, "simulation.horizon_s": 900}}
TWO_SEEDS = [{"role": "seed", "upload": 100000, "leave_s": 15}, {"role": "seed", "upload": 300000, "join_s": 140.5}]
QUIET = np.zeros(3, np.int64)  # ticks with no choker due, with no transfer, with no second-tick work


@njit
def every_step_tick(pa, ea, pc, fb, lb, now, dt, tick, ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes,
                    subject, quiet):
    """The reference: one tick calling every step (as before the quiet-tick shortcuts), counting the
    ticks in which the shortcuts would leave a step out."""
    quiet[0] += not any_choker_due(pa.active, pa.interest_changed, pa.next_round_t, pa.next_opt_t, now)
    quiet[2] += not any_second_tick_work(pa.active, pa.deg, pa.sec_phase, tick, ticks_per_s)
    choke_all(pa, ea, now, dt, salt_choke, piece_bytes, total_bytes)
    open_download_quota(pa, dt)
    F = collect_flows(pa, ea, pc, fb.src, fb.dst, fb.slot, dt)
    quiet[1] += F == 0
    order = serve_order(pa, ea, fb.dst, fb.slot, F)
    ask_before_sending(pa, ea, pc, fb.dst, fb.slot, F, order, salt_pick, piece_bytes)
    ask_when_asked(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt)
    upload_quota_tick(pa, ea, dt)
    download_quota_tick(pa, ea, fb.dst, fb.slot, F, dt)
    grant_sends_into(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt, fb.rate, fb.want, fb.turns, fb.wanted)
    n_log, n_done, overflow = transfer_blocks(
        pa, ea, pc, fb.dst, fb.slot, fb.rate, F, order, dt, now, salt_pick, subject, piece_bytes,
        lb.t, lb.peer, lb.piece, lb.first, lb.blocks, lb.nbytes, fb.completed)
    return_unsendable_quota(pa, ea, fb.src, fb.dst, fb.slot, F, fb.wanted)
    close_download_quota(pa, ea)
    second_tick(pa, ea, tick, ticks_per_s)
    return F, n_log, n_done, overflow


@pytest.mark.parametrize("case", sorted(QUIET_CASES))
def test_quiet_steps_left_out_change_nothing(case, monkeypatch):
    """Each case, two seeds: the engine's tick (batched) equals the tick calling every step."""
    sc = make_scenario(**QUIET_CASES[case])
    if case in ("explicit peers", "a pause between two seeds"):
        sc = sc.with_changes(**{"swarm.peer": EXPLICIT if case == "explicit peers" else TWO_SEEDS})
    QUIET[:] = 0
    for seed in (0, 1):
        _, shortcut = run(sc, seed)
        with monkeypatch.context() as m:
            m.setattr(engine, "swarm_tick", lambda *a: every_step_tick(*a, QUIET))
            _, full = run(sc, seed, max_batch_ticks=1)
        assert digest(shortcut) == digest(full), (case, seed)
    assert (QUIET > 0).all(), QUIET


def test_any_choker_due_is_some_choker_not_idle():
    """any_choker_due is true exactly when some active peer's choker is not idle."""
    rng = np.random.default_rng(3)
    for _ in range(500):
        n = int(rng.integers(1, 6))
        active = rng.random(n) < 0.6
        changed = rng.random(n) < 0.2
        rnd, opt = rng.choice([0.0, 1.0, 2.0], n), rng.choice([0.0, 1.0, 2.0], n)
        now = float(rng.choice([0.5, 1.0, 1.5]))
        want = any(active[u] and not choker_idle_arrays(changed, rnd, opt, u, now) for u in range(n))
        assert any_choker_due(active, changed, rnd, opt, now) == want


def test_any_second_tick_work_is_a_connected_peer_at_its_second():
    """any_second_tick_work is true exactly when an active peer with a connection has its second tick."""
    rng = np.random.default_rng(4)
    for _ in range(500):
        n = int(rng.integers(1, 6))
        active = rng.random(n) < 0.6
        deg = rng.integers(0, 2, n)
        phase = rng.integers(0, 4, n)
        tick = int(rng.integers(0, 100))
        want = any(active[u] and deg[u] > 0 and (tick + phase[u]) % 4 == 0 for u in range(n))
        assert any_second_tick_work(active, deg, phase, tick, 4) == want
