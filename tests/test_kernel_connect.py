"""Opening a connection (sim/kernels/connect.py) against the engine's former Python (tests/naive.py:
handshake_ready_twin, open_tcp_twin, allowed_fast_twin): the same checks in the same order, the
same time to the float for the first messages, the same allowed fast sets; plus a case worked
out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.kernels import connect as connk
from sim.kernels import pex
from sim.kernels.bandwidth import QUOTA_BURST_S
from sim.state import new_edges, new_peers, new_pieces
from tests.naive import allowed_fast_twin, handshake_ready_twin, open_tcp_twin

CAPS = np.array([0.0, math.inf, 1000.0, 50_000.0, 1_250_000.0, 12_500_000.0])


def _channels(rng, n):
    up_cap = CAPS[rng.integers(0, len(CAPS), size=n)]
    up_quota = np.where(rng.random(n) < 0.5, 0.0, rng.random(n) * 3.0) * np.where(np.isfinite(up_cap), up_cap, 1.0)
    tick_phase = rng.random(n)
    is_seed = rng.random(n) < 0.3
    join_s = rng.random(n) * 20.0
    return up_cap, up_quota, tick_phase, is_seed, join_s


def test_first_messages_by_hand():
    """u limited to 1,000 B/s with an empty channel, its quota ticks at 0.5 s, 1.0 s, ...; v
    unlimited. u's handshake waits for u's first quota tick (0.5 s, which adds 500 B); v answers
    at once; u's bitfield and INTERESTED need the channel again: it holds 500 B, not more than a
    second's worth, so they wait for the next tick, 1.0 s. With 2,000 B saved (over a second of
    its limit) everything goes at once."""
    up_cap = np.array([1000.0, math.inf])
    up_quota = np.array([0.0, 0.0])
    phase = np.zeros(2)
    seed = np.zeros(2, np.bool_)
    join = np.zeros(2)
    assert connk.handshake_ready(up_cap, up_quota, phase, seed, join, 0, 1, 0.1, 0.0, 0.5, QUOTA_BURST_S,
                                 -1, 0.0, 0.0) == 1.0
    up_quota[0] = 2000.0
    assert connk.handshake_ready(up_cap, up_quota, phase, seed, join, 0, 1, 0.1, 0.0, 0.5, QUOTA_BURST_S,
                                 -1, 0.0, 0.0) == 0.1
    # the same peer as a session's subject: its session's channel (empty) rules, not its own
    assert connk.handshake_ready(up_cap, up_quota, phase, seed, join, 0, 1, 0.1, 0.0, 0.5, QUOTA_BURST_S,
                                 0, 1000.0, 0.0) == 1.0


@pytest.mark.parametrize("seed", range(6))
def test_first_messages_as_the_python_computed_them(seed):
    rng = np.random.default_rng(seed)
    n = 8
    up_cap, up_quota, tick_phase, is_seed, join_s = _channels(rng, n)
    for _ in range(300):
        u, v = rng.choice(n, size=2, replace=False)
        dt = float(rng.choice([0.1, 0.25, 0.5]))
        base = float(rng.integers(0, 200)) * dt
        t = base + float(rng.random()) * 3.0
        sub = int(rng.choice([-1, u, v]))
        limit, bank = (float(rng.choice([1000.0, 1e6])), float(rng.random() * 2e6)) if sub >= 0 else (0.0, 0.0)
        got = connk.handshake_ready(up_cap, up_quota, tick_phase, is_seed, join_s, u, v, t, base, dt, QUOTA_BURST_S,
                                    sub, limit, bank)
        want = handshake_ready_twin(up_cap, up_quota, tick_phase, is_seed, join_s, u, v, t, base, dt, QUOTA_BURST_S,
                                    {sub: (limit, bank)} if sub >= 0 else None)
        assert got == want  # to the bit: the engine's clock compares these


def _swarm(rng, n, k, pieces):
    pa = new_peers(n)
    ea = new_edges(n, k, 5)
    pc = new_pieces(n, np.full(pieces, 4, np.int32), 16384, k)
    pa.active[:] = rng.random(n) < 0.9
    pa.is_seed[:] = rng.random(n) < 0.2
    pa.up_cap[:], pa.up_quota[:], pa.tick_phase[:], _, _ = _channels(rng, n)
    pc.have[:] = rng.random((n, pieces)) < 0.4
    pc.have[pa.is_seed] = True
    pa.n_have[:] = pc.have.sum(axis=1)
    pa.handshakes[:] = rng.integers(0, 2, size=n)
    pa.sec_phase[:] = rng.integers(0, 2, size=n)
    return pa, ea, pc


@pytest.mark.parametrize("seed", range(5))
def test_connection_attempts_as_the_python_made_them(seed):
    """Random attempts in a swarm of 10: open_tcp's verdict is the twin's; an opened one counts as
    opening at both ends and is through at handshake_ready's time; a refused one is noted for
    peer exchange. open_connection then opens it (then pex_after_connect, as the engine calls it):
    slots, connection numbers and allowed fast sets as the engine's Python wrote them, the
    sequences drawn only when asked for; peer exchange's part notes exactly the refusals."""
    rng = np.random.default_rng(100 + seed)
    n, k, P = 10, 6, 12
    pa, ea, pc = _swarm(rng, n, k, P)
    ps = pex.new_pex_state(n)
    connectable = rng.random(n) < 0.8
    conn_limit = rng.integers(2, 8, size=n).astype(np.int64)
    join_s = rng.random(n) * 5.0
    fast_n = rng.choice([0, 3, 5, P], size=n).astype(np.int64)
    depth = min(int(fast_n.max()), P)
    rows = np.zeros((n, depth), np.int64)
    drawn = np.zeros(n, np.bool_)
    seqs = [rng.choice(P, size=depth, replace=False) for _ in range(n)]
    verdicts = set()
    codes = set()
    seq = 0
    for step in range(200):
        u, v = (int(x) for x in rng.choice(n, size=2, replace=False))
        extra_u, extra_v = (int(x) for x in rng.integers(0, 2, size=2))
        want = open_tcp_twin(pa.active, pa.is_seed, connectable, ea.nbr, pa.deg, pa.handshakes, conn_limit, u, v,
                             extra_u, extra_v)
        before = pa.handshakes.copy()
        t = step * 0.5 + 0.1
        ready_want = handshake_ready_twin(pa.up_cap, pa.up_quota, pa.tick_phase, pa.is_seed, join_s, u, v, t,
                                          step * 0.5, 0.5, QUOTA_BURST_S)
        code, ready = connk.open_tcp(pa.active, pa.is_seed, pa.deg, pa.handshakes, pa.up_cap, pa.up_quota,
                                     pa.tick_phase, ea.nbr, ps.refused, connectable, conn_limit, join_s, u, v, t,
                                     step * 0.5, 0.5, QUOTA_BURST_S, extra_u, extra_v, True, t, -1, 0.0, 0.0)
        verdicts.add(want)
        assert code == {"nothing": connk.NOTHING, "refused": connk.REFUSED, "opened": connk.OPENED}[want]
        assert (ps.refused.get(min(u, v) * n + max(u, v), -1.0) == t) == (want == "refused")
        if want != "opened":
            assert np.array_equal(pa.handshakes, before)
            continue
        assert ready == ready_want
        assert pa.handshakes[u] == before[u] + 1 and pa.handshakes[v] == before[v] + 1
        pa.handshakes[u] -= 1  # through: no longer opening
        pa.handshakes[v] -= 1
        deg_before = pa.deg.copy()
        refused_before = ps.refused.get(min(u, v) * n + max(u, v), -1.0)
        code, need = connk.open_connection(pa, ea, pc, connectable, conn_limit, fast_n, rows, drawn, u, v,
                                           extra_u, extra_v, seq + 1)
        assert ps.refused.get(min(u, v) * n + max(u, v), -1.0) == refused_before  # peer exchange's part: next
        connk.pex_after_connect(ps, code, pa.deg, ea.nbr, pa.active, pa.is_seed, connectable, conn_limit,
                                pa.handshakes, pa.sec_phase, 2, 120, u, v, step, t + 0.25)
        noted = ps.refused.get(min(u, v) * n + max(u, v), -1.0)
        assert (noted == t + 0.25) == (code == connk.REFUSED)
        codes.add(code)
        if code != connk.OPENED:
            assert np.array_equal(pa.deg, deg_before)
            continue
        assert ps.r0[u] >= 0 and ps.r0[v] >= 0  # both ends' peer exchange runs from their first connection
        seq += 1
        ku, kv = pa.deg[u] - 1, pa.deg[v] - 1
        assert ea.nbr[u, ku] == v and ea.nbr[v, kv] == u
        assert (ea.conn_seq[u, ku], ea.conn_seq[v, kv]) == (2 * seq, 2 * seq + 1)
        for side, (a, b, ka) in ((connk.NEED_FAST_V, (u, v, ku)), (connk.NEED_FAST_U, (v, u, kv))):
            if need & side:
                assert 0 < fast_n[a] < P and not drawn[b] and not pa.is_seed[b]
                rows[b] = seqs[b]
                drawn[b] = True
                connk.allow_fast(ea.fast, pc.have, pa.is_seed, fast_n, rows, drawn, a, b, ka)
            expect = allowed_fast_twin(pc.have, pa.is_seed, fast_n, seqs[b], ea.fast.shape[2], a, b)
            got = ea.fast[a, ka]
            if expect is None:
                assert (got == -1).all()
            else:
                assert got[:len(expect)].tolist() == expect.tolist() and (got[len(expect):] == -1).all()
    assert verdicts == {"nothing", "refused", "opened"}  # every branch was exercised
    assert connk.OPENED in codes


