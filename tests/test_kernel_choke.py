"""Choker kernel: ranking against the twin, 7 + 1 slots, optimistic rotation, preemptive unchoke."""

import numpy as np
import pytest

from sim.kernels import topology
from sim.kernels.choke import choke_peer, new_choke_scratch
from sim.state import new_edges, new_peers, new_pieces
from tests import naive


def star(n_peers, slots=8, opt_slots=1, algo=0, pieces=8):
    """Peer 0 is a seed connected to n_peers leechers that have nothing (all interested in 0)."""
    N = n_peers + 1
    pa, ea = new_peers(N), new_edges(N, n_peers)
    pc = new_pieces(N, np.ones(pieces, np.int32), 16384, n_peers)
    pa.active[:] = True
    pa.slots[:] = slots
    pa.opt_slots[:] = opt_slots
    pa.seed_algo[:] = algo
    pa.quota_bytes[:] = 20 * 16384
    topology.give_all_pieces(pa, pc, 0)
    for v in range(1, N):
        assert topology.connect(pa, ea, pc, 0, v)
    return pa, ea, pc


def unchoked(ea, u=0):
    return {int(ea.nbr[u, k]) for k in range(ea.nbr.shape[1]) if ea.nbr[u, k] >= 0 and ea.unchoked[u, k]}


@pytest.mark.parametrize("algo", [0, 1, 2])
@pytest.mark.parametrize("seed", range(15))
def test_regular_round_matches_twin_ranking(algo, seed):
    """The regular round unchokes exactly the twin's top (slots - optimistic) peers."""
    rng = np.random.default_rng(seed)
    n = 20
    pa, ea, pc = star(n, algo=algo)
    K = ea.nbr.shape[1]
    ea.was_interested[0, :n] = True
    ea.down_round[0, :n] = rng.choice([0, 0, 16384, 32768, 65536], n)
    ea.up_round[0, :n] = rng.choice([0, 16384, 50000], n)
    ea.unchoked[0, :n] = rng.random(n) < 0.4
    ea.up_since_unchoke[0, :n] = rng.choice([0, 10**6], n)
    ea.up_conn_total[0, :n] = rng.choice([0, 10**5, 10**6], n)
    ea.last_unchoke_t[0, :n] = rng.choice([-1e300, 10.0, 50.0, 100.0], n)
    pa.n_have[1:] = rng.integers(0, 8, n)
    now, salt = 200.0, np.uint64(rng.integers(0, 2**63))
    pa.next_round_t[0] = now
    pa.next_opt_t[0] = 1e9
    conns = [dict(nbr=int(ea.nbr[0, k]), down_round=int(ea.down_round[0, k]), up_round=int(ea.up_round[0, k]),
                  unchoked=bool(ea.unchoked[0, k]), up_since_unchoke=int(ea.up_since_unchoke[0, k]),
                  last_unchoke_t=float(ea.last_unchoke_t[0, k]), up_conn_total=int(ea.up_conn_total[0, k]),
                  n_have=int(pa.n_have[ea.nbr[0, k]])) for k in range(K)]
    expected = naive.rank_for_unchoke(conns, now, 20 * 16384, algo, salt, 0, 16384, 8 * 16384)
    choke_peer(pa, ea, 0, now, 1.0, salt, 16384, 8 * 16384, new_choke_scratch(K))
    assert unchoked(ea) == {c["nbr"] for c in expected[:7]}
    assert (ea.down_round[0] == 0).all(), "round counters are reset"


def test_seven_regular_plus_one_optimistic():
    """Default settings: 7 regular unchokes and 1 optimistic, 8 in all."""
    pa, ea, pc = star(20)
    K = ea.nbr.shape[1]
    work = new_choke_scratch(K)
    for t in range(0, 100):
        choke_peer(pa, ea, 0, float(t), 1.0, np.uint64(t), 16384, 8 * 16384, work)
        if t >= 2:
            assert len(unchoked(ea)) == 8
            assert int(ea.optimistic[0].sum()) == 1


