"""Bandwidth sharing: max-min fair rates of the active transfers, given each peer's upload and
download capacity.

This is what a per-peer rate limiter (libtorrent hands out quota every 500 ms, split evenly over
the connections waiting for it) plus TCP's fair sharing converge to: every transfer gets an equal
share of its uploader's and its downloader's capacity, and capacity one transfer cannot use (it is
held back at its other end) flows to the others. Computed exactly by progressive filling: raise
all unfrozen rates together until a peer's capacity is used up, freeze the transfers through that
peer, repeat. Each round saturates at least one peer, so there are at most 2N rounds.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _maxmin_fair(src, dst, up_cap, down_cap, rate, rem_up, rem_dn, n_up, n_dn, frozen):
    """Write max-min fair rates of flows src[f] -> dst[f] into rate[f]; scratch arrays given.

    Only the peers and flows still in play are visited: the peers with a flow are listed once,
    and frozen flows are swapped out of the working list, so a round costs O(live peers + live
    flows) however large the swarm arrays are.
    """
    F = src.shape[0]
    N = up_cap.shape[0]
    live = np.empty(F, dtype=np.int64)  # unfrozen flows, compacted
    peers = np.empty(min(N, 2 * F) + 1, dtype=np.int64)
    n_peers = 0
    for f in range(F):  # counters of the peers in play start at zero
        n_up[src[f]] = 0
        n_dn[src[f]] = 0
        n_up[dst[f]] = 0
        n_dn[dst[f]] = 0
    for f in range(F):
        rate[f] = 0.0
        frozen[f] = False
        live[f] = f
        for i in (src[f], dst[f]):
            if n_up[i] == 0 and n_dn[i] == 0:
                peers[n_peers] = i
                n_peers += 1
                rem_up[i] = up_cap[i]
                rem_dn[i] = down_cap[i]
        n_up[src[f]] += 1
        n_dn[dst[f]] += 1
    left = F
    while left > 0:
        delta = np.inf
        for j in range(n_peers):
            i = peers[j]
            if n_up[i] > 0:
                s = rem_up[i] / n_up[i]
                if s < delta:
                    delta = s
            if n_dn[i] > 0:
                s = rem_dn[i] / n_dn[i]
                if s < delta:
                    delta = s
        if delta == np.inf:  # every remaining flow is unconstrained: cannot happen with finite caps
            break
        # Peers whose fair share equals delta are the bottlenecks of this round.
        for j in range(n_peers):
            i = peers[j]
            if n_up[i] > 0:
                if rem_up[i] / n_up[i] == delta:
                    rem_up[i] = -1.0  # mark saturated
                else:
                    rem_up[i] = max(rem_up[i] - delta * n_up[i], 0.0)
            if n_dn[i] > 0:
                if rem_dn[i] / n_dn[i] == delta:
                    rem_dn[i] = -1.0
                else:
                    rem_dn[i] = max(rem_dn[i] - delta * n_dn[i], 0.0)
        j = 0
        while j < left:
            f = live[j]
            rate[f] += delta
            if rem_up[src[f]] == -1.0 or rem_dn[dst[f]] == -1.0:
                frozen[f] = True
                n_up[src[f]] -= 1
                n_dn[dst[f]] -= 1
                left -= 1
                live[j] = live[left]
            else:
                j += 1
        for j in range(n_peers):
            i = peers[j]
            if rem_up[i] == -1.0:
                rem_up[i] = 0.0
            if rem_dn[i] == -1.0:
                rem_dn[i] = 0.0
    for j in range(n_peers):  # leave the scratch counters at zero for the next call
        n_up[peers[j]] = 0
        n_dn[peers[j]] = 0


def maxmin_fair(src: np.ndarray, dst: np.ndarray, up_cap: np.ndarray, down_cap: np.ndarray) -> np.ndarray:
    """Max-min fair rates (bytes/s) for transfers ``src[f] -> dst[f]``; validates and allocates."""
    src = np.ascontiguousarray(src, dtype=np.int64)
    dst = np.ascontiguousarray(dst, dtype=np.int64)
    up_cap = np.ascontiguousarray(up_cap, dtype=np.float64)
    down_cap = np.ascontiguousarray(down_cap, dtype=np.float64)
    n = up_cap.shape[0]
    if down_cap.shape[0] != n or src.shape != dst.shape:
        raise ValueError("shape mismatch")
    if len(src) and (src.min() < 0 or dst.min() < 0 or src.max() >= n or dst.max() >= n):
        raise ValueError("flow endpoint out of range")
    if (up_cap < 0).any() or (down_cap < 0).any() or not np.isfinite(up_cap).all() or not np.isfinite(down_cap).all():
        raise ValueError("capacities must be finite and >= 0")
    rate = np.zeros(len(src), dtype=np.float64)
    _maxmin_fair(src, dst, up_cap, down_cap, rate, np.empty(n), np.empty(n),
                 np.empty(n, np.int64), np.empty(n, np.int64), np.empty(len(src), np.bool_))
    return rate
