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
    """Return the piece v should download from u next, or -1 if u has nothing v still needs."""
    P = have.shape[1]
    initial = n_have_v < INITIAL_PICKER_THRESHOLD
    best = -1
    best_avail = 0
    best_cls = 0
    best_key = np.uint64(0)
    for p in range(P):
        if not have[u, p] or have[v, p] or recv[v, p] >= blocks[p]:
            continue
        cls = 0 if recv[v, p] > 0 else 1
        a = 0 if initial else avail[v, p]
        key = mix64(salt, v, p)
        if best < 0:
            better = True
        elif a != best_avail:
            better = a < best_avail
        elif cls != best_cls:
            better = cls < best_cls
        else:
            better = key < best_key
        if better:
            best = p
            best_avail = a
            best_cls = cls
            best_key = key
    return best
