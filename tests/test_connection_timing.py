"""When connections open and who is served first (sim/engine.py, kernels/transfer.serve_order)."""

import numpy as np
import pytest

from sim.engine import SwarmRun
from sim.kernels.transfer import serve_order
from sim.state import new_edges, new_peers
from tests.conftest import make_scenario


def _first_connection_s(sc, seed):
    run = SwarmRun(sc, 0, np.random.SeedSequence(seed), trace_connections=True)
    r = run.run()
    conns = r.extra["connections"]
    first = {}
    for t, a, b in zip(conns["t_s"], conns["local"], conns["remote"]):
        first.setdefault(int(a), float(t))
    return run, first


def test_a_new_peers_first_connections_open_once_their_first_messages_are_through():
    """torrent_connect_boost: the peers of a torrent's first tracker response are connected at once,
    not at the session's next second tick; a connection carries requests once its handshake,
    bitfield and INTERESTED have passed both ends' rate limiters (an empty channel lets a message
    out only at its next quota tick): the lab's first INTERESTED 0.6-1.7 s after joining."""
    sc = make_scenario(**{"subject.join_s": 3.2, "simulation.horizon_s": 60})
    for seed in range(6):
        run, first = _first_connection_s(sc, seed)
        opened = first[0]  # the start of the tick in which it opened
        # not in the tick it joined in (its INTERESTED waits for at least one of its quota ticks
        # and then half a second more), and within two seconds
        assert 3.5 - 1e-9 <= opened <= 3.2 + 2.0 + 1e-9, (seed, opened)


def test_without_connect_boost_a_new_peer_connects_at_its_sessions_second_tick():
    """torrent_connect_boost = 0: libtorrent opens outgoing connections in the once-a-second part of
    on_tick, so the first connection opens no earlier than the peer's first second tick after it
    joined; with the default boost (30) never later, and earlier for some seeds."""
    earlier = 0
    for seed in range(6):
        sc = make_scenario(**{"subject.join_s": 3.2, "simulation.horizon_s": 60,
                              "subject.libtorrent.torrent_connect_boost": 0})
        run, first = _first_connection_s(sc, seed)
        phase = int(run.pa.sec_phase[0])
        tick = 7  # the first tick to end after 3.2 s
        while (tick + phase) % run.ticks_per_s:
            tick += 1
        assert first[0] >= tick * run.dt - 1e-9, (seed, first[0], tick)
        _, boosted = _first_connection_s(sc.with_changes(**{"subject.libtorrent.torrent_connect_boost": 30}), seed)
        assert boosted[0] <= first[0]
        earlier += boosted[0] < first[0]
    assert earlier > 0


