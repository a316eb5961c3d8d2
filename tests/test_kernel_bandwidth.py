"""The rate limiter (kernels/bandwidth.py) against its twin and against cases worked out by hand
from libtorrent's bandwidth_manager / peer_connection code."""

import numpy as np

from sim.kernels.bandwidth import ask_when_asked, grant_sends, second_tick, upload_quota_tick, wanted_upload
from sim.protocol import BLOCK_BYTES
from sim.state import new_edges, new_peers
from tests import naive

L = 100_000.0  # uploader's limit, bytes/s
DT = 0.5


def _run_kernels(limit, join_tick, ticks, down_cap=1e12, phase=0, send_buffer=None):
    """Drive the swarm kernels for one uploader (peer 0) and downloaders 1..n that always want
    data; returns bytes sent per tick and connection, as naive.rate_limited_uploader does.
    ``send_buffer``: the uploader's (low, high, factor) send buffer settings, if not libtorrent's."""
    n = len(join_tick)
    pa, ea = new_peers(n + 1), new_edges(n + 1, n)
    if send_buffer is not None:
        pa.sb_low[0], pa.sb_high[0], pa.sb_factor[0] = send_buffer
    pa.active[:] = True
    pa.up_cap[0] = limit
    pa.down_cap[1:] = down_cap
    pa.dn_quota[1:] = down_cap * DT
    ea.dl_held[1:, 0] = down_cap * DT  # each downloader's one connection holds its quota
    pa.sec_phase[0] = phase
    for j in range(n):  # 0 <-> j+1: slot j at the uploader, slot 0 at the downloader
        ea.nbr[0, j], ea.rev[0, j] = j + 1, 0
        ea.nbr[j + 1, 0], ea.rev[j + 1, 0] = 0, j
        ea.cur_piece[j + 1, 0] = 0  # the downloader has asked the uploader for a piece ...
        ea.rate_avg[j + 1, 0] = 1e9  # ... and keeps asking for more than the uploader can send
        ea.dq_size[j + 1, 0] = 500  # (the largest request queue: max_out_request_queue)
        ea.slow_start[j + 1, 0] = False
        pa.deg[j + 1] = 1
    pa.deg[0] = n
    out = np.zeros((ticks, n))
    for t in range(1, ticks + 1):
        on = [j for j in range(n) if t >= join_tick[j]]
        src = np.zeros(len(on), np.int64)
        dst = np.array([j + 1 for j in on], np.int64)
        slot = np.zeros(len(on), np.int64)
        rate, want = np.zeros(len(on)), np.zeros(len(on))
        ask_when_asked(pa, ea, src, dst, slot, len(on), np.arange(len(on)), DT)  # swarm_tick's order
        upload_quota_tick(pa, ea, DT)
        grant_sends(pa, ea, src, dst, slot, len(on), np.arange(len(on)), DT, rate, want, np.zeros(len(on), np.int64))
        for i, j in enumerate(on):
            out[t - 1, j] = rate[i] * DT
            ea.up_sec[0, j] += rate[i] * DT  # what transfer_blocks does with the bytes it moves
        ea.dl_held[1:, 0] = down_cap * DT  # its download channel grants a tick's quota, less what arrived
        second_tick(pa, ea, t, 2)
    return out


def test_one_connection_by_hand():
    """A lone newcomer (limit 100,000 B/s, 50,000 per quota tick, one 16,384-byte block wanted).
    tick 1: it holds nothing and its downloader has asked: it asks 16,384 before the quota tick
      (0 - 16,384 < 100,000: queued; the block is being read, m_reading_bytes, no header yet);
      the quota tick adds 50,000 and grants it (33,616 left); nothing more at once
      (33,616 - 16,384 < 100,000). Before the write the block sits in the send buffer behind its
      13-byte PIECE header: it wants 16,397, holds 16,384, asks 13 (queued). Sends 16,384.
    tick 2: 83,616, grants the 13 (83,603 left); sends them, and before the write asks
      16,397 - 13 = 16,384 (queued). Its second tick: last 16,397, avg 3,279; still one block
      wanted (half of 16,397 is below the 10 KiB low watermark).
    tick 3: 133,603, grants 16,384 (117,219), then one block at once (117,219 - 16,384 >= 100,000;
      to 100,835): sends 32,768. It wants no more before the write (16,397 < 32,768), nor after
      its first write, one send buffer (16,384 left = what it wants): it ends the tick with
      neither quota nor a request.
    tick 4: so it asks 16,384 before the quota tick (100,835 - 16,384 < 100,000: queued);
      150,835: grant (134,451), then two blocks at once (to 118,067, then 101,683): 49,152."""
    got = _run_kernels(L, [1], 4)[:, 0]
    assert got.tolist() == [16384.0, 13.0, 32768.0, 49152.0]


