"""Connections and piece bookkeeping: opening and closing a connection, and a piece completing.

These keep three derived quantities consistent, incrementally, so the hot kernels never rescan:
``avail[u, p]`` (how many of u's connected peers have piece p: rarest-first's input),
``wants[u, k]`` (how many pieces peer nbr[u, k] has that u lacks: u is interested iff > 0) and
``deg[u]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..protocol import BLOCK_BYTES
from ..state import NEVER
from .bandwidth import INITIAL_QUEUE_BLOCKS
from .hashing import mix64
from .picker import (ASKED, BUSY, bucket_of, move_piece, move_piece_down2, move_piece_up2, partial_after,
                     partial_before, rebuild_order)


@njit(cache=True, inline="always")
def _avail_change(pa, pc, u, p, delta):
    """avail[u, p] += delta (+1 or -1: the piece moves two buckets), keeping u's picker order in
    step. A seed never picks again, so its availability row is left as it was when it completed
    (not kept up to date)."""
    if pa.is_seed[u]:
        return
    if pc.have[u, p]:
        pc.avail[u, p] += delta
        return
    b = bucket_of(pc.have, pc.recv, pc.avail, u, p)
    pc.avail[u, p] += delta
    if delta > 0:
        move_piece_up2(pc.order, pc.pos, pc.bound, u, p, b)
    else:
        move_piece_down2(pc.order, pc.pos, pc.bound, u, p, b)


@njit(cache=True)
def _avail_change_all(pa, pc, u, delta):
    """avail[u, :] += delta for every piece (the other end is a seed); nothing for a seed. Every piece u lacks moves
    two buckets, so the order stays as it is and only the bucket boundaries shift: O(buckets)."""
    P = pc.have.shape[1]
    if pa.is_seed[u]:
        return
    for p in range(P):
        pc.avail[u, p] += delta
    NB = pc.bound.shape[1] - 1
    if delta > 0:
        for b in range(NB - 1, 2, -1):
            pc.bound[u, b] = pc.bound[u, b - 2]
        pc.bound[u, 2] = pc.bound[u, 1]
    else:
        for b in range(1, NB - 2):
            pc.bound[u, b] = pc.bound[u, b + 2]
        pc.bound[u, NB - 2] = P
        pc.bound[u, NB - 1] = P


@njit(cache=True)
def _reset_slot(ea, u, k):
    ea.nbr[u, k] = -1
    ea.rev[u, k] = -1
    ea.wants[u, k] = 0
    ea.unchoked[u, k] = False
    ea.optimistic[u, k] = False
    ea.was_interested[u, k] = False
    ea.down_round[u, k] = 0
    ea.up_round[u, k] = 0
    ea.up_since_unchoke[u, k] = 0
    ea.up_conn_total[u, k] = 0
    ea.last_unchoke_t[u, k] = NEVER
    ea.last_opt_t[u, k] = NEVER
    ea.credit[u, k] = 0.0
    ea.cur_piece[u, k] = -1
    ea.run_end[u, k] = -1
    ea.next_start[u, k] = -1
    ea.next_end[u, k] = -1
    ea.dq_size[u, k] = INITIAL_QUEUE_BLOCKS
    ea.slow_start[u, k] = True
    ea.dn_sec[u, k] = 0
    ea.dn_last_s[u, k] = 0
    ea.rq_open[u, k] = 0.0
    ea.rq_wait[u, k] = 0.0
    ea.held[u, k] = 0
    ea.sunk[u, k] = 0
    ea.sunk_piece[u, k] = -1
    ea.rate_avg[u, k] = 0.0
    ea.tick_bytes[u, k] = 0
    ea.up_avg[u, k] = 0.0
    ea.up_sec[u, k] = 0.0
    ea.up_last_s[u, k] = 0.0
    ea.bw_quota[u, k] = 0.0
    ea.bw_req[u, k] = 0.0
    ea.bw_got[u, k] = 0.0
    ea.bw_ttl[u, k] = 0
    ea.dl_req[u, k] = 0.0
    ea.dl_got[u, k] = 0.0
    ea.dl_ttl[u, k] = 0
    ea.dl_held[u, k] = 0.0
    ea.fast[u, k, :] = -1
    ea.conn_seq[u, k] = 0
    ea.bw_burst[u, k] = False


@njit(cache=True, _nrt=False)
def _count_pair(pa, pc, u, v, delta):
    """A connection u <-> v opens (+1) or closes (-1): each side's availability counts change."""
    P = pc.have.shape[1]
    for a, b in ((u, v), (v, u)):
        if pa.is_seed[a]:
            continue
        if pa.n_have[b] == P:
            _avail_change_all(pa, pc, a, delta)
        else:  # b's pieces are its picker's bucket 0: order[b, :bound[b, 1]]
            for i in range(pc.bound[b, 1]):
                _avail_change(pa, pc, a, pc.order[b, i], delta)


