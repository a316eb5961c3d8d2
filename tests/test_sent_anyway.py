"""Blocks a downloader asked of an uploader still come when another connection brought them first:
libtorrent sends no CANCEL for them (``incoming_piece`` marks the block as writing before
``torrent::cancel_block``, so ``cancel_request`` returns at once), and the uploader serves every
request it was sent. Worked by hand, numba kernels and their pure-Python twins alike, and over whole
replications (every redundant byte is counted as uploaded, downloaded and redundant)."""

import numpy as np
import pytest

from sim.kernels import topology
from sim.kernels.transfer import BLOCK_BYTES
from sim.state import new_edges, new_peers, new_pieces
from tests.conftest import make_scenario, run_one

KERNELS = ["numba", "python"]


def _kernel(fn, kernel):
    return fn.py_func if kernel == "python" else fn


def _pair():
    """Peer 0 downloads from peer 1 over one connection (slot 0 at each end)."""
    pa, ea = new_peers(2), new_edges(2, 1)
    pc = new_pieces(2, np.full(4, 16, np.int32), BLOCK_BYTES, 1)
    pa.active[:] = True
    assert topology.connect(pa, ea, pc, 0, 1)
    return pa, ea, pc


def _committed(kernel, pa, ea):
    return _kernel(topology.committed_blocks, kernel)(ea.dq_size, 0, 0)


@pytest.mark.parametrize("kernel", KERNELS)
def test_committed_blocks_by_hand(kernel):
    """Every block peer 0 has asked peer 1 for comes: its request queue to peer 1 (4 blocks when
    the connection opens, libtorrent's initial queue; then what slow start and the rate made it),
    whatever peer 1 sent last second or holds in its send buffer."""
    pa, ea, pc = _pair()
    assert _committed(kernel, pa, ea) == 4
    ea.dq_size[0, 0] = 23
    ea.up_last_s[1, 0] = 100_000.0  # the uploader's rate does not enter
    assert _committed(kernel, pa, ea) == 23


@pytest.mark.parametrize("kernel", KERNELS)
def test_sent_anyway_by_hand(kernel):
    """Of the blocks cancelled, those among the committed ones at the front of the queue come: their
    expected number n x committed / queued, rounded up or down at random."""
    sent_anyway = _kernel(topology.sent_anyway, kernel)
    sunk, piece = np.zeros((1, 2), np.int64), np.full((1, 2), -1, np.int64)
    sent_anyway(sunk, piece, 0, 1, 7, 3, 4, 6, 0, np.uint64(99))  # 3 x 4 / 6 = 2 exactly
    assert sunk[0, 1] == 2 and piece[0, 1] == 7 and sunk[0, 0] == 0
    sent_anyway(sunk, piece, 0, 1, 5, 2, 10, 2, 0, np.uint64(99))  # all queued committed: both come
    assert sunk[0, 1] == 4 and piece[0, 1] == 5
    sent_anyway(sunk, piece, 0, 1, 5, 2, 0, 6, 0, np.uint64(99))  # nothing read ahead: nothing comes
    sent_anyway(sunk, piece, 0, 1, 5, 0, 4, 6, 0, np.uint64(99))  # nothing cancelled
    assert sunk[0, 1] == 4
    # 1 x 2 / 4 = 0.5: one block or none, each about half the time, the same draw for the same salt
    got = np.zeros(4000, np.int64)
    for s in range(4000):
        one, p1 = np.zeros((1, 1), np.int64), np.full((1, 1), -1, np.int64)
        sent_anyway(one, p1, 0, 0, 3, 1, 2, 4, 0, np.uint64(s * 7919 + 1))
        got[s] = one[0, 0]
        assert p1[0, 0] == (3 if got[s] else -1)
    assert set(np.unique(got)) == {0, 1}
    assert abs(got.mean() - 0.5) < 0.04


def test_twins_draw_alike():
    """Kernel and twin round the same way for the same salt."""
    for s in range(200):
        a, b = np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64)
        pa_, pb_ = np.full((1, 1), -1, np.int64), np.full((1, 1), -1, np.int64)
        topology.sent_anyway(a, pa_, 0, 0, 1, 3, 2, 7, 5, np.uint64(s))
        topology.sent_anyway.py_func(b, pb_, 0, 0, 1, 3, 2, 7, 5, np.uint64(s))
        assert a[0, 0] == b[0, 0] and pa_[0, 0] == pb_[0, 0]


