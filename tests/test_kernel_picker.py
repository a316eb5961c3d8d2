"""Piece picker kernel against its twin: random first pieces, then rarest first, partials first."""

import numpy as np
import pytest

from sim.kernels.picker import ASKED, expand_run, move_piece, pick_piece, rebuild_order
from sim.state import num_buckets
from tests import naive


def random_state(rng, n=5, p=40, k=4):
    have = rng.random((n, p)) < 0.5
    blocks = rng.integers(1, 5, p).astype(np.int32)
    recv = np.where(have, blocks, 0).astype(np.int32)
    partial = (~have) & (rng.random((n, p)) < 0.2)
    recv[partial] = np.maximum(1, np.minimum(blocks[np.nonzero(partial)[1]] - 1, rng.integers(1, 3, partial.sum())))
    recv[partial & (blocks[None, :] == 1)] = 0
    avail = rng.integers(0, k + 1, (n, p)).astype(np.int32)
    owner = np.where((~have) & (rng.random((n, p)) < 0.15), rng.integers(1, n + 1, (n, p)), 0).astype(np.int32)
    order = np.array([rng.permutation(p) for _ in range(n)], dtype=np.int32)
    pos = np.zeros_like(order)
    bound = np.zeros((n, num_buckets(k) + 1), np.int32)
    scratch = np.empty(bound.shape[1] + p, np.int32)
    for v in range(n):
        rebuild_order(have, recv, avail, order, pos, bound, v, scratch)
    return have, recv, avail, order, pos, bound, owner


@pytest.mark.parametrize("seed", range(40))
def test_kernel_picks_what_the_twin_allows(seed):
    """On random states, in both modes, the kernel's pick is one the twin accepts."""
    rng = np.random.default_rng(seed)
    have, recv, avail, order, pos, bound, owner = random_state(rng)
    salt = np.uint64(rng.integers(0, 2**63))
    for v in range(have.shape[0]):
        assert naive.picker_order_is_consistent(have, recv, avail, order, pos, bound, v)
        for n_have_v in (0, 10):
            for whole in (False, True):
                for u in range(have.shape[0]):
                    if u != v:
                        got = pick_piece(have, recv, avail, order, pos, bound, owner, n_have_v, v, u, salt, whole)
                        assert got in naive.acceptable_picks(have, recv, avail, owner, n_have_v, v, u, salt, whole)


def test_nothing_to_pick():
    """-1 when the uploader has nothing the downloader still needs."""
    rng = np.random.default_rng(0)
    have, recv, avail, order, pos, bound, owner = random_state(rng, n=2, p=6)
    have[1] = have[0]
    for v in range(2):
        rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + 6, np.int32))
    assert pick_piece(have, recv, avail, order, pos, bound, owner, 10, 0, 1, np.uint64(1), True) == -1


def test_rarest_first_after_four_pieces():
    """With 4+ pieces the rarest piece wins whatever the order inside buckets."""
    P = 10
    for seed in range(10):
        rng = np.random.default_rng(seed)
        have = np.zeros((2, P), bool)
        have[1] = True
        have[0, :4] = True
        avail = np.full((2, P), 3, np.int32)
        avail[0, 7] = 1
        recv = np.where(have, 1, 0).astype(np.int32)
        order = np.array([rng.permutation(P), rng.permutation(P)], dtype=np.int32)
        pos, bound = np.zeros_like(order), np.zeros((2, num_buckets(4) + 1), np.int32)
        for v in range(2):
            rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + P, np.int32))
        owner = np.zeros((2, P), np.int32)
        assert pick_piece(have, recv, avail, order, pos, bound, owner, 4, 0, 1, np.uint64(seed), False) == 7


def test_random_first_pieces_are_spread():
    """Below 4 pieces the pick is random: different salts give different pieces."""
    P = 50
    have = np.zeros((2, P), bool)
    have[1] = True
    z = np.zeros((2, P), np.int32)
    order = np.tile(np.arange(P, dtype=np.int32), (2, 1))
    bound = np.zeros((2, num_buckets(2) + 1), np.int32)
    picks = {pick_piece(have, z, z, order, order.copy(), bound, z, 0, 0, 1, np.uint64(s), False) for s in range(40)}
    assert len(picks) > 20


