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
    """Every piece marked 'all blocks asked of u' is inside the current run of a connection to u
    or the next run it has asked for already; runs are given back when u chokes, interest ends or
    the connection closes (no leaked marks)."""
    sc = parse_scenario({**SCENARIO, "swarm": {**SCENARIO["swarm"], "libtorrent": {"unchoke_slots_limit": 2}},
                         "simulation": {"horizon_s": 400}})
    run = SwarmRun(sc, 0, np.random.SeedSequence(9), keep_state=True)
    run.start()
    marks = next_marks = 0
    for t in range(2, 120, 3):
        run.env.run(until=t)
        pa, ea, pc = run.pa, run.ea, run.pc
        for v, p in zip(*np.nonzero(pc.owner > 0)):
            if pc.have[v, p] or not pa.active[v]:
                continue
            u = pc.owner[v, p] - 1
            slots = [k for k in range(pa.deg[v]) if ea.nbr[v, k] == u]
            assert slots, (t, v, p, u)
            k = slots[0]
            in_current = ea.cur_piece[v, k] <= p < ea.run_end[v, k]
            in_next = ea.next_start[v, k] <= p < ea.next_end[v, k]
            assert in_current or in_next, (t, v, p, ea.cur_piece[v, k], ea.run_end[v, k], ea.next_end[v, k])
            assert ea.next_end[v, k] < 0 or ea.run_end[v, k] >= 0  # a next run only behind a current one
            marks += 1
            next_marks += in_next
    assert marks > 50  # the check saw runs in progress
    assert next_marks > 5  # and runs asked for before the current one ended


def test_blocks_asked_of_shared_pieces_add_up():
    """A piece no connection asked for in full is shared block by block: the blocks v has asked for
    on it (``asked``) are those its connections hold (``held``), never more than the piece lacks,
    and its mark says whether any block is left free (ASKED) or none (BUSY). Slow connections
    (a 40 kB/s subject) hold blocks of such pieces, as libtorrent's do."""
    from sim.kernels.picker import ASKED, BUSY
    sc = parse_scenario({**SCENARIO, "subject": {**SCENARIO["subject"], "upload": "40kB/s"}})
    run = SwarmRun(sc, 0, np.random.SeedSequence(11), keep_state=True)
    run.start()
    shared = held_blocks = 0
    for t in np.arange(1.0, 90.0, 1.5):
        run.env.run(until=float(t))
        pa, ea, pc = run.pa, run.ea, run.pc
        for v in np.nonzero(pa.active & ~pa.is_seed)[0]:
            want = np.zeros(pc.have.shape[1], np.int64)
            for k in range(pa.deg[v]):
                if ea.held[v, k] > 0:
                    p = ea.cur_piece[v, k]
                    assert ea.run_end[v, k] < 0 and p >= 0 and pc.owner[v, p] <= 0, (t, v, k)
                    want[p] += ea.held[v, k]
                    held_blocks += ea.held[v, k]
            lacking = ~pc.have[v]
            assert np.array_equal(pc.asked[v][lacking], want[lacking]), (t, v)
            assert np.all(pc.recv[v] + pc.asked[v] <= pc.blocks), (t, v)
            for p in np.nonzero(lacking & (pc.owner[v] <= 0))[0]:
                if pc.asked[v, p] == 0:
                    assert pc.owner[v, p] == 0, (t, v, p)
                else:
                    full = pc.recv[v, p] + pc.asked[v, p] >= pc.blocks[p]
                    assert pc.owner[v, p] == (BUSY if full else ASKED), (t, v, p)
                    shared += 1
    assert shared > 20 and held_blocks > 20  # the check saw shared pieces and held blocks


