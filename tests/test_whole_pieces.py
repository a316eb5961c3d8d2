"""Whole-piece requests (libtorrent's whole_pieces_threshold) in whole runs of the simulator."""

import numpy as np

from sim.engine import SwarmRun
from sim.scenario import parse_scenario

SCENARIO = {
    "torrent": {"piece_size": "64KiB", "total_size": "16MiB"},
    "swarm": {"seeds": {"count": 1, "upload": "1MB/s"},
              "leechers": {"arrival": "flash_crowd", "count": 8, "spread_s": 5, "upload": "300kB/s",
                           "download": "2MB/s", "seed_time": "leave"}},
    "subject": {"upload": "1MB/s", "download": "2MB/s", "on_complete": "stop"},
    "simulation": {"horizon_s": 400},
}


def _runs_of_consecutive_pieces(threshold: int) -> float:
    """Share of the subject's uploads to a peer whose piece follows the previous piece it sent that peer."""
    sc = parse_scenario({**SCENARIO, "swarm": {**SCENARIO["swarm"], "libtorrent": {"whole_pieces_threshold": threshold}},
                         "subject": {**SCENARIO["subject"], "libtorrent": {"whole_pieces_threshold": threshold}}})
    follows = total = 0
    for rep in range(3):
        log = SwarmRun(sc, rep, np.random.SeedSequence([5, rep])).run().log
        first = log.first_block == 0  # the first block of each piece sent
        for peer in np.unique(log.peer):
            pieces = log.piece[first & (log.peer == peer)]
            follows += int(np.sum(np.diff(pieces) == 1))
            total += max(len(pieces) - 1, 0)
    return follows / total


def test_fast_connections_ask_for_runs_of_adjacent_pieces():
    """With whole pieces (libtorrent's default threshold, 20 s) a peer downloading fast from the
    subject asks for runs of adjacent pieces, as the lab's block logs show; with the threshold at
    0 it picks piece by piece, rarest first, and adjacent pieces follow each other by chance only."""
    with_runs, piecewise = _runs_of_consecutive_pieces(20), _runs_of_consecutive_pieces(0)
    assert with_runs > 0.3
    assert piecewise < 0.1
    assert with_runs > 3 * piecewise


def test_pieces_asked_for_belong_to_a_live_run():
    """Every piece marked 'all blocks asked of u' is inside the current run of a connection to u;
    runs are given back when u chokes, interest ends or the connection closes (no leaked marks)."""
    sc = parse_scenario({**SCENARIO, "swarm": {**SCENARIO["swarm"], "libtorrent": {"unchoke_slots_limit": 2}},
                         "simulation": {"horizon_s": 400}})
    run = SwarmRun(sc, 0, np.random.SeedSequence(9), keep_state=True)
    run.start()
    marks = 0
    for t in range(2, 120, 3):
        run.env.run(until=t)
        pa, ea, pc = run.pa, run.ea, run.pc
        for v, p in zip(*np.nonzero(pc.owner)):
            if pc.have[v, p] or not pa.active[v]:
                continue
            u = pc.owner[v, p] - 1
            slots = [k for k in range(pa.deg[v]) if ea.nbr[v, k] == u]
            assert slots, (t, v, p, u)
            k = slots[0]
            assert ea.cur_piece[v, k] <= p < ea.run_end[v, k], (t, v, p, ea.cur_piece[v, k], ea.run_end[v, k])
            marks += 1
    assert marks > 50  # the check saw runs in progress
