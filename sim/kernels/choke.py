"""The choker, per peer session, once per one-second tick (libtorrent src/choker.cpp, session_impl).

Per tick, for each active peer u:
1. A peer that is no longer interested in u is choked at once; that frees a slot, which makes
   the next tick run a regular round (libtorrent's ``trigger_unchoke``).
2. Preemptive unchoke (fixed-slots choker): a peer that has just become interested is unchoked
   immediately while fewer than ``unchoke_slots_limit`` peers are unchoked; of peers interested in
   the same tick, the oldest connections first (the order their INTERESTED arrives: _age_before).
3. Every ``unchoke_interval``: the interested peers are ranked — bytes they sent u during the last
   round first (tit-for-tat), then the seeding algorithm (round_robin, fastest_upload or
   anti_leech) breaks ties, exactly in libtorrent's comparator order — and the top
   ``slots - optimistic`` are unchoked; an optimistic peer ranked in that set becomes regular and
   a new optimistic round is forced. Round counters are reset for every peer.
4. Every ``optimistic_unchoke_interval``: among interested peers that are choked or optimistic,
   those optimistically unchoked longest ago (ties: the oldest connection) get the optimistic slots; previous
   optimistic peers not chosen again are choked. Too many unchoked afterwards forces a regular
   round at the next tick.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..protocol import ANTI_LEECH, FASTEST_UPLOAD, ROUND_ROBIN  # noqa: F401 (ANTI_LEECH: the else branch)
from .hashing import mix64

BY_AGE, BY_RANK, BY_OPTIMISTIC_AGE = 0, 1, 2  # the orders _sort_slots knows
# The phases, the sort helper and its comparators are inlined into choke_peer at numba-IR level
# (inline="always"): as separate calls they would pass the peer and edge arrays by value on every
# comparison, which made a choke round about twice as slow (benchmarks/test_kernels.py).
QUOTA_MIN_UNCHOKED_S = 60.0  # round robin: a quota only counts after a minute unchoked
RATE_CHOKER_INITIAL_THRESHOLD = 1024
RATE_CHOKER_STEP = 2048


@njit(cache=True, inline="always")
def _unchoke(ea, u, k, now, optimistic):
    ea.unchoked[u, k] = True
    ea.optimistic[u, k] = optimistic
    ea.last_unchoke_t[u, k] = now
    ea.up_since_unchoke[u, k] = 0
    if optimistic:
        ea.last_opt_t[u, k] = now


@njit(cache=True, inline="always")
def _choke(ea, u, k):
    ea.unchoked[u, k] = False
    ea.optimistic[u, k] = False


@njit(cache=True)
def anti_leech_score(up_conn_total, n_have_v, piece_bytes, total_bytes):
    """libtorrent's anti-leech score: high for peers that just started or are nearly done."""
    have_size = max(up_conn_total, piece_bytes * n_have_v)
    x = (have_size - total_bytes // 2) * 2000
    return abs(x) // total_bytes


@njit(cache=True, inline="always")
def ranks_before(pa, ea, u, a, b, now, salt, piece_bytes, total_bytes):
    """True if u's connection in slot a is preferred for an upload slot over slot b."""
    da = ea.down_round[u, a]
    db = ea.down_round[u, b]
    if da != db:
        return da > db
    algo = pa.seed_algo[u]
    if algo == ROUND_ROBIN:
        quota = pa.quota_bytes[u]
        qa = ea.unchoked[u, a] and ea.up_since_unchoke[u, a] > quota and now - ea.last_unchoke_t[u, a] > QUOTA_MIN_UNCHOKED_S
        qb = ea.unchoked[u, b] and ea.up_since_unchoke[u, b] > quota and now - ea.last_unchoke_t[u, b] > QUOTA_MIN_UNCHOKED_S
        if qa != qb:
            return qb
        ca = ea.up_round[u, a] if ea.unchoked[u, a] else 0
        cb = ea.up_round[u, b] if ea.unchoked[u, b] else 0
        if ca != cb:
            return ca > cb
    elif algo == FASTEST_UPLOAD:
        ca = ea.up_round[u, a]
        cb = ea.up_round[u, b]
        if ca != cb:
            return ca > cb
    else:
        sa = anti_leech_score(ea.up_conn_total[u, a], pa.n_have[ea.nbr[u, a]], piece_bytes, total_bytes)
        sb = anti_leech_score(ea.up_conn_total[u, b], pa.n_have[ea.nbr[u, b]], piece_bytes, total_bytes)
        if sa != sb:
            return sa > sb
    la = ea.last_unchoke_t[u, a]
    lb = ea.last_unchoke_t[u, b]
    if la != lb:
        return la < lb
    # libtorrent's nth_element leaves the order of full ties unspecified: break them at random.
    return mix64(salt, u, ea.nbr[u, a]) < mix64(salt, u, ea.nbr[u, b])


@njit(cache=True, inline="always")
def _age_before(ea, u, a, b):
    """Preemptive unchoke order among peers that became interested in the same tick: the oldest
    connection first. A piece u completes is announced (torrent::we_have -> announce_piece) to
    its connections in the order of the torrent's connection list, a vector sorted by address,
    so the HAVEs go out — and the INTERESTED replies come back, each unchoked on arrival while a
    slot is free (peer_connection::incoming_interested -> maybe_unchoke_this_peer) — in address
    order, which follows allocation, that is connection, order (_opt_before). In two of the lab's
    three one-slot runs (validation/traces/one-slot) several peers' interest in the subject first
    shows in the same 100 ms sample, and the subject unchoked the oldest of them both times (in
    the third, one peer's interest showed first, and it was unchoked)."""
    return ea.conn_seq[u, a] < ea.conn_seq[u, b]


@njit(cache=True, inline="always")
def _opt_before(ea, u, a, b, salt):
    """Optimistic unchoke order: optimistically unchoked longest ago first; among equals (never
    unchoked so, say) the oldest connection. libtorrent partial-sorts its connection set, a
    std::set of connections in address order, and a sort that finds nothing to tell two apart
    keeps that order: the order the connections were allocated, as a rule. Measured on the
    recorded matrix (each peer's first optimistic unchoke with more than one candidate): the
    oldest in 20 of 33, where a random pick would give about 8."""
    la = ea.last_opt_t[u, a]
    lb = ea.last_opt_t[u, b]
    if la != lb:
        return la < lb
    return _age_before(ea, u, a, b)


@njit(cache=True, inline="always")
def _before(order, pa, ea, u, a, b, now, salt, piece_bytes, total_bytes):
    """True if slot a sorts before slot b in the given order."""
    if order == BY_RANK:
        return ranks_before(pa, ea, u, a, b, now, salt, piece_bytes, total_bytes)
    if order == BY_OPTIMISTIC_AGE:
        return _opt_before(ea, u, a, b, salt)
    return _age_before(ea, u, a, b)


@njit(cache=True)
def _sort_by_keys(cand, n, ka, kb, kc, kd, ke):
    """Insertion sort of slots cand[:n] by (ka, kb, kc, kd, ke)[slot], compared part by part, each
    ascending (stable, allocation-free). Plain arrays: a comparator taking the peer and edge tuples
    would reference-count every array of them at every comparison."""
    for i in range(1, n):
        x = cand[i]
        j = i - 1
        while j >= 0:
            y = cand[j]
            if ka[x] != ka[y]:
                before = ka[x] < ka[y]
            elif kb[x] != kb[y]:
                before = kb[x] < kb[y]
            elif kc[x] != kc[y]:
                before = kc[x] < kc[y]
            elif kd[x] != kd[y]:
                before = kd[x] < kd[y]
            else:
                before = ke[x] < ke[y]
            if not before:
                break
            cand[j + 1] = y
            j -= 1
        cand[j + 1] = x


class ChokeScratch(NamedTuple):
    """Work arrays of one peer's choke round, one entry per connection slot: allocated once per
    choke_all call (new_choke_scratch) and reused peer after peer, so no round allocates."""
    cand: np.ndarray  # i8 the slots being ranked
    sent: np.ndarray  # i8 the rate-based choker's bytes sent per candidate, sorted
    by_received: np.ndarray  # i8 _sort_slots' keys, part by part (see there)
    over_quota: np.ndarray  # i8
    by_sent: np.ndarray  # i8
    since: np.ndarray  # f8
    tiebreak: np.ndarray  # u8


@njit(cache=True)
def new_choke_scratch(K):
    """A ChokeScratch for peers of at most K connections."""
    return ChokeScratch(np.empty(K, np.int64), np.empty(K, np.int64), np.empty(K, np.int64), np.empty(K, np.int64),
                        np.empty(K, np.int64), np.empty(K, np.float64), np.empty(K, np.uint64))


@njit(cache=True, _nrt=False)
def _sort_slots(cand, n, order, pa, ea, u, now, salt, piece_bytes, total_bytes, work):
    """Sort u's connection slots cand[:n] in the given order: as _before would (insertion sort,
    stable), by a key per slot computed once — for BY_RANK ranks_before's comparisons, part by
    part: bytes received last round (more first), the round-robin quota flag (not over it first),
    bytes sent or the anti-leech score (more first), last unchoke (longer ago first), the random
    tie-break (tests/test_kernel_choke.py checks the keys against ranks_before). The keys go in
    ``work`` (a ChokeScratch), every part of every candidate's key written (0 where the order
    does not use it), so nothing is allocated."""
    if n < 2:
        return
    ka, kb, kc, kd, ke = work.by_received, work.over_quota, work.by_sent, work.since, work.tiebreak
    algo = pa.seed_algo[u]
    quota = pa.quota_bytes[u]
    for i in range(n):
        k = cand[i]
        # the last part: the random tie-break of a rank, else the oldest connection (_age_before)
        ke[k] = mix64(salt, u, ea.nbr[u, k]) if order == BY_RANK else np.uint64(ea.conn_seq[u, k])
        ka[k] = 0
        kb[k] = 0
        kc[k] = 0
        kd[k] = 0.0
        if order == BY_RANK:
            ka[k] = -ea.down_round[u, k]
            if algo == ROUND_ROBIN:
                over = ea.unchoked[u, k] and ea.up_since_unchoke[u, k] > quota and \
                    now - ea.last_unchoke_t[u, k] > QUOTA_MIN_UNCHOKED_S
                kb[k] = 1 if over else 0
                kc[k] = -(ea.up_round[u, k] if ea.unchoked[u, k] else 0)
            elif algo == FASTEST_UPLOAD:
                kc[k] = -ea.up_round[u, k]
            else:
                kc[k] = -anti_leech_score(ea.up_conn_total[u, k], pa.n_have[ea.nbr[u, k]], piece_bytes, total_bytes)
            kd[k] = ea.last_unchoke_t[u, k]
        elif order == BY_OPTIMISTIC_AGE:
            kd[k] = ea.last_opt_t[u, k]
    _sort_by_keys(cand, n, ka, kb, kc, kd, ke)


@njit(cache=True, _nrt=False)
def sort_descending(vals, n):
    """Sort vals[:n] in place, largest first (insertion sort: no allocation)."""
    for i in range(1, n):
        x = vals[i]
        j = i - 1
        while j >= 0 and vals[j] < x:
            vals[j + 1] = vals[j]
            j -= 1
        vals[j + 1] = x


@njit(cache=True, _nrt=False)
def _rate_based_slots(ea, u, cand, n, interval_s, sent):
    """rate_based_choker: slots = peers we upload to faster than a threshold rising 2 KiB/s each, + 1."""
    for i in range(n):
        sent[i] = ea.up_round[u, cand[i]]
    sort_descending(sent, n)
    threshold = RATE_CHOKER_INITIAL_THRESHOLD
    slots = 0
    for i in range(n):
        rate = sent[i] * 1000 // int(interval_s * 1000)
        if rate < threshold:
            break
        slots += 1
        threshold += RATE_CHOKER_STEP
    return slots + 1


@njit(cache=True, inline="always")
def _interest_changes(pa, ea, u, now, dt, cand):
    """Phase 1: choke peers no longer interested; collect the newly interested ones in cand.
    Returns (peers unchoked now, newly interested peers)."""
    n_unchoked = 0
    n_new = 0
    for k in range(pa.deg[u]):
        v = ea.nbr[u, k]
        interested = ea.wants[v, ea.rev[u, k]] > 0
        if not interested and ea.unchoked[u, k]:
            if ea.optimistic[u, k] and pa.next_opt_t[u] > now + dt:
                pa.next_opt_t[u] = now + dt
            _choke(ea, u, k)
            if pa.next_round_t[u] > now + dt:
                pa.next_round_t[u] = now + dt
        if interested and not ea.was_interested[u, k] and not ea.unchoked[u, k]:
            cand[n_new] = k
            n_new += 1
        ea.was_interested[u, k] = interested
        if ea.unchoked[u, k]:
            n_unchoked += 1
    return n_unchoked, n_new


@njit(cache=True, inline="always")
def _preemptive_unchoke(pa, ea, u, now, salt, cand, n_new, n_unchoked, slots, work):
    """Phase 2: the newly interested peers in cand[:n_new], oldest connection first, while slots are free."""
    _sort_slots(cand, n_new, BY_AGE, pa, ea, u, now, salt, 0, 1, work)
    for i in range(n_new):
        if n_unchoked >= slots:
            break
        _unchoke(ea, u, cand[i], now, False)
        n_unchoked += 1


@njit(cache=True, inline="always")
def _regular_round(pa, ea, u, now, salt, piece_bytes, total_bytes, cand, work, slots):
    """Phase 3: rank the interested peers and unchoke the best ``slots - optimistic``."""
    pa.next_round_t[u] = now + pa.interval_s[u]
    n = 0
    n_opt = 0
    for k in range(pa.deg[u]):
        if ea.optimistic[u, k]:
            n_opt += 1
        if ea.was_interested[u, k]:
            cand[n] = k
            n += 1
    allowed = slots
    if pa.rate_based[u]:
        allowed = _rate_based_slots(ea, u, cand, n, pa.interval_s[u], work.sent)
    _sort_slots(cand, n, BY_RANK, pa, ea, u, now, salt, piece_bytes, total_bytes, work)
    for k in range(pa.deg[u]):
        ea.down_round[u, k] = 0
        ea.up_round[u, k] = 0
    size = allowed - (n_opt if n_opt > 0 else pa.opt_slots[u])
    for i in range(n):
        k = cand[i]
        if size > 0:
            if not ea.unchoked[u, k]:
                _unchoke(ea, u, k, now, False)
            size -= 1
            if ea.optimistic[u, k]:  # promoted to a regular slot: pick a new optimistic peer
                ea.optimistic[u, k] = False
                pa.next_opt_t[u] = now
        elif ea.unchoked[u, k] and not ea.optimistic[u, k]:
            _choke(ea, u, k)


@njit(cache=True, inline="always")
def _optimistic_round(pa, ea, u, now, dt, salt, cand, slots, work):
    """Phase 4: the optimistic slots go to the interested peers optimistically unchoked longest ago."""
    pa.next_opt_t[u] = now + pa.opt_interval_s[u]
    n = 0
    for k in range(pa.deg[u]):
        if ea.was_interested[u, k] and (not ea.unchoked[u, k] or ea.optimistic[u, k]):
            cand[n] = k
            n += 1
    _sort_slots(cand, n, BY_OPTIMISTIC_AGE, pa, ea, u, now, salt, 0, 1, work)
    keep = min(n, pa.opt_slots[u])
    for i in range(keep):
        k = cand[i]
        if not ea.optimistic[u, k]:
            _unchoke(ea, u, k, now, True)
        else:
            cand[i] = -1 - k  # kept for another round: mark it so the loop below leaves it
    for k in range(pa.deg[u]):  # the previous optimistic peers not kept are choked again
        if ea.optimistic[u, k] and ea.last_opt_t[u, k] != now:
            kept = False
            for i in range(keep):
                if cand[i] == -1 - k:
                    kept = True
            if not kept:
                _choke(ea, u, k)
    n_unchoked = 0
    for k in range(pa.deg[u]):
        if ea.unchoked[u, k]:
            n_unchoked += 1
    if n_unchoked > slots and pa.next_round_t[u] > now + dt:
        pa.next_round_t[u] = now + dt


@njit(cache=True, inline="always")
def choker_idle(pa, u, now):
    """Nothing for u's choker to do this tick: no connected peer changed its interest and no round is due."""
    return choker_idle_arrays(pa.interest_changed, pa.next_round_t, pa.next_opt_t, u, now)


@njit(cache=True, _nrt=False)
def choker_idle_arrays(interest_changed, next_round_t, next_opt_t, u, now):
    """choker_idle on the arrays it reads: choke_all asks it of every peer every tick, and a call
    taking the PeerArrays tuple counts references on each of its arrays, in and out."""
    return not interest_changed[u] and now < next_round_t[u] and now < next_opt_t[u]


@njit(cache=True, _nrt=False)
def choke_peer(pa, ea, u, now, dt, salt, piece_bytes, total_bytes, work):
    """One tick of u's choker: the four phases of the module docstring, in libtorrent's order.
    ``work``: a ChokeScratch (new_choke_scratch) for u's connection slots."""
    slots = pa.slots[u]
    cand = work.cand
    if choker_idle(pa, u, now):
        return
    pa.interest_changed[u] = False
    n_unchoked, n_new = _interest_changes(pa, ea, u, now, dt, cand)
    if slots <= 0:
        return
    if not pa.rate_based[u] and n_new > 0 and n_unchoked < slots:
        _preemptive_unchoke(pa, ea, u, now, salt, cand, n_new, n_unchoked, slots, work)
    if now >= pa.next_round_t[u]:
        _regular_round(pa, ea, u, now, salt, piece_bytes, total_bytes, cand, work, slots)
    if now >= pa.next_opt_t[u]:  # after the regular round, as in session_impl::second_tick
        _optimistic_round(pa, ea, u, now, dt, salt, cand, slots, work)


@njit(cache=True, _nrt=False)
def choke_all(pa, ea, now, dt, salt, piece_bytes, total_bytes):
    """Run every active peer's choker for this tick.

    Runtime-free itself, like the other per-tick kernels: called from Python (the kernel benchmark,
    benchmarks/scaling.py's step-by-step tick), a kernel compiled with numba's runtime first wraps
    every array it is passed for the runtime — all 56 peer and edge arrays here, more than the
    work of a tick's choke rounds when they are not in cache. The one allocation, the work arrays,
    is made one call further in."""
    _choke_all_allocating(pa, ea, now, dt, salt, piece_bytes, total_bytes)


@njit(cache=True, _nrt=True)  # allocates the work arrays (and frees them on return)
def _choke_all_allocating(pa, ea, now, dt, salt, piece_bytes, total_bytes):
    choke_peers(pa, ea, now, dt, salt, piece_bytes, total_bytes, new_choke_scratch(ea.nbr.shape[1]))


@njit(cache=True, _nrt=False)
def choke_peers(pa, ea, now, dt, salt, piece_bytes, total_bytes, work):
    """choke_peer for every active peer whose choker has something to do, with one ChokeScratch."""
    for u in range(ea.nbr.shape[0]):
        # An idle choker is skipped here rather than by choke_peer's own check: a call passes
        # every peer and edge array (by value: a tuple of 56).
        if pa.active[u] and not choker_idle_arrays(pa.interest_changed, pa.next_round_t, pa.next_opt_t, u, now):
            choke_peer(pa, ea, u, now, dt, salt, piece_bytes, total_bytes, work)
