"""The session coupler's pure functions, on cases small enough to work out by hand."""

import numpy as np

from sim.session_coupler import pick_optimistic, rank_regular, split_channel


def test_channel_split_by_waiting_requests():
    """1 MB/s shared by torrents with 3, 1 and 0 waiting requests: 750k, 250k, 0; the saved quota
    (100 + 300 bytes) likewise, so each request gets the same part as in one channel."""
    caps, banks = split_channel(1_000_000, np.array([100.0, 300.0, 0.0]), np.array([3, 1, 0]))
    assert caps.tolist() == [750_000, 250_000, 0]
    assert banks.tolist() == [300, 100, 0]
    assert caps[0] / 3 == caps[1] / 1  # per waiting request: equal


def test_channel_with_nothing_waiting_is_split_evenly():
    """No request waits anywhere: each torrent gets an equal part (the quota it may save)."""
    caps, banks = split_channel(900.0, np.array([30.0, 0.0, 0.0]), np.array([0, 0, 0]))
    assert caps.tolist() == [300, 300, 300]
    assert banks.tolist() == [10, 10, 10]


def test_regular_slots_go_to_the_peers_that_sent_most_last_round():
    """Five peers of two torrents sent 10, 50, 0, 40, 50 bytes: the best three are 50, 50, 40;
    the tie between the two 50s is broken by the first tie key (smaller first)."""
    down = np.array([10, 50, 0, 40, 50], dtype=float)
    ties = np.array([[0, 1, 0, 0, 0]], dtype=float)  # e.g. peer 1 over its seeding quota
    assert rank_regular(down, ties, 2).tolist() == [False, True, False, False, True]
    assert rank_regular(down, ties, 1).tolist() == [False, False, False, False, True]  # key 0 before key 1
    assert rank_regular(down, ties, 3).tolist() == [False, True, False, True, True]



def test_regular_slots_when_everyone_sent_nothing_follow_the_seeding_keys():
    """As a seed every peer sent 0: the seeding algorithm's keys decide, row by row: peer 2 is
    over its quota (last); of the others the largest upload last round (-9) first: peers 1, 0."""
    down = np.zeros(4)
    ties = np.array([[0, 0, 1, 0], [-5, -9, -9, -1], [3, 2, 1, 0]], dtype=float)
    assert rank_regular(down, ties, 2).tolist() == [True, True, False, False]


def test_optimistic_slot_goes_to_the_longest_waiting_eligible_peer():
    """Optimistically unchoked at 30, never (-inf), 10 and never; the never-unchoked ones tie and
    the tie key decides; an ineligible peer (already regularly unchoked) is skipped."""
    last = np.array([30.0, -np.inf, 10.0, -np.inf])
    tie = np.array([0.1, 0.9, 0.5, 0.2])
    eligible = np.array([True, True, True, False])
    assert pick_optimistic(last, tie, eligible, 1).tolist() == [False, True, False, False]
    assert pick_optimistic(last, tie, eligible, 2).tolist() == [False, True, True, False]
    assert not pick_optimistic(last, tie, np.zeros(4, bool), 1).any()
