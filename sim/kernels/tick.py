"""One quota tick of the swarm (libtorrent's tick_interval, 500 ms), fused into a single compiled
call: choke, rate limiters, move blocks, then each session's once-a-second tick where it is due.
Each step is its own pure kernel (choke.py, bandwidth.py, transfer.py); this only sequences them,
so the engine crosses the Python/numba boundary once per tick — or, with swarm_ticks, once for
a run of ticks in which nothing happens that the engine must handle (see sim/engine.py).

The tick loop runs without numba's runtime (``_nrt=False``, sim/kernels/__init__.py): otherwise
every tick counted references up and down on each array of the state tuples it passes on, which
took most of a small swarm's tick (perf: NRT_incref/NRT_decref). So nothing in it allocates: the
serve order goes into the flow buffers (transfer.serve_order_into), and so do the choker's work
arrays (``FlowBuffers.choke``, what choke.choke_all allocates per call: allocated once per
replication, the tick calls choke.choke_peers with them, only in a tick where some choker has
work)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .bandwidth import (ask_when_asked, close_download_quota, download_quota_tick, grant_sends_into, open_download_quota, second_tick,
                        return_unsendable_quota, second_tick_due, upload_quota_tick)
from .choke import ChokeScratch, choke_peers, choker_idle_arrays, new_choke_scratch
from .sorting import MAX_STACK, RADIX_BUCKETS
from .transfer import ask_before_sending, collect_flows, serve_order_into, transfer_blocks


class FlowBuffers(NamedTuple):
    """Scratch space for the active transfers of one tick (at most N x K of them)."""
    src: np.ndarray  # i8 uploader
    dst: np.ndarray  # i8 downloader
    slot: np.ndarray  # i8 the uploader's slot in the downloader's connection list
    rate: np.ndarray  # f8 bytes/s sent this tick
    want: np.ndarray  # f8 bytes granted at the uploader
    turns: np.ndarray  # i8 grant_sends' scratch: the transfers taking turns at a rich channel
    wanted: np.ndarray  # f8 grant_sends' scratch: each transfer's wanted_transfer this tick
    completed: np.ndarray  # i8 peers that completed this tick [N]
    keys: np.ndarray  # i8 the transfers' serve-order keys
    order: np.ndarray  # i8 the transfers in serve order (transfer.serve_order_into)
    stack: np.ndarray  # i8 the serve-order sort's partition stack [2 * sorting.MAX_STACK]
    sort_tmp: np.ndarray  # i8 the serve-order radix sort's second buffer (sorting.argsort_distinct_into)
    sort_count: np.ndarray  # i8 its digit counts [sorting.RADIX_BUCKETS]
    choke: ChokeScratch  # the choker's work arrays, one entry per connection slot [K]


class LogBuffers(NamedTuple):
    """The subject's transfer-log rows of one tick."""
    t: np.ndarray  # f8
    peer: np.ndarray  # i8
    piece: np.ndarray  # i8
    first: np.ndarray  # i8
    blocks: np.ndarray  # i8
    nbytes: np.ndarray  # i8


class SampleBuffers(NamedTuple):
    """The subject's cumulative upload and download at the sample ticks inside a batch of ticks."""
    t: np.ndarray  # f8
    up: np.ndarray  # i8
    down: np.ndarray  # i8


def new_sample_buffers(rows: int) -> SampleBuffers:
    return SampleBuffers(np.zeros(rows), np.zeros(rows, np.int64), np.zeros(rows, np.int64))


def new_flow_buffers(n: int, k: int) -> FlowBuffers:
    fmax = n * k
    return FlowBuffers(np.zeros(fmax, np.int64), np.zeros(fmax, np.int64), np.zeros(fmax, np.int64),
                       np.zeros(fmax), np.zeros(fmax), np.zeros(fmax, np.int64), np.zeros(fmax), np.zeros(n, np.int64),
                       np.zeros(fmax, np.int64), np.zeros(fmax, np.int64), np.zeros(2 * MAX_STACK, np.int64),
                       np.zeros(fmax, np.int64), np.zeros(RADIX_BUCKETS, np.int64),
                       new_choke_scratch(k))


def new_log_buffers(rows: int) -> LogBuffers:
    """Uninitialised: a kernel writes each row before anything reads it (the engine copies out the
    rows written). Zeroing them cost more than a small swarm's whole replication setup: a fast
    subject's buffer holds hundreds of thousands of rows."""
    return LogBuffers(np.empty(rows), *(np.empty(rows, np.int64) for _ in range(5)))


@njit(cache=True, _nrt=False)
def any_choker_due(active, interest_changed, next_round_t, next_opt_t, now):
    """True if some active peer's choker has work this tick (choker_idle_arrays is false for it):
    otherwise choke_all would change nothing. (Arrays, not the state tuples: a call taking a tuple
    counts references on every array in it.)"""
    for u in range(active.shape[0]):
        if active[u] and not choker_idle_arrays(interest_changed, next_round_t, next_opt_t, u, now):
            return True
    return False


@njit(cache=True, _nrt=False)
def any_second_tick_work(active, deg, sec_phase, tick, ticks_per_s):
    """True if some active peer with a connection has its session's second tick now: otherwise
    bandwidth.second_tick (which only updates connections) would change nothing."""
    tick_mod = tick % ticks_per_s
    for u in range(active.shape[0]):
        if active[u] and deg[u] > 0 and second_tick_due(tick, tick_mod, sec_phase[u], ticks_per_s):
            return True
    return False


