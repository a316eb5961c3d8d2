"""The swarm's state as plain arrays, grouped in named tuples that numba kernels take whole.

Peers are rows 0..N-1 (subject = 0, then initial seeds, then leechers). Connections are kept as
fixed-width neighbour lists: ``nbr[u, k]`` is the k-th peer connected to u (-1: free slot) and
``rev[u, k]`` is the slot at which u appears in that peer's list, so both ends of a connection find
each other in O(1). Every per-connection array is indexed [u, k] from u's side.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NEVER = -1.0e300  # "long ago": a peer never unchoked sorts as having waited longest


class PeerArrays(NamedTuple):
    active: np.ndarray  # bool: joined and not left
    is_seed: np.ndarray  # bool: holds every piece
    up_cap: np.ndarray  # f8 bytes/s, effective (link and rate limit)
    down_cap: np.ndarray  # f8 bytes/s
    n_have: np.ndarray  # i8 complete pieces
    slots: np.ndarray  # i8 unchoke_slots_limit (0: never unchokes, the free rider)
    opt_slots: np.ndarray  # i8 optimistic unchoke slots
    seed_algo: np.ndarray  # i8 0 round_robin, 1 fastest_upload, 2 anti_leech
    rate_based: np.ndarray  # bool choking_algorithm == rate_based_choker
    quota_bytes: np.ndarray  # i8 seeding_piece_quota * piece size
    interval_s: np.ndarray  # f8 unchoke_interval
    opt_interval_s: np.ndarray  # f8 optimistic_unchoke_interval
    next_round_t: np.ndarray  # f8 when the next regular unchoke round runs
    next_opt_t: np.ndarray  # f8 when the next optimistic round runs
    total_up: np.ndarray  # i8 payload bytes uploaded
    total_down: np.ndarray  # i8 payload bytes downloaded
    deg: np.ndarray  # i8 open connections
    interest_changed: np.ndarray  # bool some connected peer became or stopped being interested in u
    whole_s: np.ndarray  # f8 whole_pieces_threshold (0: never ask for whole pieces)
    up_quota: np.ndarray  # f8 upload quota left (bytes; at most 3 s of the limit, negative when over-used)
    dn_quota: np.ndarray  # f8 download quota left (bytes; likewise)
    up_avail: np.ndarray  # f8 upload rate this tick may use: limit plus quota left over (bytes/s)
    dn_avail: np.ndarray  # f8 download rate this tick may use (bytes/s)
    up_tick: np.ndarray  # i8 bytes uploaded this tick
    dn_tick: np.ndarray  # i8 bytes downloaded this tick


class EdgeArrays(NamedTuple):
    nbr: np.ndarray  # i8 [N,K]
    rev: np.ndarray  # i8 [N,K]
    wants: np.ndarray  # i8 pieces nbr has that u lacks (u interested in nbr iff > 0)
    unchoked: np.ndarray  # bool u unchokes nbr
    optimistic: np.ndarray  # bool ... as its optimistic unchoke
    was_interested: np.ndarray  # bool nbr was interested in u at u's last look (preemptive unchoke)
    down_round: np.ndarray  # i8 bytes u received from nbr since u's last regular round
    up_round: np.ndarray  # i8 bytes u sent nbr since u's last regular round
    up_since_unchoke: np.ndarray  # i8 bytes u sent nbr since u last unchoked it
    up_conn_total: np.ndarray  # i8 bytes u sent nbr over this connection
    last_unchoke_t: np.ndarray  # f8
    last_opt_t: np.ndarray  # f8
    credit: np.ndarray  # f8 bytes u may still receive from nbr (fraction of a block carried over)
    cur_piece: np.ndarray  # i8 piece u is downloading from nbr (-1: pick one)
    run_end: np.ndarray  # i8 end (exclusive) of the run of whole pieces u asked nbr for, from cur_piece on
    rate_avg: np.ndarray  # f8 u's download rate from nbr, libtorrent's 5-second average (bytes/s)
    tick_bytes: np.ndarray  # i8 bytes u received from nbr in the current tick


class PieceArrays(NamedTuple):
    have: np.ndarray  # bool [N,P]
    recv: np.ndarray  # i4 [N,P] blocks received of each piece
    avail: np.ndarray  # i4 [N,P] connected peers that have the piece, as u sees them (frozen once u is a seed)
    blocks: np.ndarray  # i4 [P] blocks per piece
    last_block_bytes: int  # size of the torrent's final block (<= 16 KiB)
    order: np.ndarray  # i4 [N,P] u's pieces ordered by picker priority bucket (see kernels/picker.py)
    pos: np.ndarray  # i4 [N,P] inverse of order
    bound: np.ndarray  # i4 [N,NB+1] start of each priority bucket in order
    owner: np.ndarray  # i4 [N,P] u asked peer owner-1 for every block of the piece (0: nobody)


def new_peers(n: int) -> PeerArrays:
    f = lambda v=0.0: np.full(n, v, dtype=np.float64)  # noqa: E731
    i = lambda v=0: np.full(n, v, dtype=np.int64)  # noqa: E731
    b = lambda: np.zeros(n, dtype=np.bool_)  # noqa: E731
    return PeerArrays(b(), b(), f(), f(), i(), i(), i(), i(), b(), i(), f(15.0), f(30.0),
                      f(), f(), i(), i(), i(), b(), f(20.0), f(), f(), f(), f(), i(), i())


def new_edges(n: int, k: int) -> EdgeArrays:
    i = lambda v=0: np.full((n, k), v, dtype=np.int64)  # noqa: E731
    b = lambda: np.zeros((n, k), dtype=np.bool_)  # noqa: E731
    f = lambda v=0.0: np.full((n, k), v, dtype=np.float64)  # noqa: E731
    return EdgeArrays(i(-1), i(-1), i(), b(), b(), b(), i(), i(), i(), i(), f(NEVER), f(NEVER), f(), i(-1), i(-1), f(), i())


def num_buckets(k: int) -> int:
    """Picker priority buckets for peers with at most k connections: have, then 2 per availability."""
    return 2 * k + 3


def new_pieces(n: int, blocks: np.ndarray, last_block_bytes: int, k: int) -> PieceArrays:
    p = len(blocks)
    order = np.tile(np.arange(p, dtype=np.int32), (n, 1))
    bound = np.zeros((n, num_buckets(k) + 1), np.int32)
    bound[:, 3:] = p  # every piece starts fresh with availability 0: bucket 2
    return PieceArrays(np.zeros((n, p), np.bool_), np.zeros((n, p), np.int32), np.zeros((n, p), np.int32),
                       np.ascontiguousarray(blocks, dtype=np.int32), int(last_block_bytes),
                       order, order.copy(), bound, np.zeros((n, p), np.int32))
