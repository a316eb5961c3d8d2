"""Bandwidth: libtorrent's rate limiter, connection by connection, at its 500 ms quota tick.

Read from libtorrent's source (bandwidth_manager.cpp, bandwidth_limit.cpp, bandwidth_queue_entry.cpp,
peer_connection.cpp ``wanted_transfer``/``request_bandwidth``/``fill_send_buffer``, stat.cpp); the
names below are libtorrent's. A connection's share of its uploader's limit is not computed from a
fairness rule but fed back from the connection's own history:

- **The request.** A connection asks its uploader's channel for ``wanted_transfer`` =
  max(its send buffer, 2 x its upload rate x tick_interval) — about one second of its *own*
  recent rate — less the quota it holds, and has at most one request outstanding. It asks just
  before it writes (``setup_send`` calls ``request_bandwidth`` first) and, if it then has none
  outstanding, again after: in steady state a connection gets its own rate once a second, in two
  grants that alternate — its share neither grows nor shrinks (the lab's traces show exactly this).
- **The send buffer.** Blocks are read while the buffer is below ``send_buffer_watermark_factor``
  (50%) of what the connection sent in the last second, clamped to [``send_buffer_low_watermark``
  10 KiB, ``send_buffer_watermark`` 500 KiB]: whole 16 KiB blocks, so at least one.
- **The quota tick** (every ``tick_interval``, 500 ms): while some request waits, the channel gets
  ``limit x dt`` more quota, keeps at most 3 s of it, and hands every waiting request an equal
  part of what it holds (``distribute_quota / waiting``), each at most what it still needs. A
  request is released — the connection may send — only once fully granted (or after 20 ticks with
  something granted). What a small request does not take stays in the channel. With no request
  waiting the channel still gains quota while it holds less than a second of its limit: the
  session's protocol messages (a downloader's REQUESTs, a new connection's handshake) queue on it
  until it does.
- **Immediate grants.** A request the channel can grant keeping more than one second of its limit
  (``need_queueing`` is false) is granted at once; the connection sends it and asks again, so a
  channel with quota saved up lets a connection burst until it is back to one second of its limit.
  A connection granted at once stays out of the queue and asks between quota ticks, so it is first
  to take the channel's surplus at the next tick (``bw_burst``).
- **The rate** a request is sized from is libtorrent's once-a-second average
  ``avg = avg x 4/5 + bytes of the last second / 5`` (integer arithmetic), updated at each
  session's own second tick (``sec_phase``: which quota tick of the second it falls on).

So a newcomer at a busy uploader starts at one block per quota tick and its requests grow only as
fast as its own average, while the connection first out of the queue keeps the surplus: early
connections keep larger shares, as in the lab.

Simplified here (docs/model.md): a connection asks at most before and after its one write of a
tick (plus once before the quota tick when it held nothing: ``ask_when_asked``); a burst is limited
by what the downloader's download quota lets it take, not by its request queue (on loopback the
queue refills as fast as blocks arrive); protocol messages cost no quota; and the downloader's side is a plain quota — each downloader's limit (at most 3 s saved)
shared evenly among the connections sending to it, each at most what it was granted, what it
cannot take staying granted at the uploader for the next tick.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..protocol import BLOCK_BYTES

assert BLOCK_BYTES & (BLOCK_BYTES - 1) == 0, "whole_blocks_in divides by a power of two"

QUOTA_BURST_S = 3.0  # bandwidth_channel::update_quota keeps at most 3 s of the limit
REQUEST_TTL_TICKS = 20  # bw_request::ttl: released after 20 quota ticks if anything was granted
# The send buffer and request queue settings (send_buffer_low_watermark, send_buffer_watermark,
# send_buffer_watermark_factor, request_queue_time, max_out_request_queue) are the scenario's, per
# session: pa.sb_low, pa.sb_high, pa.sb_factor, pa.rq_time_s, pa.rq_max (sim/state.py).
REQUEST_QUEUE_MIN_BLOCKS = 2  # update_desired_queue_size's lower clamp (min_request_queue)
INITIAL_QUEUE_BLOCKS = 4  # peer_connection's m_desired_queue_size at the start (slow start from there)
SLOW_START_SLACK_BYTES = 5000  # second_tick ends slow start when a second brings < 5,000 B more than the last
# stat::trancieve_ip_packet's estimate of TCP/IP overhead: a 40-byte IPv4+TCP header per 1,460 bytes
# of a 1,500-byte packet, for every packet sent or received, counted on both channels (a packet
# received is answered by an ACK). stat::upload_rate() and download_rate(), the rates a bandwidth
# request is sized from, include it and the PIECE message's 13-byte header per 16 KiB block, so a
# connection asks for a little more than the payload it moved; rate_limit_ip_overhead also takes
# it out of the rate limits.
IP_HEADER_BYTES = 40
IP_OVERHEAD = IP_HEADER_BYTES / (1500 - IP_HEADER_BYTES)
PIECE_HEADER_BYTES = 13
RATE_OVERHEAD = IP_OVERHEAD + PIECE_HEADER_BYTES / BLOCK_BYTES


@njit(cache=True, inline="always")
def send_buffer_bytes(uploaded_last_second, low, high, factor):
    """Bytes in a busy connection's send buffer after fill_send_buffer: whole blocks read until
    the watermark is reached: ``factor`` (send_buffer_watermark_factor, 50 %) of last second's
    upload, raised to ``low`` (send_buffer_low_watermark, 10 KiB) if below it, else cut to ``high``
    (send_buffer_watermark, 500 KiB) if above it, in libtorrent's order."""
    wm = factor * uploaded_last_second
    if wm < low:
        wm = low
    elif wm > high:
        wm = high
    return np.ceil(wm / BLOCK_BYTES) * BLOCK_BYTES