def _one_connection(rate_avg_bps: float, recv_piece_1: int):
    """u = 0 a seed, v = 1 with 16 pieces of 16 blocks (256 KiB) in its piece order 0, 1, 2, ...;
    v's connection to u is slot 0 at both ends; v has piece 0 of its current run [0, 2) and
    ``recv_piece_1`` blocks of piece 1."""
    from sim.kernels.bandwidth import request_queue_blocks
    from sim.kernels.topology import give_all_pieces, shuffle_pieces
    from sim.state import new_edges, new_peers, new_pieces
    P = 16
    pa, ea = new_peers(2), new_edges(2, 1)
    pc = new_pieces(2, np.full(P, 16, np.int32), 16384, 1)
    give_all_pieces(pa, pc, 0)
    pc.have[1, 0], pc.recv[1, 0] = True, 16
    shuffle_pieces(pc, 1, np.arange(P, dtype=np.int32))
    pa.n_have[1] = 4  # past the random first pieces: v picks in its order
    pa.active[:] = True
    pa.deg[:] = 1
    ea.nbr[0, 0], ea.nbr[1, 0] = 1, 0
    ea.rev[0, 0] = ea.rev[1, 0] = 0
    pc.owner[1, 0:2] = 1  # u + 1: the run asked of u
    pc.recv[1, 1] = recv_piece_1
    ea.cur_piece[1, 0], ea.run_end[1, 0] = 1, 2
    ea.rate_avg[1, 0] = rate_avg_bps
    ea.slow_start[1, 0] = False  # out of slow start: the queue is 3 s of the rate
    ea.dq_size[1, 0] = request_queue_blocks(rate_avg_bps, pa.rq_time_s[1], pa.rq_max[1])
    return pa, ea, pc


def test_next_run_is_asked_for_when_the_queue_runs_low_by_hand():
    """libtorrent asks for more whenever a connection's queue holds fewer blocks than its desired
    size (request_queue_time = 3 s of its rate), and in whole-piece mode it asks for whole pieces.
    At 50,000 B/s: desired queue 3 x 50,000 // 16,384 = 9 blocks; whole pieces 50,000 x 20 s //
    262,144 = 3. With 16 blocks of the run left: no new request. With 6 left: the next run, pieces
    2-4 (the first free pieces in v's order, grown upwards by expand_piece), is asked for at once;
    v moves to it when piece 1 is done; and a choke gives both runs back."""
    from sim.kernels.topology import release_run
    from sim.kernels.transfer import ask_next_run, next_in_run
    pa, ea, pc = _one_connection(50_000.0, 0)
    ask_next_run(pa, pc, ea, 1, 0, 0, np.uint64(7), 262144)
    assert ea.next_end[1, 0] == -1 and pc.owner[1, 2:].sum() == 0
    pa, ea, pc = _one_connection(50_000.0, 10)
    ask_next_run(pa, pc, ea, 1, 0, 0, np.uint64(7), 262144)
    assert (ea.next_start[1, 0], ea.next_end[1, 0]) == (2, 5)
    assert pc.owner[1].tolist() == [1, 1, 1, 1, 1] + [0] * 11
    ask_next_run(pa, pc, ea, 1, 0, 0, np.uint64(7), 262144)  # one next run at a time
    assert ea.next_end[1, 0] == 5 and pc.owner[1, 5:].sum() == 0
    pc.have[1, 1], pc.recv[1, 1] = True, 16
    assert next_in_run(pc.have, pc.owner, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, 1, 0, 0) == 2
    assert (ea.cur_piece[1, 0], ea.run_end[1, 0], ea.next_end[1, 0]) == (2, 5, -1)
    pa, ea, pc = _one_connection(50_000.0, 10)
    ask_next_run(pa, pc, ea, 1, 0, 0, np.uint64(7), 262144)
    release_run(pc, ea, 1, 0)
    assert pc.owner[1, 1:].sum() == 0 and ea.run_end[1, 0] == -1 and ea.next_end[1, 0] == -1