def test_optimistic_unchoke_is_fair_over_time():
    """libtorrent's test_optimistic_unchoke: 20 idle interested peers, 1 slot, 1 optimistic slot:
    every peer gets (nearly) the same unchoked time."""
    n = 20
    pa, ea, pc = star(n, slots=1, opt_slots=1)
    K = ea.nbr.shape[1]
    work = new_choke_scratch(K)
    time_unchoked = np.zeros(n + 1)
    T = 30 * n * 5  # five full rotations
    for t in range(T):
        choke_peer(pa, ea, 0, float(t), 1.0, np.uint64(7 * t + 1), 16384, 8 * 16384, work)
        for v in unchoked(ea):
            time_unchoked[v] += 1
    share = time_unchoked[1:]
    assert share.sum() == pytest.approx(T, abs=2)
    assert share.max() - share.min() <= 31, share  # at most one optimistic period apart


def test_optimistic_slot_goes_to_the_oldest_of_the_never_unchoked():
    """Among interested peers never optimistically unchoked the optimistic slot goes to the oldest
    connection (libtorrent partial-sorts its connection set, in address order - as a rule the
    order the connections were made - by the time of the last optimistic unchoke; ties keep that
    order), then rotates to the next oldest."""
    n = 5
    pa, ea, pc = star(n, slots=1, opt_slots=1)
    K = ea.nbr.shape[1]
    ea.conn_seq[0, :n] = [10, 4, 8, 2, 6]  # slot 3 (peer 4) is the oldest, then slot 1, 4, 2, 0
    ea.was_interested[0, :n] = True  # interested before: no preemptive unchoke takes the slot
    pa.next_round_t[0] = 1e9
    pa.next_opt_t[0] = 30.0
    order = []
    for t in (30.0, 60.0, 90.0):
        choke_peer(pa, ea, 0, t, 1.0, np.uint64(11), 16384, 8 * 16384, new_choke_scratch(K))
        order.append(sorted(int(ea.nbr[0, k]) for k in range(n) if ea.optimistic[0, k]))
    assert order == [[4], [2], [5]], order


def test_preemptive_unchoke_fills_free_slots_at_once():
    """A peer that becomes interested is unchoked in the same tick while slots are free."""
    pa, ea, pc = star(3)
    K = ea.nbr.shape[1]
    pa.next_round_t[0] = pa.next_opt_t[0] = 1e9  # no rounds: only preemptive unchoke can act
    choke_peer(pa, ea, 0, 5.0, 1.0, np.uint64(3), 16384, 8 * 16384, new_choke_scratch(K))
    assert unchoked(ea) == {1, 2, 3}


@pytest.mark.parametrize("salt", range(6))
def test_preemptive_unchoke_takes_the_oldest_connections_first(salt):
    """More peers become interested in one tick than slots are free: the oldest connections
    (smallest conn_seq, libtorrent's address order) get the slots, whatever the tick's salt."""
    pa, ea, pc = star(6, slots=2, opt_slots=1)
    K = ea.nbr.shape[1]
    pa.next_round_t[0] = pa.next_opt_t[0] = 1e9  # no rounds: only preemptive unchoke can act
    ea.conn_seq[0, :6] = [14, 6, 10, 2, 12, 8]  # peers 1..6 in slots 0..5: peer 4 oldest, then 2
    choke_peer(pa, ea, 0, 5.0, 1.0, np.uint64(salt * 7919 + 1), 16384, 8 * 16384, new_choke_scratch(K))
    assert unchoked(ea) == {4, 2}


def test_free_rider_never_unchokes():
    """slots = 0 (the free-rider profile): nobody is ever unchoked."""
    pa, ea, pc = star(5, slots=0, opt_slots=0)
    K = ea.nbr.shape[1]
    for t in range(100):
        choke_peer(pa, ea, 0, float(t), 1.0, np.uint64(t), 16384, 8 * 16384, new_choke_scratch(K))
    assert unchoked(ea) == set()