@njit(cache=True, inline="always")
def buffer_with_headers(send_buffer):
    """A send buffer of whole blocks as peer_connection's send_buffer_size() counts it, each
    block behind its 13-byte PIECE message header (bt_peer_connection::write_piece)."""
    return send_buffer + PIECE_HEADER_BYTES * (send_buffer / BLOCK_BYTES)


@njit(cache=True, inline="always")
def asked_blocks_at_uploader(ea, v, kv):
    """Blocks downloader v has asked of the uploader on its connection in slot kv that have reached
    the uploader and are not yet sent (libtorrent's upload_queue_length at the uploader's end): its
    REQUESTs there (rq_open) less the credit it holds towards the next block, in whole blocks; 0
    while v asks nothing (cur_piece < 0)."""
    if ea.cur_piece[v, kv] < 0:
        return 0.0
    return np.floor(max(ea.rq_open[v, kv] - ea.credit[v, kv], 0.0) / BLOCK_BYTES)


@njit(cache=True)
def traced_upload_queues(ea, local, slot):
    """For each connection end (local[i], its slot[i]): connections.csv's ``upload_queue_length``,
    the remote's requests waiting at the local end (asked_blocks_at_uploader)."""
    out = np.zeros(local.shape[0], dtype=np.float64)
    for i in range(local.shape[0]):
        u = local[i]
        k = slot[i]
        out[i] = asked_blocks_at_uploader(ea, ea.nbr[u, k], ea.rev[u, k])
    return out


@njit(cache=True)
def traced_send_buffers(pa, ea, local, slot):
    """For each connection end (local[i], its slot[i]): its send buffer as connections.csv's
    ``used_send_buffer`` counts it (libtorrent's ``m_send_buffer.size()``), as the model's writes
    take it (grant_sends_into): whole blocks read to the watermark from the connection's last
    second of upload (send_buffer_bytes), no more than the remote's requests that have reached the
    local end and are not yet sent, each block behind its PIECE header; 0 while the remote asks
    nothing."""
    out = np.zeros(local.shape[0], dtype=np.int64)
    for i in range(local.shape[0]):
        u = local[i]
        k = slot[i]
        v = ea.nbr[u, k]
        kv = ea.rev[u, k]
        if ea.cur_piece[v, kv] < 0:
            continue
        asked = asked_blocks_at_uploader(ea, v, kv) * BLOCK_BYTES
        sb = min(send_buffer_bytes(ea.up_last_s[u, k], pa.sb_low[u], pa.sb_high[u], pa.sb_factor[u]), asked)
        out[i] = int(buffer_with_headers(sb))
    return out


@njit(cache=True, inline="always")
def after_writes(quota, wanted, send_buffer, sent):
    """Bytes written, of ``sent`` this tick, when a connection holding ``quota`` (and no request
    waiting) first holds less than ``wanted``: each write sends at most one ``send_buffer``.
    All of ``sent`` if it never does."""
    k = 1.0 if quota < wanted else np.floor((quota - wanted) / send_buffer) + 1.0
    return min(k * send_buffer, sent)


@njit(cache=True, inline="always")
def fresh_start(ea, u, ku):
    """u has sent nothing on this connection in this second or the last: its downloader's requests
    are new (a new connection, or one unchoked again), and reach u at the instant the downloader's
    own quota tick falls (``pa.tick_phase``), not at u's."""
    return ea.up_sec[u, ku] == 0.0 and ea.up_last_s[u, ku] == 0.0


@njit(cache=True, inline="always")
def wanted_upload(pa, u, uploaded_last_second, upload_rate, received_rate, dt):
    """peer_connection::wanted_transfer(upload) of a connection of u's: max(send buffer, 2 x rate x
    tick_interval), the send buffer by u's session settings."""
    return max(send_buffer_bytes(uploaded_last_second, pa.sb_low[u], pa.sb_high[u], pa.sb_factor[u]),
               np.floor(2.0 * (upload_rate * (1.0 + RATE_OVERHEAD) + received_rate * IP_OVERHEAD) * dt))


