"""Bandwidth sharing: the rates of the active transfers, given each peer's rate limits.

libtorrent's rate limiter (bandwidth_manager / bandwidth_channel) adds the limit's quota every
500 ms, keeps what is not used up to 3 s of the limit (``open_quota``/``close_quota``: an idle
peer can burst), and, when short of quota, splits it evenly over the connections waiting for it,
each getting at most what it asked for (``kernels/transfer.flow_cap``). A tick is computed in two
steps (``share_bandwidth``): max-min fair rates — every transfer gets an equal share of its
uploader's and its downloader's capacity, capacity one transfer cannot use (held back at its other
end) flowing to the others, computed exactly by progressive filling: raise all unfrozen rates
together until a peer's capacity is used up, freeze the transfers through that peer, repeat, at
most 2N rounds (on the limits themselves, so peers of one class saturate together) — then each
uploader's quota of this tick shared out again over its connections, with the caps at a
contended uploader (``_resplit``).
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


@njit(cache=True)
def _split_evenly(cap_total, bound, out):
    """Water-fill: out[j] = min(bound[j], level) with sum(out) = cap_total (or every bound, if
    they add up to less)."""
    k = bound.shape[0]
    order = np.argsort(bound)
    left = cap_total
    for i in range(k):
        j = order[i]
        share = left / (k - i)
        if bound[j] <= share:
            out[j] = bound[j]
            left -= bound[j]
        else:
            for ii in range(i, k):
                out[order[ii]] = share
            return


@njit(cache=True)
def _resplit(src, dst, flow_cap, up_avail, dn_avail, rate):
    """Each uploader, in index order, shares out what its rate limiter has this tick (its quota,
    which may hold a burst or be short after over-use) over its connections: each connection at
    most what its downloader can still take (download quota less what arrives from elsewhere)
    and, if the uploader is contended — two or more connections that could take all of it — at
    most its cap; the others share what is left equally. libtorrent's rate limiter grants
    requests at once while it has quota to spare, and splits it evenly, each at most what it
    asked for, when short (bandwidth_manager, bandwidth_channel)."""
    F = src.shape[0]
    N = up_avail.shape[0]
    inflow = np.zeros(N)
    start = np.zeros(N + 1, dtype=np.int64)
    for f in range(F):
        inflow[dst[f]] += rate[f]
        start[src[f] + 1] += 1
    for i in range(N):
        start[i + 1] += start[i]
    by_src = np.empty(F, dtype=np.int64)
    fill = start[:N].copy()
    for f in range(F):
        by_src[fill[src[f]]] = f
        fill[src[f]] += 1
    kmax = 0
    for u in range(N):
        kmax = max(kmax, start[u + 1] - start[u])
    bound = np.empty(kmax)
    new = np.empty(kmax)
    for u in range(N):
        k = start[u + 1] - start[u]
        if k == 0:
            continue
        total = 0.0
        for j in range(k):
            f = by_src[start[u] + j]
            bound[j] = rate[f] + max(dn_avail[dst[f]] - inflow[dst[f]], 0.0)
            total += bound[j]
        if k >= 2 and total >= up_avail[u] * (1.0 - 1e-9):  # contended: the caps apply
            for j in range(k):
                bound[j] = min(bound[j], flow_cap[by_src[start[u] + j]])
        _split_evenly(up_avail[u], bound[:k], new[:k])
        for j in range(k):
            f = by_src[start[u] + j]
            inflow[dst[f]] += new[j] - rate[f]
            rate[f] = new[j]


@njit(cache=True)
def share_bandwidth(src, dst, flow_cap, up_cap, down_cap, up_avail, dn_avail, rate, rem_up, rem_dn, n_up, n_dn,
                    frozen):
    """The rates of one tick: max-min fair on the peers' rate limits, then each uploader's
    quota of this tick shared out again with the caps of contended connections (``_resplit``)."""
    _maxmin_fair(src, dst, up_cap, down_cap, rate, rem_up, rem_dn, n_up, n_dn, frozen)
    _resplit(src, dst, flow_cap, up_avail, dn_avail, rate)


QUOTA_BURST_S = 3.0  # libtorrent's bandwidth_channel keeps at most 3 s of its limit as quota


@njit(cache=True)
def open_quota(pa, dt):
    """Each peer's rate limiter at the start of a tick: the limit's quota for this tick is added
    to what is left over — at most 3 s of the limit (bandwidth_channel::update_quota), so an idle
    or under-used peer can send (receive) in a burst of up to 3x its limit; or less, if it
    over-used its quota before (whole blocks bought with credit carried from earlier ticks)."""
    for i in range(pa.up_cap.shape[0]):
        if not pa.active[i]:
            continue
        pa.up_quota[i] = min(pa.up_quota[i] + pa.up_cap[i] * dt, QUOTA_BURST_S * pa.up_cap[i])
        pa.dn_quota[i] = min(pa.dn_quota[i] + pa.down_cap[i] * dt, QUOTA_BURST_S * pa.down_cap[i])
        pa.up_avail[i] = max(pa.up_quota[i], 0.0) / dt
        pa.dn_avail[i] = max(pa.dn_quota[i], 0.0) / dt
        pa.up_tick[i] = 0
        pa.dn_tick[i] = 0


@njit(cache=True)
def close_quota(pa, dt):
    """What a peer's rate limiter has left after the tick's transfers (negative: over-used,
    repaid from the next ticks' quota, as libtorrent's m_quota_left)."""
    for i in range(pa.up_cap.shape[0]):
        if not pa.active[i]:
            continue
        pa.up_quota[i] -= pa.up_tick[i]
        pa.dn_quota[i] -= pa.dn_tick[i]


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