def test_initial_mode_walks_from_a_random_start():
    """Below 4 pieces libtorrent walks from a random start to the first piece the uploader has, so
    a piece after a long stretch the uploader lacks is picked more often. Worked by hand: of 40
    pieces u has 0, 1, 2, 3 and 20. A start in 21..39 or at 0 gives piece 0 (20 of 40 starts),
    4..20 gives 20 (17 of 40), 1, 2 and 3 one start each. A uniform pick would give each 1/5."""
    P = 40
    have = np.zeros((2, P), bool)
    have[1, [0, 1, 2, 3, 20]] = True
    z = np.zeros((2, P), np.int32)
    order = np.tile(np.arange(P, dtype=np.int32), (2, 1))
    bound = np.zeros((2, num_buckets(2) + 1), np.int32)
    n = 4000
    picks = np.array([pick_piece(have, z, z, order, order.copy(), bound, z, 0, 0, 1, np.uint64(s), False)
                      for s in range(n)])
    for p, share in ((0, 20 / 40), (20, 17 / 40), (1, 1 / 40), (2, 1 / 40), (3, 1 / 40)):
        sd = (share * (1 - share) / n) ** 0.5
        assert abs((picks == p).mean() - share) < 5 * sd, p


def test_initial_mode_joins_downloading_pieces_first():
    """Below 4 pieces (libtorrent's prioritize_partials) a piece v is already downloading comes
    first, lowest index first: one with a block received, or only asked of another peer (owner
    ASKED, nothing received yet). Only then a new piece."""
    P = 30
    have = np.zeros((2, P), bool)
    have[1] = True
    recv = np.zeros((2, P), np.int32)
    owner = np.zeros((2, P), np.int32)
    order = np.tile(np.arange(P, dtype=np.int32), (2, 1))
    bound = np.zeros((2, num_buckets(2) + 1), np.int32)
    owner[0, 17] = ASKED
    recv[0, 25] = 1
    for s in range(50):
        assert pick_piece(have, recv, recv, order, order.copy(), bound, owner, 0, 0, 1, np.uint64(s), False) == 17
    owner[0, 17] = 0
    for s in range(50):
        assert pick_piece(have, recv, recv, order, order.copy(), bound, owner, 0, 0, 1, np.uint64(s), False) == 25


@pytest.mark.parametrize("seed", range(20))
def test_rarest_mode_takes_the_first_piece_in_order(seed):
    """After the initial mode the pick is exactly the uploader's piece that comes first in the
    downloader's bucket order, whichever of the kernel's two scans finds it."""
    rng = np.random.default_rng(1000 + seed)
    have, recv, avail, order, pos, bound, owner = random_state(rng, n=6, p=60)
    have[0, :] = rng.random(60) < 0.05  # an uploader with few pieces: the kernel walks u's list
    for v in range(6):
        rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + 60, np.int32))
    for v in range(6):
        for u in range(6):
            if u != v:
                for whole in (False, True):
                    wanted = [int(p) for p in order[v] if have[u, p] and not have[v, p]]
                    tier = [2 if owner[v, p] else (1 if whole and recv[v, p] > 0 else 0) for p in wanted]
                    expected = wanted[tier.index(min(tier))] if wanted else -1
                    end_game = not any(recv[v, p] == 0 and owner[v, p] == 0 for p in order[v] if not have[v, p])
                    if wanted and min(tier) == 2 and not end_game:
                        expected = -1  # busy pieces only in strict end-game
                    got = pick_piece(have, recv, avail, order, pos, bound, owner, 10, v, u, np.uint64(1), whole)
                    assert got == expected


