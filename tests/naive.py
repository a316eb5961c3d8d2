"""Slow, obvious pure-Python twins of the numba kernels (as STUMPY's tests/naive.py).

Each twin is written from the behaviour it models, not translated from the kernel, so a test
that compares the two can catch a kernel that computes the wrong thing, not only one that
compiles differently.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from sim.kernels.hashing import mix64_py
from sim.kernels.picker import ASKED, SHUFFLE_KEY_MUL


def rate_limited_uploader(limit, dt, join_tick, ticks, phase=0, block=16384, low=10 * 1024, high=500 * 1024,
                          factor=0.5):
    """One uploader's rate limiter as libtorrent's source describes it, written as a plain loop:
    connection j starts wanting data at quota tick join_tick[j] and always has data to send, its
    downloader takes everything. Returns bytes sent per tick and connection.

    The channel: each quota tick it gains limit*dt (keeping at most 3 s of limit) while a request
    waits, and gives every waiting request an equal part of what it holds, at most what the
    request still lacks; a fully granted request becomes the connection's quota. With no request
    waiting it still gains limit*dt while it holds no more than a second of limit (the session's
    protocol messages queue until it does). Asking: a connection asks for max(send buffer,
    2 x its rate x dt) less the quota it holds; the channel grants that at once while it keeps
    over a second of limit beyond it, else the request waits for the next tick. A connection
    with no request waiting takes what the channel grants at once, over and over while it can,
    taking turns with the others doing so (those whose last quota came at once go first, as a
    group) - except a connection on which nothing was sent yet, whose downloader's requests
    arrive alone: after the turns, each such connection in order takes all it may; it asks just
    before it sends its quota (its send buffer's blocks counted with their 13-byte headers) and,
    if it then still has no request waiting, again after the first of its writes (each sends
    what the send buffer holds) that leaves it less quota than it wants. The rate is the
    once-a-second average avg*4/5 + last second/5; the send buffer is whole blocks up to half of the last
    second's bytes, at least 10 KiB (``factor``, ``low``, ``high``: send_buffer_watermark_factor,
    send_buffer_low_watermark, send_buffer_watermark; raised to low if below it, else cut to high,
    as fill_send_buffer does). A connection that holds neither quota nor a waiting request
    when its downloader asks (a newcomer) asks before the quota tick, which can then grant it."""
    import math
    n = len(join_tick)
    bank = 0.0
    conn = [dict(avg=0.0, sec=0.0, last=0.0, quota=0.0, req=0.0, got=0.0, ttl=0, burst=False) for _ in range(n)]
    out = np.zeros((ticks, n))
    per_s = round(1 / dt)

    def buffer(c):
        wm = factor * c["last"]
        wm = low if wm < low else min(wm, high)
        return math.ceil(wm / block) * block

    def want(c):
        # stat::upload_rate(): payload + PIECE headers + TCP/IP estimate (the downloaders send nothing back)
        return max(buffer(c), math.floor(2 * c["avg"] * (1 + 13 / 16384 + 40 / 1460) * dt))

    def ask(c, headers=False):
        nonlocal bank
        w = want(c)
        if headers:  # the blocks are in the send buffer, each behind its 13-byte PIECE header
            w = max(w, buffer(c) * (1 + 13 / block))
        b = w - c["quota"]
        if b <= 0:
            return
        if bank - b >= limit:
            bank -= b
            c["quota"] += b
            c["burst"] = True
        else:
            c["req"], c["got"], c["ttl"], c["burst"] = b, 0.0, 20, False

    for t in range(1, ticks + 1):
        for j, c in enumerate(conn):  # a connection just asked for data, holding nothing: it asks now
            if t >= join_tick[j] and c["req"] <= 0 and c["quota"] <= 0:
                ask(c)
        waiting = [c for c in conn if c["req"] > 0]
        if waiting:
            bank = min(bank + math.floor(limit * dt + 0.5), 3 * limit)
            share = math.floor(max(bank, 0) / len(waiting))
            for c in waiting:
                a = min(share, c["req"] - c["got"])
                c["got"] += a
                bank -= a
                c["ttl"] -= 1
                if c["got"] >= c["req"] or (c["ttl"] <= 0 and c["got"] > 0):
                    c["quota"] += c["got"]
                    c["req"] = c["got"] = 0.0
        elif bank <= limit:  # a protocol message (a few bytes) still queues at exactly a second
            bank = min(bank + math.floor(limit * dt + 0.5), 3 * limit)
        on = [c for j, c in enumerate(conn) if t >= join_tick[j]]
        for group in ([c for c in on if c["burst"]], [c for c in on if not c["burst"]]):
            for c in group:
                if c["req"] > 0:
                    c["burst"] = False
            free = [c for c in group if c["req"] <= 0]
            new = [c for c in free if c["sec"] == 0 and c["last"] == 0]  # nothing sent yet
            took = set()
            while True:  # they take turns, one request each, while the channel can grant at once
                turn = [c for c in free if bank - want(c) >= limit and c not in new]
                if not turn:
                    break
                for c in turn:
                    if bank - want(c) >= limit:
                        bank -= want(c)
                        c["quota"] += want(c)
                        took.add(id(c))
            for c in new:  # new requests arrive one downloader at a time: each takes all it may
                while bank - want(c) >= limit:
                    bank -= want(c)
                    c["quota"] += want(c)
                    took.add(id(c))
            for c in free:
                if id(c) in took:
                    c["burst"] = True
        for j, c in enumerate(conn):
            if t < join_tick[j]:
                continue
            sent = c["quota"]
            if c["req"] <= 0:
                ask(c, headers=True)  # just before the write
            out[t - 1, j] = sent
            c["sec"] += sent
            # writes of one send buffer each; after each, with no request waiting, it asks
            # for what it wants beyond what is left: first after the write that leaves it short
            written = 0.0
            while written < sent:
                written = min(written + buffer(c), sent)
                if c["quota"] - written < want(c):
                    break
            c["quota"] -= written
            if c["req"] <= 0:
                ask(c)  # after that write
            c["quota"] -= sent - written
        if (t + phase) % per_s == 0:
            for c in conn:
                c["last"] = c["sec"]
                c["avg"] = c["avg"] * 4 // 5 + c["sec"] // 5  # integer arithmetic, as stat.cpp
                c["sec"] = 0.0
    return out


def acceptable_picks(have, recv, avail, owner, n_have_v, v, u, salt, whole=False):
    """The pieces libtorrent's picker may choose for v from u. Pieces whose every block v already
    asked of another peer come last, and only in strict end-game (every piece v still needs is
    being downloaded; otherwise nothing); when v asks u for whole pieces, pieces
    already partly downloaded come after untouched ones. Within the best of those tiers: in the
    initial mode (< 4 pieces) partial pieces first (lowest index), then the first piece at or
    after a random start (mix64(salt, v, u) mod the piece count, wrapping);
    afterwards any of the rarest pieces, a partial one if there is one at that rarity."""
    candidates = [p for p in range(have.shape[1]) if have[u, p] and not have[v, p]]
    if not candidates:
        return {-1}

    def tier(p):
        if owner[v, p] != 0:
            return 2
        return 1 if whole and recv[v, p] > 0 else 0

    top = min(tier(p) for p in candidates)
    if top == 2 and any(recv[v, p] == 0 and owner[v, p] == 0
                        for p in range(have.shape[1]) if not have[v, p]):
        return {-1}  # busy blocks only in strict end-game: every piece v needs is being downloaded
    candidates = [p for p in candidates if tier(p) == top]
    if n_have_v < 4:  # partial pieces by index, then the first piece at or after a random start
        start = mix64_py(int(salt), v, u) % have.shape[1]
        def downloading(p):  # a block received or asked (ASKED: some blocks asked, some free)
            return recv[v, p] > 0 or owner[v, p] == ASKED
        return {min(candidates, key=lambda p: (0, p) if downloading(p) else (1, (p - start) % have.shape[1]))}
    best = min((int(avail[v, p]), recv[v, p] == 0) for p in candidates)
    return {p for p in candidates if (int(avail[v, p]), recv[v, p] == 0) == best}


def partial_pieces(owner, recv, blocks, v):
    """v's partial pieces, as libtorrent's picker lists its downloading pieces: some block asked
    (ASKED: some asked on shared connections, some still free) or received, none asked in full
    (owner > 0) or all asked (BUSY), not complete."""
    return [p for p in range(owner.shape[1])
            if owner[v, p] == ASKED or (owner[v, p] == 0 and 0 < recv[v, p] < blocks[p])]


def partials_rows(owner, recv, blocks, listed=True):
    """PieceArrays.partials built from the definition: each peer's count of partial pieces and,
    with ``listed``, the list of them (else an empty list: the kernels then scan the order); a list
    longer than the row holds is cut, as the kernels cut it."""
    from sim.kernels.picker import PARTIAL_LIST
    rows = np.zeros((owner.shape[0], 2 + PARTIAL_LIST), np.int64)
    for v in range(owner.shape[0]):
        ps = partial_pieces(owner, recv, blocks, v)
        rows[v, 0] = len(ps)
        if listed:
            ps = ps[:PARTIAL_LIST]
            rows[v, 1] = len(ps)
            rows[v, 2:2 + len(ps)] = ps
    return rows


def partials_first(n_partials, n_connections, blocks_per_piece):
    """piece_picker::pick_pieces' rule, written out: more partial pieces than 1.5 x the peer's
    connections, or more than 2,048 blocks in them."""
    return n_partials > n_connections * 3 // 2 or n_partials * blocks_per_piece > 2048


def partial_picks(have, recv, avail, owner, asked, blocks, v, u):
    """prioritize_partials in rarest-first mode (partial_compare_rarest_first): the partial pieces
    of v that u has, fewest peers first, then most blocks received or asked; any of the best may
    be picked. {-1}: none."""
    cands = [p for p in partial_pieces(owner, recv, blocks, v) if have[u, p] and not have[v, p]]
    if not cands:
        return {-1}
    best = min((int(avail[v, p]), -int(recv[v, p] + asked[v, p])) for p in cands)
    return {p for p in cands if (int(avail[v, p]), -int(recv[v, p] + asked[v, p])) == best}


def whole_piece_run(have, recv, owner, v, u, x, n):
    """The run of whole pieces v asks u for around piece x (libtorrent's expand_piece): the
    longest stretch of adjacent pieces u has that nobody downloads for v, at most n long, reaching
    as far down as it can (but never below x - n + 1) and then up."""
    def free(q):
        return 0 <= q < have.shape[1] and have[u, q] and not have[v, q] and recv[v, q] == 0 and owner[v, q] == 0
    lo = x
    while lo - 1 >= max(0, x - n + 1) and free(lo - 1):
        lo -= 1
    hi = x + 1
    while hi < lo + n and free(hi):
        hi += 1
    return lo, hi


def move_piece_by_swaps(order, pos, bound, v, p, old_b, new_b):
    """Move piece p of peer v from bucket old_b to new_b one bucket edge at a time, by a swap with
    the piece at that edge, then to a random place of its new bucket (libtorrent's
    piece_picker::update and shuffle): the kernel (picker.move_piece) writes the same chain of
    swaps out, moving each piece once."""
    def swap(i, j):
        a, b = order[v, i], order[v, j]
        order[v, i], order[v, j] = b, a
        pos[v, b], pos[v, a] = i, j
    b = old_b
    while b < new_b:
        swap(pos[v, p], bound[v, b + 1] - 1)
        bound[v, b + 1] -= 1
        b += 1
    while b > new_b:
        swap(pos[v, p], bound[v, b])
        bound[v, b] += 1
        b -= 1
    # ... then piece_picker::shuffle: a swap with a random place of the new bucket (bucket 0, the
    # pieces v has, left alone), the place drawn from a hash of the peer, the piece and the bucket
    lo, hi = int(bound[v, new_b]), int(bound[v, new_b + 1])
    if new_b != old_b and new_b != 0 and hi - lo > 1:
        key = ((lo * SHUFFLE_KEY_MUL) & 0xFFFFFFFFFFFFFFFF) ^ hi
        swap(pos[v, p], lo + mix64_py(key, v, p) % (hi - lo))


def picker_order_is_consistent(have, recv, avail, order, pos, bound, v):
    """order[v] is a permutation, pos its inverse, and every piece sits inside its priority bucket."""
    P = have.shape[1]
    if sorted(order[v]) != list(range(P)):
        return False
    if any(pos[v, order[v, i]] != i for i in range(P)):
        return False
    for i in range(P):
        p = order[v, i]
        b = 0 if have[v, p] else 1 + 2 * int(avail[v, p]) + (1 if recv[v, p] == 0 else 0)
        if not bound[v, b] <= i < bound[v, b + 1]:
            return False
    return True


def rank_for_unchoke(conns, now, quota_bytes, algo, salt, u, piece_bytes, total_bytes):
    """Order connections for the regular unchoke round with libtorrent's comparator, via sort keys.

    ``conns`` is a list of dicts with: nbr, down_round, up_round, unchoked, up_since_unchoke,
    last_unchoke_t, up_conn_total, n_have.
    """
    def key(c):
        k = [-c["down_round"]]
        if algo == 0:
            quota_done = c["unchoked"] and c["up_since_unchoke"] > quota_bytes and now - c["last_unchoke_t"] > 60
            k += [int(quota_done), -(c["up_round"] if c["unchoked"] else 0)]
        elif algo == 1:
            k += [-c["up_round"]]
        else:
            have_size = max(c["up_conn_total"], piece_bytes * c["n_have"])
            k += [-(abs((have_size - total_bytes // 2) * 2000) // total_bytes)]
        k += [c["last_unchoke_t"], mix64_py(int(salt), u, c["nbr"])]
        return tuple(k)

    return sorted(conns, key=key)


def availability_and_interest(have, nbr):
    """Recompute avail[u, p] and wants[u, k] from scratch from the have matrix and neighbour lists."""
    N, K = nbr.shape
    avail = np.zeros(have.shape, dtype=np.int64)
    wants = np.zeros((N, K), dtype=np.int64)
    for u in range(N):
        for k in range(K):
            v = nbr[u, k]
            if v >= 0:
                avail[u] += have[v]
                wants[u, k] = int(np.sum(have[v] & ~have[u]))
    return avail, wants


def return_unsendable_quota(conns, bank, block=16384, low=10 * 1024, high=500 * 1024, factor=0.5):
    """After a tick's writes, one uploader's connections as libtorrent leaves them: a connection
    asks its channel only for what it wants beyond the quota it holds, and only with data to
    send, so one granted at once with no request waiting holds at most the larger of what it
    wants (wanted_transfer) and its send buffer with each block's 13-byte header; the send buffer
    is whole blocks up to ``factor`` of last second's bytes, raised to ``low`` if below it, else
    cut to ``high``. Quota beyond that was never asked for: it is the channel's.

    ``conns``: dicts with quota, burst (last quota granted at once), waiting (a request queued),
    wanted, last (bytes sent in the last second). Returns (quotas, bank)."""
    import math
    quotas = []
    for c in conns:
        q = c["quota"]
        if c["burst"] and not c["waiting"]:
            wm = factor * c["last"]
            wm = low if wm < low else min(wm, high)
            buf = math.ceil(wm / block) * block
            keep = max(c["wanted"], buf + 13 * buf / block)
            if q > keep:
                bank += q - keep
                q = keep
        quotas.append(q)
    return quotas, bank


class PexTwin:
    """Peer exchange as plain dictionaries, sets and a heap (sim/kernels/pex.py's twin): who is
    told of whom, and when, by ut_pex's timing. ``first[(a, w)]``: the tick of a's first message
    to w (-1: a waits for a second connection); ``due[(w, x)]``: the tick x reaches w (one event
    per pair); ``told[(w, a)]``: the peers a's connection told w of (at most 50)."""

    def __init__(self, n, per, ticks_per_s, sec_phase, max_pex=50, reconnect_s=60.0):
        self.n, self.per, self.tps, self.phase = n, per, ticks_per_s, sec_phase
        self.max_pex, self.reconnect_s = max_pex, reconnect_s
        self.r0 = [-1] * n
        self.boost_left = [0] * n
        self.pending = [0] * n
        self.first, self.due, self.told, self.refused = {}, {}, {}, {}
        self.events, self.seq = [], 0

    def second_tick_from(self, u, tick):
        while (tick + self.phase[u]) % self.tps:
            tick += 1
        return tick

    def when(self, a, w, since):
        first = self.first[(a, w)]
        if since < first:
            return first  # in the full list of the first message
        rebuild = self.r0[a]
        while rebuild <= since:  # the first rebuild after the connection opened
            rebuild += self.per
        t = first + self.per
        while t < rebuild:  # the first message at or after that rebuild
            t += self.per
        return t

    def schedule(self, w, x, a, at):
        if (w, x) in self.due and self.due[(w, x)] <= at:
            return
        self.due[(w, x)] = at
        self.seq += 1
        self.pending[w] += 1
        heapq.heappush(self.events, (at, self.seq, w, x, a))

    def room(self, w, conn_limit, deg, handshakes):
        return conn_limit[w] - deg[w] - handshakes[w] - self.pending[w]

    @staticmethod
    def neighbours(nbr, deg, u):
        return [int(x) for x in nbr[u, :deg[u]]]

    def usable(self, w, x, deg, nbr, active, is_seed, connectable):
        return (x != w and active[x] and connectable[x] and not (is_seed[w] and is_seed[x])
                and x not in self.neighbours(nbr, deg, w))

    def connected(self, u, v, tick, deg, nbr, active, is_seed, connectable, conn_limit, handshakes):
        for a, b in ((u, v), (v, u)):
            if self.r0[a] < 0:
                self.r0[a] = self.second_tick_from(a, tick)
            at = self.second_tick_from(a, tick + 1)
            if deg[a] >= 2:
                self.first[(a, b)] = at
                others = [x for x in self.neighbours(nbr, deg, a) if x != b]
                if deg[a] == 2 and self.first.get((a, others[0]), 0) < 0:
                    self.first[(a, others[0])] = at
            else:
                self.first[(a, b)] = -1
        for a, b in ((u, v), (v, u)):
            others = [x for x in self.neighbours(nbr, deg, a) if x != b]
            if not others:
                continue
            if connectable[b] and active[b]:
                for w in others:
                    if (active[w] and not (is_seed[b] and is_seed[w]) and b not in self.neighbours(nbr, deg, w)
                            and self.room(w, conn_limit, deg, handshakes) > 0 and self.first[(a, w)] >= 0):
                        self.schedule(w, b, a, self.when(a, w, tick))
            if self.first[(a, b)] >= 0:
                xs = [x for x in others if self.usable(b, x, deg, nbr, active, is_seed, connectable)]
                room = min(self.room(b, conn_limit, deg, handshakes), self.max_pex)
                for x in xs[:max(room, 0)]:
                    self.schedule(b, x, a, self.first[(a, b)])

    def deliver(self, tick, now, dt, deg, nbr, active, is_seed, connectable):
        """[(w, x, at_once)] in order."""
        out = []
        while self.events and self.events[0][0] <= tick:
            at, _, w, x, a = heapq.heappop(self.events)
            self.pending[w] -= 1
            if self.due.get((w, x)) != at:
                continue
            del self.due[(w, x)]
            if not (active[a] and active[w]) or w not in self.neighbours(nbr, deg, a):
                continue
            closed = self.refused.get((min(w, x), max(w, x)))
            if closed is not None and now < closed + self.reconnect_s - 1e-9:
                self.schedule(w, x, a, math.ceil((closed + self.reconnect_s) / dt - 1e-9))
                continue
            told = self.told.setdefault((w, a), set())
            if x in told or len(told) >= self.max_pex:
                continue
            told.add(x)
            if not self.usable(w, x, deg, nbr, active, is_seed, connectable):
                continue
            if self.boost_left[w] > 0:
                self.boost_left[w] -= 1
                out.append((w, x, True))
            else:
                out.append((w, x, False))
        return out


def handshake_ready_twin(up_cap, up_quota, tick_phase, is_seed, join_s, u, v, t, base, dt, burst_s, channel=None):
    """sim/kernels/connect.py handshake_ready, as the engine's Python computed it (a dictionary of
    the senders' banks): when u's INTERESTED reaches v on a connection u opened at t. ``channel``:
    peer -> (limit, saved quota) of a session's channel, in place of its own."""
    hops = (u, v, v, u, v) if is_seed[u] else (u, v, v, u)
    bank = {}
    for s in hops:
        if channel is not None and s in channel:
            limit, b0 = channel[s]
        else:
            limit, b0 = float(up_cap[s]), float(up_quota[s])
        if not 0.0 < limit < math.inf:
            continue
        b, since = bank.get(s, (b0, max(base, float(join_s[s]))))
        phase = float(tick_phase[s]) * dt
        add = math.floor(limit * dt + 0.5)
        m = math.floor((since - phase) / dt + 1e-9) + 1
        while m * dt + phase <= t + 1e-12:
            if b <= limit:
                b = min(b + add, burst_s * limit)
            m += 1
        if b <= limit:
            t = m * dt + phase
            b = min(b + add, burst_s * limit)
        bank[s] = (b, t)
    return t


def open_tcp_twin(active, is_seed, connectable, nbr, deg, handshakes, conn_limit, u, v, extra_u, extra_v):
    """sim/kernels/connect.py open_tcp's checks, as the engine's Python made them: 'nothing',
    'refused' or 'opened'."""
    if not (active[u] and active[v]) or (is_seed[u] and is_seed[v]):
        return "nothing"
    if not connectable[v] or (nbr[u] == v).any():
        return "nothing"
    if deg[u] + handshakes[u] + extra_u >= conn_limit[u]:
        return "nothing"
    if deg[v] + handshakes[v] + extra_v >= conn_limit[v]:
        return "refused"
    return "opened"


def allowed_fast_twin(have, is_seed, fast_n, sequence, depth, u, v):
    """The allowed fast set u grants v, as the engine's Python wrote it: the first fast_n[u] pieces
    of v's sequence (every piece if that is the torrent's size), those v has left out, at most
    ``depth``; None when u grants none."""
    a = int(fast_n[u])
    if a <= 0 or is_seed[v]:
        return None
    P = have.shape[1]
    pieces = np.arange(P) if a >= P else np.asarray(sequence)[:a]
    return pieces[~have[v, pieces]][:depth]