@pytest.mark.parametrize("algo", [0, 1, 2])
def test_slots_sorted_by_keys_as_by_the_comparator(algo):
    """_sort_slots (keys computed once per slot, in reused work arrays) orders slots exactly as an
    insertion sort with the comparator _before (ranks_before, optimistic age, connection age) does, ties
    included."""
    from sim.kernels.choke import BY_AGE, BY_OPTIMISTIC_AGE, BY_RANK, _before, _sort_slots
    work = new_choke_scratch(20)
    for a in work[2:]:  # keys left over from some other peer's round must not count
        a[:] = 7
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        n = 20
        pa, ea, pc = star(n, algo=algo)
        ea.down_round[0, :n] = rng.choice([0, 0, 16384, 32768], n)
        ea.up_round[0, :n] = rng.choice([0, 16384, 50000], n)
        ea.unchoked[0, :n] = rng.random(n) < 0.4
        ea.up_since_unchoke[0, :n] = rng.choice([0, 10**6], n)
        ea.up_conn_total[0, :n] = rng.choice([0, 10**5, 10**6], n)
        ea.last_unchoke_t[0, :n] = rng.choice([-1e300, 10.0, 100.0], n)
        ea.last_opt_t[0, :n] = rng.choice([-1e300, 30.0, 60.0], n)
        ea.conn_seq[0, :n] = 2 * rng.permutation(n) + 2  # each connection end its own number
        pa.n_have[1:] = rng.integers(0, 8, n)
        now, salt = 200.0, np.uint64(rng.integers(0, 2**63))
        for order in (BY_RANK, BY_OPTIMISTIC_AGE, BY_AGE):
            cand = rng.permutation(n).astype(np.int64)[:15]
            want = list(cand)
            for i in range(1, len(want)):  # the comparator's insertion sort, in Python
                x, j = want[i], i - 1
                while j >= 0 and _before(order, pa, ea, 0, x, want[j], now, salt, 16384, 8 * 16384):
                    want[j + 1] = want[j]
                    j -= 1
                want[j + 1] = x
            got = cand.copy()
            _sort_slots(got, len(got), order, pa, ea, 0, now, salt, 16384, 8 * 16384, work)
            assert list(got) == want, (order, seed)


def test_sort_descending_sorts_as_sorted_reverse():
    """sort_descending (the rate-based choker's in-place sort) gives sorted(..., reverse=True) on the
    first n values and leaves the rest alone."""
    from sim.kernels.choke import sort_descending
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 7, 40):
        vals = rng.choice([0, 16384, 50000, 10**6], n + 3).astype(np.int64)
        want = sorted(vals[:n].tolist(), reverse=True) + vals[n:].tolist()
        sort_descending(vals, n)
        assert vals.tolist() == want


def test_choke_all_allocates_only_its_work_arrays():
    """choke_all allocates its ChokeScratch once per call (7 arrays), nothing per peer round, and
    wraps none of the peer and edge arrays for numba's runtime (it is runtime-free)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    script = (
        "import numpy as np\n"
        "from numba.core.runtime import rtsys\n"
        "from sim.kernels.choke import choke_all\n"
        "from tests.test_kernel_choke import star\n"
        "pa, ea, pc = star(20)\n"
        "choke_all(pa, ea, 0.0, 1.0, np.uint64(1), 16384, 8 * 16384)\n"
        "s0 = rtsys.get_allocation_stats()\n"
        "for t in range(1, 101):\n"
        "    choke_all(pa, ea, float(t), 1.0, np.uint64(t), 16384, 8 * 16384)\n"
        "s1 = rtsys.get_allocation_stats()\n"
        "print(s1.alloc - s0.alloc, s1.free - s0.free)\n")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", script], cwd=root, env={**os.environ, "NUMBA_NRT_STATS": "1"},
                         capture_output=True, text=True, timeout=600, check=True)
    allocs, frees = map(int, out.stdout.split())
    assert allocs == frees == 7 * 100