def test_a_block_sent_releases_the_requests_behind_it_by_hand():
    """transfer_blocks, u = 0 sending v = 1 two blocks in a tick (credit 2 x 16 KiB): v's requests
    at u shrink by what u served (5 blocks out -> 3), and u's own REQUESTs to v, queued in u's send
    buffer behind the blocks, go out with them: u's whole request queue (4 blocks) is at v."""
    from sim.kernels.transfer import transfer_blocks
    pa, ea, pc = _one_connection(50_000.0, 0)
    ea.rq_open[1, 0] = 5 * 16384.0
    ea.rq_open[0, 0] = 0.0
    ea.unchoked[0, 0] = True  # u unchokes v
    dst, slot, order = np.array([1]), np.array([0]), np.array([0])
    rate = np.array([2 * 16384.0 / 0.5])
    logs = [np.zeros(8, np.float64)] + [np.zeros(8, np.int64) for _ in range(5)]
    transfer_blocks(pa, ea, pc, dst, slot, rate, 1, order, 0.5, 1.0, np.uint64(7), 1, 262144, *logs,
                    np.zeros(2, np.int64))
    assert pc.recv[1, 1] == 2
    assert ea.rq_open[1, 0] == 3 * 16384.0
    assert ea.rq_open[0, 0] == ea.dq_size[0, 0] * 16384.0 == 4 * 16384.0


def test_a_request_queue_spans_several_pieces_by_hand():
    """Piece by piece (5,000 B/s: 5,000 x 20 s // 262,144 = 0 whole pieces), libtorrent's
    request_a_block still fills the queue to its desired size, block by block across pieces, and
    a block asked of one peer is not asked of another (request_blocks.cpp: busy blocks are skipped
    outside end-game). v's queue at u holds 40 blocks; piece 1 lacks 6 of its 16 blocks. The
    queue's 34 free places take all of piece 2 (16 blocks), then all of piece 4 (16 of the 18 left;
    piece 3 is asked of another peer, a hole in the span of pieces asked for next); the 2 places
    left cannot hold a whole piece, so piece 5 stays open to v's other connections. v then moves
    1 -> 2 -> 4."""
    from sim.kernels.transfer import ask_next_run, blocks_left_in_run, next_in_run
    pa, ea, pc = _one_connection(5_000.0, 10)
    ea.dq_size[1, 0] = 40
    pc.owner[1, 3] = 7  # piece 3: all its blocks asked of another peer (u = 6)
    for _ in range(3):
        ask_next_run(pa, pc, ea, 1, 0, 0, np.uint64(7), 262144)
    assert pc.owner[1].tolist() == [1, 1, 1, 7, 1] + [0] * 11
    assert (ea.next_start[1, 0], ea.next_end[1, 0]) == (2, 5)
    assert blocks_left_in_run(pc.have, pc.recv, pc.blocks, pc.owner, ea.cur_piece, ea.run_end, ea.next_start,
                              ea.next_end, 1, 0, 0) == 6 + 16 + 16
    pc.have[1, 1], pc.recv[1, 1] = True, 16
    assert next_in_run(pc.have, pc.owner, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, 1, 0, 0) == 2
    pc.have[1, 2], pc.recv[1, 2] = True, 16
    assert next_in_run(pc.have, pc.owner, ea.cur_piece, ea.run_end, ea.next_start, ea.next_end, 1, 0, 0) == 4


