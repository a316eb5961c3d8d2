"""Piece picking: which piece peer v asks uploader u for next (libtorrent's piece_picker).

- While v has fewer than ``initial_picker_threshold`` (4) pieces: finish a partial piece if u has
  one, else the first piece u has at or after a random start — to get a first complete piece fast,
  so v has something to trade.
- Afterwards, rarest first by v's view of availability (connected peers that have the piece);
  among equally rare pieces a partial one first (libtorrent gives downloading pieces a better
  priority within the same availability).
- Whole pieces (libtorrent's ``whole_pieces_threshold``, request_blocks.cpp): when v's download
  rate from u would bring a whole piece within the threshold (20 s), v asks u for whole pieces —
  ``floor(rate * threshold / piece size)`` of them, the picked piece grown into a run of adjacent
  pieces (``expand_run``, libtorrent's ``expand_piece``) whatever their rarity — and pieces other
  connections are downloading become a fall-back. Every block of such a run is asked of u, so v's
  other connections leave those pieces alone (``owner``) until the run is done, u chokes v or the
  connection closes; they join in only in libtorrent's strict end-game (``in_end_game``: every
  piece v still needs is being downloaded). Before that, a connection whose uploader has only
  pieces already asked of others stays idle although v is interested — in the lab, over half of
  the seconds an uploader has an interested, unchoked peer carry no bytes for this reason.

Like libtorrent's picker, each peer keeps its pieces in one array ordered by priority bucket
(``order[v]``, with ``pos[v]`` its inverse and ``bound[v]`` the bucket starts). A priority change
moves a piece across one bucket boundary by a single swap, so keeping the order costs O(1) per
availability change, and a pick scans from the rarest bucket until it meets a piece the uploader
has. Bucket 0 holds the pieces v already has; bucket ``1 + 2*avail + fresh`` the others
(``fresh`` = no block received yet). The order inside a bucket starts as a random permutation
(drawn in Python when the peer joins); a moved piece then swaps places with a piece of its new
bucket drawn from a hash (``shuffle_in``), as libtorrent's ``piece_picker::update`` ends every
move with ``shuffle()``.
In the initial mode the pick is libtorrent's: pieces v is already downloading (a block received or
asked) first, in index order, then a walk from a random start (``mix64(salt, v, u)`` mod the piece
count) to the first piece u has, wrapping at the end. A piece right after a long stretch u lacks is the likelier pick, not every piece alike: a peer's
fresh pieces come in runs (whole-piece runs around its rarest picks), so a newcomer's first pieces
are more often ones the swarm already shares.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashing import mix64

INITIAL_PICKER_THRESHOLD = 4
# piece_picker::pick_pieces: more partial pieces than 1.5 x the peer's connections, or partial pieces
# holding more than this many blocks (32 MiB), and the peer finishes partial pieces first
PARTIAL_BLOCKS_LIMIT = 2048
# Each peer's row of PieceArrays.partials: [0] its count of partial pieces, [1] how many of them are
# listed, [2:] the list (unordered). Not a libtorrent setting: only where the partial pieces are
# looked up, never what is found. With more partial pieces than the list holds, the lookups scan
# the peer's order as before, until the count is back down to what is listed.
PARTIAL_LIST = 30
ASKED = -2  # owner[v, p]: some blocks of p asked on shared connections, some still free
BUSY = -1  # owner[v, p]: every block of p that v lacks is asked on shared connections: none free


@njit(cache=True, inline="always")
def is_busy(owner, v, p):
    """No block of p is free for v: a connection asked for all of it (owner > 0), or shared
    connections asked for every block v lacks (BUSY)."""
    return owner[v, p] > 0 or owner[v, p] == BUSY


@njit(cache=True, inline="always")
def is_partial(owner, recv, blocks, v, p):
    """p is one of v's partial pieces, libtorrent's "downloading" state (``m_downloads
    [piece_downloading]``): some of its blocks asked or received, some still free. A piece asked of
    one connection in full (owner > 0) or with every free block asked (BUSY) is "full"; a complete
    one has every block (recv == blocks)."""
    o = owner[v, p]
    return o == ASKED or (o == 0 and 0 < recv[v, p] < blocks[p])


@njit(cache=True, inline="always")
def partial_before(owner, recv, blocks, v, p):
    """1 if p is a partial piece of v, else 0: taken before a change of owner or recv, and given
    back to ``partial_after`` once it is made."""
    return 1 if is_partial(owner, recv, blocks, v, p) else 0


@njit(cache=True, inline="always")
def _partial_added(partials, v, p):
    partials[v, 0] += 1
    n = partials[v, 1]
    if n < partials.shape[1] - 2:  # room in the list: kept (else the list is short of the count)
        partials[v, 2 + n] = p
        partials[v, 1] = n + 1


@njit(cache=True, inline="always")
def _partial_removed(partials, v, p):
    partials[v, 0] -= 1
    n = partials[v, 1]
    for j in range(n):
        if partials[v, 2 + j] == p:
            partials[v, 2 + j] = partials[v, 1 + n]  # the last one takes its place
            partials[v, 1] = n - 1
            return


@njit(cache=True, inline="always")
def partial_after(partials, owner, recv, blocks, v, p, before):
    """Keep v's partial pieces after a change of owner[v, p] or recv[v, p]."""
    after = 1 if is_partial(owner, recv, blocks, v, p) else 0
    if after > before:
        _partial_added(partials, v, p)
    elif after < before:
        _partial_removed(partials, v, p)


