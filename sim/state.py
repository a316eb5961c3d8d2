"""The swarm's state as plain arrays, grouped in named tuples that numba kernels take whole.

Peers are rows 0..N-1 (subject = 0, then initial seeds, then leechers). Connections are kept as
fixed-width neighbour lists: ``nbr[u, k]`` is the k-th peer connected to u (-1: free slot) and
``rev[u, k]`` is the slot at which u appears in that peer's list, so both ends of a connection find
each other in O(1). Every per-connection array is indexed [u, k] from u's side.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .kernels.picker import PARTIAL_LIST

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
    up_quota: np.ndarray  # f8 upload channel's quota left (m_quota_left; at most 3 s of the limit)
    dn_quota: np.ndarray  # f8 download quota left (bytes; at most 3 s of the limit, negative when over-used)
    dn_tick: np.ndarray  # i8 bytes downloaded this tick
    sec_phase: np.ndarray  # i8 which quota tick of each second runs the session's second tick
    tick_phase: np.ndarray  # f8 where in the quota tick the session's own tick falls (fraction of a tick, [0, 1))
    # the session's send buffer and request queue settings (settings_pack names; kernels/bandwidth.py)
    sb_low: np.ndarray  # f8 send_buffer_low_watermark (bytes)
    sb_high: np.ndarray  # f8 send_buffer_watermark (bytes)
    sb_factor: np.ndarray  # f8 send_buffer_watermark_factor as a fraction (50 % -> 0.5)
    rq_time_s: np.ndarray  # f8 request_queue_time (seconds)
    rq_max: np.ndarray  # i8 max_out_request_queue (blocks)
    handshakes: np.ndarray  # i8 connections still exchanging their first messages (their channel's quota ticks)
    ip_drain: np.ndarray  # bool rate_limit_ip_overhead: the second tick takes the IP overhead out of the limits
    redundant: np.ndarray  # i8 payload bytes downloaded twice (libtorrent's total_redundant_bytes): blocks
    # that came after v had cancelled them (kernels/transfer.py, sunk blocks), counted in total_down too


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
    # u's rate limiter, for what u sends nbr (kernels/bandwidth.py; libtorrent's names in brackets)
    up_avg: np.ndarray  # f8 upload rate of the connection, once-a-second average (upload_rate())
    up_sec: np.ndarray  # f8 bytes sent since u's last second tick
    up_last_s: np.ndarray  # f8 bytes sent in u's last second (m_uploaded_last_second)
    bw_quota: np.ndarray  # f8 quota granted and not yet sent (m_quota[upload])
    bw_req: np.ndarray  # f8 size of the request waiting at u's channel (0: none)
    bw_got: np.ndarray  # f8 bytes of it granted so far (bw_request::assigned)
    bw_ttl: np.ndarray  # i8 quota ticks the request may still wait (bw_request::ttl)
    dl_req: np.ndarray  # f8 [downloader side] size of the request waiting at u's download channel (0: none)
    dl_got: np.ndarray  # f8 bytes of it granted so far
    dl_ttl: np.ndarray  # i8 quota ticks it may still wait
    dl_held: np.ndarray  # f8 download quota the connection holds (m_quota[download]): what it may read
    fast: np.ndarray  # i4 [N,K,A] pieces u allows nbr to request while choked (allowed fast set; -1: none),
    #                  less those nbr has been seen to have (transfer.pick_fast drops them)
    conn_seq: np.ndarray  # i8 the connection's place in the order connections were opened (x2; +1 at the accepting end)
    bw_burst: np.ndarray  # b1 the connection's last quota came at once (it is out of its channel's queue)
    next_start: np.ndarray  # i8 start of the next run of whole pieces u has already asked nbr for (-1: none)
    next_end: np.ndarray  # i8 its end (exclusive)
    # u's request queue at nbr (libtorrent's m_desired_queue_size, update_desired_queue_size)
    dq_size: np.ndarray  # i8 blocks u keeps asked of nbr: 4 at first, +1 per block in slow start, then 3 s of rate
    slow_start: np.ndarray  # b1 the connection is in slow start
    dn_sec: np.ndarray  # i8 bytes u received from nbr since u's last second tick
    dn_last_s: np.ndarray  # i8 ... in the second before (m_downloaded_last_second)
    # u's REQUESTs that have reached nbr and are not yet served (bytes), while u's own uploads to
    # nbr hold its requests back in its send buffer (kernels/bandwidth.py requests_at_uploader)
    rq_open: np.ndarray  # f8
    # bytes of u's piece data to nbr that nbr must still read before u's latest REQUESTs reach it:
    # they wait behind that data in the connection while nbr's download channel holds its reading
    # back (kernels/bandwidth.py requests_at_uploader); 0: nothing ahead of them
    rq_wait: np.ndarray  # f8
    # [downloader side] blocks of a piece shared between u's connections (no connection asked for all
    # of it) that u has asked nbr for and not yet received (kernels/transfer.py asked_piece)
    held: np.ndarray  # i8 blocks of cur_piece u has asked nbr for on a shared piece (-1: end-game duplicates)
    # [downloader side] blocks u asked nbr for that u got from another peer first, still to come
    # (libtorrent sends no CANCEL for them: kernels/topology.py committed_blocks); and the piece
    # they belong to (kernels/transfer.py, sunk blocks)
    sunk: np.ndarray  # i8
    sunk_piece: np.ndarray  # i8


class PieceArrays(NamedTuple):
    have: np.ndarray  # bool [N,P]
    recv: np.ndarray  # i4 [N,P] blocks received of each piece
    avail: np.ndarray  # i4 [N,P] connected peers that have the piece, as u sees them (frozen once u is a seed)
    blocks: np.ndarray  # i4 [P] blocks per piece
    last_block_bytes: int  # size of the torrent's final block (<= 16 KiB)
    order: np.ndarray  # i4 [N,P] u's pieces ordered by picker priority bucket (see kernels/picker.py)
    pos: np.ndarray  # i4 [N,P] inverse of order
    bound: np.ndarray  # i4 [N,NB+1] start of each priority bucket in order
    owner: np.ndarray  # i4 [N,P] u asked peer owner-1 for every block of the piece (0: nobody; picker.ASKED:
    #                  some blocks asked on shared connections, some free; picker.BUSY: none free)
    asked: np.ndarray  # i4 [N,P] blocks of the piece u has asked for on shared connections, not yet received
    # u's pieces in libtorrent's "downloading" state (picker.is_partial: some blocks asked or received,
    # some still free), kept up to date at every change of owner or recv; picker.partials_first reads it
    partials: np.ndarray  # i8 [N, 2 + picker.PARTIAL_LIST]: count, listed, the list
    # the quota tick in which u completed the piece (round(now / dt); NEVER_GOT: had it from the start): a
    # peer's REQUEST for it can reach u only after u's HAVE, behind what that peer's send buffer to u
    # already holds (transfer.request_lag_ticks)
    got_tick: np.ndarray  # i4 [N,P]


NEVER_GOT = np.iinfo(np.int32).min  # PieceArrays.got_tick of a piece a peer had from the start
_F8, _I8, _B = np.float64, np.int64, np.bool_
_PEER_FIELDS = {  # dtype and initial value of each PeerArrays field (0 unless given)
    "active": _B, "is_seed": _B, "up_cap": _F8, "down_cap": _F8, "n_have": _I8, "slots": _I8, "opt_slots": _I8,
    "seed_algo": _I8, "rate_based": _B, "quota_bytes": _I8, "interval_s": (_F8, 15.0),
    "opt_interval_s": (_F8, 30.0), "next_round_t": _F8, "next_opt_t": _F8, "total_up": _I8, "total_down": _I8,
    "deg": _I8, "interest_changed": _B, "whole_s": (_F8, 20.0), "up_quota": _F8, "dn_quota": _F8, "dn_tick": _I8,
    "sec_phase": _I8, "tick_phase": _F8,
    # libtorrent's defaults, as in the scenario (sim/scenario.py LibtorrentSettings)
    "sb_low": (_F8, 10.0 * 1024), "sb_high": (_F8, 500.0 * 1024), "sb_factor": (_F8, 0.5), "rq_time_s": (_F8, 3.0),
    "rq_max": (_I8, 500), "handshakes": _I8, "ip_drain": _B, "redundant": _I8,
}
_EDGE_FIELDS = {  # likewise for EdgeArrays
    "nbr": (_I8, -1), "rev": (_I8, -1), "wants": _I8, "unchoked": _B, "optimistic": _B, "was_interested": _B,
    "down_round": _I8, "up_round": _I8, "up_since_unchoke": _I8, "up_conn_total": _I8,
    "last_unchoke_t": (_F8, NEVER), "last_opt_t": (_F8, NEVER), "credit": _F8, "cur_piece": (_I8, -1),
    "run_end": (_I8, -1), "rate_avg": _F8, "tick_bytes": _I8, "up_avg": _F8, "up_sec": _F8, "up_last_s": _F8,
    "bw_quota": _F8, "bw_req": _F8, "bw_got": _F8, "bw_ttl": _I8,
    "dl_req": _F8, "dl_got": _F8, "dl_ttl": _I8, "dl_held": _F8, "fast": (np.int32, -1),
    "conn_seq": _I8, "bw_burst": _B, "next_start": (_I8, -1), "next_end": (_I8, -1),
    "dq_size": (_I8, 4), "slow_start": (_B, True), "dn_sec": _I8, "dn_last_s": _I8, "rq_open": _F8,
    "rq_wait": _F8, "held": _I8, "sunk": _I8, "sunk_piece": (_I8, -1),
}
_EDGE_3D = {"fast"}  # fields with a third axis: the allowed fast set


def _filled(cls, fields, shape, extra_axis=(), depth=0):
    assert tuple(fields) == cls._fields, "field table out of step with the NamedTuple"
    out = {}
    for name, spec in fields.items():
        dtype, value = spec if isinstance(spec, tuple) else (spec, 0)
        out[name] = np.full(shape + ((depth,) if name in extra_axis else ()), value, dtype=dtype)
    return cls(**out)


def new_peers(n: int) -> PeerArrays:
    return _filled(PeerArrays, _PEER_FIELDS, (n,))


def new_edges(n: int, k: int, fast_depth: int = 1) -> EdgeArrays:
    """Connection arrays for n peers of at most k connections; ``fast_depth``: the largest
    allowed fast set any peer grants."""
    return _filled(EdgeArrays, _EDGE_FIELDS, (n, k), _EDGE_3D, max(fast_depth, 1))


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
                       order, order.copy(), bound, np.zeros((n, p), np.int32), np.zeros((n, p), np.int32),
                       np.zeros((n, 2 + PARTIAL_LIST), np.int64), np.full((n, p), NEVER_GOT, np.int32))