def test_requests_behind_unread_data_wait_until_it_is_read_by_hand():
    """The same, with v reading slowly: u's REQUESTs to v wait behind 3 blocks of u's data that v
    has not read yet (rq_wait). v reads two blocks: 1 block still ahead, so u's requests stay where
    they were (v's requests at u shrink as before). One more block read: nothing ahead, u's whole
    request queue (4 blocks) is at v. With v's download channel short, the next block read puts
    u's next REQUESTs behind all v still awaits from u; with it rich, behind nothing."""
    from sim.kernels.transfer import transfer_blocks
    pa, ea, pc = _one_connection(50_000.0, 0)
    ea.rq_open[1, 0] = 5 * 16384.0
    ea.rq_open[0, 0] = 0.0
    ea.rq_wait[0, 0] = 3 * 16384.0
    ea.unchoked[0, 0] = True
    dst, slot, order = np.array([1]), np.array([0]), np.array([0])
    logs = [np.zeros(8, np.float64)] + [np.zeros(8, np.int64) for _ in range(5)]
    rate = np.array([2 * 16384.0 / 0.5])
    transfer_blocks(pa, ea, pc, dst, slot, rate, 1, order, 0.5, 1.0, np.uint64(7), 1, 262144, *logs,
                    np.zeros(2, np.int64))
    assert pc.recv[1, 1] == 2 and ea.rq_open[1, 0] == 3 * 16384.0
    assert ea.rq_wait[0, 0] == 16384.0 and ea.rq_open[0, 0] == 0.0  # still behind one block
    rate = np.array([16384.0 / 0.5])
    transfer_blocks(pa, ea, pc, dst, slot, rate, 1, order, 0.5, 1.5, np.uint64(7), 1, 262144, *logs,
                    np.zeros(2, np.int64))
    assert pc.recv[1, 1] == 3 and ea.rq_wait[0, 0] == 0.0
    assert ea.rq_open[0, 0] == ea.dq_size[0, 0] * 16384.0 == 4 * 16384.0
    # v's download channel short (less than a second of its limit): once u's requests are out, the
    # REQUESTs u writes next are behind every block v has asked u for and not read: piece 1's 12
    pa.down_cap[1], pa.dn_quota[1] = 50_000.0, 10_000.0
    transfer_blocks(pa, ea, pc, dst, slot, rate, 1, order, 0.5, 2.0, np.uint64(7), 1, 262144, *logs,
                    np.zeros(2, np.int64))
    assert pc.recv[1, 1] == 4 and ea.rq_wait[0, 0] == 12 * 16384.0
    pa.dn_quota[1] = 60_000.0  # a rich channel reads at once: nothing waits
    ea.rq_wait[0, 0] = 0.0
    transfer_blocks(pa, ea, pc, dst, slot, rate, 1, order, 0.5, 2.5, np.uint64(7), 1, 262144, *logs,
                    np.zeros(2, np.int64))
    assert pc.recv[1, 1] == 5 and ea.rq_wait[0, 0] == 0.0


def test_queue_full_is_blocks_left_in_run_reaching_the_desired_size():
    """transfer.queue_full (transfer_blocks skips ask_next_run_arrays when it holds) is exactly
    ``blocks_left_in_run(...) >= dq_size``, counted only as far as needed: on random runs, next
    spans (overlapping the run or not), owners, pieces had and blocks received."""
    from sim.kernels.transfer import blocks_left_in_run, queue_full
    rng = np.random.default_rng(3)
    P = 40
    blocks = rng.integers(1, 20, P).astype(np.int32)
    seen = set()
    for _ in range(3000):
        have = rng.random((2, P)) < 0.2
        recv = np.where(have, blocks, (rng.random((2, P)) * blocks).astype(np.int32)).astype(np.int32)
        owner = rng.choice(np.array([0, 1, 2, 3, -2], np.int32), (2, P))  # u = 1: its pieces have owner 2
        start = rng.integers(0, P)
        run_end = np.array([[min(P, start + rng.integers(0, 8))]], np.int64)
        cur_piece = np.array([[rng.integers(-1, P)]], np.int64)
        next_start = np.array([[-1]], np.int64)
        next_end = np.array([[-1]], np.int64)
        if rng.random() < 0.5:
            next_start[0, 0] = rng.integers(0, P)
            next_end[0, 0] = min(P, next_start[0, 0] + rng.integers(1, 8))
        dq = np.array([[rng.integers(0, 120)]], np.int64)
        left = blocks_left_in_run(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, 0, 0, 1)
        full = queue_full(have, recv, blocks, owner, cur_piece, run_end, next_start, next_end, dq, 0, 0, 1)
        assert full == (left >= dq[0, 0])
        seen.add((bool(full), left > 0))
    assert seen == {(True, True), (False, True), (True, False), (False, False)}