def test_connect_boost_reaches_a_real_session():
    import libtorrent as lt

    from forensics.lab.plan import scenario_settings
    from sim.scenario import LibtorrentSettings

    assert LibtorrentSettings().torrent_connect_boost == lt.default_settings()["torrent_connect_boost"]
    s = scenario_settings(LibtorrentSettings(torrent_connect_boost=0))
    ses = lt.session({**s, "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                      "enable_upnp": False, "enable_natpmp": False})
    assert ses.get_settings()["torrent_connect_boost"] == 0


def test_the_first_messages_pass_each_senders_rate_limiter_by_hand():
    """u (1 MB/s, empty channel, quota ticks at x.1 s) connects at 5.15 s to v (1 MB/s, 2 MB saved,
    ticks at x.3 s). u's handshake waits for u's tick at 5.6 (u's channel had 0.5 MB from its
    tick at 5.1, no more than its limit: need_queueing), which adds 0.5 MB (1 MB); v's answer
    goes at once (2 MB > 1 MB); u's bitfield and INTERESTED wait again (1 MB is not more than the
    limit) for u's tick at 6.1: the connection carries requests from 6.1 s."""
    run = SwarmRun(make_scenario(), 0, np.random.SeedSequence(1))
    pa = run.pa
    u, v = 2, 3
    pa.is_seed[u] = pa.is_seed[v] = False
    pa.up_cap[u] = pa.up_cap[v] = 1e6
    pa.up_quota[u], pa.up_quota[v] = 0.0, 2e6
    pa.tick_phase[u], pa.tick_phase[v] = 0.2, 0.6
    run._last_tick = 10  # the banks are as the tick at 5.0 s left them
    assert run._handshake_done(u, v, 5.15) == pytest.approx(6.1)
    pa.up_quota[u] = 1.5e6  # a channel with more than a second of its limit lets everything out at once
    assert run._handshake_done(u, v, 5.15) == pytest.approx(5.15)
    pa.up_quota[u], pa.up_cap[u] = 0.0, np.inf  # an unlimited channel never queues (need_queueing)
    assert run._handshake_done(u, v, 5.15) == pytest.approx(5.15)


def _two_peers(u_quota, v_quota, join_u=0.0):
    """u (peer 2) and v (peer 3), leechers at 1 MB/s with no connections, ticking at x.1 s and
    x.3 s; the banks as the engine's tick at 5.0 s left them."""
    run = SwarmRun(make_scenario(), 0, np.random.SeedSequence(1))
    pa = run.pa
    u, v = 2, 3
    pa.is_seed[u] = pa.is_seed[v] = False
    pa.up_cap[u] = pa.up_cap[v] = 1e6
    pa.up_quota[u], pa.up_quota[v] = u_quota, v_quota
    pa.tick_phase[u], pa.tick_phase[v] = 0.2, 0.6
    pa.deg[u] = pa.deg[v] = 0
    run.pop.join_s[u] = join_u
    run.pop.join_s[v] = 0.0
    run._last_tick = 10
    return run, u, v


def test_the_answering_side_sends_its_handshake_and_its_bitfield_at_two_of_its_ticks():
    """u's channel holds 1.5 MB (more than a second: everything of u's goes at once). v holds
    0.2 MB: its handshake waits for its tick at 5.3 (0.2 MB, not more than its limit), which adds
    0.5 MB (0.7 MB); its bitfield, written behind the handshake's queued request, waits for the
    next grant, at 5.8 (1.2 MB after it); u's INTERESTED goes at once: requests from 5.8 s (one
    request for both messages would have let them out together at 5.3)."""
    run, u, v = _two_peers(1.5e6, 0.2e6)
    assert run._handshake_done(u, v, 5.15) == pytest.approx(5.8)
    run.pa.up_quota[v] = 0.6e6  # v's tick at 5.3 takes it past a second: its bitfield goes at once
    assert run._handshake_done(u, v, 5.15) == pytest.approx(5.3)


def test_a_newcomers_channel_has_no_ticks_from_before_it_joined():
    """u joins at 5.15 with an empty channel (its tick at 5.1 came before it existed); v has nothing
    saved and ticks at x.45 s. u's handshake goes at its tick at 5.6 (0.5 MB); v's tick at 5.45
    gives it 0.5 MB, its handshake waits for 5.95 (1.0 MB), its bitfield for 6.45; u's tick at
    6.1 brings it to 1.0 MB, not more than its limit, so u's INTERESTED waits for 6.6. Counting
    the tick at 5.1 (1.5 MB by 6.1) would let it out at once at 6.45."""
    run, u, v = _two_peers(0.0, 0.0, join_u=5.15)
    run.pa.tick_phase[v] = 0.9
    assert run._handshake_done(u, v, 5.15) == pytest.approx(6.6)
    run.pop.join_s[u] = 4.0  # a peer that was there before the engine's last tick: its tick at 5.1 counts
    assert run._handshake_done(u, v, 5.15) == pytest.approx(6.45)


def _four_transfers():
    """Downloader 0's three connections (slots 0..2, from uploaders 2, 3, 3) and downloader 1's
    slot 0 (from uploader 2); each uploader has sent on each in its last second."""
    pa, ea = new_peers(4), new_edges(4, 3)
    for v, k, u, ku in ((0, 0, 2, 0), (0, 1, 3, 0), (0, 2, 3, 1), (1, 0, 2, 1)):
        ea.nbr[v, k], ea.rev[v, k], ea.nbr[u, ku], ea.rev[u, ku] = u, ku, v, k
        ea.up_last_s[u, ku] = 16384.0
    ea.conn_seq[0, :3] = [5, 2, 9]
    ea.conn_seq[1, 0] = 1
    dst = np.array([0, 0, 0, 1], np.int64)
    slot = np.array([0, 1, 2, 0], np.int64)
    return pa, ea, dst, slot


def test_fastest_then_oldest_connection_is_served_first():
    """The serve order: higher download rate from the uploader first; equal rates by age."""
    pa, ea, dst, slot = _four_transfers()
    ea.rate_avg[0, :3] = [1000.0, 1000.0, 50_000.0]
    ea.rate_avg[1, 0] = 0.0
    order = serve_order(pa, ea, dst, slot, 4)
    assert order.tolist() == [2, 1, 0, 3]


def test_new_requests_come_last_in_their_downloaders_tick_order():
    """Transfers on which the uploader has sent nothing in this second or the last (new requests)
    come after all others, in the order their downloaders' quota ticks fall (tick_phase), whatever
    their age; a downloader's own new requests by age."""
    pa, ea, dst, slot = _four_transfers()
    ea.rate_avg[0, :3] = [1000.0, 1000.0, 50_000.0]
    ea.up_last_s[2, 0] = 0.0  # uploader 2 -> downloader 0 (transfer 0): new
    ea.up_last_s[2, 1] = 0.0  # uploader 2 -> downloader 1 (transfer 3): new
    pa.tick_phase[:2] = [0.7, 0.2]  # downloader 1 ticks first
    assert serve_order(pa, ea, dst, slot, 4).tolist() == [2, 1, 3, 0]
    pa.tick_phase[:2] = [0.1, 0.2]  # downloader 0 ticks first
    assert serve_order(pa, ea, dst, slot, 4).tolist() == [2, 1, 0, 3]
    ea.up_sec[2, 0] = 16384.0  # sent this second: no longer new, by its rate again
    assert serve_order(pa, ea, dst, slot, 4).tolist() == [2, 1, 0, 3]  # 1000 B/s: older first