@njit(cache=True, inline="always")
def connection_wants(pa, ea, u, ku, dt):
    """wanted_upload for u's connection in slot ku, from that connection's own counters."""
    return wanted_upload(pa, u, ea.up_last_s[u, ku], ea.up_avg[u, ku], ea.rate_avg[u, ku], dt)


@njit(cache=True, inline="always")
def distribute_quota(limit, dt, bank, req, got, ttl, quota):
    """One channel's quota tick (bandwidth_manager::update_quotas) over its connections' requests.

    ``req[j] > 0``: connection j waits for ``req[j]`` bytes of which ``got[j]`` are granted. A
    fully granted (or expired) request moves into the connection's ``quota[j]``. Returns the
    channel's quota left (``m_quota_left``)."""
    n = req.shape[0]
    waiting = 0
    for j in range(n):
        if req[j] > 0.0:
            waiting += 1
    if waiting == 0:
        # No payload request waits. The session still sends protocol messages (a downloader's
        # REQUESTs, HAVEs, a new connection's handshake and bitfield) through the same limiter:
        # each queues while the channel holds less than a second of its limit beyond it
        # (need_queueing: quota left less the message < limit) and so makes the quota tick add to
        # the channel — until it holds more than a second of its limit, when they are granted at
        # once and stop queueing. A message costs a few bytes, so a channel holding exactly a second
        # of its limit still queues it: an idle channel ends up to a tick's quota above a second
        # (the lab's idle 1 MB/s seed gave its first asker 31 blocks, 508 KB, at once).
        if bank <= limit:
            bank = min(bank + np.floor(limit * dt + 0.5), QUOTA_BURST_S * limit)
        return bank
    bank = min(bank + np.floor(limit * dt + 0.5), QUOTA_BURST_S * limit)
    share = np.floor(max(bank, 0.0) / waiting)
    for j in range(n):
        if req[j] <= 0.0:
            continue
        a = min(share, req[j] - got[j])
        got[j] += a
        bank -= a
        ttl[j] -= 1
        if got[j] >= req[j] or (ttl[j] <= 0 and got[j] > 0.0):
            quota[j] += got[j]
            req[j] = 0.0
            got[j] = 0.0
    return bank


@njit(cache=True, _nrt=False)
def upload_quota_tick(pa, ea, dt):
    """Every uploader's quota tick over its connections (requests of choked connections stay
    queued and keep collecting quota, as in libtorrent)."""
    for u in range(pa.deg.shape[0]):
        d = pa.deg[u]
        if not pa.active[u] or (d == 0 and pa.handshakes[u] == 0):
            continue  # no connection sends anything through this channel
        pa.up_quota[u] = distribute_quota(pa.up_cap[u], dt, pa.up_quota[u], ea.bw_req[u, :d], ea.bw_got[u, :d],
                                          ea.bw_ttl[u, :d], ea.bw_quota[u, :d])


@njit(cache=True, inline="always")
def whole_blocks_in(nbytes):
    """``nbytes // BLOCK_BYTES`` of a finite float, exactly, without numba's floor division of
    floats (Python's algorithm, through a call of fmod: a few per cent of a small swarm's tick).
    BLOCK_BYTES is a power of two, so ``nbytes / BLOCK_BYTES`` is exact and its floor is the floor
    division's quotient."""
    return np.floor(nbytes / BLOCK_BYTES)


@njit(cache=True, inline="always")
def request_queue_blocks(rate_avg, queue_time_s, max_out):
    """Outstanding requests a downloader keeps at one peer once out of slow start
    (update_desired_queue_size): ``queue_time_s`` (request_queue_time, 3 s) of its download rate
    from it, within [2, ``max_out``] blocks (max_out_request_queue, 500; the scenario keeps it >= 4).
    In slow start the queue starts at 4 and grows by one per block received (incoming_piece)
    instead; ea.dq_size holds the current size."""
    return min(max(REQUEST_QUEUE_MIN_BLOCKS, int(whole_blocks_in(queue_time_s * rate_avg))), max_out)