@pytest.mark.parametrize("seed", range(20))
def test_end_game_pick_is_the_first_busy_piece_in_order(seed):
    """In end-game (every piece v still needs is partial or asked of another peer) the pick is, as
    in any state, u's first piece in v's order of the best tier; most of v's pieces are busy here,
    the case where the scan stops reading u's row once it has a busy fall-back."""
    rng = np.random.default_rng(3000 + seed)
    have, recv, avail, order, pos, bound, owner = random_state(rng, n=6, p=60)
    for v in range(6):
        missing = ~have[v]
        busy = missing & (rng.random(60) < 0.9)
        owner[v] = np.where(busy, rng.integers(1, 7, 60), 0)
        recv[v] = np.where(missing & ~busy, np.maximum(recv[v], 1), recv[v])  # the rest partial
        rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + 60, np.int32))
    for v in range(6):
        for u in range(6):
            if u != v:
                for whole in (False, True):
                    wanted = [int(p) for p in order[v] if have[u, p] and not have[v, p]]
                    tier = [2 if owner[v, p] else (1 if whole and recv[v, p] > 0 else 0) for p in wanted]
                    expected = wanted[tier.index(min(tier))] if wanted else -1
                    got = pick_piece(have, recv, avail, order, pos, bound, owner, 10, v, u, np.uint64(1), whole)
                    assert got == expected


@pytest.mark.parametrize("seed", range(30))
def test_whole_piece_run_matches_the_twin(seed):
    """A picked piece grows into the run of adjacent pieces libtorrent's expand_piece asks for."""
    rng = np.random.default_rng(2000 + seed)
    have, recv, avail, order, pos, bound, owner = random_state(rng, n=4, p=40)
    have[1] = rng.random(40) < 0.8  # an uploader with long stretches of pieces
    for v in (0, 2, 3):
        for x in range(40):
            if have[1, x] and not have[v, x] and recv[v, x] == 0 and owner[v, x] == 0:
                for n in (1, 2, 4, 7):
                    got = tuple(int(i) for i in expand_run(have, recv, owner, v, 1, x, n))
                    assert got == naive.whole_piece_run(have, recv, owner, v, 1, x, n)
                    assert got[0] <= x < got[1] and got[1] - got[0] <= n


def test_busy_pieces_only_in_strict_end_game():
    """A piece whose blocks v asked of another peer is not picked while v still needs an untouched
    piece elsewhere (libtorrent's strict_end_game_mode); once every needed piece is downloading, it is."""
    P = 6
    have = np.zeros((3, P), bool)
    have[1, 2] = True  # u = 1 has only piece 2
    have[2, :] = True  # peer 2 has everything
    have[0, :2] = True  # v = 0 has pieces 0 and 1
    recv = np.where(have, 1, 0).astype(np.int32)
    avail = np.ones((3, P), np.int32)
    owner = np.zeros((3, P), np.int32)
    owner[0, 2] = 2 + 1  # v asked peer 2 for every block of piece 2
    order = np.tile(np.arange(P, dtype=np.int32), (3, 1))
    pos, bound = np.zeros_like(order), np.zeros((3, num_buckets(4) + 1), np.int32)
    for v in range(3):
        rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + P, np.int32))
    for n_have in (2, 10):  # initial mode and rarest-first mode
        assert pick_piece(have, recv, avail, order, pos, bound, owner, n_have, 0, 1, np.uint64(1), True) == -1
    owner[0, 3:] = 2 + 1  # now every piece v needs is being downloaded from peer 2: end-game
    for n_have in (2, 10):
        assert pick_piece(have, recv, avail, order, pos, bound, owner, n_have, 0, 1, np.uint64(1), True) == 2


def _two_equal_rows_in_buckets(rng, P, NB):
    """order, pos, bound for two peers with the same random piece order cut into NB random buckets
    (some empty): row 0 for the kernel, row 1 for the swap by swap twin."""
    order = np.tile(rng.permutation(P).astype(np.int32), (2, 1))
    pos = np.empty_like(order)
    pos[0, order[0]] = np.arange(P, dtype=np.int32)
    pos[1] = pos[0]
    cuts = np.sort(rng.integers(0, P + 1, NB - 1))
    bound = np.tile(np.concatenate(([0], cuts, [P])).astype(np.int32), (2, 1))
    return order, pos, bound


