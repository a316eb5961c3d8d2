"""The peer-exchange kernels (sim/kernels/pex.py) against their twin (tests/naive.py, PexTwin):
random small swarms whose connections open, close and are refused tick by tick; after every
step the two hold the same events, arrival ticks, first-message ticks and told lists, and hand
the engine the same peers in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from sim.kernels import pex
from tests.naive import PexTwin


class Swarm:
    """Connections as the engine keeps them: nbr[u, :deg[u]], both ends."""

    def __init__(self, rng, n):
        self.n = n
        self.deg = np.zeros(n, np.int64)
        self.nbr = np.full((n, n), -1, np.int64)
        self.active = rng.random(n) < 0.9
        self.is_seed = rng.random(n) < 0.2
        self.connectable = rng.random(n) < 0.7
        self.conn_limit = rng.integers(2, n, size=n).astype(np.int64)
        self.handshakes = rng.integers(0, 2, size=n).astype(np.int64)
        self.sec_phase = rng.integers(0, 2, size=n).astype(np.int64)

    def linked(self, u, v):
        return v in self.nbr[u, :self.deg[u]]

    def connect(self, u, v):
        for a, b in ((u, v), (v, u)):
            self.nbr[a, self.deg[a]] = b
            self.deg[a] += 1

    def disconnect(self, u, v):
        for a, b in ((u, v), (v, u)):
            row = [x for x in self.nbr[a, :self.deg[a]] if x != b]
            self.nbr[a, :] = -1
            self.nbr[a, :len(row)] = row
            self.deg[a] = len(row)

    def args(self):
        return self.deg, self.nbr, self.active, self.is_seed, self.connectable


def _state_of_kernel(ps, n):
    first = {(k // n, k % n): v for k, v in ps.first.items()}
    due = {(k // n, k % n): v for k, v in ps.due.items()}
    told = {}
    for k in ps.told.keys():
        told.setdefault((k // n // n, k // n % n), set()).add(k % n)
    return (sorted(pex.pending_events(ps)), first, due, told, list(ps.pending), list(ps.r0), list(ps.boost_left))


def _state_of_twin(tw):
    return (sorted(tw.events), tw.first, tw.due, {k: v for k, v in tw.told.items() if v}, tw.pending, tw.r0,
            tw.boost_left)


def _deliver_kernel(ps, sw, tick, now, dt):
    out_w, out_x = np.zeros(2, np.int64), np.zeros(2, np.int64)  # small: the full-buffer path runs too
    got = []
    while True:
        m, w, x = pex.pex_deliver(ps, *sw.args(), tick, now, dt, out_w, out_x)
        got += [(int(out_w[i]), int(out_x[i]), False) for i in range(m)]
        if w >= 0:
            got.append((w, x, True))
        elif m < len(out_w):
            return got


@pytest.mark.parametrize("seed", range(12))
def test_kernels_follow_the_twin(seed):
    """Random swarms of 10 peers, 400 ticks, a 'minute' of 7 ticks: same state after every step."""
    rng = np.random.default_rng(seed)
    n, per, tps, dt = 10, 7, 2, 0.5
    sw = Swarm(rng, n)
    ps = pex.new_pex_state(n)
    tw = PexTwin(n, per, tps, [int(p) for p in sw.sec_phase])
    for u in range(n):
        ps.boost_left[u] = tw.boost_left[u] = int(rng.integers(0, 3))
    delivered = 0
    for tick in range(400):
        now = tick * dt
        r = rng.random()
        u, v = (int(x) for x in rng.choice(n, size=2, replace=False))
        if r < 0.25 and not sw.linked(u, v) and sw.deg[u] < sw.conn_limit[u] and sw.deg[v] < sw.conn_limit[v]:
            sw.connect(u, v)
            pex.pex_connected(ps, *sw.args(), sw.conn_limit, sw.handshakes, sw.sec_phase, tps, per, u, v, tick)
            tw.connected(u, v, tick, *sw.args(), sw.conn_limit, sw.handshakes)
        elif r < 0.32 and sw.linked(u, v):
            sw.disconnect(u, v)
        elif r < 0.36:
            pex.note_refused(ps, u, v, now)
            tw.refused[(min(u, v), max(u, v))] = now
        elif r < 0.37:
            sw.active[u] = not sw.active[u]
        got = _deliver_kernel(ps, sw, tick, now, dt)
        assert got == tw.deliver(tick, now, dt, *sw.args())
        delivered += len(got)
        assert _state_of_kernel(ps, n) == _state_of_twin(tw)
        assert pex.next_event_tick(ps) == (tw.events[0][0] if tw.events else -1)
        assert ps.next_at[0] == pex.next_event_tick(ps)  # the copy the engine reads without a call
        assert not ps.mark.any()  # the scratch is left clear
    assert delivered > 0  # the case exercised delivery


def test_first_message_waits_for_a_second_connection():
    """A sender with one connection sends nothing on it; its second connection starts both
    connections' messages at its next second tick."""
    n = 3
    ps = pex.new_pex_state(n)
    deg = np.zeros(n, np.int64)
    nbr = np.full((n, n), -1, np.int64)
    ones = np.ones(n, np.bool_)
    no = np.zeros(n, np.bool_)
    phase = np.array([1, 0, 0], np.int64)  # peer 0's second ticks: the odd ticks
    limit = np.full(n, 10, np.int64)
    zero = np.zeros(n, np.int64)

    def connect(u, v, tick):
        for a, b in ((u, v), (v, u)):
            nbr[a, deg[a]] = b
            deg[a] += 1
        pex.pex_connected(ps, deg, nbr, ones, no, ones, limit, zero, phase, 2, 120, u, v, tick)

    connect(0, 1, 4)
    assert ps.first[0 * n + 1] == -1  # 0 has one connection: waits
    assert ps.r0[0] == 5  # its torrent's first tick with a connection, its second tick from 4
    connect(0, 2, 10)
    assert ps.first[0 * n + 2] == 11 and ps.first[0 * n + 1] == 11  # both at 0's second tick after 10
    # 0's first messages name 2 to 1 and 1 to 2, at tick 11
    assert sorted((e[0], e[2], e[3], e[4]) for e in pex.pending_events(ps)) == [(11, 1, 2, 0), (11, 2, 1, 0)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_heap_leaves_in_tick_then_sequence_order(seed):
    """The array heap (past its first size, so it grows) hands events back by (tick, sequence
    number), whatever order they came in, pushes and pops interleaved: as Python's sorted order."""
    rng = np.random.default_rng(seed)
    ps = pex.new_pex_state(4)
    waiting, out, want = [], [], []
    seq = 0
    for _ in range(600):
        if rng.random() < 0.7 or not waiting:
            seq += 1
            ev = (int(rng.integers(0, 40)), seq, int(rng.integers(0, 4)), int(rng.integers(0, 4)), int(rng.integers(0, 4)))
            pex._heap_push(ps, *ev)
            waiting.append(ev)
        else:
            waiting.sort()
            first = waiting.pop(0)
            want.append((first[0], first[2], first[3], first[4]))
            out.append(tuple(int(x) for x in pex._heap_pop(ps)))
        assert pex.next_event_tick(ps) == (min(waiting)[0] if waiting else -1)
    assert ps.heap[0].shape[0] > pex.HEAP_START_ROWS  # it grew
    assert sorted(pex.pending_events(ps)) == sorted(waiting)
    assert out == want and len(out) > 100
