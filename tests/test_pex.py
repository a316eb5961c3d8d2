"""Peer exchange (libtorrent's ut_pex, src/ut_pex.cpp; docs/model.md, "Peer exchange").

A leecher that cannot be reached and joined before the subject never hears of it from the
tracker until its next announce; in libtorrent it learns of it from its other peers. The timing
rules are worked out by hand from ut_pex.cpp: a connection's first message (the full list of the
sender's connections) at the sender's first once-a-second tick after the connection opened at
which it has more than one connection; later ones a minute apart, carrying the peers added at the
sender's last rebuild of its list (every minute from its torrent's first tick with a connection; the torrent's
extension ticks before its connections', so a message in the rebuild's own tick carries it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine import simulate_replication
from sim.kernels.pex import new_pex_state, pex_when
from sim.results import ROLE_LEECHER, ROLE_SEED
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LAB_SMALL = ROOT / "examples" / "lab-small.toml"
SUBJECT = 0

# every leecher unreachable, announcing again only after 30 minutes, a slow seed (the swarm lasts
# minutes), and the subject joining 10 s after them: only the seed can tell the leechers of it
UNREACHABLE = {
    "swarm.connectable_share": 0.0,
    "swarm.announce_interval_s": 1800,
    "swarm.seeds.upload": 250_000,
    "subject.join_s": 10,
    "simulation.horizon_s": 600,
}


def _scenario(**changes):
    return load_scenario(LAB_SMALL).with_changes(**{**UNREACHABLE, **changes})


def test_when_a_peer_is_named_follows_ut_pex_by_hand():
    """dt 0.5 s: a minute is 120 ticks. The sender a rebuilds its list at ticks 3, 123, 243, ...;
    its first message to w went at tick 11, so the later ones at 131, 251, ..."""
    ps = new_pex_state(4)
    a, w, per = 1, 2, 120
    ps.r0[a] = 3
    ps.first[a * 4 + w] = 11
    assert pex_when(ps, a, w, 5, per) == 11  # connected before the first message: in its full list
    assert pex_when(ps, a, w, 11, per) == 131  # opened in the first message's tick: the next rebuild (123), sent at 131
    assert pex_when(ps, a, w, 122, per) == 131
    assert pex_when(ps, a, w, 123, per) == 251  # opened in a rebuild's tick, after it: the rebuild at 243
    assert pex_when(ps, a, w, 130, per) == 251
    ps.first[a * 4 + w] = 123  # first message in a rebuild's own tick
    assert pex_when(ps, a, w, 123, per) == 243  # the next rebuild (243) and the message of that tick


def _connected_to_subject(result) -> dict[int, float]:
    """Each peer's first trace sample with a connection to the subject."""
    tr = result.extra["connections"]
    t, local, remote = (np.asarray(tr[c]) for c in ("t_s", "local", "remote"))
    first = {}
    for ti, lo, re in zip(t, local, remote):
        if lo == SUBJECT and re not in first:
            first[int(re)] = float(ti)
    return first


def test_unreachable_leechers_meet_the_subject_through_the_seed():
    """Public torrent: each unreachable leecher connects to the subject, between the seed's first
    rebuild after the subject joined (its torrent ticks from about 0 s, so at about 60 s) and one
    minute after that (the seed's message to it); it then gets data from the subject."""
    sc = _scenario()
    res = simulate_replication(sc, 0, np.random.SeedSequence(7), trace_connections=True)
    first = _connected_to_subject(res)
    leechers = [i for i in range(res.peers["role"].shape[0]) if res.peers["role"][i] == ROLE_LEECHER]
    assert leechers, "the scenario has leechers"
    seed = [i for i in range(len(res.peers["role"])) if res.peers["role"][i] == ROLE_SEED][0]
    assert seed in first and first[seed] < 12.0  # the subject connects out to the seed as it joins
    for i in leechers:
        assert i in first, f"leecher {i} never connected to the subject"
        assert 59.0 <= first[i] <= 123.0, (i, first[i])
    assert res.peers["uploaded_bytes"][SUBJECT] > 0


def test_a_private_torrent_has_no_peer_exchange():
    """The same swarm with the torrent private: the leechers never hear of the subject, the
    subject cannot reach them, and it uploads nothing at all (the seed downloads nothing)."""
    sc = _scenario(**{"torrent.private": True})
    res = simulate_replication(sc, 0, np.random.SeedSequence(7), trace_connections=True)
    first = _connected_to_subject(res)
    roles = res.peers["role"]
    assert all(roles[i] == ROLE_SEED for i in first), first  # only the seed
    assert res.peers["uploaded_bytes"][SUBJECT] == 0


def test_reachable_swarms_do_not_change():
    """Where every peer is reachable and announces every minute, each pair meets through the
    tracker and peer exchange adds nothing: lab-small gives the same numbers, private or not."""
    sc = load_scenario(LAB_SMALL)
    a = simulate_replication(sc, 3, np.random.SeedSequence(11))
    b = simulate_replication(sc.with_changes(**{"torrent.private": True}), 3, np.random.SeedSequence(11))
    for key in ("uploaded_bytes", "downloaded_bytes", "complete_s"):
        np.testing.assert_array_equal(np.asarray(a.peers[key]), np.asarray(b.peers[key]))