@pytest.mark.parametrize("seed", range(5))
def test_move_piece_matches_the_swaps(seed):
    """A piece moved across buckets (up, down, to bucket 0, across empty buckets) leaves order,
    pos and bound exactly as the swap by swap twin does."""
    rng = np.random.default_rng(seed)
    P, NB = 64, 9
    order, pos, bound = _two_equal_rows_in_buckets(rng, P, NB)
    # the twin moves the same peer's row in copies (the shuffle's place depends on the peer)
    o2, p2, b2 = order.copy(), pos.copy(), bound.copy()
    shuffled = 0
    for _ in range(300):
        p = int(rng.integers(P))
        old_b = int(np.searchsorted(bound[0], pos[0, p], side="right") - 1)
        new_b = int(rng.integers(NB))
        move_piece(order, pos, bound, 0, p, old_b, new_b)
        edge = bound[0, new_b + 1] - 1 if new_b < old_b else bound[0, new_b]  # where the edges alone put it
        naive.move_piece_by_swaps(o2, p2, b2, 0, p, old_b, new_b)
        assert (order[0] == o2[0]).all() and (pos[0] == p2[0]).all() and (bound[0] == b2[0]).all()
        shuffled += new_b not in (0, old_b) and pos[0, p] != edge
    assert shuffled > 50  # the moved piece does not always end at its new bucket's edge


@pytest.mark.parametrize("seed", range(5))
def test_two_bucket_moves_match_the_swaps(seed):
    """move_piece_up2 / move_piece_down2 (a neighbour's availability of a piece up or down by one:
    two buckets) leave order, pos and bound exactly as the swap by swap twin moving it two buckets,
    across empty buckets and at the ends of their ranges."""
    from sim.kernels.picker import move_piece_down2, move_piece_up2
    rng = np.random.default_rng(100 + seed)
    P, NB = 48, 11
    order, pos, bound = _two_equal_rows_in_buckets(rng, P, NB)
    o2, p2, b2 = order.copy(), pos.copy(), bound.copy()
    moves = 0
    for _ in range(400):
        p = int(rng.integers(P))
        b = int(np.searchsorted(bound[0], pos[0, p], side="right") - 1)
        up = bool(rng.integers(2))
        if (up and b + 2 >= NB) or (not up and b < 2):
            continue
        if up:
            move_piece_up2(order, pos, bound, 0, p, b)
        else:
            move_piece_down2(order, pos, bound, 0, p, b)
        naive.move_piece_by_swaps(o2, p2, b2, 0, p, b, b + 2 if up else b - 2)
        assert (order[0] == o2[0]).all() and (pos[0] == p2[0]).all() and (bound[0] == b2[0]).all()
        assert np.searchsorted(bound[0], pos[0, p], side="right") - 1 == (b + 2 if up else b - 2)
        moves += 1
    assert moves > 100

def test_partials_first_by_hand():
    """piece_picker::pick_pieces: more partial pieces than num_peers * 3 / 2 (integer division), or
    more than 2,048 blocks in them. With 4 connections: 7 partial pieces of 16 blocks, not 6; with
    16 MiB pieces (1,024 blocks): 3 partial pieces, not 2; with 128 blocks: 17, not 16."""
    from sim.kernels.picker import PARTIAL_LIST, partials_first
    for n, deg, bpp, expect in [(6, 4, 16, False), (7, 4, 16, True), (2, 50, 1024, False), (3, 50, 1024, True),
                                (16, 50, 128, False), (17, 50, 128, True), (0, 0, 16, False), (1, 0, 16, True)]:
        partials = np.zeros((2, 2 + PARTIAL_LIST), np.int64)
        partials[1, 0] = n
        blocks = np.full(3, bpp, np.int32)
        assert partials_first(partials, deg, blocks, 1) == expect == naive.partials_first(n, deg, bpp), (n, deg, bpp)


