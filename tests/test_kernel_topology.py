"""Connections and piece completion keep availability and interest equal to a from-scratch count."""

import numpy as np
import pytest

from sim.kernels import topology
from sim.state import new_edges, new_peers, new_pieces
from tests import naive


@pytest.mark.parametrize("seed", range(10))
def test_incremental_counts_match_recount(seed):
    """Random connects, disconnects and completed pieces; avail and wants always match the twin."""
    rng = np.random.default_rng(seed)
    N, K, P = 8, 5, 30
    pa, ea = new_peers(N), new_edges(N, K)
    pc = new_pieces(N, np.ones(P, np.int32), 16384, K)
    pa.active[:] = True
    topology.give_all_pieces(pa, pc, 0)
    for step in range(300):
        action = rng.integers(0, 3)
        u, v = rng.integers(0, N, 2)
        if action == 0 and u != v and not (ea.nbr[u] == v).any():
            topology.connect(pa, ea, pc, u, v)
        elif action == 1:
            ks = np.flatnonzero(ea.nbr[u] >= 0)
            if len(ks):
                topology.disconnect(pa, ea, pc, u, rng.choice(ks), float(step), 1.0)
        else:
            missing = np.flatnonzero(~pc.have[u])
            if len(missing):
                topology.piece_complete(pa, ea, pc, u, rng.choice(missing))
        avail, wants = naive.availability_and_interest(pc.have, ea.nbr)
        np.testing.assert_array_equal(pc.avail[~pa.is_seed], avail[~pa.is_seed])  # seeds no longer pick
        np.testing.assert_array_equal(ea.wants, wants)
        assert (pa.deg == (ea.nbr >= 0).sum(axis=1)).all()
        for w in range(N):  # slots are compact: occupied first
            assert (ea.nbr[w, :pa.deg[w]] >= 0).all() and (ea.nbr[w, pa.deg[w]:] == -1).all()
        assert (pa.n_have == pc.have.sum(axis=1)).all()
        for w in range(N):
            assert naive.picker_order_is_consistent(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, w)
    # both ends of every connection point at each other
    for u in range(N):
        for k in range(K):
            v = ea.nbr[u, k]
            if v >= 0:
                assert ea.nbr[v, ea.rev[u, k]] == u


def test_no_connection_beyond_slots():
    """connect() refuses when a peer has no free slot and changes nothing."""
    pa, ea = new_peers(3), new_edges(3, 1)
    pc = new_pieces(3, np.ones(4, np.int32), 16384, 1)
    assert topology.connect(pa, ea, pc, 0, 1)
    before = ea.nbr.copy()
    assert not topology.connect(pa, ea, pc, 0, 2)
    np.testing.assert_array_equal(ea.nbr, before)


@pytest.mark.parametrize("kernel", ["numba", "python"])
def test_slow_start_ends_when_interest_is_lost(kernel):
    """libtorrent's send_not_interested ends a connection's slow start for good
    (peer_connection.cpp, m_slow_start = false): worked by hand on three peers.
    Peer 1 holds pieces 0 and 1, peer 2 pieces 0 and 3; peer 0 holds none and wants two pieces
    from each. Completing piece 0 leaves it interested in both; completing piece 1 leaves it
    nothing to want from peer 1, so that connection (and only that one) leaves slow start."""
    if kernel == "python":
        complete = topology.piece_complete_arrays.py_func
    else:
        complete = topology.piece_complete_arrays

    def piece_complete(pa, ea, pc, v, p):
        complete(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, pa.n_have, pa.is_seed, pa.deg,
                 pa.interest_changed, ea.nbr, ea.rev, ea.wants, ea.slow_start, v, p)

    pa, ea = new_peers(3), new_edges(3, 2)
    pc = new_pieces(3, np.ones(4, np.int32), 16384, 2)
    pa.active[:] = True
    for w, pieces in ((1, (0, 1)), (2, (0, 3))):
        for p in pieces:
            piece_complete(pa, ea, pc, w, p)
    assert topology.connect(pa, ea, pc, 0, 1) and topology.connect(pa, ea, pc, 0, 2)
    k1, k2 = int(np.flatnonzero(ea.nbr[0] == 1)[0]), int(np.flatnonzero(ea.nbr[0] == 2)[0])
    assert ea.wants[0, k1] == 2 and ea.wants[0, k2] == 2
    assert ea.slow_start[0, k1] and ea.slow_start[0, k2]
    piece_complete(pa, ea, pc, 0, 0)
    assert ea.wants[0, k1] == 1 and ea.wants[0, k2] == 1
    assert ea.slow_start[0, k1] and ea.slow_start[0, k2]  # still interested in both
    piece_complete(pa, ea, pc, 0, 1)
    assert ea.wants[0, k1] == 0 and not ea.slow_start[0, k1]  # not interested in peer 1: slow start over
    assert ea.wants[0, k2] == 1 and ea.slow_start[0, k2]  # still wants piece 3 from peer 2
    back = ea.rev[0, k1]
    assert ea.slow_start[1, back]  # peer 1's own download side of the connection is untouched
    piece_complete(pa, ea, pc, 0, 2)  # nobody has piece 2: no change in interest
    assert ea.slow_start[0, k2]