@njit(cache=True)
def _free_slot(pa, ea, u):
    """Slots are kept compact — occupied 0..deg-1 — so every per-connection loop runs to deg."""
    return pa.deg[u] if pa.deg[u] < ea.nbr.shape[1] else -1


@njit(cache=True)
def _move_slot(ea, u, src, dst):
    """Move u's connection state from slot src to the free slot dst and tell the other end."""
    ea.nbr[u, dst] = ea.nbr[u, src]
    ea.rev[u, dst] = ea.rev[u, src]
    ea.wants[u, dst] = ea.wants[u, src]
    ea.unchoked[u, dst] = ea.unchoked[u, src]
    ea.optimistic[u, dst] = ea.optimistic[u, src]
    ea.was_interested[u, dst] = ea.was_interested[u, src]
    ea.down_round[u, dst] = ea.down_round[u, src]
    ea.up_round[u, dst] = ea.up_round[u, src]
    ea.up_since_unchoke[u, dst] = ea.up_since_unchoke[u, src]
    ea.up_conn_total[u, dst] = ea.up_conn_total[u, src]
    ea.last_unchoke_t[u, dst] = ea.last_unchoke_t[u, src]
    ea.last_opt_t[u, dst] = ea.last_opt_t[u, src]
    ea.credit[u, dst] = ea.credit[u, src]
    ea.cur_piece[u, dst] = ea.cur_piece[u, src]
    ea.run_end[u, dst] = ea.run_end[u, src]
    ea.next_start[u, dst] = ea.next_start[u, src]
    ea.next_end[u, dst] = ea.next_end[u, src]
    ea.dq_size[u, dst] = ea.dq_size[u, src]
    ea.slow_start[u, dst] = ea.slow_start[u, src]
    ea.dn_sec[u, dst] = ea.dn_sec[u, src]
    ea.dn_last_s[u, dst] = ea.dn_last_s[u, src]
    ea.rq_open[u, dst] = ea.rq_open[u, src]
    ea.rq_wait[u, dst] = ea.rq_wait[u, src]
    ea.held[u, dst] = ea.held[u, src]
    ea.sunk[u, dst] = ea.sunk[u, src]
    ea.sunk_piece[u, dst] = ea.sunk_piece[u, src]
    ea.rate_avg[u, dst] = ea.rate_avg[u, src]
    ea.tick_bytes[u, dst] = ea.tick_bytes[u, src]
    ea.up_avg[u, dst] = ea.up_avg[u, src]
    ea.up_sec[u, dst] = ea.up_sec[u, src]
    ea.up_last_s[u, dst] = ea.up_last_s[u, src]
    ea.bw_quota[u, dst] = ea.bw_quota[u, src]
    ea.bw_req[u, dst] = ea.bw_req[u, src]
    ea.bw_got[u, dst] = ea.bw_got[u, src]
    ea.bw_ttl[u, dst] = ea.bw_ttl[u, src]
    ea.dl_req[u, dst] = ea.dl_req[u, src]
    ea.dl_got[u, dst] = ea.dl_got[u, src]
    ea.dl_ttl[u, dst] = ea.dl_ttl[u, src]
    ea.dl_held[u, dst] = ea.dl_held[u, src]
    for i in range(ea.fast.shape[2]):  # one by one: a slice copy allocates (disconnect runs without the runtime)
        ea.fast[u, dst, i] = ea.fast[u, src, i]
    ea.conn_seq[u, dst] = ea.conn_seq[u, src]
    ea.bw_burst[u, dst] = ea.bw_burst[u, src]
    ea.rev[ea.nbr[u, dst], ea.rev[u, dst]] = dst
    _reset_slot(ea, u, src)