def test_newcomer_at_a_busy_channel_gets_a_block_a_second():
    """Two connections busy from tick 1, a third joins at tick 21 (limit 100,000 B/s). Each grant
    of one block is followed, before the write, by a request for the block's 13-byte header
    (the buffer counts it, the request made while the block was read did not), granted at the
    next tick; so after its first two blocks the newcomer gets one block a second, as the lab's
    seed gave a newcomer (its peer log: ASSIGN 16,303, REQUEST 63; ASSIGN 63, REQUEST 16,397;
    ASSIGN 16,397, REQUEST 116 ...), not a block every quota tick."""
    out = _run_kernels(L, [1, 1, 21], 36)
    newcomer = out[20:36, 2]
    assert newcomer[:2].tolist() == [16384.0, 16384.0]
    assert newcomer[2:].tolist() == [13.0, 16384.0] * 7
    assert out[20:36].sum() >= 0.9 * L * 8  # the early two take the rest of the limit


def test_kernels_follow_the_twin():
    """Bytes per quota tick for the first 30 s: one early connection, two joining late, both phases."""
    for phase in (0, 1):
        for joins in ([1, 9, 21], [1, 1, 2], [3, 40, 41]):
            np.testing.assert_array_equal(_run_kernels(L, joins, 60, phase=phase),
                                          naive.rate_limited_uploader(L, DT, joins, 60, phase=phase))


def test_kernels_follow_the_twin_with_other_send_buffer_settings():
    """The uploader's send buffer settings change what it asks for, as the twin says: a factor of
    300 % and a 1 MiB watermark (the buffer, not 2 x rate x dt, sets the request), a 64 KiB low
    watermark, and a low watermark above the high one (libtorrent raises to the low one first)."""
    for low, high, factor in ((10 * 1024, 1024 * 1024, 3.0), (64 * 1024, 500 * 1024, 0.5),
                              (100 * 1024, 20 * 1024, 0.5), (10 * 1024, 40 * 1024, 3.0)):
        for joins in ([1, 9, 21], [1, 1, 2]):
            got = _run_kernels(L, joins, 60, send_buffer=(low, high, factor))
            np.testing.assert_array_equal(got, naive.rate_limited_uploader(L, DT, joins, 60, low=low, high=high,
                                                                           factor=factor))
    # and they matter: the lone newcomer of test_one_connection_by_hand, with a 64 KiB low
    # watermark, asks for 4 blocks at once (65,536 of the first tick's 50,000 is not granted
    # until tick 2, which grants the rest and sends all four)
    assert _run_kernels(L, [1], 2, send_buffer=(64 * 1024, 500 * 1024, 0.5))[:, 0].tolist() == [0.0, 65536.0]


def test_early_connection_keeps_a_larger_share():
    """One connection alone for 10 s, a second joins: over the next 20 s the first still gets more
    than the second, the uploader's quota is all used, and never more than limit plus 3 s saved."""
    out = _run_kernels(L, [1, 21], 60)
    first, second = out[20:].sum(axis=0)
    assert first > 1.2 * second
    assert out.sum() <= L * 30 + 3 * L
    assert out[20:].sum() >= 0.9 * L * 20


