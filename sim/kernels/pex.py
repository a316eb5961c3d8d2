"""Peer exchange (libtorrent's ut_pex plugin, src/ut_pex.cpp): who learns of whom, and when.

The engine (sim/engine.py, "peer exchange") calls two kernels: ``pex_connected`` when a
connection opens, which works out when each end names the other to its other peers and its own
peers to the other end, and ``pex_deliver`` at a tick, which hands the engine the peers learnt by
then that it should connect to. docs/model.md, "Peer exchange", says what is modelled and why.

The bookkeeping is keyed by pairs of peers (which connection told whom of whom), so it lives in
numba's typed dictionaries (``PexState``), not in arrays: in a swarm of a thousand peers that
connect to most of the others, a connection names each new peer to a hundred others, two million
candidates in the 1,000-peer benchmark, most of them already on their way from another peer. As
Python dictionaries and a Python loop that took a third of the run. Keys of a pair (u, v) are
``u * N + v`` (``N`` peers); of a triple, ``(u * N + v) * N + w`` (exact in int64 for N below two
million). The kernels keep the order of the loops they replaced exactly (which sender names a peer
first decides its tick), so results are the same bit for bit; tests/naive.py has the pure-Python
twin and tests/test_kernel_pex.py compares the two.

The peers told of and not yet arrived wait in a binary heap kept in an int64 array (one row an
event: tick, sequence number, receiver, peer named, sender), ordered by (tick, sequence number). The
sequence numbers are unique, so the events leave in one order whatever the heap's layout. (It was a
typed list under ``heapq``: each of its element reads and writes counted references on the list,
which Linux perf showed among the runtime helpers' largest callers in the 1,000-peer benchmark.)
The array sits in a one-element typed list so that a push can replace it with a larger one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.typed import Dict, List

# a connection's messages and the torrent's rebuild of its "added" list come at most once a minute
# (hard-coded 60 s in ut_pex.cpp), and a receiving connection takes at most max_pex_peers
# (settings_pack, default 50) peers from its sender
PEX_INTERVAL_S = 60
MAX_PEX_PEERS = 50
# A peer-list entry whose connection closed is not tried again before min_reconnect_time
# (settings_pack, default 60 s) x (its failcount + 1) has passed (peer_list::find_connect_candidates).
MIN_RECONNECT_TIME_S = 60.0

EVENT_FIELDS = 5  # a heap row: (tick, seq, receiver, peer named, sender)
HEAP_START_ROWS = 64


class PexState(NamedTuple):
    """One replication's peer-exchange bookkeeping (``new_pex_state``)."""
    r0: np.ndarray  # i8 [N] first tick of each peer's torrent-level rebuilds (-1: no connection yet)
    boost_left: np.ndarray  # i8 [N] connect-boost attempts left after the first tracker response
    pending: np.ndarray  # i8 [N] peers told of and not yet arrived (superseded ones included)
    seq: np.ndarray  # i8 [1] events scheduled so far (the heap's tie-break)
    next_at: np.ndarray  # i8 [1] the tick of the heap's first event (-1: none): the engine reads it without a call
    n_events: np.ndarray  # i8 [1] rows of the heap in use
    mark: np.ndarray  # bool [N] scratch: one peer's connections, marked (pex_connected; all false between calls)
    first: Dict  # sender * N + receiver -> tick of the sender's first message (-1: waits for a second connection)
    told: Dict  # (receiver * N + sender) * N + peer -> 1: the peers a receiving connection was told of
    told_n: Dict  # receiver * N + sender -> how many
    due: Dict  # receiver * N + peer -> the tick it arrives (one event per pair followed)
    refused: Dict  # min * N + max -> f8 when a full peer closed their connection at its handshake
    heap: List  # [one i8 array [rows, EVENT_FIELDS]]: peers told of and not yet arrived, a binary heap on (tick, seq)