@njit(cache=True, _nrt=False, inline="always")
def _tick_steps(pa, ea, pc, fb, log_t, log_peer, log_piece, log_first, log_blocks, log_nbytes, now, dt, tick,
                ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes, subject):
    # A step that provably changes nothing this tick is not called (a quiet tick then costs a few
    # loops over the peers): no choker with work, no transfer (every step from the serve order to
    # transfer_blocks works transfer by transfer), no connection at its second tick.
    if any_choker_due(pa.active, pa.interest_changed, pa.next_round_t, pa.next_opt_t, now):
        # choke.choke_all's work, with work arrays allocated once (choke_all allocates them per call;
        # they are scratch: every round writes what it reads of them)
        choke_peers(pa, ea, now, dt, salt_choke, piece_bytes, total_bytes, fb.choke)
    open_download_quota(pa, dt)
    F = collect_flows(pa, ea, pc, fb.src, fb.dst, fb.slot, dt)
    n_log, n_done, overflow = 0, 0, False
    if F > 0:
        order = fb.order
        serve_order_into(pa, ea, fb.dst, fb.slot, F, fb.keys, order, fb.stack, fb.sort_tmp, fb.sort_count)
        ask_before_sending(pa, ea, pc, fb.dst, fb.slot, F, order, salt_pick, piece_bytes)
        ask_when_asked(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt)
        upload_quota_tick(pa, ea, dt)
        download_quota_tick(pa, ea, fb.dst, fb.slot, F, dt)
        grant_sends_into(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt, fb.rate, fb.want, fb.turns, fb.wanted)
        n_log, n_done, overflow = transfer_blocks(
            pa, ea, pc, fb.dst, fb.slot, fb.rate, F, order, dt, now, salt_pick, subject, piece_bytes,
            log_t, log_peer, log_piece, log_first, log_blocks, log_nbytes, fb.completed)
        return_unsendable_quota(pa, ea, fb.src, fb.dst, fb.slot, F, fb.wanted)
    else:  # the channels' quota ticks still run: banks fill while nothing waits
        upload_quota_tick(pa, ea, dt)
        download_quota_tick(pa, ea, fb.dst, fb.slot, 0, dt)
    close_download_quota(pa, ea)
    if any_second_tick_work(pa.active, pa.deg, pa.sec_phase, tick, ticks_per_s):
        second_tick(pa, ea, tick, ticks_per_s)
    return F, n_log, n_done, overflow


@njit(cache=True, _nrt=False)
def swarm_tick(pa, ea, pc, fb, lb, now, dt, tick, ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes,
               subject):
    """Returns (active transfers, log rows written, peers completed, log overflowed)."""
    return _tick_steps(pa, ea, pc, fb, lb.t, lb.peer, lb.piece, lb.first, lb.blocks, lb.nbytes, now, dt, tick,
                       ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes, subject)


# A seed_until_ratio subject is handed back to Python a little before its ratio is reached (Python
# decides exactly, with its own integer/float comparison): stopping early is always safe.
RATIO_MARGIN = 1.0 - 1e-9


@njit(cache=True, _nrt=False)
def swarm_ticks(pa, ea, pc, fb, lb, sb, now, dt, tick, ticks_per_s, salts, before_s, horizon_s, connect_tick,
                sample_every, ratio_stop, log_rows_per_tick, piece_bytes, total_bytes, subject):
    """Ticks ``tick``, ``tick + 1``, ... at ``now``, ``now + dt``, ... in one call, until the engine
    has something to do after a tick: a peer completed, the transfer-log buffer may not hold
    another tick (fewer than ``log_rows_per_tick`` rows left), a queued connection is due
    (``connect_tick``, -1: none), a seed_until_ratio subject may have reached its ratio
    (``ratio_stop``; inf: not checked), the horizon, or the salts (two per tick) are used up. A
    tick is run only before ``before_s``, the engine's next event. Samples of intermediate ticks
    go to ``sb``; the last tick's (like everything else after it) is the engine's.

    Each tick is exactly swarm_tick's, at the time the engine's clock would give it (``now + dt``
    added tick by tick). Returns (ticks run, time of the last, log rows written, peers completed in
    the last tick, samples written, log overflowed, whether it stopped only because the salts ran
    out: then the engine may go on with more salts as if the last tick were an intermediate one)."""
    n_max = salts.shape[0] // 2
    cap = lb.t.shape[0]
    n_log = 0
    n_samples = 0
    m = 0
    while True:
        _, n_new, n_done, overflow = _tick_steps(
            pa, ea, pc, fb, lb.t[n_log:], lb.peer[n_log:], lb.piece[n_log:], lb.first[n_log:],
            lb.blocks[n_log:], lb.nbytes[n_log:], now, dt, tick, ticks_per_s, salts[2 * m], salts[2 * m + 1],
            piece_bytes, total_bytes, subject)
        n_log += n_new
        m += 1
        stop = (n_done > 0 or overflow or cap - n_log < log_rows_per_tick or tick == connect_tick
                or now >= horizon_s - 1e-9 or not now + dt < before_s
                or (pa.active[subject] and pa.total_down[subject] > 0
                    and pa.total_up[subject] >= ratio_stop * RATIO_MARGIN * pa.total_down[subject]))
        if stop or m >= n_max:
            return m, now, n_log, n_done, n_samples, overflow, not stop
        if tick % sample_every == 0:
            sb.t[n_samples] = now
            sb.up[n_samples] = pa.total_up[subject]
            sb.down[n_samples] = pa.total_down[subject]
            n_samples += 1
        now = now + dt
        tick += 1
