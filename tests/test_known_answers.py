"""Known answers the model must give, whatever its details."""

import numpy as np
import pytest

from sim.montecarlo import run_replications
from tests.conftest import make_scenario, run_one


def test_one_seed_and_the_subject_alone_upload_nothing():
    """Alone with a seed, the subject has nobody to upload to."""
    sc = make_scenario(**{"swarm.leechers.count": 0, "subject.on_complete": "never_stop", "simulation.horizon_s": 300})
    for seed in range(3):
        r = run_one(sc, seed)
        assert r.headline["subject_completed"] == 1
        assert r.headline["subject_upload_total_bytes"] == 0
        assert len(r.log) == 0


def test_free_rider_uploads_nothing_and_still_completes():
    """A free rider uploads nothing (BitThief still completes through seeds and optimistic unchokes)."""
    sc = make_scenario(**{"subject.profile": "free_rider", "subject.on_complete": "never_stop"})
    for seed in range(3):
        r = run_one(sc, seed)
        assert r.headline["subject_upload_total_bytes"] == 0
        assert r.headline["peers_received_block"] == 0
        assert r.headline["subject_completed"] == 1


@pytest.mark.parametrize("cap", [20_000, 50_000, 150_000])
def test_upload_cap_bounds_upload(cap):
    """A subject capped at U bytes/s for T seconds uploads at most U*T (+ one block per connection
    of credit rounding) in total; in any window of w seconds at most U*(w + 3), libtorrent's rate
    limiter storing up to 3 s of unused quota (bandwidth_channel::update_quota)."""
    sc = make_scenario(**{"subject.libtorrent.upload_rate_limit": cap, "subject.on_complete": "never_stop",
                          "simulation.sample_interval_s": 1})
    for seed in range(3):
        r = run_one(sc, seed)
        t, up = r.timeseries["t_s"], r.timeseries["subject_uploaded_bytes"]
        active_s = r.headline["end_s"] - sc.subject.join_s
        slack = 16384 * 8
        assert up[-1] <= cap * active_s + slack
        for w in (1, 2, 5, 10):
            window = up[w:] - up[:-w]
            assert window.max() <= cap * (np.asarray(t[w:]) - np.asarray(t[:-w]) + 3).max() + slack
        assert up[-1] > 0, "the cap must not stop uploads altogether"


def test_stop_at_completion_uploads_nothing_afterwards():
    """on_complete = stop: zero bytes after completion, and no log row after the completion time."""
    sc = make_scenario()
    for seed in range(5):
        r = run_one(sc, seed)
        assert r.headline["subject_completed"] == 1
        assert r.headline["subject_upload_seed_bytes"] == 0
        t_done = r.peers["complete_s"][0]
        assert (r.log.t_s <= t_done).all()
        assert r.peers["leave_s"][0] == t_done


def test_seeding_after_completion_uploads_more_than_stopping():
    """The same swarm and seeds: seeding for 10 minutes adds upload after completion."""
    base = make_scenario(**{"swarm.leechers.spread_s": 200, "simulation.replications": 8})
    stop = run_replications(base, workers=1)
    seed = run_replications(base.with_changes(**{"subject.on_complete": "seed_for", "subject.seed_for_s": 600}), workers=1)
    assert sum(r.headline["subject_upload_seed_bytes"] for r in seed) > 0
    for a, b in zip(stop, seed):  # same seeds: identical until completion
        assert a.headline["subject_upload_leech_bytes"] == b.headline["subject_upload_leech_bytes"]


def test_seed_until_ratio_stops_at_the_ratio():
    """seed_until_ratio: leaves once upload/download reaches the target (within one tick)."""
    sc = make_scenario(**{"subject.on_complete": "seed_until_ratio", "subject.seed_until_ratio": 1.0,
                          "swarm.leechers.count": 12, "swarm.leechers.spread_s": 300})
    r = run_one(sc, 2)
    up, down = r.headline["subject_upload_total_bytes"], r.headline["subject_download_bytes"]
    assert not np.isnan(r.peers["leave_s"][0]), "the target ratio is reachable in this swarm"
    assert up >= down
    assert up <= down + 300_000 + 8 * 16384  # at most one tick at the cap beyond the target


def test_raising_the_upload_cap_never_lowers_upload():
    """Statistical: in a flash crowd, the mean upload while leeching rises with the subject's cap
    (paired seeds, 24 replications each; the claim is about the mean, not every replication)."""
    caps = [25_000, 100_000, 400_000]
    base = make_scenario(**{"swarm.leechers.count": 10, "simulation.replications": 24, "simulation.seed": 99})
    means = []
    for cap in caps:
        rs = run_replications(base.with_changes(**{"subject.libtorrent.upload_rate_limit": cap}), workers=1)
        means.append(np.mean([r.headline["subject_upload_leech_bytes"] for r in rs]))
    assert means[0] < means[1] < means[2], means
