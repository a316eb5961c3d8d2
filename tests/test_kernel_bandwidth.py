"""The rate limiter (kernels/bandwidth.py) against its twin and against cases worked out by hand
from libtorrent's bandwidth_manager / peer_connection code."""

import numpy as np

from sim.kernels.bandwidth import grant_sends, second_tick, split_evenly, upload_quota_tick, wanted_upload
from sim.state import new_edges, new_peers
from tests import naive

L = 100_000.0  # uploader's limit, bytes/s
DT = 0.5


def _run_kernels(limit, join_tick, ticks, down_cap=1e12, phase=0):
    """Drive the swarm kernels for one uploader (peer 0) and downloaders 1..n that always want
    data; returns bytes sent per tick and connection, as naive.rate_limited_uploader does."""
    n = len(join_tick)
    pa, ea = new_peers(n + 1), new_edges(n + 1, n)
    pa.active[:] = True
    pa.up_cap[0] = limit
    pa.down_cap[1:] = down_cap
    pa.dn_quota[1:] = down_cap * DT
    pa.sec_phase[0] = phase
    for j in range(n):  # 0 <-> j+1: slot j at the uploader, slot 0 at the downloader
        ea.nbr[0, j], ea.rev[0, j] = j + 1, 0
        ea.nbr[j + 1, 0], ea.rev[j + 1, 0] = 0, j
        pa.deg[j + 1] = 1
    pa.deg[0] = n
    out = np.zeros((ticks, n))
    for t in range(1, ticks + 1):
        upload_quota_tick(pa, ea, DT)
        on = [j for j in range(n) if t >= join_tick[j]]
        src = np.zeros(len(on), np.int64)
        dst = np.array([j + 1 for j in on], np.int64)
        slot = np.zeros(len(on), np.int64)
        rate, want = np.zeros(len(on)), np.zeros(len(on))
        grant_sends(pa, ea, src, dst, slot, len(on), DT, rate, want, np.zeros(n), np.zeros(n))
        for i, j in enumerate(on):
            out[t - 1, j] = rate[i] * DT
            ea.up_sec[0, j] += rate[i] * DT  # what transfer_blocks does with the bytes it moves
        pa.dn_quota[1:] = down_cap * DT  # open_download_quota, less what arrived
        second_tick(pa, ea, t, 2)
    return out


def test_one_connection_by_hand():
    """A lone newcomer: one block per quota tick while the channel saves up; once it holds over a
    second of its limit beyond the request, requests are granted at once (a burst).
    tick 1: nothing waits yet (ask 16384); 2: +50000 quota, grant 16384 (33616 left); 3: 67232 left;
    4: 100848 left; 5: 150848 - 16384 = 134464, then two more blocks at once (134464 - 100000 >= 2 x 16384)."""
    got = _run_kernels(L, [1], 5)[:, 0]
    assert got.tolist() == [0.0, 16384.0, 16384.0, 16384.0, 49152.0]


def test_kernels_follow_the_twin():
    """Bytes per quota tick for the first 30 s: one early connection, two joining late, both phases."""
    for phase in (0, 1):
        for joins in ([1, 9, 21], [1, 1, 2], [3, 40, 41]):
            np.testing.assert_array_equal(_run_kernels(L, joins, 60, phase=phase),
                                          naive.rate_limited_uploader(L, DT, joins, 60, phase=phase))


def test_early_connection_keeps_a_larger_share():
    """One connection alone for 10 s, a second joins: over the next 20 s the first still gets more
    than the second, the uploader's quota is all used, and never more than limit plus 3 s saved."""
    out = _run_kernels(L, [1, 21], 60)
    first, second = out[20:].sum(axis=0)
    assert first > 1.2 * second
    assert out.sum() <= L * 30 + 3 * L
    assert out[20:].sum() >= 0.9 * L * 20


def test_download_quota_holds_back_the_sender():
    """A downloader with less download quota than granted takes its quota; the rest stays granted
    at the uploader and arrives later: nothing is lost."""
    slow = _run_kernels(L, [1], 40, down_cap=20_000.0)[:, 0]
    assert (slow <= 10_000.0 + 1e-9).all()
    assert slow[10:].sum() >= 0.95 * 20_000.0 * 15


def test_wanted_upload():
    """max(send buffer: whole blocks up to half the last second, at least 10 KiB; 2 x rate x dt)."""
    assert wanted_upload(0.0, 0.0, DT) == 16384.0
    assert wanted_upload(100_000.0, 0.0, DT) == 4 * 16384.0  # 50,000 B -> 4 blocks
    assert wanted_upload(10e6, 0.0, DT) == 32 * 16384  # capped at 500 KiB, read in whole blocks
    assert wanted_upload(0.0, 300_000.0, DT) == 300_000.0


def test_split_evenly():
    out = np.zeros(3)
    split_evenly(90.0, np.array([10.0, 100.0, 100.0]), out)
    assert out.tolist() == [10.0, 40.0, 40.0]