@njit(cache=True)
def new_pex_state(n):
    """Empty bookkeeping for ``n`` peers."""
    heap = List()
    heap.append(np.zeros((HEAP_START_ROWS, EVENT_FIELDS), np.int64))
    return PexState(np.full(n, -1, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(1, np.int64),
                    np.full(1, -1, np.int64), np.zeros(1, np.int64), np.zeros(n, np.bool_),
                    Dict.empty(types.int64, types.int64), Dict.empty(types.int64, types.int64),
                    Dict.empty(types.int64, types.int64), Dict.empty(types.int64, types.int64),
                    Dict.empty(types.int64, types.float64), heap)


@njit(cache=True)
def next_event_tick(ps):
    """The tick of the next peer to arrive (-1: none). The kernels that change the heap keep it in
    ``ps.next_at`` too (_sync), which the engine reads at every tick: a call passing the
    state's typed dictionaries cost about ten microseconds."""
    return ps.heap[0][0, 0] if ps.n_events[0] > 0 else -1


def pending_events(ps) -> list[tuple[int, int, int, int, int]]:
    """The events waiting in the heap, as (tick, seq, receiver, peer named, sender), in heap order
    (for tests and inspection; sort them for the order they leave in)."""
    rows = ps.heap[0][:int(ps.n_events[0])]
    return [tuple(int(x) for x in row) for row in rows]


@njit(cache=True, inline="always")
def _before(h, i, j):
    """Heap row i leaves before row j: (tick, seq) smaller."""
    return h[i, 0] < h[j, 0] or (h[i, 0] == h[j, 0] and h[i, 1] < h[j, 1])


@njit(cache=True, inline="always")
def _swap(h, i, j):
    for c in range(EVENT_FIELDS):
        t = h[i, c]
        h[i, c] = h[j, c]
        h[j, c] = t


@njit(cache=True, inline="always")
def _push(heap, n_events, at, seq, w, x, a):
    """Add an event to the heap (``heap[0]``, grown when full) and sift it up."""
    n = n_events[0]
    h = heap[0]
    if n == h.shape[0]:
        bigger = np.zeros((2 * n, EVENT_FIELDS), np.int64)
        bigger[:n] = h
        heap[0] = bigger
        h = bigger
    h[n, 0] = at
    h[n, 1] = seq
    h[n, 2] = w
    h[n, 3] = x
    h[n, 4] = a
    n_events[0] = n + 1
    i = n
    while i > 0:
        parent = (i - 1) // 2
        if not _before(h, i, parent):
            break
        _swap(h, i, parent)
        i = parent


@njit(cache=True)
def _heap_push(ps, at, seq, w, x, a):
    """Add an event to the heap (growing its array when full) and sift it up."""
    _push(ps.heap, ps.n_events, at, seq, w, x, a)


@njit(cache=True, inline="always")
def _pop(h, n_events):
    """Take the first event of the heap array ``h`` (not empty): (tick, receiver, peer named, sender)."""
    n = n_events[0] - 1
    at, w, x, a = h[0, 0], h[0, 2], h[0, 3], h[0, 4]
    for c in range(EVENT_FIELDS):
        h[0, c] = h[n, c]
    n_events[0] = n
    i = 0
    while True:
        first = i
        left = 2 * i + 1
        if left < n and _before(h, left, first):
            first = left
        if left + 1 < n and _before(h, left + 1, first):
            first = left + 1
        if first == i:
            break
        _swap(h, i, first)
        i = first
    return at, w, x, a


@njit(cache=True)
def _heap_pop(ps):
    """Take the first event (the heap is not empty): (tick, receiver, peer named, sender)."""
    return _pop(ps.heap[0], ps.n_events)


@njit(cache=True, inline="always")
def _sync(heap, n_events, next_at):
    """``next_at`` set to the heap's first tick (next_event_tick, on the members)."""
    next_at[0] = heap[0][0, 0] if n_events[0] > 0 else -1


@njit(cache=True, inline="always")
def refused_key(n, u, v):
    """``PexState.refused``'s key of the pair u, v (``n`` peers)."""
    return min(u, v) * n + max(u, v)


@njit(cache=True)
def note_refused(ps, u, v, now):
    """A connection between u and v closed at its handshake for a full connection limit, at
    ``now`` (compiled: a typed dictionary written from Python compiles its setter in every process)."""
    ps.refused[refused_key(ps.r0.shape[0], u, v)] = now


@njit(cache=True)
def second_tick_from(sec_phase, ticks_per_s, u, tick):
    """The first tick from ``tick`` on that is u's once-a-second tick."""
    return tick + (ticks_per_s - (tick + sec_phase[u]) % ticks_per_s) % ticks_per_s


@njit(cache=True)
def ceil_div(p, q):
    """ceil(p / q) for integers, q > 0 (Python's floor division, as numba's)."""
    return -((-p) // q)


@njit(cache=True, inline="always")
def _when(first_of, r0, n, a, w, since, per):
    """pex_when on the members (``first_of``: ``PexState.first``)."""
    first = first_of[a * n + w]
    if since < first:
        return first
    r = r0[a]
    rebuild = r if since < r else r + per * ((since - r) // per + 1)
    return first + per * max(1, ceil_div(rebuild - first, per))


@njit(cache=True)
def pex_when(ps, a, w, since, per):
    """The tick at which a names to w a peer connected to a since tick ``since``: in its first
    message to w (the full list of its connections) if it connected before it, else in the
    first message after a's next rebuild of its "added" list (the torrent's extension ticks
    before its connections', so a message in the rebuild's own tick carries it)."""
    return _when(ps.first, ps.r0, ps.r0.shape[0], a, w, since, per)


# ``PexState.due``'s default for a pair with no event on its way: later than any tick of a run
NOT_DUE = 1 << 62


@njit(cache=True, inline="always")
def _schedule(due, seq, pending, heap, n_events, next_at, n, w, x, a, at):
    """w is told of x by a at tick ``at`` (PexState's members, ``n`` peers); a peer already on its
    way to w from an earlier or the same tick is followed once, from the first to name it."""
    key = w * n + x
    if due.get(key, NOT_DUE) <= at:  # (one lookup: ``key in due and due[key] <= at``)
        return
    due[key] = at
    seq[0] += 1
    pending[w] += 1
    _push(heap, n_events, at, seq[0], w, x, a)
    _sync(heap, n_events, next_at)


@njit(cache=True)
def _linked(deg, nbr, u, v):
    for k in range(deg[u]):
        if nbr[u, k] == v:
            return True
    return False


@njit(cache=True)
def _usable(deg, nbr, active, is_seed, connectable, w, x):
    """w could connect to x if it learnt of it: x active, reachable (an unreachable peer's
    address, from the tracker or a peer, leads nowhere), not w, not a seed when w is one, and
    not connected to w already."""
    if x == w or not (active[x] and connectable[x]) or (is_seed[w] and is_seed[x]):
        return False
    return not _linked(deg, nbr, w, x)


@njit(cache=True)
def _room(conn_limit, deg, handshakes, pending, w):
    """How many more peers w could still connect to: its connection limit less its open and
    opening connections and the peers it has been told of and not yet tried. (The model keeps no
    peer list: a peer told of more than it can connect to would try the rest only when told again.)"""
    return conn_limit[w] - deg[w] - handshakes[w] - pending[w]


@njit(cache=True)
def pex_connected(ps, deg, nbr, active, is_seed, connectable, conn_limit, handshakes, sec_phase, ticks_per_s, per,
                  u, v, tick):
    """A connection u-v has opened at ``tick``: when each end names the other to its other
    peers, and its own peers to the other end. A connection's first message goes at its sender's
    first once-a-second tick after it opened at which the sender has more than one connection; it
    lists the sender's connected peers. Later ones, a minute apart, carry the peers added at the
    sender's last rebuild (every minute from its torrent's first tick). Only the peers the
    receiver could connect to, is not connected to and has room for are followed; whether they
    still are is checked again when they arrive (pex_deliver).

    The state's members are taken out of ``ps`` once (here and in pex_deliver), and the helpers
    they call take the members, not ``ps``: under numba's runtime each read of a member counted
    references on it, and numba's reference counting was among the largest costs of the
    10,000-peer benchmark outside the tick (`perf record python -m benchmarks.perf_symbols
    benchmarks/scenarios/peers-10000.toml`, then `perf report --sort sym`)."""
    n = deg.shape[0]
    r0, first_of, pending, mark = ps.r0, ps.first, ps.pending, ps.mark
    due, seq, heap, n_events, next_at = ps.due, ps.seq, ps.heap, ps.n_events, ps.next_at
    for side in range(2):
        a, b = (u, v) if side == 0 else (v, u)
        if r0[a] < 0:
            # the torrent's rebuilds of its list run every minute from its first tick with a
            # connection: a torrent with none goes inactive and is not ticked (torrent::want_tick)
            # until one comes, and its first tick then rebuilds at once
            r0[a] = second_tick_from(sec_phase, ticks_per_s, a, tick)
        first_tick = second_tick_from(sec_phase, ticks_per_s, a, tick + 1)
        if deg[a] >= 2:
            first_of[a * n + b] = first_tick
            if deg[a] == 2:  # a's first connection waited for a second one: its message goes now
                other = nbr[a, 0] if nbr[a, 0] != b else nbr[a, 1]
                if first_of.get(a * n + other, 0) < 0:
                    first_of[a * n + other] = first_tick
        else:
            first_of[a * n + b] = -1
    for side in range(2):
        a, b = (u, v) if side == 0 else (v, u)
        if deg[a] < 2:
            continue  # no other peers
        for j in range(deg[b]):  # b's connections, marked: who is linked to b, at one read each
            mark[nbr[b, j]] = True
        if connectable[b] and active[b]:  # a names b to its other peers
            for k in range(deg[a]):
                w = nbr[a, k]
                if w == b or not active[w] or (is_seed[b] and is_seed[w]) or mark[w]:
                    continue
                if _room(conn_limit, deg, handshakes, pending, w) > 0 and first_of[a * n + w] >= 0:
                    _schedule(due, seq, pending, heap, n_events, next_at, n, w, b, a,
                              _when(first_of, r0, n, a, w, tick, per))
        first = first_of[a * n + b]
        if first >= 0:  # ... and its other peers to b, in its first message
            room = min(_room(conn_limit, deg, handshakes, pending, b), MAX_PEX_PEERS)
            told = 0
            for k in range(deg[a]):
                if told >= room:
                    break
                x = nbr[a, k]
                # _usable(b, x), with b's connections marked
                if (x != b and active[x] and connectable[x] and not (is_seed[b] and is_seed[x])
                        and not mark[x]):
                    _schedule(due, seq, pending, heap, n_events, next_at, n, b, x, a, first)
                    told += 1
        for j in range(deg[b]):
            mark[nbr[b, j]] = False


@njit(cache=True)
def pex_deliver(ps, deg, nbr, active, is_seed, connectable, tick, now, dt, out_w, out_x):
    """The peers learnt by peer exchange up to this tick, in order: w adds each to its peer list
    and connects to it, at once while its torrent has connect-boost attempts left
    (torrent::do_connect_boost, called when a message added peers), else at its next
    once-a-second tick, with the peers of its tracker responses. Writes the latter to
    ``out_w``/``out_x`` and returns (how many, w, x): at the first w to connect at once (w, x)
    and the engine connects it and calls again; (-1, -1) when done or the buffers are full
    (then the engine calls again once it has read them)."""
    n = deg.shape[0]
    due, told, told_n, refused = ps.due, ps.told, ps.told_n, ps.refused
    seq, pending, heap, n_events, next_at, boost_left = ps.seq, ps.pending, ps.heap, ps.n_events, ps.next_at, ps.boost_left
    h = heap[0]  # (read again after a push, which may replace it with a larger array)
    m = 0
    while n_events[0] > 0 and h[0, 0] <= tick:
        if m >= out_w.shape[0]:
            _sync(heap, n_events, next_at)
            return m, -1, -1
        at, w, x, a = _pop(h, n_events)
        pending[w] -= 1
        key = w * n + x
        if due.get(key, NOT_DUE) != at:
            continue  # superseded by an earlier message naming x to w
        del due[key]
        if not (active[a] and active[w]) or not _linked(deg, nbr, a, w):
            continue  # the sender's connection to w has closed
        closed = refused.get(refused_key(n, w, x), -np.inf)  # (a refusal's time is never negative)
        if closed != -np.inf:
            if now < closed + MIN_RECONNECT_TIME_S - 1e-9:
                # in w's peer list, not a connect candidate before its reconnect time: tried then
                _schedule(due, seq, pending, heap, n_events, next_at, n, w, x, a,
                          math.ceil((closed + MIN_RECONNECT_TIME_S) / dt - 1e-9))
                h = heap[0]
                continue
        conn = w * n + a
        n_told = told_n.get(conn, 0)
        if conn * n + x in told or n_told >= MAX_PEX_PEERS:
            continue
        told[conn * n + x] = 1
        told_n[conn] = n_told + 1
        if not _usable(deg, nbr, active, is_seed, connectable, w, x):
            continue
        if boost_left[w] > 0:
            boost_left[w] -= 1
            _sync(heap, n_events, next_at)
            return m, w, x
        out_w[m] = w
        out_x[m] = x
        m += 1
    _sync(heap, n_events, next_at)
    return m, -1, -1
