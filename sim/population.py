"""Who is in the swarm: one replication's draw of peers from the scenario's distributions.

Row 0 is the subject, then the initial seeds, then the leechers in order of arrival, then the
explicit peers (``[[swarm.peer]]``) in the order given. Every random quantity is drawn here, in a
fixed order, from the replication's generator — never in a kernel. Initial seeds are present from
t = 0, accept connections and never leave; the connectable share applies to the generated
leechers. Explicit peers draw nothing (everything about them is given), so adding them never
changes the draw of the generated population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .protocol import CHOKING_ALGORITHM, RATE_BASED_CHOKER, SEED_CHOKING_ALGORITHM
from .results import ROLE_LEECHER, ROLE_SEED, ROLE_SUBJECT
from .scenario import LibtorrentSettings, Scenario


SUBJECT_ROW = 0  # the subject's row in every per-peer array, in the model and in the lab


@dataclass(frozen=True)
class Population:
    role: np.ndarray  # i8
    join_s: np.ndarray  # f8
    up_bps: np.ndarray  # f8 effective upload (link capacity, then libtorrent's limit)
    down_bps: np.ndarray  # f8 effective download
    seed_time_s: np.ndarray  # f8 seconds a leecher keeps seeding after completion (inf: forever)
    leave_at_s: np.ndarray  # f8 absolute time the peer leaves, complete or not (inf: no such time)
    connectable: np.ndarray  # bool accepts incoming connections
    slots: np.ndarray  # i8
    opt_slots: np.ndarray  # i8
    seed_algo: np.ndarray  # i8
    rate_based: np.ndarray  # bool
    quota_pieces: np.ndarray  # i8
    interval_s: np.ndarray  # f8
    opt_interval_s: np.ndarray  # f8
    whole_s: np.ndarray  # f8 whole_pieces_threshold
    fast_n: np.ndarray  # i8 allowed_fast_set_size
    conn_limit: np.ndarray  # i8
    sb_low: np.ndarray  # f8 send_buffer_low_watermark (bytes)
    sb_high: np.ndarray  # f8 send_buffer_watermark (bytes)
    sb_factor: np.ndarray  # f8 send_buffer_watermark_factor / 100
    rq_time_s: np.ndarray  # f8 request_queue_time (seconds)
    rq_max: np.ndarray  # i8 max_out_request_queue (blocks)
    ip_drain: np.ndarray  # bool rate_limit_ip_overhead
    connect_boost: np.ndarray  # i8 torrent_connect_boost
    utp_out: np.ndarray  # bool enable_outgoing_utp
    utp_timeout_s: np.ndarray  # f8 utp_connect_timeout (seconds)

    @property
    def size(self) -> int:
        return len(self.role)


def leecher_join_times(sc: Scenario, rng: np.random.Generator) -> np.ndarray:
    lee = sc.swarm.leechers
    if lee.arrival == "flash_crowd":
        n = int(lee.count or 0)
        if lee.spread_s > 0:
            return np.sort(lee.at_s + rng.uniform(0.0, lee.spread_s, size=n))
        return np.full(n, lee.at_s)
    if lee.arrival == "poisson":
        start, end = lee.window_s
        times = []
        t = start
        while True:
            t += rng.exponential(1.0 / lee.rate_per_s)
            if t >= end or (lee.count is not None and len(times) >= lee.count):
                break
            times.append(t)
        return np.asarray(times, dtype=np.float64)
    return np.sort(np.asarray(lee.join_s, dtype=np.float64))


def _limited(cap: np.ndarray, limit: int) -> np.ndarray:
    return np.minimum(cap, float(limit)) if limit > 0 else cap


def draw_population(sc: Scenario, rng: np.random.Generator) -> Population:
    S = sc.swarm.seeds.count
    seed_up = sc.swarm.seeds.upload.sample(rng, S)
    join = leecher_join_times(sc, rng)
    L = len(join)
    lee = sc.swarm.leechers
    lee_up = lee.upload.sample(rng, L)
    lee_down = lee.download.sample(rng, L)
    seed_time = lee.seed_time.sample(rng, L)
    connectable = rng.random(L) < sc.swarm.connectable_share
    x = sc.swarm.peer
    x_role = np.array([ROLE_SEED if p.role == "seed" else ROLE_LEECHER for p in x], dtype=np.int64)

    lt_swarm = sc.swarm.libtorrent
    subj = sc.subject
    role = np.concatenate(([ROLE_SUBJECT], np.full(S, ROLE_SEED), np.full(L, ROLE_LEECHER), x_role)).astype(np.int64)
    n = len(role)

    def per_peer(getter) -> np.ndarray:
        return np.array([getter(subj.libtorrent)] + [getter(lt_swarm)] * (n - 1))

    slots = per_peer(lambda s: s.unchoke_slots_limit).astype(np.int64)
    opt_slots = per_peer(LibtorrentSettings.optimistic_slots.fget).astype(np.int64)
    if subj.profile == "free_rider":
        slots[SUBJECT_ROW] = 0
        opt_slots[SUBJECT_ROW] = 0
    return Population(
        role=role,
        join_s=np.concatenate(([subj.join_s], np.zeros(S), join, [p.join_s for p in x])),
        up_bps=np.concatenate(([float(subj.upload_bps)], _limited(seed_up, lt_swarm.upload_rate_limit),
                               _limited(lee_up, lt_swarm.upload_rate_limit),
                               _limited(np.array([p.upload for p in x], dtype=np.float64), lt_swarm.upload_rate_limit))),
        down_bps=np.concatenate(([float(subj.download_bps)], np.zeros(S),
                                 _limited(lee_down, lt_swarm.download_rate_limit),
                                 # a seed downloads nothing: 0 as for the generated seeds
                                 _limited(np.array([0.0 if p.role == "seed" else p.download for p in x],
                                                   dtype=np.float64), lt_swarm.download_rate_limit))),
        seed_time_s=np.concatenate(([np.inf], np.full(S, np.inf), seed_time, [p.seed_time_s for p in x])),
        leave_at_s=np.concatenate(([np.inf], np.full(S + L, np.inf), [p.leave_at_s for p in x])),
        connectable=np.concatenate(([subj.connectable], np.ones(S, dtype=bool), connectable,
                                    np.array([p.connectable for p in x], dtype=bool))),
        slots=slots,
        opt_slots=opt_slots,
        seed_algo=per_peer(lambda s: SEED_CHOKING_ALGORITHM[s.seed_choking_algorithm]).astype(np.int64),
        rate_based=per_peer(lambda s: CHOKING_ALGORITHM[s.choking_algorithm] == RATE_BASED_CHOKER).astype(np.bool_),
        quota_pieces=per_peer(lambda s: s.seeding_piece_quota).astype(np.int64),
        interval_s=per_peer(lambda s: s.unchoke_interval).astype(np.float64),
        opt_interval_s=per_peer(lambda s: s.optimistic_unchoke_interval).astype(np.float64),
        whole_s=per_peer(lambda s: s.whole_pieces_threshold).astype(np.float64),
        fast_n=per_peer(lambda s: s.allowed_fast_set_size).astype(np.int64),
        conn_limit=per_peer(lambda s: s.connections_limit).astype(np.int64),
        sb_low=per_peer(lambda s: s.send_buffer_low_watermark).astype(np.float64),
        sb_high=per_peer(lambda s: s.send_buffer_watermark).astype(np.float64),
        sb_factor=per_peer(lambda s: s.send_buffer_watermark_factor / 100).astype(np.float64),
        rq_time_s=per_peer(lambda s: s.request_queue_time).astype(np.float64),
        rq_max=per_peer(lambda s: s.max_out_request_queue).astype(np.int64),
        ip_drain=per_peer(lambda s: s.rate_limit_ip_overhead).astype(np.bool_),
        connect_boost=per_peer(lambda s: s.torrent_connect_boost).astype(np.int64),
        utp_out=per_peer(lambda s: s.enable_outgoing_utp).astype(np.bool_),
        utp_timeout_s=per_peer(lambda s: s.utp_connect_timeout / 1000).astype(np.float64),
    )
