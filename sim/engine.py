"""The swarm engine: SimPy drives the discrete events, numba kernels do the per-tick work.

Events (SimPy processes): peer arrivals, tracker announces (on join, every announce interval, on
completion), departures after the seeding time or at an absolute leave time, the subject's
completion policy, and the
quota tick. Each tick runs the fused kernel (choke rounds, bandwidth sharing, block
transfer) over the state arrays and hands back the peers that completed, which the engine turns
into events. The ticks up to the next event run in one compiled call (swarm_ticks, see
_tick_batch), which returns early after any tick the engine must follow up: the results are
those of one tick per call, bit for bit. The engine does no file I/O.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import simpy
from simpy.core import StopSimulation

from .kernels import connect as connk
from .kernels import pex as pexk
from .kernels import topology
from .kernels.bandwidth import QUOTA_BURST_S, traced_send_buffers, traced_upload_queues
from .kernels.pex import PEX_INTERVAL_S
from .kernels.transfer import queued_blocks
from .kernels.tick import SampleBuffers, new_flow_buffers, new_log_buffers, new_sample_buffers, swarm_tick, swarm_ticks
from .layout import BLOCK_BYTES, Layout
from .policies import CompletionPolicy
from .population import Population, draw_population
from .results import CONNECTION_COLUMNS, ROLE_SEED, ReplicationResult, TransferLog, summarize_replication
from .scenario import Scenario
from .state import new_edges, new_peers, new_pieces
from .tracker import Tracker

from .population import SUBJECT_ROW as SUBJECT


# Ticks run in one compiled call (swarm_ticks) at most; 1 runs the engine one tick per call
# (swarm_tick), the reference the batched run must equal bit for bit (tests/test_batched_ticks.py).
# Events cut most batches before this; a larger bound costs only salts drawn and given back.
MAX_BATCH_TICKS = 4096
# Transfer-log buffer: room for this many ticks at the per-tick bound, so a batch is rarely cut
# short for lack of room.
LOG_BUFFER_TICKS = 16
# Salts drawn for a batch's first compiled call, in ticks; each further call of the batch draws twice
# as many (see SwarmRun._tick_batch).
SALT_CHUNK_TICKS = 1024
# The random stream of a peer's connection to itself (a child of the replication's seed, so that no
# draw of the replication's own stream moves: where nothing binds a connection limit, every number
# is as it was without the mechanism)
SELF_CONNECTION_STREAM = 0x5E1F


def draw_salts(rng: np.random.Generator, n: int) -> np.ndarray:
    """``rng.integers(0, 2**63, size=n, dtype=np.int64)``, as uint64: the ticks' salts. For PCG64
    (every SwarmRun's generator) drawn raw: numpy draws [0, 2**63) by Lemire's method with a range
    of 2**63, which never rejects and returns each 64-bit output shifted right by one, so
    ``random_raw(n) >> 1`` gives the same values and leaves the generator in the same state
    (tests/test_batched_ticks.py), several times faster. Any other generator: integers itself."""
    bitgen = rng.bit_generator
    if type(bitgen) is np.random.PCG64:
        return bitgen.random_raw(n) >> np.uint64(1)
    return rng.integers(0, 2**63, size=n, dtype=np.int64).view(np.uint64)


def give_back_draws(bitgen, before: dict, kept: int) -> None:
    """Put a generator that has drawn 64-bit values since ``before`` (its state then) where ``kept``
    of them would have left it. PCG64 jumps there (``advance``, which also drops a buffered 32-bit
    half that drawing 64-bit values keeps: put back); any other generator draws them again."""
    bitgen.state = before
    if not hasattr(bitgen, "advance") or "has_uint32" not in before:
        np.random.Generator(bitgen).integers(0, 2**63, size=kept, dtype=np.int64)
        return
    bitgen.advance(kept)
    if before["has_uint32"]:
        state = bitgen.state
        state["has_uint32"], state["uinteger"] = before["has_uint32"], before["uinteger"]
        bitgen.state = state


def entry_point(kernel):
    """The compiled function numba's dispatcher runs for ``kernel`` when it has compiled (or loaded)
    exactly one overload: after a call, the one that call ran. None otherwise — several overloads,
    or ``kernel`` is not a numba dispatcher (NUMBA_DISABLE_JIT, a test's stand-in). Calling it
    skips the dispatcher's typing of the arguments, which for the state's named tuples of arrays
    costs ten times the call itself (about 12 against 1 microsecond)."""
    overloads = getattr(kernel, "overloads", None)
    if not overloads or len(overloads) != 1:
        return None
    # dict.values, not the OrderedDict's own: iterating an OrderedDict looks each key up again,
    # and hashing a signature of the state's named tuples (numba types hash in Python, member by
    # member) cost about half a millisecond a call: a few per replication, 5% of a corpus's
    return next(iter(dict.values(overloads))).entry_point


# (kernel, the Python types of its arguments) -> the entry point a call with them ran, process-wide:
# a replication's first call of a kernel need not go through numba's dispatcher either (its typing
# of the state's named tuples took about half a millisecond per kernel, several kernels per
# replication: a few per cent of a small swarm's replication). See SwarmRun._call.
_TYPED_ENTRIES: dict[tuple, object] = {}

_LAST_LAYOUT: tuple = (None, None)  # the last torrent asked for (held, so its id is not reused), its layout


def layout_of(sc: Scenario) -> Layout:
    """The torrent's layout. The last one is kept: a corpus or a Monte Carlo run asks for the same
    torrent (the same frozen Torrent object: scenario copies share it) once per replication, and
    reading a 1,000-file list costs more than a small swarm's whole set-up. Its arrays are made
    read-only, so no caller can change the layout another replication reads. (One tuple, read and
    replaced whole: threads sharing the process never see one torrent with another's layout.)"""
    global _LAST_LAYOUT
    torrent = sc.torrent
    last = _LAST_LAYOUT
    if last[0] is torrent:
        return last[1]
    layout = Layout.of(torrent.piece_size, torrent.file_sizes, torrent.file_paths)
    layout.file_bytes.setflags(write=False)
    _LAST_LAYOUT = (torrent, layout)
    return layout


class SwarmRun:
    """One replication of a scenario."""

    def __init__(self, sc: Scenario, replication: int, seed: np.random.SeedSequence, keep_state: bool = False,
                 trace_connections: bool = False, max_batch_ticks: int | None = None) -> None:
        self.sc = sc
        self.max_batch_ticks = max(1, MAX_BATCH_TICKS if max_batch_ticks is None else max_batch_ticks)
        self.keep_state = keep_state
        self.trace_connections = trace_connections
        self._trace_parts: list[dict[str, np.ndarray]] = []
        self.replication = replication
        self.rng = np.random.default_rng(seed)
        self.layout = layout_of(sc)
        self.pop: Population = draw_population(sc, self.rng)
        n = self.pop.size
        k = int(min(n - 1, self.pop.conn_limit.max())) if n > 1 else 1
        self.dt = sc.simulation.tick_s
        blocks = self.layout.piece_blocks()
        last_block = self.layout.total_bytes - (self.layout.total_bytes - 1) // BLOCK_BYTES * BLOCK_BYTES
        self.pa = new_peers(n)
        self.ea = new_edges(n, max(k, 1), int(self.pop.fast_n.max()) if n else 1)
        self.pc = new_pieces(n, blocks, last_block, max(k, 1))
        self.pa.up_cap[:] = self.pop.up_bps
        self.pa.down_cap[:] = self.pop.down_bps
        self.pa.slots[:] = self.pop.slots
        self.pa.opt_slots[:] = self.pop.opt_slots
        self.pa.seed_algo[:] = self.pop.seed_algo
        self.pa.rate_based[:] = self.pop.rate_based
        self.pa.quota_bytes[:] = self.pop.quota_pieces * self.layout.piece_bytes
        self.pa.interval_s[:] = self.pop.interval_s
        self.pa.opt_interval_s[:] = self.pop.opt_interval_s
        self.pa.whole_s[:] = self.pop.whole_s
        self.pa.sb_low[:] = self.pop.sb_low
        self.pa.sb_high[:] = self.pop.sb_high
        self.pa.sb_factor[:] = self.pop.sb_factor
        self.pa.rq_time_s[:] = self.pop.rq_time_s
        self.pa.rq_max[:] = self.pop.rq_max
        self.pa.ip_drain[:] = self.pop.ip_drain
        # Each session's second tick falls on its own quota tick of the second (its start-up phase).
        self.ticks_per_s = max(1, int(round(1.0 / self.dt)))
        self.pa.sec_phase[:] = self.rng.integers(0, self.ticks_per_s, size=n)
        # ... and its quota ticks at their own instant within the model's tick: libtorrent's quota
        # tick runs every 500 ms from the session's start, and the sessions start at different
        # instants. A downloader's first REQUESTs reach an uploader at its own tick's instant, so
        # of the connections that start in one model tick the one whose downloader ticks first
        # asks first (transfer.serve_key, bandwidth.grant_sends).
        self.pa.tick_phase[:] = self.rng.random(size=n)
        self.tracker = Tracker(sc.swarm.peer_list_size)
        self.policy = CompletionPolicy.of(sc.subject)
        self.complete_s = np.full(n, np.nan)
        self.leave_s = np.full(n, np.nan)
        self.up_at_complete = np.full(n, np.nan)
        self.joined = np.zeros(n, dtype=bool)
        self.pending_arrivals = n
        # each peer's allowed fast pieces, in order (a row drawn when a connection first needs it)
        self._fast_depth = min(int(self.pop.fast_n.max()), self.layout.num_pieces) if n else 0
        self._fast_rows = np.zeros((n, self._fast_depth), np.int64)
        self._fast_drawn = np.zeros(n, np.bool_)
        self.conn_seq = 0  # connections opened so far (each connection's seniority)
        # peer -> peers to connect to at its next second tick, one dictionary per second-tick phase
        # (pa.sec_phase): a tick looks only at the peers whose second tick it is
        self.pending_connects: list[dict[int, list[int]]] = [{} for _ in range(self.ticks_per_s)]
        self.boosted = np.zeros(n, dtype=bool)  # its first tracker response was connected (connect boost)
        # Peer exchange (sim/kernels/pex.py): on unless the torrent is private. Its bookkeeping
        # (PexState) holds the connect-boost attempts a peer's torrent has left after its first
        # tracker response (do_connect_boost), which peers learnt by peer exchange use at once.
        self.pex = not sc.torrent.private
        self.pex_per = int(round(PEX_INTERVAL_S / self.dt))
        self.pex_state = pexk.new_pex_state(n)
        self.boost_left = self.pex_state.boost_left
        self._pex_out = (np.zeros(1024, np.int64), np.zeros(1024, np.int64))  # pex_deliver's output
        # a peer's connection to itself: the connection slots it holds, (first tick, last tick, slots)
        self.self_slots: dict[int, list[tuple[int, int, int]]] = {}
        self._self_rng = np.random.default_rng(np.random.SeedSequence(
            seed.entropy, spawn_key=(*seed.spawn_key, SELF_CONNECTION_STREAM)))
        # connections exchanging their first messages: (tick after which it opens, when, seq, u, v)
        self.handshaking: list[tuple[int, float, int, int, int]] = []
        self._handshaking_pairs: set[tuple[int, int]] = set()
        self._extra_buf: np.ndarray | None = None  # _extra_all's array
        self._last_tick = 0
        # Session hooks (sim/session.py): a callable asked, when the subject's join time comes,
        # whether the session's queue lets this torrent start now; if not, the subject waits until
        # ``start_subject()``. None: the subject joins at its join time (a one-torrent run).
        self.admit_subject = None
        # A callable giving the connections the subject's session holds in its other torrents (open,
        # opening and to itself): connections_limit is the session's (sim/session.py). None: none.
        self.others_held = None
        self.on_subject_join = None  # called when the subject joins the swarm (the session's count)
        # A callable giving the subject's upload channel as its session has it: (limit, saved quota)
        # of the session's one channel, which a torrent starting in a running session shares.
        # None: the channel is this torrent's own (a one-torrent run), empty at the subject's join.
        self.subject_channel = None
        self._subject_gate: simpy.Event | None = None
        self._subject_left: simpy.Event | None = None  # subject_left_event(): triggered when the subject leaves
        self._ticker_proc: simpy.Process | None = None
        self.incomplete_active = 0
        self.kernel_calls = 0  # compiled tick calls (a batch of ticks is one)
        self._entries: dict[tuple, object] = {}  # see _call
        self._samples: SampleBuffers | None = None  # see _sample_buffers
        self._alloc_buffers(n, max(k, 1))
        self._log_parts: list[tuple[np.ndarray, ...]] = []
        # The subject's samples (time, uploaded, downloaded), one list each: floats and ints, which
        # the cyclic garbage collector does not track (a tuple per sample made it run every few
        # hundred samples)
        self._sample_t: list[float] = []
        self._sample_up: list[int] = []
        self._sample_down: list[int] = []
        self.env = simpy.Environment()

    def _alloc_buffers(self, n: int, k: int) -> None:
        self.flows = new_flow_buffers(n, k)
        # Rows per tick <= blocks the subject can send in a tick (its limit plus 3 s of saved quota)
        # + one partial block per transfer.
        rows = int(self.pop.up_bps[SUBJECT] * (self.dt + QUOTA_BURST_S) // BLOCK_BYTES) + 2 * k + 16
        self.log_rows_per_tick = rows
        self.logs = new_log_buffers(rows if self.max_batch_ticks == 1 else rows * LOG_BUFFER_TICKS)

    def _call(self, kernel, *args):
        """``kernel(*args)``. After this process's first call with arguments of the same Python types
        (made through numba's dispatcher, which compiles or loads what it needs), through the
        compiled function that call ran (``entry_point``: the kernel's only overload), skipping the
        dispatcher's typing of the arguments. Every run builds its state tuples with the same
        constructors, and each array the engine passes at a call site has the same dtype and layout
        every time (fixed by the constructors and the code), so the Python types of the arguments
        fix numba's — in this run and in every other run of the process (``_TYPED_ENTRIES``). With
        several overloads compiled, or a kernel that is not a dispatcher, every call is a plain
        call. ``self._entries``: what this run calls for each key."""
        key = (kernel, *map(type, args))
        fn = self._entries.get(key)
        if fn is None:
            known = entry_point(kernel)
            if known is not None and _TYPED_ENTRIES.get(key) is known:  # still the overload such a call ran
                self._entries[key] = known
                return known(*args)
            out = kernel(*args)
            fn = entry_point(kernel)
            if fn is not None:
                _TYPED_ENTRIES[key] = fn
            self._entries[key] = fn or kernel
            return out
        return fn(*args)

    # ----- peer life cycle ---------------------------------------------------------------
    def _peer(self, u: int):
        yield self.env.timeout(self.pop.join_s[u])
        if u == SUBJECT and self.admit_subject is not None and not self.admit_subject(self.env.now):
            self._subject_gate = self.env.event()
            yield self._subject_gate  # queued by the session: joins when start_subject() is called
            self.pop.join_s[SUBJECT] = self.env.now
        self._join(u)
        if math.isfinite(self.pop.leave_at_s[u]):  # an absolute leave time: whatever its state then
            self.env.process(self._leave_after(u, self.pop.leave_at_s[u] - self.env.now))
        interval = self.sc.swarm.announce_interval_s
        while self.pa.active[u]:
            yield self.env.timeout(interval)
            if self.pa.active[u]:
                self._announce(u)

    def _join(self, u: int) -> None:
        now = self.env.now
        self.pending_arrivals -= 1
        self.joined[u] = True
        self.pa.active[u] = True
        if u == SUBJECT and self.on_subject_join is not None:
            self.on_subject_join()
        self.pa.next_round_t[u] = now
        # libtorrent's optimistic unchoke clock runs from the session's start, not the torrent's:
        # the session's first round falls before it has a torrent, the next one interval later.
        # Every peer's session starts at t = 0 (as in the lab, where all sessions start together).
        interval = self.pa.opt_interval_s[u]
        self.pa.next_opt_t[u] = (math.floor(now / interval) + 1) * interval
        if self.pop.role[u] == ROLE_SEED:
            self._call(topology.give_all_pieces, self.pa, self.pc, u)
        else:
            self._call(topology.shuffle_pieces, self.pc, u,
                       self.rng.permutation(self.layout.num_pieces).astype(np.int32))
            self.incomplete_active += 1
        self._announce(u)

    def _announce(self, u: int) -> None:
        # The peers the tracker names are added to u's peer list at once; u's session opens its
        # outgoing connections only in its once-a-second tick (session_impl::on_tick calls
        # try_connect_more_peers in the part that runs once a second), so a new peer waits up to
        # a second, by its session's phase, before it connects: the lab's "unchoked about 1 s
        # after joining", and who of two newcomers reaches an uploader first.
        peers = [int(v) for v in self.tracker.announce(u, self.rng)]
        if not self.boosted[u]:
            # ... except the first response's: torrent::do_connect_boost connects up to
            # torrent_connect_boost (the peer's session setting) of them at once (the lab:
            # connected within 0.1 s of joining)
            self.boosted[u] = True
            boost = int(self.pop.connect_boost[u])
            self._connect_to_self(u, len(peers), boost)
            # the response's peers and the peer itself (opentracker names it too) use up attempts
            self.boost_left[u] = max(boost - len(peers) - 1, 0)
            for v in peers[:boost]:
                self._open_tcp(u, v, self.env.now)
            peers = peers[boost:]
        if peers:
            self._queue_connects(u).extend(peers)

    def _connect_to_self(self, u: int, others: int, boost: int) -> None:
        """u's connection to itself, from its first tracker response (docs/model.md, "A peer's
        connection to itself"). opentracker names the announcing peer among the peers it returns
        (every registered peer when they fit in the reply, else a random ``peer_list_size`` of
        them), and libtorrent connects to that address like any other: by uTP first
        (enable_outgoing_utp), whose SYN never gets an answer from its own socket, so the attempt
        holds a connection slot until u's quota tick after utp_connect_timeout; then by TCP at u's
        next second tick, where both ends of the connection (two slots) see u's own peer id, close
        and ban the address, gone at u's next quota tick. Without outgoing uTP, only the TCP pair.
        The lab's peer logs show every peer doing this (validation/ANALYSIS.md, h08). The slots
        count against connections_limit (_open_tcp, _connect_through); nothing else of the
        connection is modelled."""
        listed = others + 1
        size = self.tracker.peer_list_size
        rng = self._self_rng
        if listed > size and rng.random() >= size / listed:
            return  # a random reply of a large swarm without u in it
        dt = self.dt
        phase = float(self.pa.tick_phase[u])
        now = self.env.now
        if min(listed, size) <= boost or rng.random() < boost / min(listed, size):
            t0 = now  # among the peers connected at once
        else:  # at u's next second tick, with the rest of the response
            t0 = self._second_tick_from(u, math.ceil(now / dt - 1e-9)) * dt
        first = math.ceil(t0 / dt - 1e-9)  # the first tick whose connection checks see it
        spans = []
        if self.pop.utp_out[u]:
            fail = math.ceil((t0 + float(self.pop.utp_timeout_s[u])) / dt - phase - 1e-9)
            spans.append((first, fail, 1))  # uTP: closed at u's quota tick in tick ``fail``
            k = self._second_tick_from(u, fail + 1)
            spans.append((k + 1, k + 1, 2))  # TCP: opened at u's second tick in tick k, closed in k + 1
        else:
            close = math.floor(t0 / dt - phase) + 1  # u's first quota tick after t0
            spans.append((first, close, 2))
        self.self_slots[u] = spans

    def _second_tick_from(self, u: int, tick: int) -> int:
        """The first tick from ``tick`` on that is u's once-a-second tick."""
        return self._phase_tick(int(self.pa.sec_phase[u]), tick)

    def _phase_tick(self, phase: int, tick: int) -> int:
        """The first tick from ``tick`` on that is a second tick of sessions of this phase."""
        return tick + (-(tick + phase)) % self.ticks_per_s

    def _slots_to_self(self, u: int) -> int:
        """Connection slots u's connection to itself holds at the current tick."""
        spans = self.self_slots.get(u)
        if not spans:
            return 0
        tick = self._last_tick
        held = 0
        over = True
        for first, last, n in spans:
            if tick <= last:
                over = False
                if first <= tick:
                    held += n
        if over:  # the engine's tick only moves on: these spans are over for good
            del self.self_slots[u]
        return held

    def held(self, u: int) -> int:
        """Connections u holds as libtorrent's num_connections() counts them: open, opening (its
        handshake not yet through) and its connection to itself."""
        return int(self.pa.deg[u] + self.pa.handshakes[u] + self._slots_to_self(u))

    def _extra(self, u: int) -> int:
        """What u's session counts against connections_limit besides u's connections in this
        torrent, open and opening: its connection to itself and, for the subject of a session, what
        it holds in its other torrents."""
        n = self._slots_to_self(u) if u in self.self_slots else 0
        if u == SUBJECT and self.others_held is not None:
            n += self.others_held()
        return n

    def _subject_hook(self, u: int, v: int) -> tuple[int, float, float]:
        """(peer, limit, saved quota) of the session's upload channel when the subject is u or v
        and its channel is a session's (``subject_channel``); (-1, 0, 0) otherwise."""
        if self.subject_channel is not None and (u == SUBJECT or v == SUBJECT):
            limit, bank = self.subject_channel()
            return SUBJECT, float(limit), float(bank)
        return -1, 0.0, 0.0

    def _open_tcp(self, u: int, v: int, t: float) -> None:
        """u connects to v at time t (connk.open_tcp: the checks, and when its first messages are
        through). The connection carries requests once its first messages have passed both ends'
        rate limiters (handshake_done); until then both ends' upload channels tick for those
        messages (pa.handshakes). libtorrent counts a connection against connections_limit from
        the moment it is opened or accepted (num_connections(): its handshake not yet through, and
        a connection to itself, included); one that finds the session at its limit is closed once
        its handshake is read (too_many_connections): the first to connect keep the slots, not the
        first through."""
        pair = (u, v) if u < v else (v, u)
        if pair in self._handshaking_pairs:
            return
        sub, limit, bank = self._subject_hook(u, v)
        pa = self.pa
        code, ready = self._call(
            connk.open_tcp, pa.active, pa.is_seed, pa.deg, pa.handshakes, pa.up_cap, pa.up_quota, pa.tick_phase,
            self.ea.nbr, self.pex_state.refused, self.pop.connectable, self.pop.conn_limit, self.pop.join_s, u, v,
            float(t), self._last_tick * self.dt, self.dt, QUOTA_BURST_S, self._extra(u), self._extra(v), self.pex,
            float(self.env.now), sub, limit, bank)
        if code == connk.OPENED:
            self._handshake_under_way(u, v, ready)

    def _handshake_under_way(self, u: int, v: int, ready: float) -> None:
        """u opened a connection to v whose first messages are through at ``ready``: it opens at the
        tick that ends after then (_connect_pending), in the order the attempts were opened."""
        due = max(math.ceil(ready / self.dt - 1e-9) - 1, self._last_tick)
        heapq.heappush(self.handshaking, (due, ready, len(self._handshaking_pairs), u, v))
        self._handshaking_pairs.add((u, v) if u < v else (v, u))

    def _open_tcp_all(self, due: dict[int, list[int]], t: float) -> None:
        """``_open_tcp(u, v, t)`` for every v queued by every u in ``due`` (emptied), u in increasing
        order, each u's in the order queued, in one kernel call (connk.open_tcp_batch): the same
        attempts in the same order, with the same results. The pairs whose handshake was under way
        before are left out here, as _open_tcp leaves them; those opened within the batch, there.
        Nothing an attempt changes enters ``_extra`` or the subject's session channel, so both are
        read once."""
        hs = self._handshaking_pairs
        us: list[int] = []
        vs: list[int] = []
        for u in sorted(due):
            for v in due[u]:
                if ((u, v) if u < v else (v, u)) not in hs:
                    us.append(u)
                    vs.append(v)
        due.clear()
        if not us:
            return
        m = len(us)
        u_arr = np.array(us, np.int64)
        v_arr = np.array(vs, np.int64)
        code = np.empty(m, np.int64)
        ready = np.empty(m, np.float64)
        extra = self._extra_all()
        sub, limit, bank = -1, 0.0, 0.0
        if self.subject_channel is not None:
            sub, limit, bank = self._subject_hook(SUBJECT, SUBJECT)
        pa = self.pa
        n_open = self._call(
            connk.open_tcp_batch, pa.active, pa.is_seed, pa.deg, pa.handshakes, pa.up_cap, pa.up_quota,
            pa.tick_phase, self.ea.nbr, self.pex_state.refused, self.pop.connectable, self.pop.conn_limit,
            self.pop.join_s, u_arr, v_arr, float(t), self._last_tick * self.dt, self.dt, QUOTA_BURST_S, extra,
            self.pex, float(self.env.now), sub, limit, bank, code, ready)
        if n_open:
            for i in np.flatnonzero(code == connk.OPENED).tolist():
                self._handshake_under_way(us[i], vs[i], float(ready[i]))

    def _extra_all(self) -> np.ndarray:
        """``_extra(u)`` for every peer u, as an array (zero but for the peers connected to
        themselves and a session's subject)."""
        extra = self._extra_buf
        if extra is None or extra.shape[0] != self.pop.size:
            extra = self._extra_buf = np.zeros(self.pop.size, np.int64)
        else:
            extra[:] = 0
        for u in list(self.self_slots):
            extra[u] = self._extra(u)
        if self.others_held is not None:
            extra[SUBJECT] = self._extra(SUBJECT)
        return extra

    def _handshake_done(self, u: int, v: int, t: float) -> float:
        """When the downloader's INTERESTED reaches its peer on a connection u opened to v at t.
        The messages go in turn: u's handshake; v's handshake, then v's bitfield; u's bitfield and
        INTERESTED (and, when u is a seed, v's INTERESTED). Each passes its sender's upload rate
        limiter, which lets it through at once while the channel holds more than a second of its
        limit (need_queueing) and otherwise at the sender's next quota tick (every tick at its own
        instant within the tick, pa.tick_phase), the channel then gaining a tick of its limit
        (bandwidth.distribute_quota). A newcomer's channel is empty: its messages wait for its
        ticks, so a new peer's first INTERESTED goes out 0.5-1.5 s after it connects (the lab: its
        first INTERESTED 0.6-1.5 s after it joined, its connections open within 0.1 s).

        - The answering side's handshake and bitfield leave at two of its quota ticks: it writes
          its handshake as soon as the handshake it answers arrives, and that write asks for
          bandwidth at once; the bitfield is written behind it while the request is queued, and a
          connection has one request at a time (peer_connection::request_bandwidth), so it waits
          for the next grant (the lab: the seed's and a leecher's send buffers to a newcomer, 424
          and 408 bytes, fall by the 68-byte handshake at one tick and empty at the next,
          validation/recorded/v13-late-join-linger, replication 0, 40.5-41.4 s).
        - A channel has no ticks from before its peer joined: a newcomer's bank starts at its join,
          not at the engine's last tick; a session's subject's channel is the session's, and holds
          what its other torrents saved in it (``subject_channel``)."""
        sub, limit, bank = self._subject_hook(u, v)
        return self._call(connk.handshake_ready, self.pa.up_cap, self.pa.up_quota, self.pa.tick_phase, self.pa.is_seed,
                          self.pop.join_s, u, v, float(t), self._last_tick * self.dt, self.dt, QUOTA_BURST_S, sub,
                          limit, bank)

    def _connect_pending(self, tick: int) -> None:
        """Connect the peers queued by announces, for every peer whose second tick this is; then
        open the connections whose first messages are through, in the order they got through."""
        self._last_tick = tick
        now = self.env.now
        if self.pex and 0 <= self.pex_state.next_at[0] <= tick:
            self._pex_deliver(tick)
        due = self.pending_connects[-tick % self.ticks_per_s]  # the peers whose second tick this is
        if due:
            self._open_tcp_all(due, now)
        if self.handshaking and self.handshaking[0][0] <= tick:
            through = []
            while self.handshaking and self.handshaking[0][0] <= tick:
                _, _, _, u, v = heapq.heappop(self.handshaking)
                self._handshaking_pairs.discard((min(u, v), max(u, v)))
                through.append((u, v))
            self._connect_through(through)

    def _connect_through(self, through: list[tuple[int, int]]) -> None:
        """The connections (u, v), u having opened it to v, are through their handshakes, in this
        order (connk.connect_through: for each, connk.open_connection, then peer exchange's part,
        connk.pex_after_connect): opened, or refused by a full session, or nothing (a peer gone,
        already connected). An opened connection's allowed fast sets whose sequence is not drawn
        yet are written once it is. Each pair's ``extra`` is what it was pair by pair: nothing the
        connections change enters it (a peer's connection to itself, the subject's other torrents)."""
        pa = self.pa
        pairs = np.array(through, np.int64).reshape(-1, 2)
        us = np.ascontiguousarray(pairs[:, 0])
        vs = np.ascontiguousarray(pairs[:, 1])
        if self.self_slots or self.others_held is not None:
            extra = self._extra_all()
            extra_u = extra[us]
            extra_v = extra[vs]
        else:
            extra_u = extra_v = np.zeros(len(through), np.int64)
        i = 0
        while i < len(through):
            i, self.conn_seq, need = self._call(
                connk.connect_through, pa, self.ea, self.pc, self.pex_state, self.pex, self.pop.connectable,
                self.pop.conn_limit, self.pop.fast_n, self._fast_rows, self._fast_drawn, self.ticks_per_s,
                self.pex_per, us, vs, extra_u, extra_v, i, self.conn_seq, self._last_tick, float(self.env.now))
            if not need:
                continue
            u, v = through[i - 1]
            if need & connk.NEED_FAST_V:  # (v's sequence first: the order the draws were made in)
                self._fast_sequence(v)
                self._call(connk.allow_fast, self.ea.fast, self.pc.have, self.pa.is_seed, self.pop.fast_n,
                           self._fast_rows, self._fast_drawn, u, v, self.pa.deg[u] - 1)
            if need & connk.NEED_FAST_U:
                self._fast_sequence(u)
                self._call(connk.allow_fast, self.ea.fast, self.pc.have, self.pa.is_seed, self.pop.fast_n,
                           self._fast_rows, self._fast_drawn, v, u, self.pa.deg[v] - 1)

    def _queue_connects(self, u: int) -> list[int]:
        """The peers u connects to at its next second tick (a list to add to)."""
        return self.pending_connects[int(self.pa.sec_phase[u])].setdefault(u, [])

    def _pex_deliver(self, tick: int) -> None:
        """The peers learnt by peer exchange up to this tick (pexk.pex_deliver): connected at once
        while w's torrent has connect-boost attempts left, else queued for w's next second tick."""
        now = self.env.now
        out_w, out_x = self._pex_out
        pa = self.pa
        while True:
            m, w, x = self._call(pexk.pex_deliver, self.pex_state, pa.deg, self.ea.nbr, pa.active, pa.is_seed,
                                 self.pop.connectable, tick, now, self.dt, out_w, out_x)
            if m:  # _queue_connects(w).append(x) for each, in order (millions in a large swarm)
                pending = self.pending_connects
                for wi, xi, phase in zip(out_w[:m].tolist(), out_x[:m].tolist(), pa.sec_phase[out_w[:m]].tolist()):
                    queued = pending[phase].get(wi)
                    if queued is None:
                        pending[phase][wi] = [xi]
                    else:
                        queued.append(xi)
            if w >= 0:
                self._open_tcp(w, x, now)
            elif m < len(out_w):
                return

    def _fast_sequence(self, v: int) -> np.ndarray:
        """The pieces v's allowed fast sets are taken from, in order (connk.open_connection writes the
        sets: the first ``allowed_fast_set_size`` (the uploader's setting) pieces of it, those v
        already has when the connection opens left out — they use up their place: libtorrent
        counts them as attempts; every piece v lacks if the set is as large as the torrent).
        libtorrent derives them from v's address and the info-hash only (send_allowed_set hashes
        the remote address with the info-hash), so every uploader offers v the same pieces: one
        draw per peer, made when a connection first needs it."""
        if not self._fast_drawn[v]:
            P = self.layout.num_pieces
            self._fast_rows[v, :] = self.rng.choice(P, size=self._fast_depth, replace=False)
            self._fast_drawn[v] = True
        return self._fast_rows[v]

    def _leave(self, u: int) -> None:
        if not self.pa.active[u]:
            return
        if self.pop.role[u] != ROLE_SEED and math.isnan(self.complete_s[u]):
            self.incomplete_active -= 1  # left before completing: nothing more to wait for from it
        self._call(topology.disconnect_all, self.pa, self.ea, self.pc, u, self.env.now, self.dt)
        self.pa.active[u] = False
        self.tracker.stop(u)
        self.leave_s[u] = self.env.now
        if u == SUBJECT and self._subject_left is not None and not self._subject_left.triggered:
            self._subject_left.succeed()

    def _leave_after(self, u: int, delay: float):
        yield self.env.timeout(delay)
        self._leave(u)

    def _on_complete(self, u: int) -> None:
        now = self.env.now
        self.complete_s[u] = now
        self.up_at_complete[u] = self.pa.total_up[u]
        self.incomplete_active -= 1
        delay = self.policy.leave_delay_s() if u == SUBJECT else float(self.pop.seed_time_s[u])
        if delay == 0.0:
            self._leave(u)
            return
        self._call(topology.disconnect_seeds, self.pa, self.ea, self.pc, u, now, self.dt)
        self._announce(u)  # event=completed: a new peer list, to find leechers
        if math.isfinite(delay):
            self.env.process(self._leave_after(u, delay))

    # ----- the tick ------------------------------------------------------------------------
    def _ticker(self):
        horizon = self.sc.simulation.horizon_s
        sample_every = max(1, int(round(self.sc.simulation.sample_interval_s / self.dt)))
        tick = 0
        while True:
            yield self.env.timeout(self.dt)
            tick += 1
            n_max = self._batch_limit(tick, horizon)
            self.kernel_calls += 1
            if n_max == 1:
                n_log, n_done = self._one_tick(tick)
            else:
                tick, n_log, n_done = yield from self._tick_batch(tick, n_max, horizon, sample_every)
            now = self.env.now
            if n_log:
                self._log_parts.append(tuple(b[:n_log].copy() for b in self.logs))
            for u in self.flows.completed[:n_done]:
                self._on_complete(int(u))
            self._connect_pending(tick)
            if (self.pa.active[SUBJECT] and not math.isnan(self.complete_s[SUBJECT])
                    and self.policy.leave_now(int(self.pa.total_up[SUBJECT]), int(self.pa.total_down[SUBJECT]))):
                self._leave(SUBJECT)
            if self.trace_connections:
                self._trace(now)
            if tick % sample_every == 0:
                self._sample(now)
            if now >= horizon - 1e-9 or (self.pending_arrivals == 0 and self.incomplete_active == 0):
                if tick % sample_every:
                    self._sample(now)
                return

    def _one_tick(self, tick: int) -> tuple[int, int]:
        """The tick at the engine's clock, in one compiled call. Returns (log rows, peers completed)."""
        salts = draw_salts(self.rng, 2)
        pb, tb = self.layout.piece_bytes, self.layout.total_bytes
        _, n_log, n_done, overflow = self._call(
            swarm_tick, self.pa, self.ea, self.pc, self.flows, self.logs, self.env.now, self.dt, tick, self.ticks_per_s,
            salts[0], salts[1], pb, tb, SUBJECT)
        if overflow:
            raise RuntimeError("transfer log buffer overflow (a bug: the bound in _alloc_buffers is wrong)")
        return n_log, n_done

    def _batch_limit(self, tick: int, horizon: float) -> int:
        """How many ticks, from this one, may run in one compiled call (an upper bound: swarm_ticks
        stops at the first tick after which the engine has work). One when every tick needs the
        engine: connection tracing, or a run that ends after this tick (nothing left to wait for).
        Otherwise the ticks before the next event (arrival, announce, departure, the caller's
        ``run(until=...)``), up to the horizon and the next queued connection."""
        if self.trace_connections or self.max_batch_ticks == 1 or (
                self.pending_arrivals == 0 and self.incomplete_active == 0):
            return 1
        now = self.env.now
        n = min(self.max_batch_ticks, max(1, math.ceil((horizon - 1e-9 - now) / self.dt) + 1))
        nxt = self.env.peek()
        if nxt < math.inf:
            n = min(n, max(1, math.ceil((nxt - now) / self.dt)))
        due = self._next_connect_tick(tick)
        if due >= 0:
            n = min(n, due - tick + 1)
        return n

    def _next_connect_tick(self, tick: int) -> int:
        """The first tick from this one at which some peer opens its queued connections (-1: none)."""
        due = [max(self.handshaking[0][0], tick)] if self.handshaking else []
        if self.pex:
            at = int(self.pex_state.next_at[0])  # (pexk.next_event_tick, kept by the kernels)
            if at >= 0:
                due.append(max(at, tick))
        for phase, queued in enumerate(self.pending_connects):
            if queued:
                due.append(self._phase_tick(phase, tick))
        return min(due) if due else -1

    def _tick_batch(self, tick: int, n_max: int, horizon: float, sample_every: int):
        """Run ticks from this one in compiled calls (swarm_ticks), up to n_max, then bring the
        SimPy clock to the last of them. Identical to ticking one by one: no event falls between
        them (each batch stops before the next event, and after any tick the engine must follow
        up), and the random salts are the same draws — a generator's ``integers(size=2 * m)`` is
        its ``integers(size=2)`` m times over (one 64-bit output each: 2**63 is a power of two),
        and the draws for ticks not run are given back by restoring the generator's state.

        The salts are drawn in chunks (SALT_CHUNK_TICKS ticks' first, doubling): a batch may run
        up to n_max ticks but most stop far earlier, at a completion or a connection, and drawing
        (then giving back) n_max ticks' salts cost more than the rest of the batch's Python. A
        chunk used up with nothing for the engine to do (swarm_ticks says so) is followed by the
        next one from the tick after, its last tick treated as the kernel treats an intermediate
        tick (its sample taken, its log rows kept): the same ticks, salts and samples as one call.
        Returns (the last tick, log rows of the last call, peers completed in the last tick)."""
        start = self.env.now
        now = start
        bitgen = self.rng.bit_generator
        ratio_stop = math.inf
        if self.policy.kind == "seed_until_ratio" and not math.isnan(self.complete_s[SUBJECT]):
            ratio_stop = self.policy.ratio
        before_s = self.env.peek()
        connect_tick = self._next_connect_tick(tick)
        left = n_max
        chunk = SALT_CHUNK_TICKS
        while True:
            n = min(chunk, left)
            before = bitgen.state
            salts = draw_salts(self.rng, 2 * n)
            samples = self._sample_buffers(n // sample_every + 1)
            m, last_s, n_log, n_done, n_samples, overflow, salts_out = self._call(
                swarm_ticks, self.pa, self.ea, self.pc, self.flows, self.logs, samples, now, self.dt, tick,
                self.ticks_per_s, salts, before_s, horizon, connect_tick, sample_every, ratio_stop,
                self.log_rows_per_tick, self.layout.piece_bytes, self.layout.total_bytes, SUBJECT)
            if overflow:
                raise RuntimeError("transfer log buffer overflow (a bug: the bound in _alloc_buffers is wrong)")
            if m < n:  # give back the salts of the ticks not run
                give_back_draws(bitgen, before, 2 * m)
            if n_samples:  # floats and ints, as _sample's (tolist gives exactly those values)
                self._sample_t.extend(samples.t[:n_samples].tolist())
                self._sample_up.extend(samples.up[:n_samples].tolist())
                self._sample_down.extend(samples.down[:n_samples].tolist())
            left -= m
            tick += m - 1
            if not (salts_out and left > 0):
                break
            # the chunk's last tick, as swarm_ticks ends an intermediate tick: its log rows kept
            # (the next call writes the buffer from its start), its sample taken, on to the next
            if n_log:
                self._log_parts.append(tuple(b[:n_log].copy() for b in self.logs))
            if tick % sample_every == 0:
                self._sample(float(last_s))
            now = last_s + self.dt
            tick += 1
            chunk *= 2
        if n_max - left > 1:
            yield self.env.timeout(self._delay_to(start, float(last_s)))
        return tick, n_log, n_done

    def _sample_buffers(self, rows: int) -> SampleBuffers:
        """Sample buffers of at least ``rows`` rows, kept for the run (a kernel writes each row it
        reports before the engine reads it)."""
        sb = self._samples
        if sb is None or sb.t.shape[0] < rows:
            sb = self._samples = new_sample_buffers(rows)
        return sb

    @staticmethod
    def _delay_to(now: float, t: float) -> float:
        """A delay that brings SimPy's clock (which adds it to now) exactly to t."""
        d = t - now
        for cand in (d, np.nextafter(d, math.inf), np.nextafter(d, -math.inf)):
            if now + float(cand) == t:
                return float(cand)
        raise RuntimeError(f"cannot advance the clock from {now!r} to exactly {t!r}")

    def _trace(self, now: float) -> None:
        """One sample of every open connection, from each end, in connections.csv's columns."""
        pa, ea = self.pa, self.ea
        u = np.repeat(np.nonzero(pa.active)[0], pa.deg[pa.active])
        if len(u) == 0:
            return
        starts = np.cumsum(pa.deg[pa.active]) - pa.deg[pa.active]
        k = np.arange(len(u)) - np.repeat(starts, pa.deg[pa.active])
        v, kv = ea.nbr[u, k], ea.rev[u, k]
        blank = np.full(len(u), np.nan)
        flag = lambda a: a.astype(np.int8)  # noqa: E731 - 0/1 as the lab writes them
        sbuf = traced_send_buffers(pa, ea, u, k)  # the model has no allocation: capacity = use
        self._trace_parts.append({
            "t_s": np.full(len(u), now), "local": u, "remote": v,
            "payload_up_bps": ea.up_avg[u, k].astype(np.int64), "payload_down_bps": ea.rate_avg[u, k].astype(np.int64),
            "total_up_bytes": ea.up_conn_total[u, k], "total_down_bytes": ea.up_conn_total[v, kv],
            "send_buffer_size": sbuf, "used_send_buffer": sbuf, "queue_bytes": blank,
            "download_queue_length": queued_blocks(self.pc, ea, u, k), "target_dl_queue_length": ea.dq_size[u, k],
            "upload_queue_length": traced_upload_queues(ea, u, k),
            "send_quota": ea.bw_quota[u, k].astype(np.int64), "receive_quota": ea.dl_held[u, k].astype(np.int64),
            "read_state": np.where(ea.dl_req[u, k] > 0, "limit", "idle"),
            "write_state": np.where(ea.bw_req[u, k] > 0, "limit", "idle"),
            "choked": flag(~ea.unchoked[u, k]), "interesting": flag(ea.wants[u, k] > 0),
            "remote_choked": flag(~ea.unchoked[v, kv]), "remote_interested": flag(ea.wants[v, kv] > 0),
            "optimistic_unchoke": flag(ea.optimistic[u, k]), "snubbed": flag(np.zeros(len(u), bool)), "endgame": blank,
        })

    def _sample(self, now: float) -> None:
        self._sample_t.append(now)
        self._sample_up.append(int(self.pa.total_up[SUBJECT]))
        self._sample_down.append(int(self.pa.total_down[SUBJECT]))

    # ----- run -----------------------------------------------------------------------------
    def start(self) -> simpy.Process:
        """Schedule every peer and the ticker; ``env.run(until=t)`` then advances the swarm to t."""
        for u in range(self.pop.size):
            self.env.process(self._peer(u))
        self._ticker_proc = self.env.process(self._ticker())
        return self._ticker_proc

    # ----- session hooks (sim/session.py steps several swarms in lockstep) ------------------
    @property
    def finished(self) -> bool:
        """True once the ticker has ended (horizon reached or nothing left to wait for)."""
        return self._ticker_proc is not None and self._ticker_proc.triggered

    def advance_to_next_tick(self) -> None:
        """Process every event before the next tick, which is left to run next: between two calls
        the swarm runs exactly one tick, and a session may change the subject's state in between."""
        if self.finished:
            return
        if StopSimulation.callback not in self._ticker_proc.callbacks:  # stop where the ticker ends, as run() does
            self._ticker_proc.callbacks.append(StopSimulation.callback)
        # env.now is on a tick (0 or where the last call stopped): the same sum as the ticker's timeouts
        self.env.run(until=self.env.now + self.dt)

    def subject_left_event(self) -> simpy.Event:
        """An event triggered when the subject leaves its swarm (``env.run(until=...)`` can wait for
        it). Made on request only: a run nobody asks this of schedules no extra event."""
        if self._subject_left is None:
            self._subject_left = self.env.event()
            if not math.isnan(self.leave_s[SUBJECT]):
                self._subject_left.succeed()
        return self._subject_left

    @property
    def subject_waiting(self) -> bool:
        """True while the subject's join time has come but the session has not started it."""
        return self._subject_gate is not None and not self._subject_gate.triggered

    def start_subject(self) -> None:
        """Let a subject the session queued join now."""
        self._subject_gate.succeed()

    def stop_subject(self) -> None:
        """The session pauses this torrent: the subject disconnects and leaves the swarm."""
        self._leave(SUBJECT)

    def run(self) -> ReplicationResult:
        ticker = self.start()
        self.env.run(until=ticker)
        return self.result()

    def result(self) -> ReplicationResult:
        end = float(self.env.now)
        if self._log_parts:
            cols = [np.concatenate(c) for c in zip(*self._log_parts)]
        else:
            cols = [np.zeros(0)] * 6
        log = TransferLog.from_columns(*cols)
        pop = self.pop
        peers = {
            "peer": np.arange(pop.size, dtype=np.int64),
            "role": pop.role,
            "join_s": np.where(self.joined, pop.join_s, np.nan),
            "complete_s": self.complete_s,
            "leave_s": self.leave_s,
            "upload_bps": pop.up_bps,
            "download_bps": pop.down_bps,
            "connectable": pop.connectable,
            "uploaded_bytes": self.pa.total_up.copy(),
            "downloaded_bytes": self.pa.total_down.copy(),
            "uploaded_at_completion_bytes": self.up_at_complete,
        }
        # the byte counts pass through float64, as they always have (exact below 2**53)
        timeseries = {"t_s": np.array(self._sample_t, dtype=np.float64),
                      "subject_uploaded_bytes": np.array(self._sample_up, dtype=np.float64).astype(np.int64),
                      "subject_downloaded_bytes": np.array(self._sample_down, dtype=np.float64).astype(np.int64)}
        result = summarize_replication(
            self.replication, self.layout, log, float(pop.join_s[SUBJECT]), float(self.complete_s[SUBJECT]),
            peers, timeseries, end)
        if self.trace_connections:
            parts = self._trace_parts
            result.extra["connections"] = {c: np.concatenate([p[c] for p in parts]) if parts else np.zeros(0)
                                           for c in CONNECTION_COLUMNS}
        if self.keep_state:  # for tests of invariants over the final arrays
            result.extra["state"] = (self.pa, self.ea, self.pc)
        return result


def simulate_replication(sc: Scenario, replication: int, seed: np.random.SeedSequence,
                         trace_connections: bool = False) -> ReplicationResult:
    return SwarmRun(sc, replication, seed, trace_connections=trace_connections).run()
