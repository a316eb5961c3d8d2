"""The transfer step: move whole 16 KiB blocks along every active transfer for one tick.

A transfer v <- u exists when u unchokes v and v is interested in u. Each gets ``rate * dt`` bytes
of credit (what its uploader's rate limiter granted it: kernels/bandwidth.py); whole blocks are moved while the credit lasts, the
remainder (less than a block) carries over to the next tick. What v asks u for comes from the
picker (kernels/picker.py): a run of whole pieces when v's download rate from u would bring a
piece within whole_pieces_threshold, otherwise the next blocks of one piece, which several
uploaders may then share. Transfers are served fastest connection first, then oldest
(serve_order), never by peer number, so the subject (row 0) is not systematically first to
claim the blocks of a shared partial piece.

Every block the subject uploads is written to the transfer log: (tick time, receiving peer,
piece, first block, blocks, bytes) — the evidence-grade record the reports are built on.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bandwidth import fresh_start, send_buffer_bytes, whole_blocks_in
from .picker import (ASKED, INITIAL_PICKER_THRESHOLD, bucket_of, expand_run, is_busy, is_partial, move_piece,
                     partial_after, partial_before, partials_first, partials_listed, pick_partial,
                     pick_piece)
from .sorting import RADIX_MIN_KEYS, argsort_distinct_into, argsort_into
from .topology import (ask_blocks, cancel_arrived, committed_blocks, drop_held, piece_complete_arrays, release_run_arrays,
                       sent_anyway, shared_state)

from ..protocol import BLOCK_BYTES
NO_FRESH_PIECE = -2  # ea.next_end: the last search for a next run found no free piece (next_start: u's count then)
SERVE_KEY_MAX = np.int64(2**31 - 1)  # serve_order's key parts: rates in B/s and connection numbers stay below
FRESH_KEY_BASE = np.int64(2**62)  # serve_order: new requests after every other transfer (keys above all others)
PHASE_STEPS = np.int64(2**20)  # serve_order: a downloader's tick_phase as a whole number of steps of the tick
MAX_CONTIGUOUS_BYTES = 8 * 1024 * 1024  # libtorrent caps rate * whole_pieces_threshold at 8 MiB
RATE_KEEP_PER_S = 0.8  # libtorrent's stat_channel: 5-second average, average = 4/5 average + 1/5 sample


@njit(cache=True, inline="always")
def whole_pieces(rate_avg, threshold_s, piece_bytes):
    """How many whole pieces v asks for at once (0: single blocks), as request_blocks.cpp computes it."""
    if threshold_s <= 0.0:
        return 0
    return int(min(np.floor(rate_avg) * threshold_s, MAX_CONTIGUOUS_BYTES) // piece_bytes)


@njit(cache=True, _nrt=False)
def next_in_run(have, owner, cur_piece, run_end, next_start, next_end, v, k, u):
    """v's current piece from u is done: the next piece of its run it still needs (moving on to the
    run it has asked for next when this one is done), or -1. (Arrays, not the state tuples: a call
    taking a tuple counts references on every array in it, which costs more than the work here.)"""
    q = cur_piece[v, k] + 1
    while True:
        while q < run_end[v, k]:
            if owner[v, q] == u + 1 and not have[v, q]:
                cur_piece[v, k] = q
                return q
            q += 1
        if next_end[v, k] < 0:
            break
        q = next_start[v, k]
        run_end[v, k] = next_end[v, k]
        next_start[v, k] = -1
        next_end[v, k] = -1
    cur_piece[v, k] = -1
    run_end[v, k] = -1
    return -1


@njit(cache=True, inline="always")
def blocks_left_upto(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, v, k, u, stop_at):
    """blocks_left_in_run, counted only until it reaches ``stop_at`` (then some number >= it)."""
    n = 0
    lo = max(cur_piece[v, k], 0)
    hi = run_end[v, k]
    for q in range(lo, hi):
        if owner[v, q] == u + 1 and not have[v, q]:
            n += blocks[q] - recv[v, q]
            if n >= stop_at:
                return n
    if next_end[v, k] >= 0:
        for q in range(next_start[v, k], next_end[v, k]):
            if (q < lo or q >= hi) and owner[v, q] == u + 1 and not have[v, q]:
                n += blocks[q] - recv[v, q]
                if n >= stop_at:
                    return n
    return n


@njit(cache=True, _nrt=False)
def blocks_left_in_run(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, v, k, u):
    """Blocks v has asked u for and not yet received: its current run from the current piece on, and
    the pieces it has asked for next (a piece in both spans counted once). What its request queue
    at u still holds. (Arrays, not the state tuples: see next_in_run.)"""
    return blocks_left_upto(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, v, k, u,
                            np.iinfo(np.int64).max)


@njit(cache=True, inline="always")
def queue_full(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, dq_size, v, k, u):
    """Whether v's request queue at u holds at least its desired size (``dq_size``): the blocks of
    blocks_left_in_run, counted only until they reach it. Then ask_next_run_arrays asks for
    nothing (it returns at ``left <= 0``, having changed nothing): transfer_blocks skips the call,
    which with its two dozen array arguments cost more than the count."""
    want = dq_size[v, k]
    return blocks_left_upto(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, v, k, u, want) >= want


@njit(cache=True)
def queued_blocks(pc, ea, local, slot):
    """For each connection end (local[i], its slot[i]): the blocks local has asked of that peer and
    not yet received, its download queue as connections.csv's ``download_queue_length`` counts
    it (libtorrent's, with the picked requests not yet sent): what is left of its run(s) of
    whole pieces, or its asked blocks of a shared piece (0 for end-game duplicates)."""
    out = np.zeros(local.shape[0], dtype=np.int64)
    for i in range(local.shape[0]):
        v = local[i]
        k = slot[i]
        if ea.held[v, k] > 0:
            out[i] = ea.held[v, k]
        elif ea.run_end[v, k] >= 0:
            out[i] = blocks_left_in_run(pc.have, pc.recv, pc.blocks, pc.owner, ea.cur_piece, ea.run_end,
                                        ea.next_start, ea.next_end, v, k, ea.nbr[v, k])
    return out


@njit(cache=True)
def ask_next_run(pa, pc, ea, v, k, u, salt, piece_bytes):
    """request_a_block runs whenever v's queue at u holds fewer blocks than its desired size
    (request_queue_time of its rate), not only when it is empty: a connection asking for whole
    pieces asks for the next run of them while the current one is still arriving. Those pieces
    are then taken for v's other connections too (the lab's idle, interested connections)."""
    ask_next_run_arrays(pc.have, pc.recv, pc.blocks, pc.avail, pc.order, pc.pos, pc.bound, pc.owner, pa.n_have,
                        pa.whole_s, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, ea.rate_avg, ea.dq_size,
                        v, k, u, salt, piece_bytes, pc.partials, pa.deg[v])


@njit(cache=True, _nrt=False)
def ask_next_run_arrays(have, recv, blocks, avail, order, pos, bound, owner, n_have, whole_s, cur_piece, run_end,
                        next_start, next_end, rate_avg, dq_size, v, k, u, salt, piece_bytes, partials, deg_v):
    """ask_next_run on the arrays it touches: transfer_blocks calls it for most whole-piece
    connections every tick, and a call taking the state tuples counts references on every array
    in them, in and out, which cost several times the work here."""
    if run_end[v, k] < 0:
        return  # v shares its current piece with others: its queue at u lies within that piece
    if partials_first(partials, deg_v, blocks, v):
        return  # too many partial pieces: v asks for none ahead, and picks a partial one once its run ends
    if next_end[v, k] == NO_FRESH_PIECE and next_start[v, k] == n_have[u]:
        return  # a search found no free piece at u, and u has no new piece since
    left = dq_size[v, k] - blocks_left_in_run(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end,
                                              v, k, u)
    if left <= 0:
        return
    n_whole = whole_pieces(rate_avg[v, k], whole_s[v], piece_bytes)
    p = pick_piece(have, recv, avail, order, pos, bound, owner, n_have[v], v, u, salt, n_whole > 0)
    if p < 0 or owner[v, p] != 0 or (n_whole > 0 and recv[v, p] != 0):
        # only partial or busy pieces left: the next pick waits for the run to end, or for u to
        # have a new piece (a HAVE message is what makes libtorrent's picker look again)
        if next_end[v, k] < 0:
            next_end[v, k] = NO_FRESH_PIECE
            next_start[v, k] = n_have[u]
        return
    if n_whole > 0:
        start, end = expand_run(have, recv, owner, v, u, p, n_whole)
    elif blocks[p] - recv[v, p] <= left:
        # one block at a time: the queue's free places cover what this piece lacks, so all of
        # it is asked of u (a piece only partly covered stays open to v's other connections)
        start, end = p, p + 1
    else:
        return
    for q in range(start, end):
        before = partial_before(owner, recv, blocks, v, q)
        owner[v, q] = u + 1
        partial_after(partials, owner, recv, blocks, v, q, before)
    if next_end[v, k] < 0:
        next_start[v, k] = start
        next_end[v, k] = end
    else:  # pieces asked for next, one span: the pieces between them are not v's at u (owner)
        next_start[v, k] = min(next_start[v, k], start)
        next_end[v, k] = max(next_end[v, k], end)


@njit(cache=True, _nrt=False)
def collect_flows(pa, ea, pc, src, dst, slot, dt):
    """List the active transfers: v is interested in u and u unchokes v. Returns their count.

    Also ages each connection's download-rate average by one tick, and gives back the whole
    pieces v had asked of a peer that no longer serves it (choked: libtorrent rejects the queued
    requests; or v lost interest)."""
    N = ea.nbr.shape[0]
    keep = RATE_KEEP_PER_S ** dt
    F = 0
    for v in range(N):
        if not pa.active[v] or pa.is_seed[v]:
            continue
        for k in range(pa.deg[v]):
            u = ea.nbr[v, k]
            ea.rate_avg[v, k] = keep * ea.rate_avg[v, k] + (1.0 - keep) * ea.tick_bytes[v, k] / dt
            ea.tick_bytes[v, k] = 0
            if ea.wants[v, k] > 0 and pa.up_cap[u] > 0.0:
                ku = ea.rev[v, k]
                unchoked = ea.unchoked[u, ku]
                if not unchoked and (ea.run_end[v, k] >= 0 or ea.held[v, k] > 0):
                    release_run_arrays(pc.owner, ea.nbr, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, v, k,
                                       pc.asked, ea.held, pc.recv, pc.blocks, pc.partials)
                if unchoked or pick_fast(pc.have, pc.recv, pc.blocks, pc.owner, pc.pos, ea.fast, u, ku, v) >= 0:
                    src[F] = u
                    dst[F] = v
                    slot[F] = k
                    F += 1
            elif ea.run_end[v, k] >= 0 or ea.held[v, k] > 0:
                # (released whether u unchokes v or not: u's row of ``unchoked``, a read far from
                # v's rows, is left unread for the connections v is not interested in)
                release_run_arrays(pc.owner, ea.nbr, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, v, k,
                                   pc.asked, ea.held, pc.recv, pc.blocks, pc.partials)
    return F


@njit(cache=True, inline="always")
def asks_nothing(run_end, held, v, k):
    """v's connection in slot k holds no run of whole pieces and no block asked of a shared piece:
    whatever its current piece, v has asked that peer for nothing on it."""
    return run_end[v, k] < 0 and held[v, k] == 0


@njit(cache=True, _nrt=False)
def pick_fast(have, recv, blocks, owner, pos, fast, u, ku, v):
    """A piece v may ask u for while u chokes it: one of u's allowed fast set for v that u has,
    v lacks and v's other connections are not fetching, the rarest first (libtorrent's picker,
    choked: only the allowed fast pieces). -1 if none.
    Takes the arrays it reads rather than the named tuples: it runs for every choked, interested
    connection every tick, and a call reference-counts every array of a tuple it is passed.
    The pieces v has are dropped from the set as they are met (v never loses a piece, so none of
    them could be picked again): a set v has all of is soon empty, and read at one place."""
    best = -1
    n = 0
    for j in range(fast.shape[2]):
        q = fast[u, ku, j]
        if q < 0:
            break
        if have[v, q]:
            continue
        fast[u, ku, n] = q
        n += 1
        if have[u, q] and recv[v, q] < blocks[q] and \
                (owner[v, q] == 0 or owner[v, q] == ASKED or owner[v, q] == u + 1):
            if best < 0 or pos[v, q] < pos[v, best]:
                best = q
    for j in range(n, fast.shape[2]):  # the set's end: the places of the pieces dropped freed
        if fast[u, ku, j] < 0:
            break
        fast[u, ku, j] = -1
    return best


@njit(cache=True, inline="always")
def request_lag_ticks(pa, ea, v, k, u, ku, dt):
    """Quota ticks after u completes a piece before v's first REQUEST for it can have reached u
    (0: no wait). v learns of the piece from u's HAVE at once (loopback) and writes its REQUEST,
    but a connection's messages leave in order through one send buffer, through v's upload rate
    limiter. A rich channel (or none) lets them out at once: 0, as before. Otherwise they wait
    for v's next quota tick (need_queueing), and behind the piece data v's send buffer to u
    already holds while u has asked v for blocks: fill_send_buffer keeps it at the watermark
    (send_buffer_bytes, at most what u still asked), and each tick lets out about half a second
    of the connection's rate (up_last_s * dt), so the REQUEST leaves floor(buffer / that) ticks
    later. The lab's v03 (validation/ANALYSIS.md): a leecher's REQUEST for the subject's new
    piece written 0.19 s after the subject completed it and read there 1.02 s after (medians),
    behind 30-65 kB of the leecher's blocks for the subject."""
    if pa.up_cap[v] <= 0.0 or pa.up_quota[v] > pa.up_cap[v]:
        return 0
    if not ea.unchoked[v, k] or ea.cur_piece[u, ku] < 0:
        return 1
    ahead = ea.rq_open[u, ku] - ea.credit[u, ku]  # u's requests at v not yet served
    if ahead <= 0.0:
        return 1
    buffered = min(send_buffer_bytes(ea.up_last_s[v, k], pa.sb_low[v], pa.sb_high[v], pa.sb_factor[v]),
                   np.ceil(ahead / BLOCK_BYTES) * BLOCK_BYTES)
    per_tick = ea.up_last_s[v, k] * dt
    if per_tick <= 0.0:
        return 2  # the buffer's first bytes leave at v's next grant at the earliest, the REQUEST after
    return 1 + int(buffered // per_tick)


@njit(cache=True, inline="always")
def unused_credit_back(bw_quota, credit, v, k, u, ku):
    """v has nothing (more) to ask of u this tick: the quota u's limiter granted the connection and
    no block used stays with the connection (libtorrent's m_quota), for its next send. (Arrays,
    not the EdgeArrays tuple: a call taking the tuple counts references on every array in it.)"""
    bw_quota[u, ku] += credit[v, k]
    credit[v, k] = 0.0


@njit(cache=True, inline="always")
def _rank(have, recv, avail, owner, asked, v, p, initial):
    """Where piece p stands in v's picks (lower first): in the initial mode a downloading piece
    (a block received or asked) by index before every fresh one; afterwards libtorrent's priority,
    availability first, a downloading piece before a fresh one of the same availability."""
    downloading = recv[v, p] > 0 or owner[v, p] == ASKED
    P = have.shape[1]
    if initial:
        return p if downloading else 2 * P
    return 2 * np.int64(avail[v, p]) + (0 if downloading else 1)


@njit(cache=True, _nrt=False)
def _first_by_pick(have, recv, avail, order, pos, bound, owner, asked, blocks, partials, deg_v, n_have_v, v, u, salt,
                   p):
    """still_first for a piece v is not downloading (its connection's asked blocks were given back
    before any arrived): the pick itself, then the ranks compared."""
    initial = n_have_v < INITIAL_PICKER_THRESHOLD
    if partials_first(partials, deg_v, blocks, v) and not initial:
        q = pick_partial(have, recv, avail, order, pos, bound, owner, asked, blocks, partials, v, u)
        if q >= 0:
            if q == p or avail[v, p] < avail[v, q]:
                return True
            return avail[v, p] == avail[v, q] and recv[v, p] + asked[v, p] >= recv[v, q] + asked[v, q]
    q = pick_piece(have, recv, avail, order, pos, bound, owner, n_have_v, v, u, salt, False)
    if q < 0 or q == p:
        return True
    return _rank(have, recv, avail, owner, asked, v, p, initial) <= _rank(have, recv, avail, owner, asked, v, q, initial)


@njit(cache=True, inline="always")
def _partial_before_rank(avail, recv, asked, v, q, a, got):
    """Partial piece q comes before a partial piece of availability ``a`` with ``got`` blocks
    received or asked in prioritize_partials' order (partial_compare_rarest_first): rarer, or as
    rare and fuller."""
    return avail[v, q] < a or (avail[v, q] == a and recv[v, q] + asked[v, q] > got)


@njit(cache=True, inline="always")
def still_first(have, recv, avail, order, pos, bound, owner, asked, blocks, partials, deg_v, n_have_v, v, u, salt,
                p, is_seed, nbr):
    """libtorrent picks again each time a connection's request queue has room (request_a_block), so
    a shared piece p (one v is downloading: a block asked or received) gets more requests only
    while no piece ranks before it in v's picks from u: in the initial mode no downloading piece
    of a lower index; afterwards no piece rarer in v's view (a downloading piece as rare ranks the
    same); with too many partial pieces no partial piece rarer or, as rare, fuller
    (``pick_partial``). Only pieces u has and v can still ask blocks of count (not busy). A piece
    of the same rank keeps the requests (within a priority band libtorrent's order is arbitrary:
    no reason to move). v's order is sorted by availability, so only the buckets before p's
    availability (and, with too many partial pieces, p's own) are read."""
    if recv[v, p] == 0 and owner[v, p] != ASKED:  # not downloading (rare): pick, then compare
        return _first_by_pick(have, recv, avail, order, pos, bound, owner, asked, blocks, partials, deg_v, n_have_v,
                              v, u, salt, p)
    if n_have_v < INITIAL_PICKER_THRESHOLD:
        for q in range(p):
            if have[u, q] and not have[v, q] and (recv[v, q] > 0 or owner[v, q] == ASKED) \
                    and not is_busy(owner, v, q):
                return False
        return True
    a = np.int64(avail[v, p])
    if partials_first(partials, deg_v, blocks, v):
        got = recv[v, p] + asked[v, p]
        if partials_listed(partials, v):  # the same test on v's list of partial pieces
            for j in range(partials[v, 1]):
                q = partials[v, 2 + j]
                if q != p and have[u, q] and _partial_before_rank(avail, recv, asked, v, q, a, got):
                    return False
            return True
        for i in range(bound[v, 1], bound[v, 3 + 2 * a]):  # buckets up to p's availability
            q = order[v, i]
            if q != p and have[u, q] and is_partial(owner, recv, blocks, v, q) and \
                    _partial_before_rank(avail, recv, asked, v, q, a, got):
                return False
        return True
    lo = bound[v, 1]
    if bound[v, 1 + 2 * a] - lo > deg_v:
        # A long scan: skip the buckets too rare to hold any of u's pieces. Every piece u has is
        # counted in avail[v] once for u and once for each of v's neighbours that is a seed
        # (topology._count_pair keeps avail[v, q] the number of v's neighbours with q), so its
        # availability is at least ``m``; counting the seeds costs deg_v reads.
        m = 0 if is_seed[u] else 1
        for j in range(deg_v):
            if is_seed[nbr[v, j]]:
                m += 1
        if m >= a:
            return True
        lo = bound[v, 1 + 2 * m]
    for i in range(lo, bound[v, 1 + 2 * a]):  # buckets rarer than p
        q = order[v, i]
        if have[u, q] and not is_busy(owner, v, q):
            return False
    return True


@njit(cache=True, _nrt=False)
def asked_piece(have, recv, blocks, owner, avail, order, pos, bound, fast, cur_piece, run_end, next_start, next_end,
                unchoked_by_u, rate_avg, dq_size, whole_s_v, n_have_v, v, k, u, ku, salt, piece_bytes, asked, held,
                partials, deg_v, is_seed, nbr):
    """The piece v is asking u for on its connection in slot k: its current piece while u still
    has blocks of it for v (on a shared piece: while the connection has asked blocks, or can ask
    for more), else the next of its run, else a new pick (a run of whole pieces; or one piece,
    claimed for the connection when its request queue covers what the piece lacks; or as many
    free blocks of a piece as its queue has room for); only the allowed fast set while u chokes v
    (``unchoked_by_u``). -1: v has nothing to ask of u. (Arrays, not the state tuples: see
    next_in_run.)"""
    p = cur_piece[v, k]
    if p >= 0 and run_end[v, k] < 0 and held[v, k] >= 0 and unchoked_by_u and not have[v, p] \
            and recv[v, p] < blocks[p] and have[u, p]:
        if still_first(have, recv, avail, order, pos, bound, owner, asked, blocks, partials, deg_v, n_have_v, v, u,
                       salt, p, is_seed, nbr):
            ask_blocks(asked, owner, recv, blocks, partials, held, dq_size, v, k, p)  # free blocks of the same piece
        if held[v, k] > 0:
            return p
    if p >= 0 and (have[v, p] or recv[v, p] >= blocks[p] or not have[u, p]
                   or asks_nothing(run_end, held, v, k)):
        drop_held(asked, owner, recv, blocks, partials, held, cur_piece, v, k)
        p = next_in_run(have, owner, cur_piece, run_end, next_start, next_end, v, k, u) if run_end[v, k] >= 0 else -1
    if not unchoked_by_u:  # only the allowed fast set, one piece at a time
        drop_held(asked, owner, recv, blocks, partials, held, cur_piece, v, k)
        p = pick_fast(have, recv, blocks, owner, pos, fast, u, ku, v)
        cur_piece[v, k] = p
        if p >= 0:
            ask_blocks(asked, owner, recv, blocks, partials, held, dq_size, v, k, p)
        return p
    if p >= 0:
        return p
    drop_held(asked, owner, recv, blocks, partials, held, cur_piece, v, k)
    n_whole = whole_pieces(rate_avg[v, k], whole_s_v, piece_bytes)
    p = -1
    if partials_first(partials, deg_v, blocks, v):  # too many partial pieces: finish them first, no whole pieces
        n_whole = 0
        if n_have_v >= INITIAL_PICKER_THRESHOLD:  # (below, the initial mode takes partial pieces first anyway)
            p = pick_partial(have, recv, avail, order, pos, bound, owner, asked, blocks, partials, v, u)
    if p < 0:
        p = pick_piece(have, recv, avail, order, pos, bound, owner, n_have_v, v, u, salt, n_whole > 0)
    cur_piece[v, k] = p
    run_end[v, k] = -1
    if p < 0:
        return p
    if n_whole > 0 and owner[v, p] == 0 and recv[v, p] == 0:
        start, end = expand_run(have, recv, owner, v, u, p, n_whole)
        for q in range(start, end):  # fresh pieces (expand_run): none was partial
            owner[v, q] = u + 1
        cur_piece[v, k] = start
        run_end[v, k] = end
        next_start[v, k] = -1  # a new run: any earlier "no free piece" no longer holds
        next_end[v, k] = -1
        return start
    if owner[v, p] == 0 and blocks[p] - recv[v, p] <= dq_size[v, k]:
        # v's request queue to u holds every block the piece still lacks: they are all asked of
        # u, so v's other connections leave the piece alone (as a run of one)
        before = partial_before(owner, recv, blocks, v, p)
        owner[v, p] = u + 1
        partial_after(partials, owner, recv, blocks, v, p, before)
        run_end[v, k] = p + 1
    elif owner[v, p] == 0 or owner[v, p] == ASKED:
        ask_blocks(asked, owner, recv, blocks, partials, held, dq_size, v, k, p)  # its free blocks, as many as fit
    else:
        held[v, k] = -1  # end-game: blocks already asked of others, asked again
    return p


@njit(cache=True, _nrt=False)
def ask_before_sending(pa, ea, pc, dst, slot, F, order, salt, piece_bytes):
    """v's REQUESTs reach u as soon as u unchokes it (or it has something new to ask for), before
    u's rate limiter is asked for bandwidth: on loopback the round trip is far below a quota
    tick, so u can ask its channel for the bytes in the same tick. Each transfer whose
    downloader has asked for nothing yet (no piece, or on a shared piece no block) picks now, in
    serve order."""
    for i in range(F):
        f = order[i]
        v = dst[f]
        k = slot[f]
        if not pa.is_seed[v] and (ea.cur_piece[v, k] < 0 or asks_nothing(ea.run_end, ea.held, v, k)):
            u = ea.nbr[v, k]
            ku = ea.rev[v, k]
            asked_piece(pc.have, pc.recv, pc.blocks, pc.owner, pc.avail, pc.order, pc.pos, pc.bound, ea.fast,
                        ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, ea.unchoked[u, ku], ea.rate_avg,
                        ea.dq_size, pa.whole_s[v], pa.n_have[v], v, k, u, ku, salt, piece_bytes, pc.asked, ea.held,
                        pc.partials, pa.deg[v], pa.is_seed, ea.nbr)


@njit(cache=True)
def serve_order(pa, ea, dst, slot, F):
    """The order in which this tick's transfers are served (quota granted at once, blocks claimed):
    the fastest connection first (the downloader's rate from it), then the oldest. A downloader
    keeps request_queue_time (3 s) of its rate from a peer in requests there and asks again as
    blocks arrive, so a fast connection asks for a newly available piece, and gives its
    uploader something to send, before a slow or newly unchoked one (which starts from an empty
    queue). New requests (bandwidth.fresh_start: a new connection, or one unchoked again) come
    last, in the order their downloaders' quota ticks fall within the tick (``pa.tick_phase``):
    they reach the uploader as each downloader's session ticks, not together. Never by peer
    number: the subject is row 0."""
    keys = np.empty(F, dtype=np.int64)
    for f in range(F):
        keys[f] = serve_key(pa, ea, dst[f], slot[f])
    return np.argsort(keys)


@njit(cache=True, inline="always")
def serve_key(pa, ea, v, k):
    """serve_order's sort key of the transfer to v from its slot k: whole bytes/s descending, then
    connection age (both < 2^31); new requests above all of those, by the downloader's tick phase,
    then connection age. Unique: each connection end has its own number."""
    seq = min(ea.conn_seq[v, k], SERVE_KEY_MAX)
    if fresh_start(ea, ea.nbr[v, k], ea.rev[v, k]):
        return FRESH_KEY_BASE + np.int64(pa.tick_phase[v] * PHASE_STEPS) * (SERVE_KEY_MAX + 1) + seq
    rate = min(np.int64(ea.rate_avg[v, k]), SERVE_KEY_MAX)
    return (SERVE_KEY_MAX - rate) * SERVE_KEY_MAX + seq


@njit(cache=True, _nrt=False)
def serve_order_into(pa, ea, dst, slot, F, keys, order, stack, tmp, count):
    """serve_order's order in order[:F], allocating nothing (keys, tmp: scratch of F; count: of
    sorting.RADIX_BUCKETS). sorting.argsort_into is numba's argsort step for step (stack: its
    partition stack), so even equal keys would keep serve_order's order. The keys are distinct
    (serve_key), so from RADIX_MIN_KEYS transfers on a radix sort, which then gives the same
    order (sorting.argsort_distinct_into), is tried first: it is faster only there (its eight
    passes over 256 digit counts cost about 0.6 us even for two keys, a third of a small swarm's
    tick; benchmarks in sorting.py's docstring)."""
    for f in range(F):
        keys[f] = serve_key(pa, ea, dst[f], slot[f])
    if F < RADIX_MIN_KEYS or not argsort_distinct_into(keys, F, order, tmp, count):
        argsort_into(keys, F, order, stack)


@njit(cache=True, inline="always")
def blocks_ahead(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, v, k, u, p):
    """Blocks v's request queue at u holds before piece p (its run of whole pieces, then the pieces
    asked for next, in the order u serves them); a large number if p is not in it."""
    n = 0
    lo = max(cur_piece[v, k], 0)
    hi = run_end[v, k]
    for q in range(lo, hi):
        if q == p:
            return n
        if owner[v, q] == u + 1 and not have[v, q]:
            n += blocks[q] - recv[v, q]
    if next_end[v, k] >= 0:
        for q in range(next_start[v, k], next_end[v, k]):
            if q == p:
                return n
            if (q < lo or q >= hi) and owner[v, q] == u + 1 and not have[v, q]:
                n += blocks[q] - recv[v, q]
    return np.iinfo(np.int64).max // 2


@njit(cache=True, inline="always")
def count_sent(pa, ea, u, ku, v, k, nbytes):
    """The counters every payload byte u sends v moves: totals, the choker's rounds, the rate
    averages' seconds and ticks."""
    ea.dn_sec[v, k] += nbytes
    pa.total_up[u] += nbytes
    pa.total_down[v] += nbytes
    ea.down_round[v, k] += nbytes
    ea.up_round[u, ku] += nbytes
    ea.up_since_unchoke[u, ku] += nbytes
    ea.up_conn_total[u, ku] += nbytes
    ea.tick_bytes[v, k] += nbytes
    ea.up_sec[u, ku] += nbytes
    pa.dn_tick[v] += nbytes


@njit(cache=True, _nrt=False)
def transfer_blocks(pa, ea, pc, dst, slot, rate, F, order, dt, now, salt, subject, piece_bytes,
                    log_t, log_peer, log_piece, log_first, log_blocks, log_bytes, completed):
    """Move blocks for one tick, transfers in ``order`` (serve_order). Returns (log rows written,
    peers completed, log overflowed)."""
    P = pc.have.shape[1]
    n_log = 0
    n_done = 0
    overflow = False
    cap = log_t.shape[0]
    tick_now = np.int64(np.floor(now / dt + 0.5))  # this quota tick's number (pc.got_tick)
    for i in range(F):
        f = order[i]
        v = dst[f]
        k = slot[f]
        u = ea.nbr[v, k]
        if pa.is_seed[v]:
            continue
        ku = ea.rev[v, k]
        ea.credit[v, k] += rate[f] * dt
        if ea.sunk[v, k] > 0:
            # blocks v asked u for that came first on another connection go out first (no
            # CANCEL: topology.sent_anyway): u's upload, v reads them for nothing
            q = ea.sunk_piece[v, k]
            n = min(ea.sunk[v, k], np.int64(whole_blocks_in(ea.credit[v, k])), np.int64(pc.blocks[q]))
            if n > 0:
                nbytes = n * BLOCK_BYTES
                if q == P - 1:
                    nbytes = min(nbytes, (pc.blocks[q] - 1) * BLOCK_BYTES + pc.last_block_bytes)
                ea.sunk[v, k] -= n
                ea.credit[v, k] -= n * BLOCK_BYTES
                count_sent(pa, ea, u, ku, v, k, nbytes)
                pa.redundant[v] += nbytes
                if u == subject:
                    if n_log < cap:
                        log_t[n_log] = now
                        log_peer[n_log] = v
                        log_piece[n_log] = q
                        log_first[n_log] = 0
                        log_blocks[n_log] = n
                        log_bytes[n_log] = nbytes
                        n_log += 1
                    else:
                        overflow = True
        if ea.cur_piece[v, k] < 0 or asks_nothing(ea.run_end, ea.held, v, k):
            # v asked for nothing when the tick began (ask_before_sending)
            unused_credit_back(ea.bw_quota, ea.credit, v, k, u, ku)
            continue
        moved = False
        unchoked = ea.unchoked[u, ku]
        u_seed = pa.is_seed[u]  # a seed has every piece: its row of ``have`` need not be read
        while True:
            p = ea.cur_piece[v, k]
            if (p < 0 or not unchoked or pc.have[v, p] or pc.recv[v, p] >= pc.blocks[p]
                    or not (u_seed or pc.have[u, p]) or asks_nothing(ea.run_end, ea.held, v, k)):
                p = asked_piece(pc.have, pc.recv, pc.blocks, pc.owner, pc.avail, pc.order, pc.pos, pc.bound, ea.fast,
                                ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, unchoked, ea.rate_avg,
                                ea.dq_size, pa.whole_s[v], pa.n_have[v], v, k, u, ku, salt, piece_bytes,
                                pc.asked, ea.held, pc.partials, pa.deg[v], pa.is_seed, ea.nbr)
            if p < 0:
                unused_credit_back(ea.bw_quota, ea.credit, v, k, u, ku)
                break
            if not u_seed and pc.got_tick[u, p] > tick_now - request_lag_ticks(pa, ea, v, k, u, ku, dt):
                # u completed p too recently for v's REQUEST for it to have reached u yet
                # (request_lag_ticks): u sends v nothing more this tick
                unused_credit_back(ea.bw_quota, ea.credit, v, k, u, ku)
                break
            affordable = int(whole_blocks_in(ea.credit[v, k]))
            if affordable <= 0:
                break
            first = pc.recv[v, p]
            room = pc.blocks[p] - first
            held = ea.held[v, k]
            if held > 0:  # a shared piece: only the blocks this connection asked for
                room = min(room, held)
            take = min(room, affordable)
            nbytes = take * BLOCK_BYTES
            if p == P - 1 and first + take == pc.blocks[p]:
                nbytes -= BLOCK_BYTES - pc.last_block_bytes
            if first == 0:  # fresh -> partial: one bucket earlier in v's picker order
                b = bucket_of(pc.have, pc.recv, pc.avail, v, p)
                move_piece(pc.order, pc.pos, pc.bound, v, p, b, b - 1)
            if held < 0 and pc.owner[v, p] > 0 and pc.owner[v, p] != u + 1:
                # end-game copies of blocks v asked another uploader w for in a run: those
                # v's REQUESTs to w reached still come (no CANCEL: topology.committed_blocks)
                w = pc.owner[v, p] - 1
                for kw in range(pa.deg[v]):
                    if ea.nbr[v, kw] == w:
                        ahead = blocks_ahead(pc.have, pc.recv, pc.blocks, pc.owner, ea.cur_piece, ea.run_end,
                                             ea.next_start, ea.next_end, v, kw, w, p)
                        asked_of_w = committed_blocks(ea.dq_size, v, kw)
                        sent_anyway(ea.sunk, ea.sunk_piece, v, kw, p, take, max(asked_of_w - ahead, 0), room,
                                    v * ea.nbr.shape[1] + kw, salt ^ np.uint64(first))
                        break
            before = partial_before(pc.owner, pc.recv, pc.blocks, v, p)
            pc.recv[v, p] += take
            partial_after(pc.partials, pc.owner, pc.recv, pc.blocks, v, p, before)
            if held > 0:  # its asked blocks arrived; request_a_block asks for more at once
                ea.held[v, k] = held - take
                pc.asked[v, p] -= take
                if still_first(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, pc.owner, pc.asked, pc.blocks,
                               pc.partials, pa.deg[v], pa.n_have[v], v, u, salt, p, pa.is_seed, ea.nbr):
                    ask_blocks(pc.asked, pc.owner, pc.recv, pc.blocks, pc.partials, ea.held, ea.dq_size, v, k, p)
                else:  # no new requests here: the piece's mark follows the blocks still asked (none: free again)
                    shared_state(pc.asked, pc.owner, pc.recv, pc.blocks, pc.partials, v, p)
            elif pc.asked[v, p] > 0 and pc.recv[v, p] + pc.asked[v, p] > pc.blocks[p]:
                cancel_arrived(pc.asked, pc.owner, pc.recv, pc.blocks, pc.partials, ea.held, ea.cur_piece, pa.deg[v],
                               v, p, ea.sunk, ea.sunk_piece, ea.dq_size, ea.nbr, salt)
            ea.credit[v, k] -= take * BLOCK_BYTES
            moved = True
            if ea.slow_start[v, k]:  # incoming_piece: one more block asked ahead per block received
                ea.dq_size[v, k] = min(ea.dq_size[v, k] + take, pa.rq_max[v])  # max_out_request_queue
            ea.rq_open[v, k] -= nbytes  # v's requests at u, served
            # the block has left u's send buffer: u's own REQUESTs to v queued behind it go out,
            # and u's whole request queue at v is open - unless they wait behind more of u's data
            # that v has still to read (rq_wait, bandwidth.requests_at_uploader)
            if ea.rq_wait[u, ku] > nbytes:
                ea.rq_wait[u, ku] -= nbytes
            else:
                ea.rq_wait[u, ku] = 0.0
                ea.rq_open[u, ku] = ea.dq_size[u, ku] * BLOCK_BYTES
                if 0.0 < pa.down_cap[v] < np.inf and pa.dn_quota[v] < pa.down_cap[v]:
                    # v's download channel is short (it reads only what it is granted): the blocks
                    # v has asked u for are ahead of the REQUESTs u writes from now on
                    ea.rq_wait[u, ku] = BLOCK_BYTES * (
                        ea.held[v, k] if ea.held[v, k] > 0 else
                        blocks_left_in_run(pc.have, pc.recv, pc.blocks, pc.owner, ea.cur_piece, ea.run_end,
                                           ea.next_start, ea.next_end, v, k, u) if ea.run_end[v, k] >= 0 else 0)
            count_sent(pa, ea, u, ku, v, k, nbytes)
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
                for kk in range(pa.deg[v]):
                    if kk != k and ea.cur_piece[v, kk] == p and ea.held[v, kk] < 0 and ea.rq_wait[v, kk] <= 0.0:
                        # an end-game request (one block, asked when the connection's queue was
                        # empty, so read at once) that reached its uploader: it comes anyway
                        sent_anyway(ea.sunk, ea.sunk_piece, v, kk, p, 1, 1, 1, 0, salt)
                pc.asked[v, p] = 0  # every block is here (other connections' asks lapse: drop_held)
                if pc.owner[v, p] < 0:
                    before = partial_before(pc.owner, pc.recv, pc.blocks, v, p)
                    pc.owner[v, p] = 0  # complete: not partial
                    partial_after(pc.partials, pc.owner, pc.recv, pc.blocks, v, p, before)
                pc.got_tick[v, p] = tick_now
                piece_complete_arrays(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, pa.n_have, pa.is_seed,
                                      pa.deg, pa.interest_changed, ea.nbr, ea.rev, ea.wants, ea.slow_start, v, p)
                if pa.is_seed[v]:
                    completed[n_done] = v
                    n_done += 1
                    unused_credit_back(ea.bw_quota, ea.credit, v, k, u, ku)
                    break
        if moved and unchoked and not pa.is_seed[v] and ea.run_end[v, k] >= 0 and (
                ea.next_end[v, k] != NO_FRESH_PIECE or ea.next_start[v, k] != pa.n_have[u]) and not queue_full(
                pc.have, pc.recv, pc.blocks, pc.owner, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, ea.dq_size,
                v, k, u):
            # request_a_block runs as blocks arrive: only then may the queue ask for the next run
            ask_next_run_arrays(pc.have, pc.recv, pc.blocks, pc.avail, pc.order, pc.pos, pc.bound, pc.owner, pa.n_have,
                                pa.whole_s, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, ea.rate_avg,
                                ea.dq_size, v, k, u, salt, piece_bytes, pc.partials, pa.deg[v])
    return n_log, n_done, overflow
