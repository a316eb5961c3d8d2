"""Opening a connection: the checks a connection attempt passes, and when its first messages are through.

The engine (sim/engine.py, ``_open_tcp`` and ``_connect_through``) opens a connection in two steps,
as libtorrent does: u connects to v (``open_tcp``: both count it against connections_limit from
then on, and its handshake, bitfields and INTERESTED pass both ends' upload rate limiters,
``handshake_ready``), then, once those messages are through, the connection carries requests
(``open_connection``: the connection's state in both peers' rows and its allowed fast sets, then
``pex_after_connect``: its peer-exchange timing; ``connect_through`` runs both for every
connection through at a tick). The attempts a peer queued for its second tick (its tracker
replies' peers and peer exchange's) go to ``open_tcp`` in one call, ``open_tcp_batch``. A connection that finds a peer's session at its limit is closed at its
handshake (refused: peer exchange then keeps away from the pair for min_reconnect_time).

These were Python methods of the engine; in a swarm of a thousand peers they ran a third of a
million times and took about a tenth of the run, so they are compiled, with the same checks in
the same order (tests/naive.py ``handshake_ready_twin`` and ``ConnectTwin`` are the Python they
replace; tests/test_kernel_connect.py compares them). What stays in Python: the pairs whose
handshake is under way and the heap of their times (the engine's), a peer's connection to itself
(its slots come in as ``extra``), the session's hooks (the subject's connections in its other
torrents, and its session's upload channel), and the random draw of a peer's allowed fast
sequence, which is made the first time a connection needs it (``open_connection`` says which).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .pex import _linked, note_refused, pex_connected, refused_key
from .topology import connect

NOTHING = 0  # the attempt changed nothing (a peer gone, not connectable, already connected, no slot)
# REFUSED: a session at its connections_limit closed it at its handshake. Both peer lists stamp the
# other's entry (last_connected) and neither tries the other again for min_reconnect_time
# (peer_list::connection_closed, find_connect_candidates; a too_many_connections close is no
# failure, so no failcount): peer exchange keeps to it (pex.note_refused, pex_deliver); the
# tracker path need not (the model keeps no peer list).
REFUSED = 1
OPENED = 2  # open_tcp: its handshake is under way; open_connection: the connection is open
NEED_FAST_V = 1  # open_connection's second result: u's allowed fast set for v needs v's sequence drawn
NEED_FAST_U = 2  # ... and v's set for u, u's


@njit(cache=True, _nrt=False)
def handshake_ready(up_cap, up_quota, tick_phase, is_seed, join_s, u, v, t, base, dt, burst_s, subject,
                    sub_limit, sub_bank):
    """When the downloader's INTERESTED reaches its peer on a connection u opened to v at ``t``
    (the engine's ``_handshake_done`` says what each message waits for). The messages go in turn:
    u's handshake; v's handshake and bitfield; u's bitfield and INTERESTED (and, when u is a seed,
    v's INTERESTED). Each sender's channel starts from ``up_quota`` as the engine's last tick
    (``base``) left it, or from the sender's join if later, and gains a tick of its limit at each
    of its quota ticks while a message queues. ``subject`` >= 0: that peer's channel is its
    session's, ``sub_limit`` and ``sub_bank`` (-1: each peer's own)."""
    hops = 5 if is_seed[u] else 4
    b_u = b_v = since_u = since_v = 0.0  # each sender's bank and its time, once it has sent
    seen_u = seen_v = False
    for h in range(hops):
        s = u if h == 0 or h == 3 else v
        if s == subject:
            limit = sub_limit
            b0 = sub_bank
        else:
            limit = up_cap[s]
            b0 = up_quota[s]
        if not (0.0 < limit < np.inf):
            continue  # no limit (or a free rider's, which sends no payload): messages go at once
        if s == u and seen_u:
            b = b_u
            since = since_u
        elif s != u and seen_v:
            b = b_v
            since = since_v
        else:
            b = b0
            since = max(base, join_s[s])
        phase = tick_phase[s] * dt
        add = math.floor(limit * dt + 0.5)
        m = math.floor((since - phase) / dt + 1e-9) + 1
        while m * dt + phase <= t + 1e-12:
            if b <= limit:
                b = min(b + add, burst_s * limit)
            m += 1
        if b <= limit:  # it queues: out at the sender's next quota tick, which adds to the bank
            t = m * dt + phase
            b = min(b + add, burst_s * limit)
        if s == u:
            b_u = b
            since_u = t
            seen_u = True
        else:
            b_v = b
            since_v = t
            seen_v = True
    return t


@njit(cache=True)
def open_tcp(active, is_seed, deg, handshakes, up_cap, up_quota, tick_phase, nbr, refused, connectable, conn_limit,
             join_s, u, v, t, base, dt, burst_s, extra_u, extra_v, pex, now, subject, sub_limit, sub_bank):
    """u connects to v at ``t``: (NOTHING, 0) if either is gone, both are seeds, v takes no
    incoming connections, they are connected or u's session is full; (REFUSED, 0) if v's is full
    (v accepts it and closes it at its handshake); else (OPENED, when its first messages are
    through), both ends counting it as opening (``pa.handshakes``). ``extra_u``/``extra_v``: what
    else each session counts against its connections_limit (its connection to itself; the
    subject's connections in its session's other torrents). Takes the peer arrays it reads, and
    peer exchange's ``refused`` dictionary, rather than the state tuples: the engine calls it for
    every connection attempt, and passing the tuples (the peer exchange's typed dictionaries
    above all) cost more than the work."""
    if not (active[u] and active[v]) or (is_seed[u] and is_seed[v]):
        return NOTHING, 0.0
    if not connectable[v] or _linked(deg, nbr, u, v):  # (slots past deg hold -1: topology._release_slot)
        return NOTHING, 0.0
    # libtorrent counts a connection from the moment it is opened or accepted (num_connections())
    if deg[u] + handshakes[u] + extra_u >= conn_limit[u]:
        return NOTHING, 0.0
    if deg[v] + handshakes[v] + extra_v >= conn_limit[v]:
        if pex:  # (pex.note_refused)
            refused[refused_key(deg.shape[0], u, v)] = now
        return REFUSED, 0.0
    ready = handshake_ready(up_cap, up_quota, tick_phase, is_seed, join_s, u, v, t, base, dt, burst_s, subject,
                            sub_limit, sub_bank)
    handshakes[u] += 1
    handshakes[v] += 1
    return OPENED, ready


@njit(cache=True)
def open_tcp_batch(active, is_seed, deg, handshakes, up_cap, up_quota, tick_phase, nbr, refused, connectable,
                   conn_limit, join_s, us, vs, t, base, dt, burst_s, extra, pex, now, subject, sub_limit, sub_bank,
                   code, ready):
    """open_tcp for each attempt (us[i], vs[i]) in turn, as the engine made them one call each (its
    queued connects at a second tick: thousands a tick in a swarm of ten thousand, most refused by
    a full session). ``extra[p]``: what else p's session counts against its connections_limit (the
    engine's ``_extra``, which nothing here changes). ``subject`` >= 0: the subject's upload channel
    is its session's (``sub_limit``, ``sub_bank``) for attempts it takes part in. The engine leaves
    out the pairs whose handshake was already under way; a pair opened earlier in the batch is
    skipped as it would be there (code NOTHING). Writes each attempt's code and, if OPENED, when its
    first messages are through."""
    m = us.shape[0]
    opened = np.empty(m, np.int64)  # the attempts opened so far in this batch (few)
    n_open = 0
    for i in range(m):
        u = us[i]
        v = vs[i]
        code[i] = NOTHING
        ready[i] = 0.0
        skip = False
        for jj in range(n_open):
            j = opened[jj]
            if (us[j] == u and vs[j] == v) or (us[j] == v and vs[j] == u):
                skip = True
                break
        if skip:
            continue
        sub = subject if subject >= 0 and (u == subject or v == subject) else -1
        c, r = open_tcp(active, is_seed, deg, handshakes, up_cap, up_quota, tick_phase, nbr, refused, connectable,
                        conn_limit, join_s, u, v, t, base, dt, burst_s, extra[u], extra[v], pex, now, sub,
                        sub_limit, sub_bank)
        code[i] = c
        ready[i] = r
        if c == OPENED:
            opened[n_open] = i
            n_open += 1
    return n_open


@njit(cache=True, inline="always")
def _fast_set(fast, have, is_seed, fast_n, fast_rows, fast_drawn, u, v, k):
    """u's allowed fast set for v in u's slot k (the engine's ``_allow_fast``): the first
    ``fast_n[u]`` pieces of v's sequence, less those v has; every piece v lacks if the set is as
    large as the torrent. False if v's sequence is not drawn yet (nothing written)."""
    a = fast_n[u]
    if a <= 0 or is_seed[v]:
        return True
    P = have.shape[1]
    depth = fast.shape[2]
    n = 0
    if a >= P:
        for q in range(P):
            if n >= depth:
                break
            if not have[v, q]:
                fast[u, k, n] = q
                n += 1
        return True
    if not fast_drawn[v]:
        return False
    for j in range(a):
        if n >= depth:
            break
        q = fast_rows[v, j]
        if not have[v, q]:
            fast[u, k, n] = q
            n += 1
    return True


@njit(cache=True)
def allow_fast(fast, have, is_seed, fast_n, fast_rows, fast_drawn, u, v, k):
    """_fast_set, once v's sequence is drawn."""
    _fast_set(fast, have, is_seed, fast_n, fast_rows, fast_drawn, u, v, k)


@njit(cache=True, _nrt=False)
def open_connection(pa, ea, pc, connectable, conn_limit, fast_n, fast_rows, fast_drawn, u, v, extra_u, extra_v, seq):
    """The connection u opened to v is through its handshake: open it. Returns (code, need):
    NOTHING (a peer gone, both seeds, v not connectable, already connected, no slot), REFUSED (a
    session at its limit: connections open, not opening, count now) or OPENED; ``need``: the
    allowed fast sets not yet written because a sequence is not drawn (NEED_FAST_V, NEED_FAST_U;
    the engine draws it and calls allow_fast). An opened connection's ends get connection numbers
    2 * seq and 2 * seq + 1 (u's first). Peer exchange's part is pex_after_connect's.

    Without numba's runtime (sim/kernels/__init__.py): it touches no typed dictionary, and with
    the runtime every call counted references up and down (atomic operations) on each array of
    the state tuples it was passed and passed on: about 3 % of the 1,000-peer benchmark, measured
    side by side (`python -m benchmarks.scaling benchmarks/scenarios/peers-1000.toml`)."""
    if not (pa.active[u] and pa.active[v]) or (pa.is_seed[u] and pa.is_seed[v]):
        return NOTHING, 0
    if not connectable[v]:  # the outgoing connection u -> v cannot be accepted
        return NOTHING, 0
    # at the handshake's end its own pair no longer counts as opening; others opening do not bar it
    if pa.deg[u] + extra_u >= conn_limit[u] or pa.deg[v] + extra_v >= conn_limit[v]:
        return REFUSED, 0
    if _linked(pa.deg, ea.nbr, u, v):
        return NOTHING, 0
    if not connect(pa, ea, pc, u, v):
        return NOTHING, 0
    ku = pa.deg[u] - 1
    kv = pa.deg[v] - 1
    # each end its own number, the connecting end first: serve_order's keys are then unique, so
    # no sort's handling of ties (numba's or numpy's) can decide an order
    ea.conn_seq[u, ku] = 2 * seq
    ea.conn_seq[v, kv] = 2 * seq + 1
    need = 0
    if not _fast_set(ea.fast, pc.have, pa.is_seed, fast_n, fast_rows, fast_drawn, u, v, ku):
        need |= NEED_FAST_V
    if not _fast_set(ea.fast, pc.have, pa.is_seed, fast_n, fast_rows, fast_drawn, v, u, kv):
        need |= NEED_FAST_U
    return OPENED, need


@njit(cache=True)
def pex_after_connect(ps, code, deg, nbr, active, is_seed, connectable, conn_limit, handshakes, sec_phase,
                      ticks_per_s, per, u, v, tick, now):
    """Peer exchange's part of open_connection's verdict ``code``: a refusal noted (the pair kept
    apart for min_reconnect_time), an opened connection's ends told to each other's peers."""
    if code == REFUSED:
        note_refused(ps, u, v, now)
    elif code == OPENED:
        pex_connected(ps, deg, nbr, active, is_seed, connectable, conn_limit, handshakes, sec_phase, ticks_per_s,
                      per, u, v, tick)


@njit(cache=True)
def connect_through(pa, ea, pc, ps, pex, connectable, conn_limit, fast_n, fast_rows, fast_drawn, ticks_per_s, per,
                    us, vs, extra_u, extra_v, start, seq, tick, now):
    """The connections ``us[i]`` opened to ``vs[i]`` are through their handshakes, from ``i =
    start`` on, in order: each pair no longer counts as opening at either end, then
    open_connection and, with peer exchange on (``pex``), pex_after_connect for any verdict other
    than NOTHING: the same state changes in the same order as the two calls made pair by pair.
    ``seq``: the last connection number used; ``extra_u``/``extra_v``: each pair's ``extra``.
    Returns (the next pair to take, the last connection number used, need): it stops after an
    opened connection whose allowed fast sets wait for a sequence to be drawn (need != 0,
    open_connection's), and the engine draws it, calls allow_fast and calls again from the pair
    returned.

    One call for all the connections through at a tick, not two per connection (about 103,000
    through their handshakes in the 1,000-peer benchmark), each unpacking the state tuples: about
    3 % of that benchmark, measured side by side (`python -m benchmarks.scaling
    benchmarks/scenarios/peers-1000.toml`, alternating runs). What is left here is the work
    itself: topology.connect's availability counts and peer exchange's bookkeeping."""
    # the arrays read for every pair, taken out of the state tuples once: this kernel runs with
    # numba's runtime (peer exchange's typed dictionaries), under which each read of a member
    # counts references on it
    handshakes, deg, nbr, active, is_seed, sec_phase = pa.handshakes, pa.deg, ea.nbr, pa.active, pa.is_seed, pa.sec_phase
    for i in range(start, us.shape[0]):
        u = us[i]
        v = vs[i]
        handshakes[u] -= 1
        handshakes[v] -= 1
        code, need = open_connection(pa, ea, pc, connectable, conn_limit, fast_n, fast_rows, fast_drawn, u, v,
                                     extra_u[i], extra_v[i], seq + 1)
        if pex and code != NOTHING:
            pex_after_connect(ps, code, deg, nbr, active, is_seed, connectable, conn_limit, handshakes, sec_phase,
                              ticks_per_s, per, u, v, tick, now)
        if code == OPENED:
            seq += 1
            if need != 0:
                return i + 1, seq, need
    return us.shape[0], seq, 0