def test_a_burst_is_bounded_by_what_the_downloader_can_take():
    """The channel holds 400,000 (limit 100,000): a connection with no request waiting is granted
    at once, 16,384 at a time, while more than a second of the limit would remain: 18 blocks
    (294,912) for a downloader that takes anything. A downloader with 40,000 of download quota
    left can take 40,000: the connection is granted 3 blocks (the 49,152 that cover it), sends
    40,000 and keeps 9,152; holding 49,152 already, it is granted nothing more at once. Either
    way, after the write it asks for the 7,232 that bring it to the one block it wants, which the
    rich channel grants at once: it keeps 16,384. (After the 18-block burst the channel is down to
    105,088 and the next request waits for the quota tick: it keeps nothing.)"""
    for dn_quota, held, sent, kept in ((1e12, 0.0, 294_912.0, 0.0), (40_000.0, 0.0, 40_000.0, 16_384.0),
                                       (40_000.0, 49_152.0, 40_000.0, 16_384.0)):
        pa, ea = new_peers(2), new_edges(2, 1)
        pa.active[:] = True
        pa.up_cap[0] = L
        pa.up_quota[0] = 400_000.0
        pa.down_cap[1], pa.dn_quota[1] = 1e12, dn_quota
        ea.dl_held[1, 0] = dn_quota  # the downloader's connection may read this much
        ea.nbr[0, 0], ea.rev[0, 0], ea.nbr[1, 0], ea.rev[1, 0] = 1, 0, 0, 0
        pa.deg[:] = 1
        ea.cur_piece[1, 0] = 0
        ea.bw_quota[0, 0] = held
        rate, want = np.zeros(1), np.zeros(1)
        grant_sends(pa, ea, np.zeros(1, np.int64), np.ones(1, np.int64), np.zeros(1, np.int64), 1, np.arange(1), DT,
                    rate, want, np.zeros(1, np.int64))
        assert rate[0] * DT == sent, (dn_quota, held, rate[0] * DT)
        assert ea.bw_quota[0, 0] == kept, (dn_quota, held, ea.bw_quota[0, 0])


def test_nothing_asked_nothing_sent_no_bandwidth_requested():
    """A downloader that is interested and unchoked but has asked the uploader for nothing (its
    other connections asked for all the uploader has): the uploader has nothing to send, asks its
    channel for nothing and so takes no share of the quota from a connection that has work."""
    n = 2
    pa, ea = new_peers(n + 1), new_edges(n + 1, n)
    pa.active[:] = True
    pa.up_cap[0] = L
    pa.down_cap[1:] = pa.dn_quota[1:] = 1e12
    ea.dl_held[1:, 0] = 1e12
    for j in range(n):
        ea.nbr[0, j], ea.rev[0, j] = j + 1, 0
        ea.nbr[j + 1, 0], ea.rev[j + 1, 0] = 0, j
        pa.deg[j + 1] = 1
    pa.deg[0] = n
    ea.cur_piece[1, 0] = 0  # peer 1 has asked for a piece (and keeps asking); peer 2 for nothing
    ea.rate_avg[1, 0] = 1e9
    ea.dq_size[1, 0] = 500
    ea.slow_start[1, 0] = False
    sent = np.zeros(n)
    src, dst, slot = np.zeros(n, np.int64), np.array([1, 2]), np.zeros(n, np.int64)
    for t in range(1, 21):
        ask_when_asked(pa, ea, src, dst, slot, n, np.arange(n), DT)
        upload_quota_tick(pa, ea, DT)
        rate, want = np.zeros(n), np.zeros(n)
        grant_sends(pa, ea, src, dst, slot, n, np.arange(n), DT, rate, want, np.zeros(n, np.int64))
        sent += rate * DT
        ea.up_sec[0, :n] += rate * DT
        second_tick(pa, ea, t, 2)
    assert sent[1] == 0.0 and ea.bw_req[0, 1] == 0.0 and ea.bw_quota[0, 1] == 0.0
    alone = _run_kernels(L, [1], 20)[:, 0].sum()  # the same connection with no idle neighbour
    assert sent[0] == alone


def test_download_quota_holds_back_the_sender():
    """A downloader with less download quota than granted takes its quota; the rest stays granted
    at the uploader and arrives later: nothing is lost."""
    slow = _run_kernels(L, [1], 40, down_cap=20_000.0)[:, 0]
    assert (slow <= 10_000.0 + 1e-9).all()
    assert slow[10:].sum() >= 0.95 * 20_000.0 * 15


