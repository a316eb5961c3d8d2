"""Piece picking: which piece peer v asks uploader u for next (libtorrent's piece_picker).

- While v has fewer than ``initial_picker_threshold`` (4) pieces: finish a partial piece if u has
  one, else a random piece u has — to get a first complete piece fast, so v has something to trade.
- Afterwards, rarest first by v's view of availability (connected peers that have the piece);
  among equally rare pieces a partial one first (libtorrent gives downloading pieces a better
  priority within the same availability), then at random.
Random choices are ``mix64(salt, v, p)`` keys: the kernel draws no random numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashing import mix64

INITIAL_PICKER_THRESHOLD = 4


@njit(cache=True)
def pick_piece(have, recv, avail, blocks, n_have_v, v, u, salt):
    """Return the piece v should download from u next, or -1 if u has nothing v still needs.

    Order: (availability, fresh-after-partial, random key), smallest first. The random key is
    hashed only for pieces that tie with the best so far: most pieces lose on availability.
    """
    P = have.shape[1]
    initial = n_have_v < INITIAL_PICKER_THRESHOLD
    best = -1
    best_rank = 0
    best_key = np.uint64(0)
    key_known = False
    for p in range(P):
        if not have[u, p] or have[v, p]:
            continue
        rank = (0 if initial else 2 * np.int64(avail[v, p])) + (1 if recv[v, p] == 0 else 0)
        if best < 0 or rank < best_rank:
            best = p
            best_rank = rank
            key_known = False
        elif rank == best_rank:
            if not key_known:
                best_key = mix64(salt, v, best)
                key_known = True
            key = mix64(salt, v, p)
            if key < best_key:
                best = p
                best_key = key
    return best
