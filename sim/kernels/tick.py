"""One quota tick of the swarm (libtorrent's tick_interval, 500 ms), fused into a single compiled
call: choke, rate limiters, move blocks, then each session's once-a-second tick where it is due.
Each step is its own pure kernel (choke.py, bandwidth.py, transfer.py); this only sequences them,
so the engine crosses the Python/numba boundary once per tick."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .bandwidth import (ask_when_asked, close_download_quota, grant_sends, open_download_quota, second_tick,
                        upload_quota_tick)
from .choke import choke_all
from .transfer import ask_before_sending, collect_flows, serve_order, transfer_blocks


class FlowBuffers(NamedTuple):
    """Scratch space for the active transfers of one tick (at most N x K of them)."""
    src: np.ndarray  # i8 uploader
    dst: np.ndarray  # i8 downloader
    slot: np.ndarray  # i8 the uploader's slot in the downloader's connection list
    rate: np.ndarray  # f8 bytes/s sent this tick
    want: np.ndarray  # f8 bytes granted at the uploader
    bound: np.ndarray  # f8 scratch for a downloader's split [K]
    share: np.ndarray  # f8 scratch for a downloader's split [K]
    completed: np.ndarray  # i8 peers that completed this tick [N]


class LogBuffers(NamedTuple):
    """The subject's transfer-log rows of one tick."""
    t: np.ndarray  # f8
    peer: np.ndarray  # i8
    piece: np.ndarray  # i8
    first: np.ndarray  # i8
    blocks: np.ndarray  # i8
    nbytes: np.ndarray  # i8


def new_flow_buffers(n: int, k: int) -> FlowBuffers:
    fmax = n * k
    return FlowBuffers(np.zeros(fmax, np.int64), np.zeros(fmax, np.int64), np.zeros(fmax, np.int64),
                       np.zeros(fmax), np.zeros(fmax), np.zeros(k), np.zeros(k), np.zeros(n, np.int64))


def new_log_buffers(rows: int) -> LogBuffers:
    return LogBuffers(np.zeros(rows), *(np.zeros(rows, np.int64) for _ in range(5)))


@njit(cache=True)
def swarm_tick(pa, ea, pc, fb, lb, now, dt, tick, ticks_per_s, salt_choke, salt_pick, piece_bytes, total_bytes,
               subject):
    """Returns (active transfers, log rows written, peers completed, log overflowed)."""
    choke_all(pa, ea, now, dt, salt_choke, piece_bytes, total_bytes)
    open_download_quota(pa, dt)
    F = collect_flows(pa, ea, pc, fb.src, fb.dst, fb.slot, dt)
    order = serve_order(ea, fb.dst, fb.slot, F)
    ask_before_sending(pa, ea, pc, fb.dst, fb.slot, F, order, salt_pick, piece_bytes)
    ask_when_asked(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt)
    upload_quota_tick(pa, ea, dt)
    grant_sends(pa, ea, fb.src, fb.dst, fb.slot, F, order, dt, fb.rate, fb.want, fb.bound, fb.share)
    n_log, n_done, overflow = transfer_blocks(
        pa, ea, pc, fb.dst, fb.slot, fb.rate, F, order, dt, now, salt_pick, subject, piece_bytes,
        lb.t, lb.peer, lb.piece, lb.first, lb.blocks, lb.nbytes, fb.completed)
    close_download_quota(pa)
    second_tick(pa, ea, tick, ticks_per_s)
    return F, n_log, n_done, overflow