@njit(cache=True, inline="always")
def requests_at_uploader(pa, ea, v, k):
    """Bytes the peer in v's slot k may send v this tick: what v has asked of it and it has not
    sent yet. A connection's messages leave in order through one send buffer, limited by v's
    upload rate limiter like everything v sends. While v has uploads of its own pending on that
    connection (quota granted or asked for), the REQUESTs v writes wait behind them and leave
    together when the block ahead of them has gone (transfer_blocks: ``rq_open`` is refilled to
    v's request queue each time v's upload there completes a block); in between, the uploader
    can serve only the requests already out. Nothing of v's own pending: requests go out at
    once, v's whole request queue is at the uploader, no bound.

    The same stream is read at the other end only as fast as the uploader's download channel
    lets it (peer_connection::setup_receive reads at most its download quota; with none it does
    not read). While that channel is short, the blocks it has asked v for are in the connection
    ahead of the REQUESTs v writes, which reach it only once it has read them: ``rq_wait`` counts
    the bytes still ahead (set and taken off in transfer_blocks as the uploader reads v's blocks;
    at zero, v's request queue is at the uploader). Here they are released when nothing of v's
    is ahead any more: the uploader has no request at v left unserved, or v chokes it. A
    download-limited peer so receives the requests of the peers it sends to late, and uploads
    less than its upload limit would allow (the hold-out scenario h04, validation/ANALYSIS.md)."""
    u = ea.nbr[v, k]
    ku = ea.rev[v, k]
    ahead = ea.rq_open[u, ku] - ea.credit[u, ku]  # u's requests at v not yet served: v's data for u
    if ea.rq_wait[v, k] > 0.0:
        if ea.cur_piece[u, ku] >= 0 and ahead > 0.0 and ea.unchoked[v, k]:
            return max(ea.rq_open[v, k] - ea.credit[v, k], 0.0)  # still behind v's data u has not read
        ea.rq_wait[v, k] = 0.0  # nothing of v's left ahead of them: u asks nothing, all served, v chokes u
    if ea.cur_piece[u, ku] < 0 or ahead <= 0.0 or (ea.bw_req[v, k] <= 0.0 and ea.bw_quota[v, k] <= 0.0):
        # nothing of v's own waits to go out on this connection: u has asked v for nothing, or
        # every request of u's that reached v is served, or v neither holds nor asked for quota.
        # v's REQUESTs still pass its upload rate limiter: while its channel holds no more than a
        # second of its limit (need_queueing) they wait for its next quota tick, so the uploader
        # has this tick what v asked for by its last one - its request queue - and what v asks
        # for as blocks arrive goes out at its next tick. A rich channel lets them out at once.
        ea.rq_open[v, k] = ea.dq_size[v, k] * BLOCK_BYTES
        if pa.up_cap[v] <= 0.0 or pa.up_quota[v] > pa.up_cap[v]:
            return np.inf
        return max(ea.rq_open[v, k] - ea.credit[v, k], 0.0)
    return max(ea.rq_open[v, k] - ea.credit[v, k], 0.0)


@njit(cache=True, inline="always")
def request_bandwidth(pa, ea, u, ku, wanted):
    """peer_connection::request_bandwidth: ask u's channel for what the connection wants beyond
    the quota it holds. Granted on the spot while the channel holds more than a second of its
    limit beyond it (need_queueing is false: the connection stays out of the queue), else queued
    for the next quota tick."""
    b = wanted - ea.bw_quota[u, ku]
    if b <= 0.0:
        return
    if pa.up_quota[u] - b >= pa.up_cap[u]:
        pa.up_quota[u] -= b
        ea.bw_quota[u, ku] += b
        ea.bw_burst[u, ku] = True
        return
    ea.bw_req[u, ku] = b
    ea.bw_got[u, ku] = 0.0
    ea.bw_ttl[u, ku] = REQUEST_TTL_TICKS
    ea.bw_burst[u, ku] = False


@njit(cache=True, _nrt=False)
def ask_when_asked(pa, ea, src, dst, slot, F, order, dt):
    """A connection holding neither quota nor a waiting request whose downloader has just asked it
    for blocks (newly unchoked, or with something new to ask for) asks its channel now. In
    libtorrent the REQUEST arrives, and setup_send asks for bandwidth, at some moment between
    two quota ticks; the request then waits for the next quota tick (or is granted at once) —
    it does not wait a whole tick more. Runs before the quota tick; other connections keep
    asking before and after their writes (grant_sends)."""
    for i in range(F):
        f = order[i]
        u = src[f]
        v = dst[f]
        k = slot[f]
        ku = ea.rev[v, k]
        if ea.cur_piece[v, k] < 0 or ea.bw_req[u, ku] > 0.0 or ea.bw_quota[u, ku] > 0.0:
            continue
        request_bandwidth(pa, ea, u, ku, connection_wants(pa, ea, u, ku, dt))


@njit(cache=True, inline="always")
def take_all_at_once(pa, ea, u, ku, f, w, rate, want):
    """Transfer f (u's connection ku) takes, in requests of ``w``, all its channel grants at once
    (keeping more than a second of the limit), at most the ``rate[f]`` requests its downloader
    can take; then it is done for this tick (``rate[f]`` = 0, ``want[f]`` = 1 if it took any)."""
    n = min(rate[f], np.floor((pa.up_quota[u] - pa.up_cap[u]) / w)) if pa.up_quota[u] - w >= pa.up_cap[u] else 0.0
    if n > 0.0:
        pa.up_quota[u] -= n * w
        ea.bw_quota[u, ku] += n * w
        want[f] = 1.0
    rate[f] = 0.0