def test_a_full_session_refuses_at_the_handshake_and_peer_exchange_notes_it():
    """u is at its connection limit when the handshake is through (another connection opened
    meanwhile): open_connection refuses and changes nothing; pex_after_connect notes the pair,
    with the time, for min_reconnect_time; a NOTHING verdict notes nothing."""
    rng = np.random.default_rng(7)
    n = 4
    pa, ea, pc = _swarm(rng, n, 3, 12)
    pa.active[:] = True
    pa.is_seed[:] = False
    pa.handshakes[:] = 0
    ps = pex.new_pex_state(n)
    connectable = np.ones(n, np.bool_)
    conn_limit = np.full(n, 2, np.int64)
    rows, drawn, fast_n = np.zeros((n, 1), np.int64), np.zeros(n, np.bool_), np.zeros(n, np.int64)
    for w in (1, 2):  # u = 0 fills its two places
        code, _ = connk.open_connection(pa, ea, pc, connectable, conn_limit, fast_n, rows, drawn, 0, w, 0, 0, w)
        assert code == connk.OPENED
    deg = pa.deg.copy()
    code, need = connk.open_connection(pa, ea, pc, connectable, conn_limit, fast_n, rows, drawn, 3, 0, 0, 0, 3)
    assert (code, need) == (connk.REFUSED, 0) and np.array_equal(pa.deg, deg)
    assert len(ps.refused) == 0
    connk.pex_after_connect(ps, code, pa.deg, ea.nbr, pa.active, pa.is_seed, connectable, conn_limit, pa.handshakes,
                            pa.sec_phase, 2, 120, 3, 0, 40, 20.25)
    assert dict(ps.refused) == {0 * n + 3: 20.25}
    connk.pex_after_connect(ps, connk.NOTHING, pa.deg, ea.nbr, pa.active, pa.is_seed, connectable, conn_limit,
                            pa.handshakes, pa.sec_phase, 2, 120, 1, 2, 41, 20.75)
    assert dict(ps.refused) == {3: 20.25} and pex.pending_events(ps) == []