@pytest.mark.parametrize("kernel", KERNELS)
def test_cancel_arrived_sinks_what_was_read(kernel):
    """Peer 0 asked peer 1 for 3 blocks of shared piece 2 (16 blocks); 15 arrived meanwhile, two of
    them on other connections as copies of blocks asked of peer 1: peer 0 no longer counts those 2
    as asked, and both still come from peer 1 (its request queue, 4 blocks, holds the 3 asked)."""
    pa, ea, pc = _pair()
    p = 2
    ea.cur_piece[0, 0] = p
    ea.held[0, 0] = 3
    pc.asked[0, p] = 3
    pc.recv[0, p] = 15
    _kernel(topology.cancel_arrived, kernel)(
        pc.asked, pc.owner, pc.recv, pc.blocks, pc.partials, ea.held, ea.cur_piece, pa.deg[0], 0, p, ea.sunk,
        ea.sunk_piece, ea.dq_size, ea.nbr, np.uint64(1))
    assert ea.held[0, 0] == 1 and pc.asked[0, p] == 1  # the cancelled requests are gone
    assert ea.sunk[0, 0] == 2 and ea.sunk_piece[0, 0] == p  # and both blocks come anyway


def test_connection_state_moves_and_resets():
    """A sunk count moves with its connection's slot and is dropped when the connection closes."""
    pa, ea = new_peers(3), new_edges(3, 2)
    pc = new_pieces(3, np.full(4, 16, np.int32), BLOCK_BYTES, 2)
    pa.active[:] = True
    assert topology.connect(pa, ea, pc, 0, 1) and topology.connect(pa, ea, pc, 0, 2)
    k2 = int(np.flatnonzero(ea.nbr[0] == 2)[0])
    ea.sunk[0, k2], ea.sunk_piece[0, k2] = 3, 1
    k1 = int(np.flatnonzero(ea.nbr[0] == 1)[0])
    topology.disconnect(pa, ea, pc, 0, k1, 0.0, 1.0)  # the other connection closes: slots compact
    k2 = int(np.flatnonzero(ea.nbr[0] == 2)[0])
    assert ea.sunk[0, k2] == 3 and ea.sunk_piece[0, k2] == 1
    topology.disconnect(pa, ea, pc, 0, k2, 0.0, 1.0)
    assert (ea.sunk[0] == 0).all() and (ea.sunk_piece[0] == -1).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_redundant_bytes_add_up_in_end_game(seed):
    """A late joiner into a flash crowd near its end: the leechers' last pieces come in end-game,
    and the copies asked of two uploaders both arrive. Every redundant byte is a byte uploaded and downloaded;
    without them each peer downloaded exactly the blocks it holds; the subject's log holds its
    own redundant uploads."""
    sc = make_scenario(**{"subject.join_s": 40, "swarm.leechers": {
        "arrival": "flash_crowd", "count": 6, "spread_s": 5, "upload": "400kB/s", "download": "2MB/s",
        "seed_time": 120}})
    r = run_one(sc, seed, keep_state=True)
    pa, ea, pc = r.extra["state"]
    up, down = r.peers["uploaded_bytes"], r.peers["downloaded_bytes"]
    assert up.sum() == down.sum()
    held = (pc.recv.astype(np.int64) * BLOCK_BYTES).sum(axis=1)
    held -= np.where(pc.recv[:, -1] == pc.blocks[-1], BLOCK_BYTES - pc.last_block_bytes, 0)
    seeds = r.peers["role"] == 1
    np.testing.assert_array_equal(held[~seeds] + pa.redundant[~seeds], down[~seeds])
    assert r.log.bytes.sum() == up[0]


def test_end_game_sends_redundant_blocks():
    """Over a few replications of that late joiner, some blocks do come twice (the mechanism is
    live), and only a few per cent of all bytes."""
    sc = make_scenario(**{"subject.join_s": 40, "swarm.leechers": {
        "arrival": "flash_crowd", "count": 6, "spread_s": 5, "upload": "400kB/s", "download": "2MB/s",
        "seed_time": 120}})
    red = tot = 0
    for seed in range(4):
        r = run_one(sc, seed, keep_state=True)
        pa = r.extra["state"][0]
        red += int(pa.redundant.sum())
        tot += int(r.peers["downloaded_bytes"].sum())
    assert red > 0
    assert red < 0.1 * tot