def test_partial_list_by_hand():
    """A peer's partial pieces are counted and listed as they change (picker.partial_after): the
    list holds PARTIAL_LIST of them; the ones beyond are counted only, and the list counts as
    complete (``partials_listed``) again once the count is back down to what is listed."""
    from sim.kernels.picker import PARTIAL_LIST, partial_after, partials_listed
    C = PARTIAL_LIST
    P = C + 4
    owner = np.zeros((1, P), np.int32)
    recv = np.zeros((1, P), np.int32)
    blocks = np.full(P, 4, np.int32)
    rows = np.zeros((1, 2 + C), np.int64)

    def change(p, r, o=0):  # recv and owner of piece p, kept as the kernels keep them
        before = int(0 < recv[0, p] < 4 and owner[0, p] == 0 or owner[0, p] == ASKED)
        recv[0, p], owner[0, p] = r, o
        partial_after(rows, owner, recv, blocks, 0, p, before)

    def listed():
        return sorted(rows[0, 2:2 + rows[0, 1]].tolist())

    for p in range(C + 2):
        change(p, 1)
    assert rows[0, :2].tolist() == [C + 2, C] and not partials_listed(rows, 0)
    assert listed() == list(range(C))  # the first C; C and C + 1 only counted
    change(C + 1, 4)  # complete: not partial (and not in the list)
    assert rows[0, :2].tolist() == [C + 1, C] and not partials_listed(rows, 0)
    change(5, 1, o=2)  # asked of one connection in full: not partial
    assert rows[0, :2].tolist() == [C, C - 1] and not partials_listed(rows, 0)
    change(C, 0)  # back to fresh (its asked blocks given back)
    assert rows[0, :2].tolist() == [C - 1, C - 1] and partials_listed(rows, 0)
    assert listed() == [p for p in range(C) if p != 5]
    change(C + 2, 0, o=ASKED)  # some blocks asked on shared connections: partial, listed again
    assert listed() == [p for p in range(C + 3) if p != 5 and p < C or p == C + 2] and partials_listed(rows, 0)
    change(7, 1, o=3)  # asked of a connection in full: no longer partial
    assert 7 not in listed() and rows[0, :2].tolist() == [C - 1, C - 1]


def test_pick_partial_by_hand():
    """v (peer 0) lacks pieces 1, 2, 4, 6, 7 of 8; u (peer 1) has all. Partial: 2 (3 peers have
    it, 5 blocks received), 4 (1 peer, 2 received), 6 (1 peer, 3 received and 4 asked: ASKED);
    7 is asked of one connection in full (owner > 0), so not partial; 1 is fresh and rarest.
    The rule takes the rarest partial pieces (4 and 6), then the one with most blocks received
    or asked: 6. The normal pick takes the rarest piece: 7 is busy, so 1."""
    from sim.kernels.picker import pick_partial
    P = 8
    have = np.zeros((2, P), bool)
    have[1] = True
    have[0, [0, 3, 5]] = True
    blocks = np.full(P, 16, np.int32)
    recv = np.where(have, 16, 0).astype(np.int32)
    recv[0, 2], recv[0, 4], recv[0, 6] = 5, 2, 3
    asked = np.zeros((2, P), np.int32)
    asked[0, 6] = 4
    owner = np.zeros((2, P), np.int32)
    owner[0, 6] = ASKED
    owner[0, 7] = 2
    avail = np.zeros((2, P), np.int32)
    avail[0, [1, 2, 4, 6, 7]] = [0, 3, 1, 1, 0]
    k = 4
    order = np.tile(np.arange(P, dtype=np.int32), (2, 1))
    pos = order.copy()
    bound = np.zeros((2, num_buckets(k) + 1), np.int32)
    for v in range(2):
        rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + P, np.int32))
    def pick(listed):  # from v's list of partial pieces, or (no list) by the scan of v's order
        rows = naive.partials_rows(owner, recv, blocks, listed)
        return pick_partial(have, recv, avail, order, pos, bound, owner, asked, blocks, rows, 0, 1)

    assert naive.partials_rows(owner, recv, blocks)[0, :5].tolist() == [3, 3, 2, 4, 6]
    assert pick(True) == pick(False) == 6
    assert naive.partial_picks(have, recv, avail, owner, asked, blocks, 0, 1) == {6}
    assert pick_piece(have, recv, avail, order, pos, bound, owner, 10, 0, 1, np.uint64(1), False) == 1
    have[1, [4, 6]] = False  # u lacks the rarest partial pieces: the next rarity, piece 2
    assert pick(True) == pick(False) == 2
    have[1, 2] = False  # no partial piece at u
    assert pick(True) == pick(False) == -1


