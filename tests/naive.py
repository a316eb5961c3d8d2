"""Slow, obvious pure-Python twins of the numba kernels (as STUMPY's tests/naive.py).

Each twin is written from the behaviour it models, not translated from the kernel, so a test
that compares the two can catch a kernel that computes the wrong thing, not only one that
compiles differently.
"""

from __future__ import annotations

import numpy as np

from sim.kernels.hashing import mix64_py


def maxmin_fair(src, dst, up_cap, down_cap):
    """Max-min fairness by its definition: repeatedly find the tightest peer, fix its flows' rates."""
    flows = list(range(len(src)))
    rate = [0.0] * len(src)
    cap = {("up", i): float(c) for i, c in enumerate(up_cap)}
    cap.update({("dn", i): float(c) for i, c in enumerate(down_cap)})
    members = {}
    for f in flows:
        members.setdefault(("up", int(src[f])), set()).add(f)
        members.setdefault(("dn", int(dst[f])), set()).add(f)
    level = 0.0
    unfrozen = set(flows)
    while unfrozen:
        shares = {node: (cap[node] - sum(rate[f] for f in fs if f not in unfrozen)) / len(fs & unfrozen)
                  for node, fs in members.items() if fs & unfrozen}
        tight = min(shares.values())
        level = max(level, tight)
        done = set()
        for node, s in shares.items():
            if s <= tight * (1 + 1e-12) + 1e-12:
                done |= members[node] & unfrozen
        for f in unfrozen:
            rate[f] = level
        unfrozen -= done
    return np.array(rate)


def tick_rates(src, dst, up_cap, down_cap, up_avail, dn_avail, flow_cap):
    """One tick's rates: max-min fair on the rate limits; then, uploader by uploader in index
    order, the uploader's quota of the tick (up_avail) shared out again: each connection at most
    what its downloader can still take (its download quota less what it receives from the others)
    and — when the uploader is contended, two or more connections that could take all of it — at
    most its cap; the others share what is left equally."""
    rate = list(maxmin_fair(src, dst, up_cap, down_cap))
    n = len(up_cap)
    for u in range(n):
        mine = [f for f in range(len(src)) if src[f] == u]
        if not mine:
            continue
        inflow = {v: sum(rate[g] for g in range(len(src)) if dst[g] == v) for v in range(n)}
        limit = {f: rate[f] + max(dn_avail[dst[f]] - inflow[dst[f]], 0.0) for f in mine}
        if len(mine) >= 2 and sum(limit.values()) >= up_avail[u] * (1 - 1e-9):
            limit = {f: min(limit[f], flow_cap[f]) for f in mine}
        left, todo = float(up_avail[u]), sorted(mine, key=lambda f: limit[f])
        while todo:  # the most limited first: each takes its limit or an equal share of what is left
            share = left / len(todo)
            if limit[todo[0]] <= share:
                f = todo.pop(0)
                rate[f] = limit[f]
                left -= limit[f]
            else:
                for f in todo:
                    rate[f] = share
                todo = []
    return np.array(rate)


def acceptable_picks(have, recv, avail, owner, n_have_v, v, u, salt, whole=False):
    """The pieces libtorrent's picker may choose for v from u. Pieces whose every block v already
    asked of another peer come last (end-game only); when v asks u for whole pieces, pieces
    already partly downloaded come after untouched ones. Within the best of those tiers: in the
    initial mode (< 4 pieces) the random one (partial pieces first, then the smallest random key);
    afterwards any of the rarest pieces, a partial one if there is one at that rarity."""
    candidates = [p for p in range(have.shape[1]) if have[u, p] and not have[v, p]]
    if not candidates:
        return {-1}

    def tier(p):
        if owner[v, p] != 0:
            return 2
        return 1 if whole and recv[v, p] > 0 else 0

    top = min(tier(p) for p in candidates)
    candidates = [p for p in candidates if tier(p) == top]
    if n_have_v < 4:
        return {min(candidates, key=lambda p: (recv[v, p] == 0, mix64_py(int(salt), v, p)))}
    best = min((int(avail[v, p]), recv[v, p] == 0) for p in candidates)
    return {p for p in candidates if (int(avail[v, p]), recv[v, p] == 0) == best}


def whole_piece_run(have, recv, owner, v, u, x, n):
    """The run of whole pieces v asks u for around piece x (libtorrent's expand_piece): the
    longest stretch of adjacent pieces u has that nobody downloads for v, at most n long, reaching
    as far down as it can (but never below x - n + 1) and then up."""
    def free(q):
        return 0 <= q < have.shape[1] and have[u, q] and not have[v, q] and recv[v, q] == 0 and owner[v, q] == 0
    lo = x
    while lo - 1 >= max(0, x - n + 1) and free(lo - 1):
        lo -= 1
    hi = x + 1
    while hi < lo + n and free(hi):
        hi += 1
    return lo, hi


def picker_order_is_consistent(have, recv, avail, order, pos, bound, v):
    """order[v] is a permutation, pos its inverse, and every piece sits inside its priority bucket."""
    P = have.shape[1]
    if sorted(order[v]) != list(range(P)):
        return False
    if any(pos[v, order[v, i]] != i for i in range(P)):
        return False
    for i in range(P):
        p = order[v, i]
        b = 0 if have[v, p] else 1 + 2 * int(avail[v, p]) + (1 if recv[v, p] == 0 else 0)
        if not bound[v, b] <= i < bound[v, b + 1]:
            return False
    return True


def rank_for_unchoke(conns, now, quota_bytes, algo, salt, u, piece_bytes, total_bytes):
    """Order connections for the regular unchoke round with libtorrent's comparator, via sort keys.

    ``conns`` is a list of dicts with: nbr, down_round, up_round, unchoked, up_since_unchoke,
    last_unchoke_t, up_conn_total, n_have.
    """
    def key(c):
        k = [-c["down_round"]]
        if algo == 0:
            quota_done = c["unchoked"] and c["up_since_unchoke"] > quota_bytes and now - c["last_unchoke_t"] > 60
            k += [int(quota_done), -(c["up_round"] if c["unchoked"] else 0)]
        elif algo == 1:
            k += [-c["up_round"]]
        else:
            have_size = max(c["up_conn_total"], piece_bytes * c["n_have"])
            k += [-(abs((have_size - total_bytes // 2) * 2000) // total_bytes)]
        k += [c["last_unchoke_t"], mix64_py(int(salt), u, c["nbr"])]
        return tuple(k)

    return sorted(conns, key=key)


def availability_and_interest(have, nbr):
    """Recompute avail[u, p] and wants[u, k] from scratch from the have matrix and neighbour lists."""
    N, K = nbr.shape
    avail = np.zeros(have.shape, dtype=np.int64)
    wants = np.zeros((N, K), dtype=np.int64)
    for u in range(N):
        for k in range(K):
            v = nbr[u, k]
            if v >= 0:
                avail[u] += have[v]
                wants[u, k] = int(np.sum(have[v] & ~have[u]))
    return avail, wants