@njit(cache=True, inline="always")
def at_once_requests(pa, ea, src, dst, slot, f, rate, want, turns, wanted, F, n_active, n_fresh):
    """Transfer f's turn in its group: ``rate[f]`` set to the requests its channel may grant it at
    once, and f listed in ``turns`` if it may take any. Returns (n_active, n_fresh), the lengths
    of the two lists (see grant_sends)."""
    u = src[f]
    ku = ea.rev[dst[f], slot[f]]
    want[f] = 0.0
    rate[f] = 0.0
    if ea.cur_piece[dst[f], slot[f]] < 0:
        return n_active, n_fresh
    if ea.bw_req[u, ku] <= 0.0:
        # ... at once, but only while it has data to send: its downloader asks for more as
        # blocks arrive (on loopback at once), up to what the downloader's own limit lets
        # it take. Quota it could not send stays with it and is not topped up again.
        w = wanted[f]
        # what the downloader can take: the download quota its connection holds, and
        # what its download channel would grant at once (beyond a second of its limit)
        room = (max(ea.dl_held[dst[f], slot[f]], 0.0) + max(pa.dn_quota[dst[f]] - pa.down_cap[dst[f]], 0.0)
                - ea.bw_quota[u, ku])
        rate[f] = max(np.ceil(room / w), 0.0) if w > 0.0 else 0.0
        if rate[f] > 0.0:
            # listed in ``order``: those taking turns from the front of ``turns``, the
            # new requests (fresh_start) from its back
            if fresh_start(ea, u, ku):
                n_fresh += 1
                turns[F - n_fresh] = f
            else:
                turns[n_active] = f
                n_active += 1
    return n_active, n_fresh


@njit(cache=True, inline="always")
def take_turns(pa, ea, src, dst, slot, rate, want, turns, wanted, F, n_active, n_fresh):
    """One group's grants at once: the transfers listed in turns[:n_active] take turns, then the
    new requests listed in turns[F - n_fresh:] take all they may, each in ``order``."""
    # Connections granted at once send and ask again between quota ticks, each write an
    # event of its own: those of one group take turns, a request each, while their channel
    # keeps more than a second of its limit beyond it (need_queueing false) - the surplus is
    # shared among them, not taken whole by the first. (Once one is left, it takes what it
    # may in one step: the same requests as one at a time.) Each turn visits turns[:n_active],
    # the transfers still taking part, in ``order``; those done drop out of the list.
    while n_active > 0:
        n = n_active
        kept = 0
        for j in range(n):
            f = turns[j]
            u = src[f]
            ku = ea.rev[dst[f], slot[f]]
            w = wanted[f]
            if n_active == 1:
                take_all_at_once(pa, ea, u, ku, f, w, rate, want)
                n_active = 0
                break
            if pa.up_quota[u] - w < pa.up_cap[u]:
                rate[f] = 0.0
                n_active -= 1
                continue
            pa.up_quota[u] -= w
            ea.bw_quota[u, ku] += w
            rate[f] -= 1.0
            want[f] = 1.0
            if rate[f] <= 0.0:
                n_active -= 1
            else:
                turns[kept] = f
                kept += 1
    # New requests (fresh_start) arrive one connection at a time, at their downloaders' own
    # tick instants (serve_order lists them in that order); on loopback a connection alone at
    # a rich channel takes all it may within milliseconds, long before the next downloader's
    # tick (the lab's seed log: 31 blocks to the first asker in 4 ms, then one block each to
    # the askers 90-300 ms later). So they do not take turns: each takes all it may, in turn.
    for j in range(n_fresh):
        f = turns[F - 1 - j]
        u = src[f]
        ku = ea.rev[dst[f], slot[f]]
        take_all_at_once(pa, ea, u, ku, f, wanted[f], rate, want)


@njit(cache=True, inline="always")
def after_turns(pa, ea, src, dst, slot, f, want):
    """Transfer f after its group's grants at once: its bw_burst for the next tick (granted at
    once, or queued), and ``want[f]``: what it may send, its quota up to its downloader's
    requests at u."""
    u = src[f]
    ku = ea.rev[dst[f], slot[f]]
    if ea.cur_piece[dst[f], slot[f]] < 0:
        # the downloader has asked u for nothing (yet): u has nothing to send and asks its
        # channel for nothing (request_bandwidth runs from setup_send, with data to send)
        want[f] = 0.0
        return
    if want[f] > 0.0:
        ea.bw_burst[u, ku] = True
    elif ea.bw_req[u, ku] > 0.0:
        ea.bw_burst[u, ku] = False
    want[f] = min(ea.bw_quota[u, ku], requests_at_uploader(pa, ea, dst[f], slot[f]))


@njit(cache=True)
def grant_sends(pa, ea, src, dst, slot, F, order, dt, rate, want, turns):
    """grant_sends_into with its scratch for the connections' wanted_transfer allocated here."""
    grant_sends_into(pa, ea, src, dst, slot, F, order, dt, rate, want, turns, np.empty(F))


