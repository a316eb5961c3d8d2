"""Whole-run conservation: every byte uploaded is a byte downloaded; no block is counted twice (a block
that comes twice, cancelled too late in end-game, counts as redundant)."""

import numpy as np
import pytest

from tests.conftest import make_scenario, run_one
from sim.scenario import load_scenario
from sim.kernels.transfer import BLOCK_BYTES
from tests import naive


SCENARIOS = {
    "small": lambda: make_scenario(),
    "poisson-churn": lambda: make_scenario(**{
        "swarm.leechers": {"arrival": "poisson", "rate_per_s": 0.05, "window_s": [0, 200],
                           "upload": {"classes": [{"share": 0.5, "value": "100kB/s"}, {"share": 0.5, "value": "400kB/s"}]},
                           "download": "800kB/s", "seed_time": {"dist": "exponential", "mean": 60}},
        "swarm.connectable_share": 0.6}),
    "multi-file": lambda: make_scenario(**{"torrent.total_size": None, "torrent.files": [
        {"path": f"book{i}.epub", "size": s} for i, s in enumerate([300_000, 1_000_000, 77_777, 2_500_000])]}),
    "subject-seeds": lambda: make_scenario(**{"subject.on_complete": "seed_for", "subject.seed_for_s": 120}),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("seed", [0, 1])
def test_bytes_and_pieces_are_conserved(name, seed):
    sc = SCENARIOS[name]()
    r = run_one(sc, seed, keep_state=True)
    pa, ea, pc = r.extra["state"]
    size = sc.torrent.size_bytes
    up, down = r.peers["uploaded_bytes"], r.peers["downloaded_bytes"]
    assert up.sum() == down.sum() > 0
    # nobody downloads more than the torrent, and a completed peer downloaded exactly the torrent,
    # but for blocks that came twice (cancelled too late in end-game: libtorrent's redundant bytes)
    useful = down - pa.redundant
    assert (useful <= size).all() and (pa.redundant >= 0).all()
    done = ~np.isnan(r.peers["complete_s"])
    leechers = r.peers["role"] != 1
    assert (useful[done & leechers] == size).all()
    # per piece: received blocks never exceed the piece's blocks; have == all blocks received
    assert (pc.recv <= pc.blocks[None, :]).all()
    np.testing.assert_array_equal(pc.have, pc.recv == pc.blocks[None, :])
    # per peer, bytes downloaded equal the bytes of the blocks it holds (no block counted twice)
    held = (pc.recv.astype(np.int64) * BLOCK_BYTES).sum(axis=1)
    last_short = BLOCK_BYTES - pc.last_block_bytes
    held -= np.where(pc.recv[:, -1] == pc.blocks[-1], last_short, 0)
    seeds = r.peers["role"] == 1
    np.testing.assert_array_equal(held[~seeds], useful[~seeds])
    # the subject's log adds up to the subject's upload
    assert r.log.bytes.sum() == up[0]
    assert r.headline["subject_upload_total_bytes"] == up[0]
    # derived counts are still consistent with the final state
    avail, wants = naive.availability_and_interest(pc.have, ea.nbr)
    np.testing.assert_array_equal(pc.avail[~pa.is_seed], avail[~pa.is_seed])  # seeds no longer pick
    np.testing.assert_array_equal(ea.wants, wants)
    for v in range(pc.have.shape[0]):
        assert naive.picker_order_is_consistent(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, v)


def test_per_file_bytes_add_up():
    """Per-file uploaded bytes add up to the subject's total upload, in a multi-file torrent."""
    sc = SCENARIOS["multi-file"]()
    r = run_one(sc, 5)
    assert r.files["bytes_uploaded"].sum() == r.headline["subject_upload_total_bytes"]
    assert (r.files["bytes_uploaded"] <= r.files["size_bytes"] * sc.swarm.leechers.count).all()


@pytest.mark.parametrize("path", ["examples/lab-small.toml", "sim/scenarios/default.toml"])
def test_shipped_scenarios_conserve(path):
    from tests.conftest import ROOT
    sc = load_scenario(ROOT / path)
    r = run_one(sc, 11)
    assert r.peers["uploaded_bytes"].sum() == r.peers["downloaded_bytes"].sum()
    assert r.headline["subject_completed"] == 1


@pytest.mark.parametrize("piece_size, total, horizon", [("16MiB", "128MiB", 60), ("1MiB", "16MiB", 15)])
def test_partial_count_follows_the_pieces(piece_size, total, horizon):
    """Each peer's count and list of partial pieces (pc.partials, kept at every change of a piece's
    owner or received blocks) equal a recount from the final state, stopped while peers are
    mid-download."""
    sc = make_scenario(**{"torrent.piece_size": piece_size, "torrent.total_size": total,
                          "simulation.horizon_s": horizon})
    for seed in (0, 1):
        pa, ea, pc = run_one(sc, seed, keep_state=True).extra["state"]
        recount = [len(naive.partial_pieces(pc.owner, pc.recv, pc.blocks, v)) for v in range(pc.have.shape[0])]
        assert sum(recount) > 0  # mid-download: something to count
        np.testing.assert_array_equal(pc.partials[:, 0], recount)
        for v in range(pc.have.shape[0]):  # the list holds exactly the partial pieces (none missing here)
            n = pc.partials[v, 1]
            assert n == pc.partials[v, 0]
            assert sorted(pc.partials[v, 2:2 + n].tolist()) == naive.partial_pieces(pc.owner, pc.recv, pc.blocks, v)