def _state_of(pa, ea, pc, ps):
    """Everything the connection kernels may change, as plain Python values."""
    arrays = [np.asarray(a).tolist() for a in (*pa, *ea, *pc, ps.r0, ps.boost_left, ps.pending, ps.seq, ps.next_at,
                                               ps.n_events, ps.mark)]
    return arrays, [dict(d) for d in (ps.first, ps.told, ps.told_n, ps.due, ps.refused)], pex.pending_events(ps)


def _one_by_one(pa, ea, pc, ps, pex_on, connectable, conn_limit, fast_n, rows, drawn, seqs, pairs, extras, seq,
                tick, now):
    """The engine's former loop: pair by pair, both ends' handshake count down, open_connection,
    then pex_after_connect (with peer exchange, a verdict other than NOTHING), then the sequences
    drawn and allow_fast called for what open_connection asks."""
    for (u, v), (xu, xv) in zip(pairs, extras):
        pa.handshakes[u] -= 1
        pa.handshakes[v] -= 1
        code, need = connk.open_connection(pa, ea, pc, connectable, conn_limit, fast_n, rows, drawn, u, v, xu, xv,
                                           seq + 1)
        if pex_on and code != connk.NOTHING:
            connk.pex_after_connect(ps, code, pa.deg, ea.nbr, pa.active, pa.is_seed, connectable, conn_limit,
                                    pa.handshakes, pa.sec_phase, 2, 120, u, v, tick, now)
        if code == connk.OPENED:
            seq += 1
            _draw_as_asked(pa, ea, pc, fast_n, rows, drawn, seqs, u, v, need)
    return seq


