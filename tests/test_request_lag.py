"""A downloader's REQUEST for a piece its uploader has just completed reaches that uploader only
after the downloader's send buffer to it has let out what it held (transfer.request_lag_ticks):
libtorrent writes each connection's messages in order through one send buffer, which
fill_send_buffer keeps at its watermark of piece data while the other end has asked for blocks,
and the rate limiter lets that out a quota tick's grant at a time. Worked by hand, the numba kernel
and its pure-Python twin alike, and through transfer_blocks."""

import numpy as np
import pytest

from sim.kernels.transfer import request_lag_ticks, transfer_blocks
from sim.protocol import BLOCK_BYTES
from sim.state import new_edges, new_peers

KERNELS = ["numba", "python"]
DT = 0.5


def _lag(kernel):
    return request_lag_ticks.py_func if kernel == "python" else request_lag_ticks


def _pair(cap=300_000.0, quota=0.0):
    """v = 0 asks u = 1 for a new piece; slot 0 at both ends. v's upload channel: ``cap`` B/s,
    holding ``quota`` bytes."""
    pa, ea = new_peers(2), new_edges(2, 1)
    pa.active[:] = True
    pa.deg[:] = 1
    ea.nbr[0, 0], ea.nbr[1, 0] = 1, 0
    ea.rev[0, 0] = ea.rev[1, 0] = 0
    pa.up_cap[0], pa.up_quota[0] = cap, quota
    return pa, ea


@pytest.mark.parametrize("kernel", KERNELS)
def test_request_lag_by_hand(kernel):
    lag = _lag(kernel)
    # no limit, or a channel holding more than a second of it (need_queueing false): out at once
    pa, ea = _pair(cap=0.0)
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 0
    pa, ea = _pair(quota=300_001.0)
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 0
    # a poor channel, nothing of v's for u in its send buffer (v chokes u, or u asked for nothing):
    # the REQUEST waits for v's next quota tick only
    pa, ea = _pair(quota=150_000.0)
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 1
    ea.unchoked[0, 0] = True
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 1  # u has asked v for nothing (cur_piece -1)
    ea.cur_piece[1, 0] = 3
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 1  # ... or has been sent all it asked (rq_open 0)
    # u has 10 blocks asked of v; v sent u 60,000 B last second: watermark 50 % of it, 30,000 B,
    # in whole blocks 32,768 B in the buffer; a tick lets out 30,000 B, so the REQUEST behind the
    # buffer leaves at v's second tick: 1 + 32,768 // 30,000 = 2
    ea.rq_open[1, 0] = 10 * BLOCK_BYTES
    ea.up_last_s[0, 0] = 60_000.0
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 2
    # u's credit towards its next block is not in the buffer: 1 block asked, credit 1,000 B -> the
    # buffer holds that one block (16,384 < 30,000): out at the next tick
    ea.rq_open[1, 0], ea.credit[1, 0] = BLOCK_BYTES, 1_000.0
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 1
    # a slow connection: 8,000 B/s -> watermark raised to send_buffer_low_watermark (10 KiB), one
    # block in the buffer; 4,000 B a tick: 1 + 16,384 // 4,000 = 5
    ea.rq_open[1, 0], ea.credit[1, 0] = 10 * BLOCK_BYTES, 0.0
    ea.up_last_s[0, 0] = 8_000.0
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 5
    # send_buffer_low_watermark as the scenario sets it (20 KiB: two blocks): 1 + 32,768 // 4,000 = 9
    pa.sb_low[0] = 20 * 1024.0
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 9
    # asked, but nothing sent last second: the buffer's data leaves at v's next grant, the REQUEST after
    ea.up_last_s[0, 0] = 0.0
    assert lag(pa, ea, 0, 0, 1, 0, DT) == 2


def _completed_by_uploader(rich):
    """u = 0, not a seed, has every piece and completed piece 1 at 1.0 s; v = 1 has piece 0 of its
    run [0, 2) and asks u for piece 1 (16 blocks of 16 KiB); quota ticks of 0.5 s. u has 4 blocks asked of v, and v
    sent u 60,000 B last second on a 300 kB/s channel holding no quota (``rich``: 2 s of it)."""
    from sim.kernels.topology import give_all_pieces, shuffle_pieces
    from sim.state import new_pieces
    P = 16
    pa, ea = new_peers(2), new_edges(2, 1)
    pc = new_pieces(2, np.full(P, 16, np.int32), 16384, 1)
    give_all_pieces(pa, pc, 0)
    pa.is_seed[0] = False
    pc.got_tick[0, 1] = 2  # the tick ending at 1.0 s
    pc.have[1, 0], pc.recv[1, 0] = True, 16
    shuffle_pieces(pc, 1, np.arange(P, dtype=np.int32))
    pa.n_have[1] = 4
    pa.active[:] = True
    pa.deg[:] = 1
    ea.nbr[0, 0], ea.nbr[1, 0] = 1, 0
    ea.rev[0, 0] = ea.rev[1, 0] = 0
    pc.owner[1, 0:2] = 1
    ea.cur_piece[1, 0], ea.run_end[1, 0] = 1, 2
    ea.rate_avg[1, 0] = 50_000.0
    ea.slow_start[1, 0] = False
    ea.dq_size[1, 0] = 9
    ea.unchoked[0, 0] = True  # u unchokes v
    ea.unchoked[1, 0] = True  # v unchokes u ...
    ea.cur_piece[0, 0] = 0  # ... which has asked v for blocks
    ea.rq_open[0, 0] = 4 * BLOCK_BYTES
    ea.up_last_s[1, 0] = 60_000.0
    pa.up_cap[1] = 300_000.0
    pa.up_quota[1] = 600_000.0 if rich else 0.0
    return pa, ea, pc


def _tick(pa, ea, pc, now):
    dst, slot, order = np.array([1]), np.array([0]), np.array([0])
    rate = np.array([2 * 16384.0 / DT])
    logs = [np.zeros(8, np.float64)] + [np.zeros(8, np.int64) for _ in range(5)]
    transfer_blocks(pa, ea, pc, dst, slot, rate, 1, order, DT, now, np.uint64(7), 1, 262144, *logs,
                    np.zeros(2, np.int64))


def test_a_new_piece_waits_for_the_request_by_hand():
    """Through transfer_blocks: u completed piece 1 at 1.0 s. v's REQUEST for it sits behind two
    blocks of v's data for u (request_lag_ticks 2), so u sends nothing of it in the tick ending at
    1.5 s (the credit goes back to the connection's quota) and two blocks in the next. With v's
    channel rich the REQUEST is out at once: two blocks at 1.5 s. A seed's pieces never wait."""
    pa, ea, pc = _completed_by_uploader(rich=False)
    assert request_lag_ticks(pa, ea, 1, 0, 0, 0, DT) == 2
    _tick(pa, ea, pc, 1.5)
    assert pc.recv[1, 1] == 0 and ea.credit[1, 0] == 0.0 and ea.bw_quota[0, 0] == 2 * 16384.0
    _tick(pa, ea, pc, 2.0)
    assert pc.recv[1, 1] == 2
    pa, ea, pc = _completed_by_uploader(rich=True)
    _tick(pa, ea, pc, 1.5)
    assert pc.recv[1, 1] == 2
    pa, ea, pc = _completed_by_uploader(rich=False)
    pa.is_seed[0] = True
    _tick(pa, ea, pc, 1.5)
    assert pc.recv[1, 1] == 2