@njit(cache=True, inline="always")
def partials_listed(partials, v):
    """Every partial piece of v is in its list (the list's length equals the count)."""
    return partials[v, 1] == partials[v, 0]


@njit(cache=True, inline="always")
def partials_first(partials, deg_v, blocks, v):
    """piece_picker::pick_pieces' guard against partial pieces piling up: with more of them than
    1.5 x the peer's connections (``num_peers * 3 / 2``), or more blocks in them than 2,048, the
    peer finishes partial pieces first (``prioritize_partials``) and asks for no whole pieces
    (``prefer_contiguous_blocks = 0``). With 16 MiB pieces (1,024 blocks) that is any peer with
    three partial pieces."""
    n = partials[v, 0]
    return n > deg_v * 3 // 2 or n * np.int64(blocks[0]) > PARTIAL_BLOCKS_LIMIT


@njit(cache=True, _nrt=False)
def pick_partial(have, recv, avail, order, pos, bound, owner, asked, blocks, partials, v, u):
    """``prioritize_partials`` in rarest-first mode: among v's partial pieces that u has, the rarest
    (v's view of availability), then the one with most blocks received or asked
    (``partial_compare_rarest_first``), then the first in v's order. -1: none. Read from v's list
    of partial pieces when it holds them all (``partials``); else from a scan of v's order, which
    is sorted by availability, so the scan stops at the first bucket rarer pieces cannot follow."""
    best = -1
    best_avail = 0
    best_blocks = 0
    if partials_listed(partials, v):  # the same answer from v's list of partial pieces: rarest,
        best_pos = 0                  # then most blocks, then first in v's order (pos)
        for j in range(partials[v, 1]):
            p = partials[v, 2 + j]
            if not have[u, p]:
                continue
            a = avail[v, p]
            got = recv[v, p] + asked[v, p]
            if best < 0 or a < best_avail or (a == best_avail and (got > best_blocks or (
                    got == best_blocks and pos[v, p] < best_pos))):
                best = p
                best_avail = a
                best_blocks = got
                best_pos = pos[v, p]
        return best
    P = order.shape[1]
    for i in range(bound[v, 1], P):
        p = order[v, i]
        if best >= 0 and avail[v, p] > best_avail:
            break
        if not have[u, p] or not is_partial(owner, recv, blocks, v, p):
            continue
        got = recv[v, p] + asked[v, p]
        if best < 0 or got > best_blocks:
            best = p
            best_avail = avail[v, p]
            best_blocks = got
    return best


@njit(cache=True, inline="always")
def bucket_of(have, recv, avail, v, p):
    if have[v, p]:
        return 0
    return 1 + 2 * np.int64(avail[v, p]) + (1 if recv[v, p] == 0 else 0)


@njit(cache=True, inline="always")
def _take_place(order, pos, v, cur, j):
    """One bucket edge crossed by a moving piece: the piece at place j (the edge) moves into place
    ``cur``, the one the moving piece has just left (nothing to do if they are the same place).
    Returns the moving piece's place now: j."""
    if j != cur:
        q = order[v, j]
        order[v, cur] = q
        pos[v, q] = cur
    return j


# shuffle_slot's key: the bucket's start times this odd 64-bit constant (FNV-1a's prime), xor its
# end; not a libtorrent setting: only how the hash is keyed (tests/naive.py keys its twin alike)
SHUFFLE_KEY_MUL = 0x100000001B3


@njit(cache=True, inline="always")
def shuffle_slot(lo, hi, v, p):
    """Where piece p of peer v goes in its new bucket [lo, hi) (libtorrent's piece_picker::shuffle:
    a random place in the bucket): drawn from a hash of the peer, the piece and the bucket's
    extent, not from a random stream, so the picker stays a pure function of the state. Two peers
    moving the same piece into buckets of the same extent draw different places."""
    return lo + np.int64(mix64(np.uint64(lo) * np.uint64(SHUFFLE_KEY_MUL) ^ np.uint64(hi), v, p) % np.uint64(hi - lo))