def _draw_as_asked(pa, ea, pc, fast_n, rows, drawn, seqs, u, v, need):
    if need & connk.NEED_FAST_V:
        rows[v], drawn[v] = seqs[v], True
        connk.allow_fast(ea.fast, pc.have, pa.is_seed, fast_n, rows, drawn, u, v, pa.deg[u] - 1)
    if need & connk.NEED_FAST_U:
        rows[u], drawn[u] = seqs[u], True
        connk.allow_fast(ea.fast, pc.have, pa.is_seed, fast_n, rows, drawn, v, u, pa.deg[v] - 1)


@pytest.mark.parametrize("pex_on", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_connections_through_at_a_tick_in_one_call_as_one_by_one(seed, pex_on):
    """connect_through, called as the engine calls it (again from the pair it returns, after
    drawing the sequence it asks for), leaves every array, peer exchange's dictionaries and its
    heap, and the connection numbers exactly as the two kernels called pair by pair do. Tight
    connection limits make each pair's verdict and peer exchange's room depend on the pairs
    before it (the handshake counts are taken down pair by pair, not all at once)."""
    n, k, P = 12, 6, 12
    setup = np.random.default_rng(500 + seed)
    connectable = setup.random(n) < 0.85
    conn_limit = setup.integers(2, 6, size=n).astype(np.int64)
    fast_n = setup.choice([0, 3, 5, P], size=n).astype(np.int64)
    depth = min(int(fast_n.max()), P)
    seqs = [setup.choice(P, size=depth, replace=False) for _ in range(n)]
    ends = []
    for _ in range(2):  # the same swarm twice: one for each way of calling
        pa, ea, pc = _swarm(np.random.default_rng(900 + seed), n, k, P)
        pa.handshakes[:] = 0
        ends.append((pa, ea, pc, pex.new_pex_state(n), np.zeros((n, depth), np.int64), np.zeros(n, np.bool_)))
    (pa1, ea1, pc1, ps1, rows1, drawn1), (pa2, ea2, pc2, ps2, rows2, drawn2) = ends
    draws = np.random.default_rng(seed)
    seq1 = seq2 = 0
    stops = codes = 0
    for tick in range(40):
        m = int(draws.integers(1, 9))
        pairs = [tuple(int(x) for x in draws.choice(n, size=2, replace=False)) for _ in range(m)]
        extras = [tuple(int(x) for x in draws.integers(0, 2, size=2)) for _ in range(m)]
        for pa in (pa1, pa2):  # opening: counted at both ends since open_tcp
            for u, v in pairs:
                pa.handshakes[u] += 1
                pa.handshakes[v] += 1
        now = tick * 0.5
        seq1 = _one_by_one(pa1, ea1, pc1, ps1, pex_on, connectable, conn_limit, fast_n, rows1, drawn1, seqs, pairs,
                           extras, seq1, tick, now)
        us = np.array([u for u, _ in pairs], np.int64)
        vs = np.array([v for _, v in pairs], np.int64)
        xu = np.array([x for x, _ in extras], np.int64)
        xv = np.array([x for _, x in extras], np.int64)
        i = 0
        while i < m:
            i, seq2, need = connk.connect_through(pa2, ea2, pc2, ps2, pex_on, connectable, conn_limit, fast_n, rows2,
                                                  drawn2, 2, 120, us, vs, xu, xv, i, seq2, tick, now)
            if need:
                stops += i < m
                u, v = pairs[i - 1]
                _draw_as_asked(pa2, ea2, pc2, fast_n, rows2, drawn2, seqs, u, v, need)
        assert seq2 == seq1
        assert _state_of(pa2, ea2, pc2, ps2) == _state_of(pa1, ea1, pc1, ps1)
        assert np.array_equal(rows2, rows1) and np.array_equal(drawn2, drawn1)
        codes = seq1
    assert codes > 10 and stops > 0  # connections opened, and a call stopped for a draw mid-list
    assert (len(pex.pending_events(ps1)) > 0) == pex_on


@pytest.mark.parametrize("seed", range(6))
def test_a_second_ticks_attempts_in_one_call_as_one_by_one(seed):
    """open_tcp_batch against open_tcp called attempt by attempt, as the engine's _open_tcp made
    them (a pair whose handshake is under way - opened earlier in the same second tick - is not
    tried again): the same codes and times, the same opening counts, the same refusals noted for
    peer exchange. The attempts repeat pairs both ways round, so an opened pair comes again; some
    sessions count extra connections; with a seed, the subject's channel is its session's."""
    rng = np.random.default_rng(700 + seed)
    n, k, P = 12, 6, 8
    pa, ea, pc = _swarm(rng, n, k, P)
    connectable = rng.random(n) < 0.8
    conn_limit = rng.integers(1, 5, size=n).astype(np.int64)
    join_s = rng.random(n) * 5.0
    extra = rng.integers(0, 2, size=n).astype(np.int64)
    subject, sub_limit, sub_bank = (0, 250_000.0, 400_000.0) if seed % 2 else (-1, 0.0, 0.0)
    m = 60
    us = rng.integers(0, n, size=m).astype(np.int64)
    vs = (us + rng.integers(1, n, size=m)) % n
    vs[m // 2:] = np.where(rng.random(m - m // 2) < 0.5, us[:m - m // 2], vs[m // 2:])  # pairs again, ...
    us[m // 2:] = np.where(vs[m // 2:] == us[:m - m // 2], vs[:m - m // 2], us[m // 2:])  # ... both ways round
    t, base = 3.2, 3.0
    hs_one, ps_one = pa.handshakes.copy(), pex.new_pex_state(n)
    want_code, want_ready, under_way = [], [], set()
    for u, v in zip(us.tolist(), vs.tolist()):
        if (min(u, v), max(u, v)) in under_way:
            want_code.append(connk.NOTHING)
            want_ready.append(0.0)
            continue
        sub = subject if subject >= 0 and subject in (u, v) else -1
        c, r = connk.open_tcp(pa.active, pa.is_seed, pa.deg, hs_one, pa.up_cap, pa.up_quota, pa.tick_phase,
                              ea.nbr, ps_one.refused, connectable, conn_limit, join_s, u, v, t, base, 0.5,
                              QUOTA_BURST_S, int(extra[u]), int(extra[v]), True, t, sub,
                              sub_limit if sub >= 0 else 0.0, sub_bank if sub >= 0 else 0.0)
        want_code.append(c)
        want_ready.append(r)
        if c == connk.OPENED:
            under_way.add((min(u, v), max(u, v)))
    hs_batch, ps_batch = pa.handshakes.copy(), pex.new_pex_state(n)
    code, ready = np.empty(m, np.int64), np.empty(m)
    n_open = connk.open_tcp_batch(pa.active, pa.is_seed, pa.deg, hs_batch, pa.up_cap, pa.up_quota, pa.tick_phase,
                                  ea.nbr, ps_batch.refused, connectable, conn_limit, join_s, us, vs, t, base, 0.5,
                                  QUOTA_BURST_S, extra, True, t, subject, sub_limit, sub_bank, code, ready)
    assert code.tolist() == want_code
    assert ready.tolist() == want_ready
    assert n_open == want_code.count(connk.OPENED) == len(under_way) > 0
    assert np.array_equal(hs_batch, hs_one)
    assert dict(ps_batch.refused) == dict(ps_one.refused)
    assert {connk.NOTHING, connk.REFUSED, connk.OPENED} <= set(want_code)
