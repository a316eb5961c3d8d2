"""Piece picker kernel against its twin: rarest first, random start, partial pieces first."""

import numpy as np
import pytest

from sim.kernels.picker import pick_piece
from tests import naive


def random_state(rng, n=5, p=40):
    have = rng.random((n, p)) < 0.5
    blocks = rng.integers(1, 5, p).astype(np.int32)
    recv = np.where(have, blocks, 0).astype(np.int32)
    partial = (~have) & (rng.random((n, p)) < 0.2)
    recv[partial] = np.minimum(blocks[np.nonzero(partial)[1]] - 1, rng.integers(0, 3, partial.sum()))
    avail = rng.integers(0, 4, (n, p)).astype(np.int32)
    return have, recv, avail, blocks


@pytest.mark.parametrize("seed", range(40))
def test_kernel_matches_twin(seed):
    """Kernel and twin pick the same piece on random states, in both picker modes."""
    rng = np.random.default_rng(seed)
    have, recv, avail, blocks = random_state(rng)
    salt = np.uint64(rng.integers(0, 2**63))
    for n_have_v in (0, 10):
        for v in range(have.shape[0]):
            for u in range(have.shape[0]):
                if u != v:
                    assert pick_piece(have, recv, avail, blocks, n_have_v, v, u, salt) == \
                        naive.pick_piece(have, recv, avail, blocks, n_have_v, v, u, salt)


def test_nothing_to_pick():
    """-1 when the uploader has nothing the downloader still needs."""
    have = np.array([[True, False], [True, False]])
    z = np.zeros((2, 2), np.int32)
    assert pick_piece(have, z, z, np.ones(2, np.int32), 1, 0, 1, np.uint64(1)) == -1


def test_rarest_first_after_four_pieces():
    """With 4+ pieces the rarest piece wins regardless of the random key."""
    P = 10
    have = np.zeros((2, P), bool)
    have[1] = True
    have[0, :4] = True
    avail = np.full((2, P), 5, np.int32)
    avail[0, 7] = 1
    recv = np.where(have, 1, 0).astype(np.int32)
    for salt in range(20):
        assert pick_piece(have, recv, avail, np.ones(P, np.int32), 4, 0, 1, np.uint64(salt)) == 7


def test_random_first_pieces_are_spread():
    """Below 4 pieces the pick is random: different salts give different pieces."""
    P = 50
    have = np.zeros((2, P), bool)
    have[1] = True
    avail = np.zeros((2, P), np.int32)
    recv = np.zeros((2, P), np.int32)
    picks = {pick_piece(have, recv, avail, np.ones(P, np.int32), 0, 0, 1, np.uint64(s)) for s in range(40)}
    assert len(picks) > 20