def test_wanted_upload():
    """max(send buffer: whole blocks up to half the last second, at least 10 KiB; 2 x rate x dt)."""
    pa = new_peers(1)  # libtorrent's default send buffer settings
    assert wanted_upload(pa, 0, 0.0, 0.0, 0.0, DT) == 16384.0
    assert wanted_upload(pa, 0, 100_000.0, 0.0, 0.0, DT) == 4 * 16384.0  # 50,000 B -> 4 blocks
    assert wanted_upload(pa, 0, 10e6, 0.0, 0.0, DT) == 32 * 16384  # capped at 500 KiB, read in whole blocks
    # the rate a request is sized from is stat::upload_rate(): payload, the PIECE headers (13 B per
    # 16 KiB block) and the TCP/IP estimate (40 B per 1,460), so 300,000 B/s of payload asks for
    # floor(300,000 x (1 + 13/16,384 + 40/1,460)) = 308,457 B ...
    assert wanted_upload(pa, 0, 0.0, 300_000.0, 0.0, DT) == 308_457.0
    # ... and the ACKs of what the connection receives count too: 730,000 B/s received -> 20,000 B/s
    assert wanted_upload(pa, 0, 0.0, 0.0, 730_000.0, DT) == 20_000.0
    assert wanted_upload(pa, 0, 0.0, 300_000.0, 730_000.0, DT) == 328_457.0



def test_wanted_upload_follows_the_send_buffer_settings():
    """fill_send_buffer's watermark: send_buffer_watermark_factor x last second's bytes, raised to
    send_buffer_low_watermark if below it, else cut to send_buffer_watermark; whole blocks."""
    pa = new_peers(4)
    pa.sb_high[1] = 2 * 1024 * 1024  # a larger watermark lets the uploader queue more:
    assert wanted_upload(pa, 0, 10e6, 0.0, 0.0, DT) == 32 * 16384  # 500 KiB -> 32 blocks
    assert wanted_upload(pa, 1, 10e6, 0.0, 0.0, DT) == 128 * 16384  # half of 10 MB, cut to 2 MiB: 128 blocks
    pa.sb_factor[2] = 2.0  # 200 %: twice the last second (150,000 B -> 10 blocks) ...
    assert wanted_upload(pa, 2, 75_000.0, 0.0, 0.0, DT) == 10 * 16384
    assert wanted_upload(pa, 0, 75_000.0, 0.0, 0.0, DT) == 3 * 16384  # ... against half of it (37,500 B -> 3)
    pa.sb_low[3], pa.sb_high[3] = 100_000.0, 20_000.0  # low above high: raised to low if below it ...
    assert wanted_upload(pa, 3, 0.0, 0.0, 0.0, DT) == 7 * 16384  # 100,000 B -> 7 blocks
    assert wanted_upload(pa, 3, 1e6, 0.0, 0.0, DT) == 2 * 16384  # ... else cut to high (20,000 B -> 2 blocks)