@njit(cache=True, _nrt=False)
def grant_sends_into(pa, ea, src, dst, slot, F, order, dt, rate, want, turns, wanted):
    """What each active transfer sends this tick (``rate[f]`` bytes/s), then its next request.

    A transfer sends the quota its uploader granted it; one with no request waiting (just granted,
    or newly unchoked) also gets what a rich channel grants at once. Transfers come grouped by
    downloader (collect_flows lists them downloader by downloader): a downloader short of
    download quota shares it evenly over its incoming transfers, and what it cannot take stays
    granted at the uploader. Each transfer then asks for its next request, which waits for the
    next quota tick. Quota granted at once goes first to the connections whose last quota also
    came at once — in libtorrent a connection that is granted at once sends and asks again
    between quota ticks, while one in the queue only asks again after its next tick, so the first
    connection out of the queue keeps the channel's surplus — then to the others, each group in
    ``order`` (serve_order: as they happen to ask, not by peer number).

    ``turns`` (int, at least F long) is scratch: the transfers that take turns at a rich channel,
    in ``order``, so the turns visit only those few, not every transfer of the tick. ``wanted``
    (float, at least F long) is scratch too: each transfer's wanted_transfer (connection_wants),
    computed once here: it reads only the connection's rate averages and last second's bytes and
    its uploader's settings, which nothing in this step changes, and was asked for up to once
    per turn at a rich channel and twice more after the write.

    Steps of different transfers that touch none of the same state share one sweep over ``order``
    (each transfer's steps stay in their order): a transfer's step after its group's turns
    (after_turns) writes only its own connection's bw_burst, ``want`` and request bytes at the
    uploader (rq_open), which neither a transfer's at-once requests (at_once_requests) nor its
    download read below touch; those write only the transfer's own ``want``/``rate``, and the
    download read its downloader's quota, which after_turns does not read."""
    # Scratch, per transfer, before the downloader split writes the rates: ``rate[f]`` holds the
    # at-once requests it may still take, ``want[f]`` whether it took any (nothing allocated here).
    for f in range(F):
        rate[f] = 0.0
        want[f] = 0.0
        wanted[f] = connection_wants(pa, ea, src[f], ea.rev[dst[f], slot[f]], dt)
    # Connections already out of the queue (bw_burst) first, ...
    n_active = 0
    n_fresh = 0
    for i in range(F):
        f = order[i]
        if ea.bw_burst[src[f], ea.rev[dst[f], slot[f]]]:
            n_active, n_fresh = at_once_requests(pa, ea, src, dst, slot, f, rate, want, turns, wanted, F, n_active,
                                                 n_fresh)
    take_turns(pa, ea, src, dst, slot, rate, want, turns, wanted, F, n_active, n_fresh)
    # ... then the rest, those that have just left it among them (after_turns)
    n_active = 0
    n_fresh = 0
    for i in range(F):
        f = order[i]
        ku = ea.rev[dst[f], slot[f]]
        if ea.bw_burst[src[f], ku]:
            after_turns(pa, ea, src, dst, slot, f, want)
        if not ea.bw_burst[src[f], ku]:
            n_active, n_fresh = at_once_requests(pa, ea, src, dst, slot, f, rate, want, turns, wanted, F, n_active,
                                                 n_fresh)
    take_turns(pa, ea, src, dst, slot, rate, want, turns, wanted, F, n_active, n_fresh)
    for i in range(F):  # each connection reads what its own download quota lets it ...
        f = order[i]
        if not ea.bw_burst[src[f], ea.rev[dst[f], slot[f]]]:  # the second group's step after its turns
            after_turns(pa, ea, src, dst, slot, f, want)
        v = dst[f]
        k = slot[f]
        held = max(ea.dl_held[v, k], 0.0)
        if want[f] > held and ea.dl_req[v, k] <= 0.0:
            # ... and, holding too little with no request waiting, asks its download channel
            # again, which grants at once while it keeps over a second of its limit
            # (need_queueing false): a reader asks after every read, so a rich channel does not
            # hold a connection to one request per quota tick
            extra = min(want[f] - held, pa.dn_quota[v] - pa.down_cap[v])
            if extra > 0.0:
                pa.dn_quota[v] -= extra
                ea.dl_held[v, k] += extra
                held += extra
        rate[f] = min(want[f], held)
    for i in range(F):
        f = order[i]
        u = src[f]
        ku = ea.rev[dst[f], slot[f]]
        if ea.cur_piece[dst[f], slot[f]] < 0:
            rate[f] = 0.0
            continue
        sb = send_buffer_bytes(ea.up_last_s[u, ku], pa.sb_low[u], pa.sb_high[u], pa.sb_factor[u])
        if ea.bw_req[u, ku] <= 0.0:
            # request_bandwidth runs in setup_send *before* the write: the connection asks for
            # what it wants beyond the quota it holds now, not yet spent. In steady state a
            # connection so gets its wanted_transfer (a second of its own rate) once per second,
            # in two grants that alternate (W - Q, Q): its rate neither grows nor shrinks.
            # The blocks are in the send buffer now, each behind its PIECE header: the buffer
            # counts the headers, which the request made while they were read from disk (the
            # payload only: m_reading_bytes) did not, so a connection granted one buffer asks
            # for the headers' few bytes before it writes and gets its next buffer a tick later.
            request_bandwidth(pa, ea, u, ku, max(wanted[f], buffer_with_headers(sb)))
        # A write sends what the send buffer holds (fill_send_buffer read whole blocks up to the
        # watermark); the next, once the disk has refilled it, within the tick. After each write
        # (on_send_data -> setup_send) a connection with no request waiting asks for what it
        # wants beyond the quota left: so one that held all it wanted asks after the first write
        # that leaves it less than that, not after the tick's last, and a second of its rate
        # comes in two grants of about a send buffer each, not in one.
        written = after_writes(ea.bw_quota[u, ku], wanted[f], sb, rate[f])
        ea.bw_quota[u, ku] -= written
        if ea.bw_req[u, ku] <= 0.0:
            request_bandwidth(pa, ea, u, ku, wanted[f])
        ea.bw_quota[u, ku] -= rate[f] - written
        rate[f] /= dt