@njit(cache=True)
def release_run(pc, ea, v, k):
    """v gives back the whole pieces it had asked of the peer in slot k but not yet received (its
    current run and the next one, if asked already): they become free for v's other connections."""
    release_run_arrays(pc.owner, ea.nbr, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, v, k,
                       pc.asked, ea.held, pc.recv, pc.blocks, pc.partials)


@njit(cache=True, inline="always")
def shared_state(asked, owner, recv, blocks, partials, v, p):
    """owner[v, p] of a piece no connection has asked for in full, from its asked blocks: 0 (none
    asked), ASKED (some free) or BUSY (none free: libtorrent's picker skips it outside end-game).
    Keeps v's count of partial pieces (``partials``) with it."""
    if owner[v, p] > 0:
        return
    before = partial_before(owner, recv, blocks, v, p)
    _shared_owner(asked, owner, recv, blocks, v, p)
    partial_after(partials, owner, recv, blocks, v, p, before)


@njit(cache=True, inline="always")
def _shared_owner(asked, owner, recv, blocks, v, p):
    if asked[v, p] <= 0:
        asked[v, p] = 0
        owner[v, p] = 0
    elif recv[v, p] + asked[v, p] >= blocks[p]:
        owner[v, p] = BUSY
    else:
        owner[v, p] = ASKED


@njit(cache=True, inline="always")
def ask_blocks(asked, owner, recv, blocks, partials, held, dq_size, v, k, p):
    """v's connection in slot k asks for more blocks of the shared piece p: as many of p's free
    blocks as its request queue has room for (libtorrent's request_a_block takes free blocks of
    a downloading piece block by block)."""
    n = min(dq_size[v, k] - held[v, k], blocks[p] - recv[v, p] - asked[v, p])
    if n > 0:
        held[v, k] += n
        asked[v, p] += n
        shared_state(asked, owner, recv, blocks, partials, v, p)


@njit(cache=True, inline="always")
def drop_held(asked, owner, recv, blocks, partials, held, cur_piece, v, k):
    """The connection's asked blocks of its shared piece are free again (choked, closed, or it
    moved on); end-game duplicates (held -1) held none."""
    h = held[v, k]
    held[v, k] = 0
    p = cur_piece[v, k]
    if h > 0 and p >= 0:
        asked[v, p] -= h
        shared_state(asked, owner, recv, blocks, partials, v, p)