def test_requests_wait_behind_the_downloaders_own_uploads():
    """v (peer 0) downloads from u (peer 1) and uploads to it. v's REQUESTs to u leave through
    v's send buffer behind v's own data for u: while v has data of its own for u (u asked v for
    a piece, u's requests at v are not all served, and v holds or asked for quota), u may send v
    only the requests already out (rq_open), less the part of a block already on its way
    (credit). Otherwise v's requests are not held behind data, and v's whole request queue is at
    u; while v's upload channel is rich (more than a second of its limit) they go out at once, no
    bound."""
    from sim.kernels.bandwidth import requests_at_uploader
    pa, ea = new_peers(2), new_edges(2, 1)
    pa.up_cap[:] = 100_000.0
    pa.up_quota[0] = 150_000.0  # v's channel is rich
    ea.nbr[0, 0], ea.rev[0, 0], ea.nbr[1, 0], ea.rev[1, 0] = 1, 0, 0, 0
    ea.dq_size[0, 0] = 3
    assert requests_at_uploader(pa, ea, 0, 0) == np.inf  # u asked v for nothing
    assert ea.rq_open[0, 0] == 3 * BLOCK_BYTES  # v's whole queue is at u
    ea.cur_piece[1, 0] = 7  # u asked v for a piece ...
    ea.rq_open[1, 0] = 2 * BLOCK_BYTES  # ... and two of its blocks' requests reached v
    assert requests_at_uploader(pa, ea, 0, 0) == np.inf  # but v neither holds nor asked for quota
    ea.bw_req[0, 0] = 16384.0  # v's upload to u waits for quota: v's requests wait behind it
    ea.rq_open[0, 0] = 2 * BLOCK_BYTES  # two requests of v's got out before
    ea.credit[0, 0] = 5000.0  # 5,000 B of the first are on their way
    assert requests_at_uploader(pa, ea, 0, 0) == 2 * BLOCK_BYTES - 5000.0
    ea.rq_open[0, 0] = 4000.0
    assert requests_at_uploader(pa, ea, 0, 0) == 0.0  # served: u waits for v's next block to go
    ea.credit[1, 0] = 2 * BLOCK_BYTES  # u's requests at v are all on their way: v has no data for u
    assert requests_at_uploader(pa, ea, 0, 0) == np.inf and ea.rq_open[0, 0] == 3 * BLOCK_BYTES


def test_requests_wait_behind_data_the_uploader_has_not_read():
    """v (peer 0) downloads from u (peer 1) and uploads to it, and u reads slowly: the REQUESTs v
    wrote last are behind 3 blocks of v's data that u has not read (rq_wait, set as u reads:
    test_whole_pieces). While they are ahead, u has only the requests that got out before (1,000
    B left), though v's upload channel is rich; when v chokes u, or u's requests at v are all
    served, nothing of v's is ahead any more, and v's whole queue is at u."""
    from sim.kernels.bandwidth import requests_at_uploader
    pa, ea = new_peers(2), new_edges(2, 1)
    pa.up_cap[:] = 100_000.0
    pa.up_quota[0] = 150_000.0  # v's upload channel is rich
    ea.nbr[0, 0], ea.rev[0, 0], ea.nbr[1, 0], ea.rev[1, 0] = 1, 0, 0, 0
    ea.dq_size[0, 0] = 9
    ea.unchoked[0, 0] = True  # v unchokes u
    ea.cur_piece[1, 0] = 7  # u asked v for a piece ...
    ea.rq_open[1, 0] = 3 * BLOCK_BYTES  # ... 3 blocks, none sent yet
    ea.rq_wait[0, 0] = 3 * BLOCK_BYTES
    ea.rq_open[0, 0] = 1000.0
    assert requests_at_uploader(pa, ea, 0, 0) == 1000.0 and ea.rq_wait[0, 0] == 3 * BLOCK_BYTES
    ea.unchoked[0, 0] = False  # v chokes u: nothing of v's is ahead any more
    assert requests_at_uploader(pa, ea, 0, 0) == np.inf and ea.rq_wait[0, 0] == 0.0
    assert ea.rq_open[0, 0] == 9 * BLOCK_BYTES
    ea.unchoked[0, 0] = True
    ea.rq_wait[0, 0] = 3 * BLOCK_BYTES
    ea.rq_open[0, 0] = 1000.0
    ea.credit[1, 0] = 3 * BLOCK_BYTES  # u's requests at v all on their way: nothing ahead
    assert requests_at_uploader(pa, ea, 0, 0) == np.inf and ea.rq_wait[0, 0] == 0.0
    assert ea.rq_open[0, 0] == 9 * BLOCK_BYTES