@njit(cache=True, _nrt=False)
def return_unsendable_quota(pa, ea, src, dst, slot, F, wanted):
    """After the tick's writes: quota a connection was granted at once for writes that did not
    happen goes back to its uploader's channel.

    peer_connection::request_bandwidth asks only for wanted_transfer less the quota the
    connection holds, and setup_send asks only with data in the send buffer; so a connection
    granted at once sends, asks again, sends, ... and stops asking when its downloader has
    nothing more asked of it. It never holds more than the larger of its wanted_transfer and its
    send buffer with the PIECE headers (what it asked for last, before a write). grant_sends
    grants a connection with no request waiting its at-once requests in one step, one
    wanted_transfer for each write it may make; those its downloader then did not ask for (a
    leecher with two blocks asked of it, its downloader's download channel rich) were never
    asked for in libtorrent, and that quota stays with the channel, where the uploader's other
    connections can have it. Only connections granted at once (``bw_burst``) with no request
    waiting are concerned: a queued request asked for wanted less quota held. ``wanted``: each
    transfer's wanted_transfer this tick (grant_sends_into's scratch)."""
    for f in range(F):
        u = src[f]
        ku = ea.rev[dst[f], slot[f]]
        if not ea.bw_burst[u, ku] or ea.bw_req[u, ku] > 0.0:
            continue
        sb = send_buffer_bytes(ea.up_last_s[u, ku], pa.sb_low[u], pa.sb_high[u], pa.sb_factor[u])
        excess = ea.bw_quota[u, ku] - max(wanted[f], buffer_with_headers(sb))
        if excess > 0.0:
            ea.bw_quota[u, ku] -= excess
            pa.up_quota[u] += excess


@njit(cache=True, inline="always")
def ip_overhead_bytes(moved):
    """stat::trancieve_ip_packet's TCP/IP overhead of ``moved`` bytes sent and received."""
    return np.floor(moved * IP_OVERHEAD)


@njit(cache=True, _nrt=False)
def drain_ip_overhead(pa, ea, u):
    """rate_limit_ip_overhead at u's second tick (peer_connection::second_tick ->
    use_quota_overhead): the IP overhead of what each connection sent and received in the last
    second leaves u's upload and download channels, where they are limited. A channel's quota may
    go below zero; its next quota ticks pay it back (bandwidth_channel::use_quota)."""
    moved = 0.0
    for k in range(pa.deg[u]):
        moved += ea.up_sec[u, k] + ea.dn_sec[u, k]
    drain = ip_overhead_bytes(moved)
    if pa.up_cap[u] > 0.0 and pa.up_cap[u] < np.inf:
        pa.up_quota[u] -= drain
    if pa.down_cap[u] > 0.0 and pa.down_cap[u] < np.inf and not pa.is_seed[u]:
        pa.dn_quota[u] -= drain


@njit(cache=True, inline="always")
def second_tick_due(tick, tick_mod, phase, ticks_per_s):
    """``(tick + phase) % ticks_per_s == 0``, given ``tick_mod = tick % ticks_per_s``: without an
    integer division per peer and tick while the phase lies in [0, ticks_per_s) (the engine draws
    it there): then the sum of the two remainders is a multiple only as 0 or ticks_per_s."""
    if 0 <= phase < ticks_per_s:
        s = tick_mod + phase
        return s == 0 or s == ticks_per_s
    return (tick + phase) % ticks_per_s == 0


