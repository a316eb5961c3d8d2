"""A peer's connection to itself (docs/model.md): opentracker names the announcing peer to itself,
libtorrent tries it by uTP (no answer: it holds a connection slot until utp_connect_timeout), then by
TCP (both ends read their own peer id, close, ban the address). With a small connections_limit the
slot turns real peers away; the hold-out h08 (the subject with four connections) showed it.

The slot times are worked out by hand from the lab's peer log of that hold-out (`leechsim lab
validation/holdout/h08-subject-4-connections.toml --runs 1 --peer-log`): the subject joined at
0.0007 s, its uTP attempt went at 0.002 s, failed at 3.367 s (its quota ticks fall at 0.367 s
+ 0.5 s k), the TCP retry went at 3.867 s (its second tick) and closed at 4.367 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine import SwarmRun, simulate_replication
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
LAB_SMALL = ROOT / "examples" / "lab-small.toml"
SUBJECT = 0


def _run(**changes) -> SwarmRun:
    sc = load_scenario(LAB_SMALL)
    if changes:
        sc = sc.with_changes(**changes)
    return SwarmRun(sc, 0, np.random.SeedSequence(5))


def _slots_at_join(run: SwarmRun, tick_phase: float, sec_phase: int, others: int = 3):
    run.pa.tick_phase[SUBJECT] = tick_phase
    run.pa.sec_phase[SUBJECT] = sec_phase
    run._connect_to_self(SUBJECT, others, int(run.pop.connect_boost[SUBJECT]))  # at the clock's start, t = 0
    return run.self_slots[SUBJECT]


def test_utp_then_tcp_slots_follow_the_lab_log():
    """dt 0.5 s; the subject's quota ticks at 0.367 + 0.5 k s (phase 0.734 of a tick), its second
    tick on odd ticks (sec_phase 1). uTP from t = 0: held for the connection checks of ticks 0-6
    (it fails at 3.367 s, inside tick 6); TCP at the second tick after (tick 7, 3.867 s), both ends,
    seen by the checks of tick 8 (closed at 4.367 s, inside tick 8)."""
    run = _run()
    assert _slots_at_join(run, 0.734, 1) == [(0, 6, 1), (8, 8, 2)]
    counts = []
    for tick in range(10):
        run._last_tick = tick
        counts.append(run._slots_to_self(SUBJECT))
    assert counts == [1, 1, 1, 1, 1, 1, 1, 0, 2, 0]


def test_a_longer_utp_timeout_holds_the_slot_longer():
    run = _run(**{"subject.libtorrent.utp_connect_timeout": 5000})
    # fails at the first quota tick at or after 5 s: 5.367 s, inside tick 10; TCP at tick 11 (odd)
    assert _slots_at_join(run, 0.734, 1) == [(0, 10, 1), (12, 12, 2)]


def test_without_outgoing_utp_only_the_tcp_pair_until_the_next_quota_tick():
    run = _run(**{"subject.libtorrent.enable_outgoing_utp": False})
    # TCP at once: both ends until the subject's quota tick at 0.367 s, inside tick 0
    assert _slots_at_join(run, 0.734, 1) == [(0, 0, 2)]


def test_outside_the_connect_boost_it_waits_for_the_second_tick():
    run = _run(**{"subject.libtorrent.torrent_connect_boost": 0})
    # no boost: at the subject's next second tick (tick 1, 0.5 s); uTP until its quota tick at
    # 3.867 s (tick 7); TCP at its next second tick (tick 9, odd), seen by the checks of tick 10
    assert _slots_at_join(run, 0.734, 1) == [(1, 7, 1), (10, 10, 2)]


def _subject_connections(result, until_s: float) -> int:
    """The most connections the subject had open at one trace sample before ``until_s``."""
    tr = result.extra["connections"]
    t, local = np.asarray(tr["t_s"]), np.asarray(tr["local"])
    mine = t[(local == SUBJECT) & (t < until_s)]
    return int(np.unique(mine, return_counts=True)[1].max()) if len(mine) else 0


@pytest.mark.parametrize("utp", [True, False])
def test_a_four_connection_subject_keeps_a_slot_for_itself_while_utp_times_out(utp):
    """lab-small with the subject's connections_limit at 4 (the hold-out h08): over its first 3 s
    the subject never has more than 3 peers while its uTP attempt to itself holds the fourth slot;
    without outgoing uTP the slot is free after its first quota tick and 4 peers get in."""
    sc = load_scenario(LAB_SMALL).with_changes(**{"subject.libtorrent.connections_limit": 4,
                                                  "subject.libtorrent.enable_outgoing_utp": utp})
    most = [_subject_connections(simulate_replication(sc, r, np.random.SeedSequence([7, r]), trace_connections=True), 3.0)
            for r in range(6)]
    if utp:
        assert max(most) == 3, most
    else:
        assert max(most) == 4, most


def test_where_no_limit_binds_nothing_moves():
    """The mechanism draws from a stream of its own: with lab-small's 200-connection limit, a
    self-connection that lasts 3 s or 60 s leaves every result exactly as it was."""
    a = simulate_replication(load_scenario(LAB_SMALL), 0, np.random.SeedSequence(11))
    b = simulate_replication(load_scenario(LAB_SMALL).with_changes(
        **{"subject.libtorrent.utp_connect_timeout": 60_000, "swarm.libtorrent.utp_connect_timeout": 60_000}),
        0, np.random.SeedSequence(11))
    assert a.headline == b.headline
    assert np.array_equal(a.log.bytes, b.log.bytes) and np.array_equal(a.log.t_s, b.log.t_s)


def test_the_first_to_connect_keep_the_slots():
    """libtorrent counts a connection against connections_limit from the moment it is opened or
    accepted, not once its handshake is through: with the subject's limit at 4 (one slot its own
    uTP attempt's), its three peers over the first 5 s are the seed and the two leechers that joined
    first — in all fifteen lab runs of the hold-out h08 recorded with the sessions' ticks in
    their start order, and in all three recorded again with independent phases
    (validation/holdout/recorded/h08-subject-4-connections, each run's connections.csv.gz), and
    here in every replication."""
    sc = load_scenario(LAB_SMALL).with_changes(**{"subject.libtorrent.connections_limit": 4})
    for r in range(6):
        res = simulate_replication(sc, r, np.random.SeedSequence([9, r]), trace_connections=True)
        tr = res.extra["connections"]
        t, local, remote = (np.asarray(tr[c]) for c in ("t_s", "local", "remote"))
        early = set(np.unique(remote[(local == SUBJECT) & (t < 5.0)]).tolist())
        role, join = res.peers["role"], res.peers["join_s"]
        seeds = set(np.nonzero(role == 1)[0].tolist())
        leechers = [int(i) for i in np.argsort(join, kind="stable") if role[i] == 2]
        assert early == seeds | set(leechers[:2]), (r, early, leechers)
