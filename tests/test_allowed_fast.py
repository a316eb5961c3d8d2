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