@njit(cache=True, _nrt=False)
def second_tick(pa, ea, tick, ticks_per_s):
    """Each session's once-a-second tick, at its own phase: every connection's upload rate average
    (stat_channel::second_tick) and its bytes of the last second (send buffer watermark); with
    rate_limit_ip_overhead, the last second's IP overhead out of the session's limits."""
    tick_mod = tick % ticks_per_s
    for u in range(pa.deg.shape[0]):
        if not pa.active[u] or not second_tick_due(tick, tick_mod, pa.sec_phase[u], ticks_per_s):
            continue
        if pa.ip_drain[u]:
            drain_ip_overhead(pa, ea, u)
        for k in range(pa.deg[u]):
            b = ea.up_sec[u, k]
            ea.up_last_s[u, k] = b
            ea.up_avg[u, k] = np.floor(ea.up_avg[u, k] * 4.0 / 5.0) + np.floor(b / 5.0)
            ea.up_sec[u, k] = 0.0
            # u as downloader: slow start ends once a second brings no more than the one before
            # (+5,000 B), while unchoked; then the queue follows 3 s of the rate
            d = ea.dn_sec[u, k]
            if ea.slow_start[u, k] and ea.unchoked[ea.nbr[u, k], ea.rev[u, k]] and ea.dn_last_s[u, k] > 0 \
                    and ea.dn_last_s[u, k] + SLOW_START_SLACK_BYTES >= d:
                ea.slow_start[u, k] = False
            ea.dn_last_s[u, k] = d
            ea.dn_sec[u, k] = 0
            if not ea.slow_start[u, k]:
                ea.dq_size[u, k] = request_queue_blocks(ea.rate_avg[u, k], pa.rq_time_s[u], pa.rq_max[u])


DOWNLOAD_RATE_FACTOR = 1.5  # wanted_transfer(download): 1.5 x the download rate x tick_interval
REQUEST_OVERHEAD_BYTES = 30  # ... or the outstanding request bytes + 30


@njit(cache=True, _nrt=False)
def download_quota_tick(pa, ea, dst, slot, F, dt):
    """Each downloader's own rate limiter, as the uploader's (bandwidth_manager on the download
    channel). A connection expecting data (it has asked its peer for blocks) and holding no download
    quota asks for wanted_transfer(download) = max(its outstanding request bytes + 30, 1.5 x its
    download rate x tick_interval), the outstanding bytes being its request queue (dq_size blocks:
    a connection keeps its queue full); a rich channel grants it at once, otherwise it waits, and the
    quota tick gives every waiting request an equal part, releasing one only when fully granted. A
    connection reads only what it holds: a fast connection with a long request queue asks for a
    lot and reads nothing until all of it is granted (the lab's seconds-long stalls with hundreds
    of requests outstanding, then a burst)."""
    for f in range(F):
        v = dst[f]
        k = slot[f]
        if ea.cur_piece[v, k] < 0 or ea.dl_req[v, k] > 0.0:
            continue
        # download_rate(): payload + protocol + the IP overhead of what it receives and sends
        want = max(ea.dq_size[v, k] * BLOCK_BYTES + REQUEST_OVERHEAD_BYTES,
                   np.floor(DOWNLOAD_RATE_FACTOR * (ea.rate_avg[v, k] * (1.0 + RATE_OVERHEAD)
                                                    + ea.up_avg[v, k] * IP_OVERHEAD) * dt)) - ea.dl_held[v, k]
        if want <= 0.0:  # it holds enough already
            continue
        if pa.dn_quota[v] - want >= pa.down_cap[v]:
            pa.dn_quota[v] -= want
            ea.dl_held[v, k] += want
        else:
            ea.dl_req[v, k] = want
            ea.dl_got[v, k] = 0.0
            ea.dl_ttl[v, k] = REQUEST_TTL_TICKS
    for v in range(pa.deg.shape[0]):
        d = pa.deg[v]
        if not pa.active[v] or d == 0 or pa.is_seed[v]:
            continue
        pa.dn_quota[v] = distribute_quota(pa.down_cap[v], dt, pa.dn_quota[v], ea.dl_req[v, :d], ea.dl_got[v, :d],
                                          ea.dl_ttl[v, :d], ea.dl_held[v, :d])


@njit(cache=True, _nrt=False)
def open_download_quota(pa, dt):
    """The start of a tick for every downloader: the bytes it received this tick start at zero
    (its download channel's quota is added at its quota tick, download_quota_tick)."""
    for i in range(pa.down_cap.shape[0]):
        if not pa.active[i]:
            continue
        pa.dn_tick[i] = 0


@njit(cache=True, _nrt=False)
def close_download_quota(pa, ea):
    """What a downloader's quota has left after the tick's transfers (negative: whole blocks
    bought with credit carried over, repaid from the next ticks)."""
    for i in range(pa.down_cap.shape[0]):
        if pa.active[i]:
            for k in range(pa.deg[i]):
                ea.dl_held[i, k] -= ea.tick_bytes[i, k]
