"""The transfer step: move whole 16 KiB blocks along every active transfer for one tick.

A transfer v <- u exists when u unchokes v and v is interested in u. Each gets ``rate * dt`` bytes
of credit (rates from the bandwidth kernel); whole blocks are moved while the credit lasts, the
remainder (less than a block) carries over to the next tick. Blocks of one piece may come from
several uploaders. Transfers are served in an order drawn at random each tick (a hash of a salt),
so no peer is systematically first to claim the blocks of a shared partial piece.

Every block the subject uploads is written to the transfer log: (tick time, receiving peer,
piece, first block, blocks, bytes) — the evidence-grade record the reports are built on.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashing import mix64
from .picker import bucket_of, move_piece, pick_piece
from .topology import piece_complete

BLOCK_BYTES = 16 * 1024


@njit(cache=True)
def collect_flows(pa, ea, src, dst, slot):
    """List the active transfers: v is interested in u and u unchokes v. Returns their count."""
    N = ea.nbr.shape[0]
    F = 0
    for v in range(N):
        if not pa.active[v] or pa.is_seed[v]:
            continue
        for k in range(pa.deg[v]):
            u = ea.nbr[v, k]
            if ea.wants[v, k] <= 0 or pa.up_cap[u] <= 0.0:
                continue
            if ea.unchoked[u, ea.rev[v, k]]:
                src[F] = u
                dst[F] = v
                slot[F] = k
                F += 1
    return F


@njit(cache=True)
def transfer_blocks(pa, ea, pc, dst, slot, rate, F, dt, now, salt, subject,
                    log_t, log_peer, log_piece, log_first, log_blocks, log_bytes, completed):
    """Move blocks for one tick. Returns (log rows written, peers completed, log overflowed)."""
    P = pc.have.shape[1]
    keys = np.empty(F, dtype=np.uint64)
    for f in range(F):
        keys[f] = mix64(salt, dst[f], slot[f])
    order = np.argsort(keys)
    n_log = 0
    n_done = 0
    overflow = False
    cap = log_t.shape[0]
    for i in range(F):
        f = order[i]
        v = dst[f]
        k = slot[f]
        u = ea.nbr[v, k]
        if pa.is_seed[v]:
            continue
        ku = ea.rev[v, k]
        ea.credit[v, k] += rate[f] * dt
        while True:
            p = ea.cur_piece[v, k]
            if p < 0 or pc.have[v, p] or pc.recv[v, p] >= pc.blocks[p] or not pc.have[u, p]:
                p = pick_piece(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, pa.n_have[v], v, u, salt)
                ea.cur_piece[v, k] = p
                if p < 0:
                    ea.credit[v, k] = 0.0
                    break
            affordable = int(ea.credit[v, k] // BLOCK_BYTES)
            if affordable <= 0:
                break
            first = pc.recv[v, p]
            take = min(pc.blocks[p] - first, affordable)
            nbytes = take * BLOCK_BYTES
            if p == P - 1 and first + take == pc.blocks[p]:
                nbytes -= BLOCK_BYTES - pc.last_block_bytes
            if first == 0:  # fresh -> partial: one bucket earlier in v's picker order
                b = bucket_of(pc.have, pc.recv, pc.avail, v, p)
                move_piece(pc.order, pc.pos, pc.bound, v, p, b, b - 1)
            pc.recv[v, p] += take
            ea.credit[v, k] -= take * BLOCK_BYTES
            pa.total_up[u] += nbytes
            pa.total_down[v] += nbytes
            ea.down_round[v, k] += nbytes
            ea.up_round[u, ku] += nbytes
            ea.up_since_unchoke[u, ku] += nbytes
            ea.up_conn_total[u, ku] += nbytes
            if u == subject:
                if n_log < cap:
                    log_t[n_log] = now
                    log_peer[n_log] = v
                    log_piece[n_log] = p
                    log_first[n_log] = first
                    log_blocks[n_log] = take
                    log_bytes[n_log] = nbytes
                    n_log += 1
                else:
                    overflow = True
            if pc.recv[v, p] == pc.blocks[p]:
                piece_complete(pa, ea, pc, v, p)
                ea.cur_piece[v, k] = -1
                if pa.is_seed[v]:
                    completed[n_done] = v
                    n_done += 1
                    ea.credit[v, k] = 0.0
                    break
    return n_log, n_done, overflow