@njit(cache=True, inline="always")
def shuffle_in(order, pos, bound, v, p, b):
    """piece_picker::update ends every move with shuffle(): the moved piece swaps places with a
    random piece of its new bucket ``b``, so the piece that changed bucket last is not the first
    of it. (Bucket 0, the pieces v has, is never picked from: left as it is.)"""
    lo = bound[v, b]
    hi = bound[v, b + 1]
    if b == 0 or hi - lo <= 1:
        return
    j = shuffle_slot(lo, hi, v, p)
    cur = pos[v, p]
    if j != cur:
        q = order[v, j]
        order[v, j] = p
        pos[v, p] = j
        order[v, cur] = q
        pos[v, q] = cur


@njit(cache=True, _nrt=False)
def move_piece(order, pos, bound, v, p, old_b, new_b):
    """Move piece p of peer v from bucket old_b to new_b, one boundary (one swap) at a time.

    Written as the chain the swaps make (tests/naive.py: move_piece_by_swaps is the swap by swap
    original, and tests compare the two): each bucket edge p crosses takes the piece there into
    the place p just left, and p is written once, where it ends. A completed piece crosses
    every bucket down to 0 at its own peer; at each neighbour it moves two buckets up
    (move_piece_up2, the same chain for two edges, inlined)."""
    cur = pos[v, p]
    b = old_b
    while b < new_b:  # up: the last piece of bucket b takes p's place; bucket b then shrinks
        j = bound[v, b + 1] - 1
        cur = _take_place(order, pos, v, cur, j)
        bound[v, b + 1] = j
        b += 1
    while b > new_b:  # down: the first piece of bucket b takes p's place; bucket b then shrinks
        j = bound[v, b]
        cur = _take_place(order, pos, v, cur, j)
        bound[v, b] = j + 1
        b -= 1
    order[v, cur] = p
    pos[v, p] = cur
    if new_b != old_b:
        shuffle_in(order, pos, bound, v, p, new_b)


@njit(cache=True, inline="always")
def move_piece_up2(order, pos, bound, v, p, b):
    """move_piece(order, pos, bound, v, p, b, b + 2) for the callers that run it for every
    neighbour of every completed piece (topology.piece_complete_arrays) and for every piece of a
    peer whose connection opens (topology._avail_change): the piece's availability rose by one,
    two buckets up. Inlined there, it saves a call taking three 2-D arrays per piece, which cost
    more than the two swaps."""
    cur = pos[v, p]
    for e in range(b + 1, b + 3):
        j = bound[v, e] - 1
        cur = _take_place(order, pos, v, cur, j)
        bound[v, e] = j
    order[v, cur] = p
    pos[v, p] = cur
    shuffle_in(order, pos, bound, v, p, b + 2)


@njit(cache=True, inline="always")
def move_piece_down2(order, pos, bound, v, p, b):
    """move_piece(order, pos, bound, v, p, b, b - 2), likewise for a connection's closing
    (topology._avail_change: every piece the closed peer had drops one availability)."""
    cur = pos[v, p]
    for e in range(b, b - 2, -1):
        j = bound[v, e]
        cur = _take_place(order, pos, v, cur, j)
        bound[v, e] = j + 1
    order[v, cur] = p
    pos[v, p] = cur
    shuffle_in(order, pos, bound, v, p, b - 2)


@njit(cache=True)
def rebuild_order(have, recv, avail, order, pos, bound, v, scratch):
    """Sort v's pieces into buckets, keeping their current relative order (a stable counting sort)."""
    P = have.shape[1]
    NB = bound.shape[1] - 1
    for b in range(NB + 1):
        bound[v, b] = 0
    for i in range(P):
        b = bucket_of(have, recv, avail, v, order[v, i])
        bound[v, b + 1] += 1
    for b in range(NB):
        bound[v, b + 1] += bound[v, b]
    fill = scratch[:NB]
    for b in range(NB):
        fill[b] = bound[v, b]
    tmp = scratch[NB:NB + P]
    for i in range(P):
        p = order[v, i]
        b = bucket_of(have, recv, avail, v, p)
        tmp[fill[b]] = p
        fill[b] += 1
    for i in range(P):
        order[v, i] = tmp[i]
        pos[v, tmp[i]] = i


@njit(cache=True, inline="always")
def _tier(recv, owner, v, p, whole):
    """0: free; 1: partial, a backup when asking for whole pieces; 2: every block already asked of
    another peer (taken only in end-game)."""
    if is_busy(owner, v, p):
        return 2
    if whole and (recv[v, p] > 0 or owner[v, p] == ASKED):
        return 1
    return 0


