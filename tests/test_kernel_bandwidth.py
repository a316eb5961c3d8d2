"""Bandwidth sharing kernel against its twin, and against the definition of max-min fairness."""

import numpy as np
import pytest

from sim.kernels.bandwidth import maxmin_fair
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


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="out of range"):
        maxmin_fair(np.array([0]), np.array([5]), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        maxmin_fair(np.array([0]), np.array([1]), np.array([np.inf, 1.0]), np.ones(2))