@pytest.mark.parametrize("seed", range(20))
def test_pick_partial_matches_the_twin(seed):
    """On random states (partial, shared, busy and owned pieces), pick_partial picks a piece the
    twin accepts, the same from the peer's list of partial pieces as by the scan of its order."""
    from sim.kernels.picker import BUSY, pick_partial
    rng = np.random.default_rng(seed)
    have, recv, avail, order, pos, bound, owner = random_state(rng)
    n, P = have.shape
    blocks = np.full(P, 4, np.int32)
    recv = np.where(have, 4, np.minimum(recv, 3)).astype(np.int32)
    shared = (~have) & (owner == 0) & (rng.random((n, P)) < 0.3)
    owner[shared] = np.where(rng.random(shared.sum()) < 0.5, ASKED, BUSY)
    asked = np.where(shared, 1, 0).astype(np.int32)
    for v in range(n):
        rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + P, np.int32))
        for u in range(n):
            if u != v:
                got = [pick_partial(have, recv, avail, order, pos, bound, owner, asked, blocks,
                                    naive.partials_rows(owner, recv, blocks, listed), v, u) for listed in (True, False)]
                assert got[0] == got[1]  # the list gives the scan's answer, ties included (v's order)
                assert got[0] in naive.partial_picks(have, recv, avail, owner, asked, blocks, v, u)


def test_shared_piece_gets_requests_only_while_first_by_hand():
    """libtorrent picks again whenever a connection's queue has room (request_a_block), so a
    connection on a shared piece asks for more of it only while nothing ranks before it
    (transfer.still_first). v (peer 0) holds pieces 0 and 1 of 8; u (peer 1) has all. Piece 3 is
    asked (ASKED, no block yet; 3 asked), 4 partly received (5 blocks), 7 asked (2 asked);
    availability in v's view: 6 -> 0, 4 -> 1, 3 and 7 -> 2, the rest 3.
    - Initial mode (fewer than 4 pieces): downloading pieces by index: 3 ranks after nothing
      (4 and 7 come later), 4 after 3, 7 after 3 and 4.
    - Rarest first: 6 (rarest, fresh) ranks before 3, 4 and 7; without 6 at u, 4 (rarer) before 3
      and 7; without 4 and 6, 3 and 7 share a rank and keep their requests, and piece 5 (as rare,
      but fresh: its connection's asked blocks were given back before any arrived) ranks after the
      asked piece 3, the first of that rarity in v's order.
    - Too many partial pieces (7 > 1.5 x 4 connections): the rarest partial piece, then the
      fullest: 4; without 4 at u, 3 (3 asked) before 7 (2 asked)."""
    from sim.kernels.transfer import still_first
    P = 8
    have = np.zeros((2, P), bool)
    have[1] = True
    have[0, [0, 1]] = True
    blocks = np.full(P, 16, np.int32)
    recv = np.where(have, 16, 0).astype(np.int32)
    recv[0, 4] = 5
    asked = np.zeros((2, P), np.int32)
    asked[0, 3], asked[0, 7] = 3, 2
    owner = np.zeros((2, P), np.int32)
    owner[0, [3, 7]] = ASKED
    avail = np.full((2, P), 3, np.int32)
    avail[0, [6, 4, 3, 7, 5]] = [0, 1, 2, 2, 2]
    k = 4
    order = np.tile(np.arange(P, dtype=np.int32), (2, 1))
    pos = order.copy()
    bound = np.zeros((2, num_buckets(k) + 1), np.int32)

    no_seeds = np.zeros(2, bool)  # the seeds among v's neighbours: none (the scans here are short)
    nbr = np.ones((2, k), np.int64)

    def first(p, n_have, partials=0):
        for v in range(2):
            rebuild_order(have, recv, avail, order, pos, bound, v, np.empty(bound.shape[1] + P, np.int32))
        rows = naive.partials_rows(owner, recv, blocks, listed=False)
        rows[0, 0] = partials  # the count alone: the scan of v's order
        scanned = still_first(have, recv, avail, order, pos, bound, owner, asked, blocks, rows, k, n_have, 0, 1,
                              np.uint64(1), p, no_seeds, nbr)
        if partials:  # the same from v's list (3, 4, 7), with the rule on through one connection
            listed = still_first(have, recv, avail, order, pos, bound, owner, asked, blocks,
                                 naive.partials_rows(owner, recv, blocks), 1, n_have, 0, 1, np.uint64(1), p, no_seeds,
                                 nbr)
            assert listed == scanned, p
        return scanned

    assert [first(p, 2) for p in (3, 4, 7)] == [True, False, False]
    assert [first(p, 10) for p in (3, 4, 7)] == [False, False, False]
    have[1, 6] = False
    assert [first(p, 10) for p in (3, 4, 7)] == [False, True, False]
    have[1, 4] = False
    assert [first(p, 10) for p in (3, 7)] == [True, True]
    assert not first(5, 10)
    have[1, 4] = True
    assert [first(p, 10, partials=7) for p in (3, 4, 7)] == [False, True, False]
    have[1, 4] = False
    assert [first(p, 10, partials=7) for p in (3, 7)] == [True, False]


