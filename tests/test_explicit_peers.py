"""Explicit peers (``[[swarm.peer]]``) and absolute leave times: known answers."""

import math

import numpy as np
import pytest

from sim.kernels.bandwidth import QUOTA_BURST_S
from sim.population import draw_population
from sim.results import ROLE_LEECHER, ROLE_SEED
from sim.scenario import ScenarioError, parse_scenario
from tests.conftest import make_scenario, run_one

SEED_BPS = 100_000
TORRENT_BYTES = 4 * 1024**2


def alone_with(*peers, horizon_s=120, **changes):
    """The subject and the explicit peers only: no generated seed or leecher."""
    sc = make_scenario(**{"swarm.seeds.count": 0, "swarm.leechers.count": 0,
                          "simulation.horizon_s": horizon_s, "simulation.sample_interval_s": 1, **changes})
    return sc.with_changes(**{"swarm.peer": list(peers)})


def test_a_seed_that_leaves_at_10_s_leaves_the_subject_incomplete():
    """The only seed (100 kB/s) leaves at t = 10 s: it leaves at exactly 10 s, the subject
    (4 MiB to fetch) has at most 100 kB/s x (10 s + libtorrent's 3 s of saved quota), stops
    receiving at 10 s, never completes, and the run lasts to the horizon."""
    sc = alone_with({"role": "seed", "upload": SEED_BPS, "leave_s": 10})
    for seed in range(3):
        r = run_one(sc, seed)
        seed_row = int(np.nonzero(r.peers["role"] == ROLE_SEED)[0][0])
        assert r.peers["leave_s"][seed_row] == 10.0
        assert r.headline["subject_completed"] == 0
        assert math.isnan(r.peers["complete_s"][0])
        got = r.headline["subject_download_bytes"]
        assert 0 < got <= SEED_BPS * (10 + QUOTA_BURST_S) + 16384
        assert got < TORRENT_BYTES
        t, down = r.timeseries["t_s"], r.timeseries["subject_downloaded_bytes"]
        assert (down[t >= 11] == got).all(), "nothing arrives after the only seed left"
        assert r.headline["end_s"] == 120


def test_a_seed_that_stays_lets_the_subject_finish():
    """Control for the test above: the same seed without a leave time serves the whole torrent."""
    r = run_one(alone_with({"role": "seed", "upload": SEED_BPS}, horizon_s=200), 0)
    assert r.headline["subject_completed"] == 1
    assert r.headline["subject_download_bytes"] == TORRENT_BYTES


def test_a_leecher_leaves_at_its_leave_time_complete_or_not():
    """A slow leecher (50 kB/s) that leaves at t = 20 s cannot have 4 MiB by then: it leaves at
    20 s incomplete, and the run ends once the subject completes (nobody left to wait for)."""
    sc = alone_with({"role": "seed", "upload": 1_000_000},
                    {"role": "leecher", "download": 50_000, "upload": 50_000, "leave_s": 20}, horizon_s=600)
    r = run_one(sc, 1)
    lee = int(np.nonzero(r.peers["role"] == ROLE_LEECHER)[0][0])
    assert r.peers["leave_s"][lee] == 20.0
    assert math.isnan(r.peers["complete_s"][lee])
    assert r.peers["downloaded_bytes"][lee] <= 50_000 * (20 + QUOTA_BURST_S) + 16384
    assert r.headline["subject_completed"] == 1
    assert r.headline["end_s"] < 600


def test_an_explicit_leecher_seeds_for_its_seed_time():
    """seed_time = 30: it leaves 30 s after its own completion (the subject joins at 60 s, so
    the run is still going then)."""
    sc = alone_with({"role": "seed", "upload": 1_000_000},
                    {"role": "leecher", "join_s": 5, "download": 1_000_000, "seed_time": 30},
                    **{"subject.join_s": 60}, horizon_s=600)
    r = run_one(sc, 2)
    lee = int(np.nonzero(r.peers["role"] == ROLE_LEECHER)[0][0])
    assert r.peers["join_s"][lee] == 5.0
    assert r.peers["leave_s"][lee] - r.peers["complete_s"][lee] == pytest.approx(30.0)


def test_explicit_peers_do_not_change_the_generated_population():
    """Adding explicit peers appends rows; every generated row is drawn exactly as before."""
    base = make_scenario()
    more = base.with_changes(**{"swarm.peer": [{"role": "seed", "upload": 5000, "join_s": 3, "leave_s": 9},
                                               {"role": "leecher", "connectable": False}]})
    a = draw_population(base, np.random.default_rng(7))
    b = draw_population(more, np.random.default_rng(7))
    assert b.size == a.size + 2
    for name in ("role", "join_s", "up_bps", "down_bps", "seed_time_s", "connectable", "slots"):
        assert np.array_equal(getattr(b, name)[:a.size], getattr(a, name)), name
    assert list(b.role[a.size:]) == [ROLE_SEED, ROLE_LEECHER]
    assert list(b.join_s[a.size:]) == [3.0, 0.0]
    assert list(b.leave_at_s[a.size:]) == [9.0, math.inf]
    assert list(b.down_bps[a.size:]) == [0.0, 10_000_000.0]
    assert list(b.connectable[a.size:]) == [True, False]
    assert np.isinf(a.leave_at_s).all()


def test_resolved_scenario_without_explicit_peers_is_unchanged():
    """No [[swarm.peer]]: the resolved scenario has no 'peer' key (old run directories stay valid)."""
    assert "peer" not in make_scenario().to_dict()["swarm"]


@pytest.mark.parametrize("peer, words", [
    ({"role": "leecher", "leave_s": 10, "seed_time": 5}, "not both"),
    ({"role": "leecher", "join_s": 10, "leave_s": 10}, "must be after join_s"),
    ({"role": "seed", "seed_time": 5}, "applies to leechers"),
    ({"role": "peer"}, "'seed' or 'leecher'"),
    ({"role": "seed", "address": "127.0.0.1"}, "unknown key"),
    ({"role": "leecher", "seed_time": -1}, "'leave', 'forever' or a number of seconds"),
])
def test_bad_explicit_peers_are_named(peer, words):
    """Each problem names the peer's index and key and what is allowed."""
    data = {"torrent": {"total_size": "1MiB"}, "swarm": {"peer": [{"role": "seed"}, peer]}}
    with pytest.raises(ScenarioError) as e:
        parse_scenario(data, "case.toml")
    msg = str(e.value)
    assert "case.toml" in msg and "swarm.peer[1]" in msg and words in msg, msg