@njit(cache=True, inline="always")
def unit_draw(salt, a, b):
    """A number in [0, 1) from mix64(salt, a, b): the top 53 bits."""
    return np.float64(mix64(salt, a, b) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def sent_anyway(sunk, sunk_piece, v, k, p, n, committed, queued, key, salt):
    """n of the ``queued`` blocks of piece p that v asked for on its connection in slot k arrived on
    another connection first (end-game copies are random blocks of what is asked). libtorrent sends
    no CANCEL for them (committed_blocks), so the uploader sends every one v's REQUESTs reached:
    of the n, those among the ``committed`` blocks at the front of the queue still come, and v
    reads them for nothing. Their expected number, n x committed / queued, is rounded up or down
    at random (``unit_draw``) and added to ``sunk[v, k]``; the blocks go out with the connection's
    next quota (transfer_blocks)."""
    if n <= 0 or committed <= 0 or queued <= 0:
        return
    x = n * min(committed, queued) / queued
    m = np.int64(x)
    if unit_draw(salt, key, p) < x - m:
        m += 1
    if m > 0:
        sunk[v, k] += m
        sunk_piece[v, k] = p


@njit(cache=True, inline="always")
def committed_blocks(dq_size, v, k):
    """Blocks the uploader of v's connection in slot k will still send of those v asked it for when
    they arrive on another connection first: every block v's REQUESTs have asked for - v's request
    queue to it, ``dq_size`` blocks. libtorrent sends no CANCEL for them: ``incoming_piece`` marks
    the arrived block as writing before ``torrent::cancel_block``, so each connection's
    ``cancel_request`` finds it no longer requested and returns (no CANCEL in any peer log of the
    lab: validation/ANALYSIS.md), and the uploader serves every request that reached it. Only
    blocks v had not yet asked for (beyond its request queue, a run's tail) are dropped, as
    ``send_block_requests`` skips a block already downloaded."""
    return np.int64(dq_size[v, k])


@njit(cache=True, _nrt=False)
def cancel_arrived(asked, owner, recv, blocks, partials, held, cur_piece, deg_v, v, p, sunk, sunk_piece, dq_size,
                   nbr, salt):
    """Blocks of p that v's connections hold arrived on another one first (an end-game request
    for blocks already asked of someone): v's connections no longer count them as asked, so they
    never hold more of p than it still lacks; but libtorrent sends no CANCEL (committed_blocks), so
    those their uploaders were asked for still come (``sent_anyway``)."""
    excess = recv[v, p] + asked[v, p] - blocks[p]
    k = 0
    while excess > 0 and k < deg_v:
        if cur_piece[v, k] == p and held[v, k] > 0:
            c = min(held[v, k], excess)
            sent_anyway(sunk, sunk_piece, v, k, p, c,
                        committed_blocks(dq_size, v, k), held[v, k],
                        v * nbr.shape[1] + k, salt ^ np.uint64(recv[v, p]))
            held[v, k] -= c
            asked[v, p] -= c
            excess -= c
        k += 1
    shared_state(asked, owner, recv, blocks, partials, v, p)


@njit(cache=True, _nrt=False)
def release_run_arrays(owner, nbr, cur_piece, run_end, next_start, next_end, v, k, asked, held, recv, blocks,
                       partials):
    """release_run on the arrays it touches (for the per-connection loop of collect_flows: a call
    taking the state tuples counts references on every array in them). The blocks the connection
    asked for on a shared piece are free again (drop_held)."""
    drop_held(asked, owner, recv, blocks, partials, held, cur_piece, v, k)
    mark = nbr[v, k] + 1
    if next_end[v, k] >= 0:
        for q in range(next_start[v, k], next_end[v, k]):
            if owner[v, q] == mark:
                owner[v, q] = 0
                partial_after(partials, owner, recv, blocks, v, q, 0)  # owned in full: not partial before
        next_start[v, k] = -1
        next_end[v, k] = -1
    if run_end[v, k] < 0:
        return
    for q in range(max(cur_piece[v, k], 0), run_end[v, k]):
        if owner[v, q] == mark:
            owner[v, q] = 0
            partial_after(partials, owner, recv, blocks, v, q, 0)
    cur_piece[v, k] = -1
    run_end[v, k] = -1


@njit(cache=True)
def _release_slot(pa, ea, u, k):
    last = pa.deg[u] - 1
    _reset_slot(ea, u, k)
    if k != last:
        _move_slot(ea, u, last, k)
    pa.deg[u] -= 1


@njit(cache=True, _nrt=False)
def connect(pa, ea, pc, u, v):
    """Open a connection u <-> v; return False (and change nothing) if either has no free slot."""
    ku = _free_slot(pa, ea, u)
    kv = _free_slot(pa, ea, v)
    if ku < 0 or kv < 0 or u == v:
        return False
    _reset_slot(ea, u, ku)
    _reset_slot(ea, v, kv)
    ea.nbr[u, ku] = v
    ea.rev[u, ku] = kv
    ea.nbr[v, kv] = u
    ea.rev[v, kv] = ku
    _count_pair(pa, pc, u, v, 1)
    # pieces both have, counted over the shorter of the two have-lists (picker bucket 0)
    a, b = (u, v) if pc.bound[u, 1] <= pc.bound[v, 1] else (v, u)
    both = 0
    for i in range(pc.bound[a, 1]):
        both += pc.have[b, pc.order[a, i]]
    ea.wants[u, ku] = pa.n_have[v] - both
    ea.wants[v, kv] = pa.n_have[u] - both
    pa.interest_changed[u] = True  # each may now be interested in the other: their chokers look
    pa.interest_changed[v] = True
    pa.deg[u] += 1
    pa.deg[v] += 1
    return True


@njit(cache=True)
def _trigger_round(pa, u, now, dt):
    # libtorrent's trigger_unchoke(): a freed upload slot makes the next tick run a regular round.
    if pa.next_round_t[u] > now + dt:
        pa.next_round_t[u] = now + dt


@njit(cache=True, _nrt=False)
def disconnect(pa, ea, pc, u, k, now, dt):
    """Close the connection in u's slot k; both ends forget it and freed upload slots are refilled."""
    v = ea.nbr[u, k]
    if v < 0:
        return
    kv = ea.rev[u, k]
    _count_pair(pa, pc, u, v, -1)
    if ea.unchoked[u, k]:
        _trigger_round(pa, u, now, dt)
        if ea.optimistic[u, k] and pa.next_opt_t[u] > now + dt:
            pa.next_opt_t[u] = now + dt
    if ea.unchoked[v, kv]:
        _trigger_round(pa, v, now, dt)
        if ea.optimistic[v, kv] and pa.next_opt_t[v] > now + dt:
            pa.next_opt_t[v] = now + dt
    release_run(pc, ea, u, k)
    release_run(pc, ea, v, kv)
    # a closing connection's waiting requests give their grants back (bandwidth_manager::update_quotas)
    pa.up_quota[u] += ea.bw_got[u, k]
    pa.up_quota[v] += ea.bw_got[v, kv]
    _release_slot(pa, ea, u, k)
    _release_slot(pa, ea, v, kv)


@njit(cache=True, _nrt=False)
def disconnect_all(pa, ea, pc, u, now, dt):
    while pa.deg[u] > 0:
        disconnect(pa, ea, pc, u, pa.deg[u] - 1, now, dt)


@njit(cache=True, _nrt=False)
def disconnect_seeds(pa, ea, pc, u, now, dt):
    """libtorrent's close_redundant_connections: a new seed drops connections to other seeds."""
    for k in range(pa.deg[u] - 1, -1, -1):  # backwards: a closed slot is refilled from the end
        if pa.is_seed[ea.nbr[u, k]]:
            disconnect(pa, ea, pc, u, k, now, dt)


@njit(cache=True)
def piece_complete(pa, ea, pc, v, p):
    """v now has piece p: update its neighbours' availability and both sides' interest counts."""
    piece_complete_arrays(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, pa.n_have, pa.is_seed, pa.deg,
                          pa.interest_changed, ea.nbr, ea.rev, ea.wants, ea.slow_start, v, p)


@njit(cache=True, _nrt=False)
def piece_complete_arrays(have, recv, avail, order, pos, bound, n_have, is_seed, deg, interest_changed, nbr, rev,
                          wants, slow_start, v, p):
    """piece_complete on the arrays it touches: the transfer step calls it for every completed piece,
    and a call taking the state tuples counts references on every array in them, in and out — which
    cost more than the work itself (see next_in_run in transfer.py)."""
    b = bucket_of(have, recv, avail, v, p)
    move_piece(order, pos, bound, v, p, b, 0)
    have[v, p] = True
    n_have[v] += 1
    for j in range(deg[v]):
        w = nbr[v, j]
        # _avail_change(pa, pc, w, p, 1) written out, on arrays for the same reason. A seed has
        # every piece (is_seed is set only once n_have reaches the piece count), so its row of
        # ``have`` is not read: in a large swarm most of a leecher's neighbours are seeds, and that
        # read is a cache miss each.
        w_has = True
        if not is_seed[w]:
            w_has = have[w, p]
            if w_has:
                avail[w, p] += 1
            else:
                bw = bucket_of(have, recv, avail, w, p)
                avail[w, p] += 1
                move_piece_up2(order, pos, bound, w, p, bw)
        if w_has:
            wants[v, j] -= 1
            if wants[v, j] == 0:  # v no longer interested in w: w's choker must see it
                interest_changed[w] = True
                # ... and v's connection to w leaves slow start for good (send_not_interested)
                slow_start[v, j] = False
        else:
            wants[w, rev[v, j]] += 1
            if wants[w, rev[v, j]] == 1:  # w now interested in v
                interest_changed[v] = True
    if n_have[v] == have.shape[1]:
        is_seed[v] = True


@njit(cache=True)
def give_all_pieces(pa, pc, v):
    """Make v an initial seed (before it connects to anyone)."""
    P = pc.have.shape[1]
    for p in range(P):
        pc.have[v, p] = True
        pc.recv[v, p] = pc.blocks[p]
    pa.n_have[v] = P
    pa.is_seed[v] = True
    rebuild_order(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, v,
                  np.empty(pc.bound.shape[1] + P, dtype=np.int32))


@njit(cache=True)
def shuffle_pieces(pc, v, permutation):
    """A joining peer's initial piece order (a random permutation drawn in Python), then bucketed."""
    P = pc.have.shape[1]
    for i in range(P):
        pc.order[v, i] = permutation[i]
    rebuild_order(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, v,
                  np.empty(pc.bound.shape[1] + P, dtype=np.int32))