@pytest.mark.parametrize("seed", range(6))
def test_still_first_skips_only_buckets_without_the_uploaders_pieces(seed):
    """still_first reads only the buckets that can hold one of u's pieces: each piece u has counts once
    for u and once for every seed among v's neighbours in avail[v] (topology keeps avail the count of
    v's neighbours with the piece). On swarm states built by the real connect / piece_complete —
    seeds, leechers with random pieces, pieces busy for v — its answer equals the definition read off
    the whole of v's order: no piece rarer than p in v's view that u has and v can still ask for."""
    from sim.kernels import topology
    from sim.kernels.picker import BUSY, bucket_of, move_piece
    from sim.kernels.transfer import still_first
    from sim.state import new_edges, new_peers, new_pieces
    rng = np.random.default_rng(seed)
    N, K, P = 9, 8, 160
    pa, ea = new_peers(N), new_edges(N, K)
    blocks = np.full(P, 4, np.int32)
    pc = new_pieces(N, blocks, 16384, K)
    pa.active[:] = True
    for s in range(1 + seed % 3):  # one to three seeds
        topology.give_all_pieces(pa, pc, s)
    for u in range(N):
        for v in range(u + 1, N):
            if rng.random() < 0.8:
                topology.connect(pa, ea, pc, u, v)
    for w in range(3, N):  # leechers: a random share of the pieces each
        for p in rng.permutation(P)[:rng.integers(4, P // 2)]:
            topology.piece_complete(pa, ea, pc, w, p)
    checked = narrowed = 0
    for v in range(3, N):
        lacking = np.flatnonzero(~pc.have[v])
        pc.owner[v, rng.choice(lacking, len(lacking) // 4, replace=False)] = BUSY
        for k in range(pa.deg[v]):
            u = ea.nbr[v, k]
            for p in rng.permutation(lacking)[:12]:
                if not pc.have[u, p] or pc.owner[v, p] == BUSY:
                    continue
                # p downloading: a block received (its bucket moves with it), for this check only
                b = bucket_of(pc.have, pc.recv, pc.avail, v, p)
                pc.recv[v, p] = 1
                move_piece(pc.order, pc.pos, pc.bound, v, p, b, b - 1)
                rows = naive.partials_rows(pc.owner, pc.recv, pc.blocks)  # one partial piece: p
                got = still_first(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, pc.owner, pc.asked,
                                  pc.blocks, rows, pa.deg[v], pa.n_have[v], v, u, np.uint64(1), p, pa.is_seed, ea.nbr)
                pc.recv[v, p] = 0
                move_piece(pc.order, pc.pos, pc.bound, v, p, b - 1, b)
                rarer_at_u = [q for q in lacking if pc.avail[v, q] < pc.avail[v, p] and pc.have[u, q]
                              and pc.owner[v, q] != BUSY and pc.owner[v, q] <= 0]
                assert got == (not rarer_at_u), (v, u, p)
                checked += 1
                a = pc.avail[v, p]
                narrowed += pc.bound[v, 1 + 2 * a] - pc.bound[v, 1] > pa.deg[v]
                assert naive.picker_order_is_consistent(pc.have, pc.recv, pc.avail, pc.order, pc.pos, pc.bound, v)
    assert checked > 50 and narrowed > 10  # the long scans (the narrowed ones) were exercised