def test_requests_wait_for_a_poor_channels_quota_tick():
    """As above with nothing of v's own ahead of its REQUESTs, but v's upload channel holds no
    more than a second of its limit: a REQUEST waits for v's next quota tick (need_queueing), so
    this tick u may send v what v's request queue asked for by then - 3 blocks, less the 5,000 B
    already on their way - and what v asks for as they arrive waits for the next tick."""
    from sim.kernels.bandwidth import requests_at_uploader
    pa, ea = new_peers(2), new_edges(2, 1)
    pa.up_cap[:] = 100_000.0
    ea.nbr[0, 0], ea.rev[0, 0], ea.nbr[1, 0], ea.rev[1, 0] = 1, 0, 0, 0
    ea.dq_size[0, 0] = 3
    ea.credit[0, 0] = 5000.0
    for bank in (0.0, 60_000.0, 100_000.0):
        pa.up_quota[0] = bank
        assert requests_at_uploader(pa, ea, 0, 0) == 3 * BLOCK_BYTES - 5000.0, bank
    pa.up_quota[0] = 100_001.0
    assert requests_at_uploader(pa, ea, 0, 0) == np.inf
    pa.up_cap[0] = 0.0  # v uploads nothing: no upload limiter to pass
    pa.up_quota[0] = 0.0
    assert requests_at_uploader(pa, ea, 0, 0) == np.inf


def test_slow_start_of_the_request_queue_by_hand():
    """update_desired_queue_size and second_tick for v (peer 1) downloading from u (peer 0), who
    unchokes it. The queue starts at 4 blocks (transfer_blocks adds one per block received while
    in slow start: here set by hand). Second 1: 49,152 B received, nothing the second before: still
    slow start. Second 2: 163,840 B, more than 49,152 + 5,000: still. Second 3: 165,000 B, no more
    than 163,840 + 5,000: slow start ends and the queue becomes 3 s of the rate: 3 x 80,000 //
    16,384 = 14 blocks; choked connections never leave slow start this way."""
    pa, ea = new_peers(2), new_edges(2, 1)
    pa.active[:] = True
    pa.deg[:] = 1
    ea.nbr[0, 0], ea.rev[0, 0], ea.nbr[1, 0], ea.rev[1, 0] = 1, 0, 0, 0
    ea.unchoked[0, 0] = True
    assert ea.dq_size[1, 0] == 4 and ea.slow_start[1, 0]
    for tick, received, queue_after, slow in ((2, 49_152, 7, True), (4, 163_840, 17, True), (6, 165_000, 14, False)):
        ea.dn_sec[1, 0] = received
        ea.dq_size[1, 0] = queue_after if slow else 27  # what slow start's +1 per block made of it
        ea.rate_avg[1, 0] = 80_000.0
        second_tick(pa, ea, tick, 2)
        assert ea.slow_start[1, 0] == slow and ea.dq_size[1, 0] == queue_after, tick
        assert ea.dn_last_s[1, 0] == received and ea.dn_sec[1, 0] == 0
    ea.slow_start[1, 0], ea.unchoked[0, 0], ea.dn_last_s[1, 0] = True, False, 100_000
    ea.dn_sec[1, 0] = 0
    second_tick(pa, ea, 8, 2)
    assert ea.slow_start[1, 0]  # choked: no chance to ramp up, slow start goes on


def _three_at_a_rich_channel(burst, sent_last_second):
    pa, ea = new_peers(4), new_edges(4, 3)
    pa.active[:] = True
    pa.up_cap[0] = L
    pa.up_quota[0] = 400_000.0
    pa.down_cap[1:], pa.dn_quota[1:] = 1e12, 1e12
    ea.dl_held[1:, 0] = 1e12
    for j in range(3):
        ea.nbr[0, j], ea.rev[0, j] = j + 1, 0
        ea.nbr[j + 1, 0], ea.rev[j + 1, 0] = 0, j
        ea.cur_piece[j + 1, 0] = 0
        ea.bw_burst[0, j] = burst[j]
        ea.up_last_s[0, j] = sent_last_second[j]
        pa.deg[j + 1] = 1
    pa.deg[0] = 3
    return pa, ea


