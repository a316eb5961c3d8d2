"""Bandwidth sharing kernel against its twin, and against the definition of max-min fairness."""

import numpy as np
import pytest

from sim.kernels.bandwidth import close_quota, maxmin_fair, open_quota, share_bandwidth
from sim.state import new_peers
from tests import naive


def random_case(rng, n=8, f=20):
    src = rng.integers(0, n, f)
    dst = (src + rng.integers(1, n, f)) % n
    up = rng.choice([0.0, 1e5, 2.5e5, 1e6, 3e6], n)
    dn = rng.choice([1e5, 5e5, 2e6, 1e7], n)
    return src, dst, up, dn


def test_single_flow_gets_the_tighter_end():
    """One transfer runs at min(upload of the sender, download of the receiver)."""
    r = maxmin_fair(np.array([0]), np.array([1]), np.array([5e5, 0.0]), np.array([0.0, 2e5]))
    assert r[0] == 2e5


def test_spare_capacity_flows_to_the_others():
    """A sender's capacity that one receiver cannot take goes to the other receivers."""
    # peer 0 uploads 900 to peers 1, 2, 3; peer 1 can only take 100
    r = maxmin_fair(np.array([0, 0, 0]), np.array([1, 2, 3]), np.array([900.0, 0, 0, 0]),
                    np.array([0.0, 100, 1e9, 1e9]))
    assert r.tolist() == [100.0, 400.0, 400.0]


@pytest.mark.parametrize("seed", range(30))
def test_kernel_matches_twin(seed):
    """Kernel and pure-Python twin agree on random cases."""
    src, dst, up, dn = random_case(np.random.default_rng(seed))
    np.testing.assert_allclose(maxmin_fair(src, dst, up, dn), naive.maxmin_fair(src, dst, up, dn), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("seed", range(30))
def test_result_is_max_min_fair(seed):
    """Feasible, and every flow has a saturated bottleneck where it has the largest rate."""
    src, dst, up, dn = random_case(np.random.default_rng(100 + seed), n=12, f=40)
    r = maxmin_fair(src, dst, up, dn)
    used_up = np.bincount(src, r, minlength=len(up))
    used_dn = np.bincount(dst, r, minlength=len(dn))
    assert (used_up <= up * (1 + 1e-9) + 1e-6).all() and (used_dn <= dn * (1 + 1e-9) + 1e-6).all()
    for f in range(len(src)):
        bottlenecks = []
        u, v = src[f], dst[f]
        if used_up[u] >= up[u] * (1 - 1e-9) - 1e-6 and r[f] >= r[src == u].max() * (1 - 1e-9):
            bottlenecks.append("up")
        if used_dn[v] >= dn[v] * (1 - 1e-9) - 1e-6 and r[f] >= r[dst == v].max() * (1 - 1e-9):
            bottlenecks.append("dn")
        assert bottlenecks, f"flow {f} has no bottleneck"


@pytest.mark.parametrize("seed", range(30))
def test_tick_rates_match_twin(seed):
    """share_bandwidth (max-min on the limits, then each uploader's quota shared out again with
    the caps of contended connections) against its twin; no peer exceeds its quota, no capped
    connection of a contended uploader its cap."""
    rng = np.random.default_rng(300 + seed)
    src, dst, up, dn = random_case(rng)
    caps = rng.choice([2e4, 1e5, 6e5, 5e6], len(src))
    up_avail, dn_avail = up * rng.choice([0.5, 1.0, 1.0, 3.0], len(up)), dn * rng.choice([1.0, 3.0], len(dn))
    got = _share(src, dst, caps, up, dn, up_avail, dn_avail)
    np.testing.assert_allclose(got, naive.tick_rates(src, dst, up, dn, up_avail, dn_avail, caps), rtol=1e-9, atol=1e-6)
    assert (np.bincount(src, got, minlength=len(up)) <= up_avail * (1 + 1e-9) + 1e-6).all()


def _share(src, dst, caps, up, dn, up_avail=None, dn_avail=None):
    n, f = len(up), len(src)
    rate = np.zeros(f)
    up, dn = np.array(up, float), np.array(dn, float)
    up_avail = up if up_avail is None else np.array(up_avail, float)
    dn_avail = dn if dn_avail is None else np.array(dn_avail, float)
    share_bandwidth(np.array(src), np.array(dst), np.array(caps, dtype=np.float64), up, dn, up_avail, dn_avail, rate,
                    np.zeros(n), np.zeros(n), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(f, np.bool_))
    return rate


def test_caps_bind_only_at_a_contended_uploader():
    """A newcomer's cap holds back its share of a busy uploader (the rest goes to the older
    connection), but not at an uploader with one connection, nor at one with capacity to spare."""
    # uploader 0 (1 MB/s) serves an old connection (to 1) and a newcomer (to 2, cap 32 KiB/s)
    assert _share([0, 0], [1, 2], [2e6, 32768.0], [1e6, 0, 0], [0, 1e7, 1e7]).tolist() == [1e6 - 32768.0, 32768.0]
    # the newcomer alone: the whole uploader
    assert _share([0], [2], [32768.0], [1e6, 0, 0], [0, 1e7, 1e7]).tolist() == [1e6]
    # both held back by their downloaders: the uploader has capacity to spare, caps do not apply
    assert _share([0, 0], [1, 2], [2e6, 32768.0], [1e6, 0, 0], [0, 1e5, 1e5]).tolist() == [1e5, 1e5]


def test_a_burst_is_limited_by_the_downloader():
    """An uploader with 3 s of quota saved sends up to 3x its limit — as much as the downloader's
    own quota lets in."""
    assert _share([0], [1], [np.inf], [1e6, 0], [0, 2e6], [3e6, 0], [0, 2e6]).tolist() == [2e6]
    assert _share([0], [1], [np.inf], [1e6, 0], [0, 2e6], [3e6, 0], [0, 6e6]).tolist() == [3e6]


def test_rate_limiter_keeps_at_most_three_seconds_of_quota():
    """An idle peer's quota grows to 3 s of its limit and no further (a burst of 3x the limit);
    what a tick over-uses is repaid from the next tick's quota."""
    pa = new_peers(1)
    pa.active[0] = True
    pa.up_cap[0] = 1000.0
    pa.down_cap[0] = 5000.0
    for _ in range(5):  # idle
        open_quota(pa, 1.0)
        close_quota(pa, 1.0)
    open_quota(pa, 1.0)
    assert pa.up_avail[0] == 3000.0 and pa.dn_avail[0] == 15000.0
    pa.up_tick[0] = 3500  # whole blocks bought with credit carried over: 500 over
    close_quota(pa, 1.0)
    open_quota(pa, 1.0)
    assert pa.up_avail[0] == 500.0  # this tick's 1000, less the 500 over-used


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="out of range"):
        maxmin_fair(np.array([0]), np.array([5]), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        maxmin_fair(np.array([0]), np.array([1]), np.array([np.inf, 1.0]), np.ones(2))
