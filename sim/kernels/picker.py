"""Piece picking: which piece peer v asks uploader u for next (libtorrent's piece_picker).

- While v has fewer than ``initial_picker_threshold`` (4) pieces: finish a partial piece if u has
  one, else a random piece u has — to get a first complete piece fast, so v has something to trade.
- Afterwards, rarest first by v's view of availability (connected peers that have the piece);
  among equally rare pieces a partial one first (libtorrent gives downloading pieces a better
  priority within the same availability).

Like libtorrent's picker, each peer keeps its pieces in one array ordered by priority bucket
(``order[v]``, with ``pos[v]`` its inverse and ``bound[v]`` the bucket starts). A priority change
moves a piece across one bucket boundary by a single swap, so keeping the order costs O(1) per
availability change, and a pick scans from the rarest bucket until it meets a piece the uploader
has. Bucket 0 holds the pieces v already has; bucket ``1 + 2*avail + fresh`` the others
(``fresh`` = no block received yet). The order inside a bucket starts as a random permutation
(drawn in Python when the peer joins) and is then shuffled by the swaps, as in libtorrent.
In the initial mode the pick is uniformly random: the smallest ``mix64(salt, v, p)`` key.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashing import mix64

INITIAL_PICKER_THRESHOLD = 4


@njit(cache=True, inline="always")
def bucket_of(have, recv, avail, v, p):
    if have[v, p]:
        return 0
    return 1 + 2 * np.int64(avail[v, p]) + (1 if recv[v, p] == 0 else 0)


@njit(cache=True)
def _swap(order, pos, v, i, j):
    a = order[v, i]
    b = order[v, j]
    order[v, i] = b
    order[v, j] = a
    pos[v, b] = i
    pos[v, a] = j


@njit(cache=True)
def move_piece(order, pos, bound, v, p, old_b, new_b):
    """Move piece p of peer v from bucket old_b to new_b, one boundary (one swap) at a time."""
    b = old_b
    while b < new_b:  # up: swap with the last piece of bucket b, which then shrinks
        last = bound[v, b + 1] - 1
        _swap(order, pos, v, pos[v, p], last)
        bound[v, b + 1] -= 1
        b += 1
    while b > new_b:  # down: swap with the first piece of bucket b, which then shrinks
        first = bound[v, b]
        _swap(order, pos, v, pos[v, p], first)
        bound[v, b] += 1
        b -= 1


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


@njit(cache=True)
def pick_piece(have, recv, avail, order, pos, bound, n_have_v, v, u, salt):
    """Return the piece v should download from u next, or -1 if u has nothing v still needs."""
    P = have.shape[1]
    if n_have_v < INITIAL_PICKER_THRESHOLD:
        best = -1
        best_partial = False
        best_key = np.uint64(0)
        for p in range(P):
            if not have[u, p] or have[v, p]:
                continue
            partial = recv[v, p] > 0
            key = mix64(salt, v, p)
            if best < 0 or (partial and not best_partial) or (partial == best_partial and key < best_key):
                best = p
                best_partial = partial
                best_key = key
        return best
    # The answer is the piece u has that comes first in v's order. Find it by scanning v's order
    # until u has the piece, or — when u has few pieces — by scanning u's own pieces (u's bucket
    # 0) for the one earliest in v's order. Both give the same piece; pick the shorter walk.
    v_missing = P - bound[v, 1]
    u_have = bound[u, 1]
    if u_have * 4 < v_missing:
        best = -1
        best_pos = P
        for i in range(u_have):
            p = order[u, i]
            if not have[v, p] and pos[v, p] < best_pos:
                best = p
                best_pos = pos[v, p]
        return best
    for i in range(bound[v, 1], P):
        p = order[v, i]
        if have[u, p]:
            return p
    return -1