def test_new_requests_take_all_they_may_one_connection_at_a_time():
    """As below, but nothing was sent on the connections yet (new requests, bandwidth.fresh_start):
    their downloaders' requests arrive at their own tick instants, so the first in serve order
    takes all 18 requests (294,912) and the others find no more than a second of the limit left.
    With one of them established (it sent 16,384 last second) that one takes its turns first: it
    alone among the established takes all 18; the new ones nothing."""
    for sent, order, expect in (((0, 0, 0), [0, 1, 2], [294_912.0, 0.0, 0.0]),
                                ((0, 0, 0), [2, 0, 1], [0.0, 0.0, 294_912.0]),
                                ((0, 16_384, 0), [0, 1, 2], [0.0, 294_912.0, 0.0])):
        pa, ea = _three_at_a_rich_channel((False, False, False), sent)
        rate, want = np.zeros(3), np.zeros(3)
        grant_sends(pa, ea, np.zeros(3, np.int64), np.arange(1, 4, dtype=np.int64), np.zeros(3, np.int64), 3,
                    np.array(order, np.int64), DT, rate, want, np.zeros(3, np.int64))
        assert (rate * DT).tolist() == expect, (sent, order, (rate * DT).tolist())
        assert pa.up_quota[0] == 400_000.0 - 294_912.0


def test_connections_granted_at_once_share_the_surplus():
    """The channel holds 400,000 (limit 100,000): three connections with no request waiting are
    granted at once, 16,384 at a time, while more than a second of the limit would remain - 18
    requests in all. Each write is an event of its own, so they take turns: 6 blocks (98,304)
    each, not 18 for the first and none for the others. Two of them whose last quota came at
    once (bw_burst) go first as a group: 9 each, the third none. (Each sent a block in its last
    second, so its request is 16,384 and it is no newcomer.)"""
    for burst, expect in (((False, False, False), [98_304.0] * 3), ((True, False, True), [147_456.0, 0.0, 147_456.0])):
        pa, ea = _three_at_a_rich_channel(burst, (16_384,) * 3)
        rate, want = np.zeros(3), np.zeros(3)
        grant_sends(pa, ea, np.zeros(3, np.int64), np.arange(1, 4, dtype=np.int64), np.zeros(3, np.int64), 3,
                    np.arange(3), DT, rate, want, np.zeros(3, np.int64))
        assert (rate * DT).tolist() == expect, (burst, (rate * DT).tolist())


def test_downloader_channel_by_hand():
    """download_quota_tick: downloader v = 1 (limit 100,000 B/s) reads from u = 0 (request queue 4
    blocks) and u = 2 (2 blocks), holding no download quota and its channel empty. Each connection
    asks for its outstanding request bytes + 30 (wanted_transfer(download)): 65,566 and 32,798;
    0 - ask < 100,000, so both wait. Tick 1: the channel gains 50,000, each gets 25,000; neither
    is fully granted, so neither may read anything (grant_sends: rate 0). Tick 2: 50,000 more,
    share 25,000: u = 2's request completes at 32,798 (it took 7,798) and it may read that; u = 0's
    has 50,000 of 65,566 and still reads nothing."""
    from sim.kernels.bandwidth import download_quota_tick
    pa, ea = new_peers(3), new_edges(3, 2)
    pa.active[:] = True
    pa.down_cap[1] = 100_000.0
    for k, u in enumerate((0, 2)):
        ea.nbr[1, k], ea.rev[1, k], ea.nbr[u, 0], ea.rev[u, 0] = u, 0, 1, k
        ea.cur_piece[1, k] = 0
        pa.deg[u] = 1
    pa.deg[1] = 2
    ea.dq_size[1, 0], ea.dq_size[1, 1] = 4, 2
    dst, slot = np.array([1, 1]), np.array([0, 1])
    download_quota_tick(pa, ea, dst, slot, 2, DT)
    assert ea.dl_req[1, :2].tolist() == [65_566.0, 32_798.0]
    assert ea.dl_got[1, :2].tolist() == [25_000.0, 25_000.0] and ea.dl_held[1, :2].tolist() == [0.0, 0.0]
    ea.bw_quota[0, 0] = ea.bw_quota[2, 0] = 16_384.0  # both uploaders hold quota to send
    rate, want = np.zeros(2), np.zeros(2)
    grant_sends(pa, ea, np.array([0, 2]), dst, slot, 2, np.arange(2), DT, rate, want, np.zeros(2, np.int64))
    assert rate.tolist() == [0.0, 0.0]
    download_quota_tick(pa, ea, dst, slot, 2, DT)
    assert ea.dl_held[1, :2].tolist() == [0.0, 32_798.0] and ea.dl_req[1, 1] == 0.0
    assert ea.dl_got[1, 0] == 50_000.0 and ea.dl_req[1, 0] == 65_566.0


