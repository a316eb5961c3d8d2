"""The allowed fast set (BEP 6) as libtorrent computes it: from the downloader's address and the
info-hash only (peer_connection::send_allowed_set), so every uploader offers a peer the same
pieces — those it lacks when the connection opens."""

import numpy as np

from sim.engine import SwarmRun
from sim.scenario import parse_scenario

SCENARIO = {
    "torrent": {"piece_size": "64KiB", "total_size": "16MiB"},
    "swarm": {"seeds": {"count": 2, "upload": "1MB/s"},
              "leechers": {"arrival": "flash_crowd", "count": 10, "spread_s": 20, "upload": "300kB/s",
                           "download": "2MB/s", "seed_time": "leave"},
              "libtorrent": {"allowed_fast_set_size": 5}},
    "subject": {"upload": "1MB/s", "download": "2MB/s", "on_complete": "stop"},
    "simulation": {"horizon_s": 300},
}


def test_every_uploader_offers_a_peer_the_same_pieces():
    """While the swarm runs, the allowed fast pieces all of v's uploaders give v are at most 5
    distinct pieces (with a set drawn per connection they would be up to 5 per connection), and
    none of them is a piece v had when that connection opened."""
    run = SwarmRun(parse_scenario(SCENARIO), 0, np.random.SeedSequence(3), keep_state=True)
    run.start()
    seen_multi = 0
    for t in (3, 8, 15, 25):
        run.env.run(until=t)
        pa, ea = run.pa, run.ea
        for v in range(pa.deg.shape[0]):
            offered = set()
            uploaders = 0
            for k in range(pa.deg[v]):
                u, ku = ea.nbr[v, k], ea.rev[v, k]
                pieces = {int(p) for p in ea.fast[u, ku] if p >= 0}
                uploaders += bool(pieces)
                offered |= pieces
            assert len(offered) <= 5, (t, v, sorted(offered))
            if offered:
                assert offered <= set(run._fast_sequence(v)[:5].tolist())
            seen_multi += uploaders >= 3
    assert seen_multi > 10  # the check saw peers offered fast pieces by several uploaders


def _pick_fast_reference(have, recv, blocks, owner, pos, fast_row, u, v):
    """transfer.pick_fast as it read the whole set, before it dropped the pieces v has."""
    from sim.kernels.picker import ASKED
    best = -1
    for q in fast_row:
        if q < 0:
            break
        if have[u, q] and not have[v, q] and recv[v, q] < blocks[q] and owner[v, q] in (0, ASKED, u + 1):
            if best < 0 or pos[v, q] < pos[v, best]:
                best = q
    return best


def test_pick_fast_drops_only_the_pieces_the_downloader_has():
    """pick_fast keeps each allowed fast set to the pieces v still lacks (v never loses one): its
    pick is the whole set's, on the first call and after, and the row then holds the pieces v
    lacks in their order, the freed places -1. Random states, v gaining pieces between calls."""
    from sim.kernels.picker import ASKED
    from sim.kernels.transfer import pick_fast
    rng = np.random.default_rng(11)
    P, depth = 40, 6
    checked = dropped = 0
    for _ in range(300):
        have = rng.random((2, P)) < 0.5
        blocks = rng.integers(1, 5, P).astype(np.int32)
        recv = np.where(rng.random((2, P)) < 0.3, rng.integers(0, 5, (2, P)), 0).astype(np.int32)
        recv = np.minimum(recv, blocks)
        owner = rng.choice(np.array([0, 0, 0, ASKED, 1, 2], np.int32), (2, P)).astype(np.int32)
        pos = np.stack([rng.permutation(P), rng.permutation(P)]).astype(np.int32)
        size = int(rng.integers(0, depth + 1))
        fast = np.full((2, 1, depth), -1, np.int32)
        fast[0, 0, :size] = rng.choice(P, size, replace=False)
        u, v = 0, 1
        for _round in range(3):
            before = fast[u, 0].copy()
            want = _pick_fast_reference(have, recv, blocks, owner, pos, before, u, v)
            got = pick_fast(have, recv, blocks, owner, pos, fast, u, 0, v)
            assert got == want, (before, got, want)
            kept = [int(q) for q in before if q >= 0 and not have[v, q]]
            assert fast[u, 0, :len(kept)].tolist() == kept
            assert (fast[u, 0, len(kept):] == -1).all()
            dropped += sum(1 for q in before if q >= 0) - len(kept)
            checked += 1
            have[v, rng.integers(0, P, 3)] = True  # v gains pieces; it never loses one
    assert checked == 900 and dropped > 100