@njit(cache=True, _nrt=False)
def in_end_game(recv, owner, order, bound, v):
    """libtorrent's strict end-game (``strict_end_game_mode``, default on): every piece v still
    needs is already being downloaded (``get_download_queue_size() >= num_want_left()``). Only then
    may a connection ask for blocks already asked of another peer."""
    P = order.shape[1]
    for i in range(bound[v, 1], P):
        p = order[v, i]
        if recv[v, p] == 0 and owner[v, p] == 0:
            return False
    return True


@njit(cache=True, _nrt=False)
def pick_piece(have, recv, avail, order, pos, bound, owner, n_have_v, v, u, salt, whole):
    """Return the piece v should download from u next, or -1 if u has nothing v still needs.

    ``whole``: v asks u for whole pieces (libtorrent's prefer_contiguous_blocks), so pieces other
    connections are already downloading are only a fall-back. Pieces whose blocks v has all asked
    of another peer are picked only when nothing else is left (end-game).
    """
    P = have.shape[1]
    if n_have_v < INITIAL_PICKER_THRESHOLD:
        # libtorrent's initial mode (prioritize_partials, no rarest_first): partial pieces in index
        # order (its list of downloading pieces is kept sorted by index), then a walk from a random
        # start to the first piece u has (piece_picker::pick_pieces' random branch, cyclic).
        start = np.int64(mix64(salt, v, u) % np.uint64(P))
        best = -1
        best_rank = 0
        best_key = 0
        for p in range(P):
            if not have[u, p] or have[v, p]:
                continue
            fresh = recv[v, p] == 0 and owner[v, p] != ASKED  # downloading: a block received or asked
            rank = 2 * _tier(recv, owner, v, p, whole) + (1 if fresh else 0)
            key = (p - start) % P if fresh else p
            if best < 0 or rank < best_rank or (rank == best_rank and key < best_key):
                best = p
                best_rank = rank
                best_key = key
        if best >= 0 and best_rank >= 4 and not in_end_game(recv, owner, order, bound, v):
            return -1
        return best
    # The answer is the piece u has that comes first in v's order (in the best tier). Find it by
    # scanning v's order, or — when u has few pieces — by scanning u's own pieces (u's bucket 0)
    # for the one earliest in v's order. Both give the same piece; pick the shorter walk.
    v_missing = P - bound[v, 1]
    u_have = bound[u, 1]
    if u_have * 4 < v_missing:
        best = -1
        best_rank = 0
        for i in range(u_have):
            p = order[u, i]
            if have[v, p]:
                continue
            rank = _tier(recv, owner, v, p, whole) * P + pos[v, p]
            if best < 0 or rank < best_rank:
                best = p
                best_rank = rank
        if best >= 0 and best_rank >= 2 * P and not in_end_game(recv, owner, order, bound, v):
            return -1
        return best
    backup1 = -1
    backup2 = -1
    for i in range(bound[v, 1], P):
        p = order[v, i]
        if backup2 >= 0 and is_busy(owner, v, p):
            # a piece all asked of another peer (tier 2) once a tier-2 fall-back is found: whether
            # u has it changes nothing, so u's row is not read. In end-game every connection of v
            # walks v's last missing pieces this way, each reading another uploader's row; v's own
            # rows stay in cache from one pick to the next.
            continue
        if have[u, p]:
            t = _tier(recv, owner, v, p, whole)
            if t == 0:
                return p
            if t == 1 and backup1 < 0:
                backup1 = p
            elif t == 2 and backup2 < 0:
                backup2 = p
    if backup1 >= 0:
        return backup1
    if backup2 >= 0 and in_end_game(recv, owner, order, bound, v):
        return backup2
    return -1


@njit(cache=True, _nrt=False)
def _can_extend(have, recv, owner, v, u, q):
    return have[u, q] and not have[v, q] and recv[v, q] == 0 and owner[v, q] == 0


@njit(cache=True, _nrt=False)
def expand_run(have, recv, owner, v, u, x, whole_pieces):
    """libtorrent's expand_piece: grow piece x into a run of up to ``whole_pieces`` adjacent pieces
    that u has and nobody is downloading for v — first downwards, then upwards. Returns [start, end)."""
    P = have.shape[1]
    lower = max(x - whole_pieces + 1, 0)
    start = x
    while start > lower and _can_extend(have, recv, owner, v, u, start - 1):
        start -= 1
    upper = min(start + whole_pieces, P)
    end = x + 1
    while end < upper and _can_extend(have, recv, owner, v, u, end):
        end += 1
    return start, end