def _hoard_state(conns, bank):
    """Uploader 0 with one connection per dict of ``conns`` (to peers 1..n), as the twin takes them."""
    from sim.kernels.bandwidth import return_unsendable_quota
    n = len(conns)
    pa, ea = new_peers(n + 1), new_edges(n + 1, n)
    pa.active[:] = True
    pa.up_cap[0] = L
    pa.up_quota[0] = bank
    for j, c in enumerate(conns):
        ea.nbr[0, j], ea.rev[0, j] = j + 1, 0
        ea.nbr[j + 1, 0], ea.rev[j + 1, 0] = 0, j
        ea.bw_quota[0, j] = c["quota"]
        ea.bw_burst[0, j] = c["burst"]
        ea.bw_req[0, j] = 5_000.0 if c["waiting"] else 0.0
        ea.up_last_s[0, j] = c["last"]
    pa.deg[0] = n
    src = np.zeros(n, np.int64)
    dst = np.arange(1, n + 1, dtype=np.int64)
    slot = np.zeros(n, np.int64)
    wanted = np.array([c["wanted"] for c in conns], dtype=np.float64)
    return_unsendable_quota(pa, ea, src, dst, slot, n, wanted)
    return ea.bw_quota[0, :n].tolist(), float(pa.up_quota[0])


def test_quota_granted_at_once_for_writes_that_did_not_happen_goes_back():
    """Channel holding 150,000 B (limit 100,000). After the tick's writes:
    a: granted at once, nothing waiting, holds 200,000, wants 40,000 (its send buffer: one block,
       16,397 with the header): it asked for no more than 40,000 -> keeps 40,000, 160,000 back;
    b: the same but a request waits (it asked for wanted less what it held) -> keeps 90,000;
    c: its last quota came from the queue -> keeps 80,000;
    d: granted at once, holds 10,000, less than it wants -> keeps it;
    e: wants 5,000 but sent 65,536 B last second: its send buffer is two blocks (32,768 B, half of
       that), 32,794 with the headers -> keeps 32,794 of 50,000, 17,206 back.
    The channel ends with 150,000 + 160,000 + 17,206 = 327,206."""
    conns = [dict(quota=200_000.0, burst=True, waiting=False, wanted=40_000.0, last=0.0),
             dict(quota=90_000.0, burst=True, waiting=True, wanted=40_000.0, last=0.0),
             dict(quota=80_000.0, burst=False, waiting=False, wanted=40_000.0, last=0.0),
             dict(quota=10_000.0, burst=True, waiting=False, wanted=40_000.0, last=0.0),
             dict(quota=50_000.0, burst=True, waiting=False, wanted=5_000.0, last=65_536.0)]
    quotas, bank = _hoard_state(conns, 150_000.0)
    assert quotas == [40_000.0, 90_000.0, 80_000.0, 10_000.0, 32_794.0]
    assert bank == 327_206.0
    assert (quotas, bank) == naive.return_unsendable_quota(conns, 150_000.0)


def test_returned_quota_follows_the_twin():
    """Random connections: the kernel and the twin leave the same quotas and channel."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 8))
        conns = [dict(quota=float(rng.integers(0, 600_000)), burst=bool(rng.integers(0, 2)),
                      waiting=bool(rng.integers(0, 2)), wanted=float(rng.integers(0, 300_000)),
                      last=float(rng.integers(0, 2_000_000))) for _ in range(n)]
        bank = float(rng.integers(0, 300_000))
        got_q, got_b = _hoard_state(conns, bank)
        want_q, want_b = naive.return_unsendable_quota(conns, bank)
        np.testing.assert_allclose(got_q, want_q, rtol=0, atol=1e-6)
        assert abs(got_b - want_b) < 1e-6
