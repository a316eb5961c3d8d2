"""One subject session holding several torrents: their swarms stepped together, tick by tick.

Each torrent is its own swarm (a ``SwarmRun`` of its scenario, the subject at row 0). Between two
ticks the session (sim/session_coupler.py) makes the subject's resources session-wide, as
libtorrent's session_impl does: one choker over every torrent's peers, one upload and one download
channel, one connection limit, and the auto-manage queue that decides which torrents run at all.
A torrent alone in the session gets all of it and runs exactly as a one-torrent run (tested).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.core import URGENT, StopSimulation

from .engine import SUBJECT, SwarmRun
from .kernels.choke import QUOTA_MIN_UNCHOKED_S, anti_leech_score
from .montecarlo import map_in_order, replication_seeds
from .protocol import FASTEST_UPLOAD, ROUND_ROBIN
from .results import ReplicationResult
from .session_config import Session
from .session_coupler import pick_optimistic, rank_regular, split_channel

# An auto-managed torrent is checked in one auto-manage pass and started in the next, which
# libtorrent puts off to the session's next second tick when the last pass was under a second ago
# (session_impl::trigger_auto_manage): it starts about a second after it is added. Measured in the
# lab: 0.97-1.00 s (validation/sessions/recorded/s02-queue, torrents 00 and 01, peers.csv join_s of
# the subject, added at 0). A torrent started when a slot frees starts at once.
AUTO_MANAGE_START_S = 1.0

SESSION_FIELDS = (
    "session_upload_leech_bytes", "session_upload_seed_bytes", "session_upload_total_bytes",
    "session_download_bytes", "session_torrents_completed", "session_ratio_at_completion", "session_ratio_total",
    "session_last_completion_s",
)


def torrent_seed(replication_seed: np.random.SeedSequence, j: int) -> np.random.SeedSequence:
    """Torrent j's stream: torrent 0 draws from the replication's own SeedSequence (so a one-torrent
    session is the one-torrent run), torrent j > 0 from child j of it; child 0 is the session's own."""
    if j == 0:
        return replication_seed
    return np.random.SeedSequence(replication_seed.entropy, spawn_key=(*replication_seed.spawn_key, j))


@dataclass
class SessionResult:
    """One replication of a session: each torrent's result (queue order) and the session totals."""

    replication: int
    torrents: list[ReplicationResult]
    totals: dict[str, float]


# The upload limit of a torrent whose subject has no bandwidth request in the session's channel
# this tick (SessionRun._couple_channels): its quota tick adds nothing (floor(1e-6 x 0.5 + 0.5) = 0).
NO_SHARE_BPS = 1e-6


class SessionRun:
    """One replication of a session."""

    def __init__(self, session: Session, replication: int, seed: np.random.SeedSequence,
                 trace_connections: bool = False) -> None:
        self.session = session
        self.replication = replication
        st = session.settings
        self.slots = st.libtorrent.unchoke_slots_limit
        self.opt_slots = st.libtorrent.optimistic_slots
        self.conn_limit = st.libtorrent.connections_limit
        self.runs = [SwarmRun(sc, replication, torrent_seed(seed, j), trace_connections=trace_connections)
                     for j, sc in enumerate(session.scenarios)]
        # the session's own stream (child 0 of the replication's seed, torrent_seed): the choker's ties
        self.rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0)))
        # One session has one clock: its once-a-second tick falls on the same quota tick in every
        # torrent (each swarm drew a phase for its subject; the first torrent's is the session's).
        for run in self.runs[1:]:
            run.pa.sec_phase[SUBJECT] = self.runs[0].pa.sec_phase[SUBJECT]
            run.pa.tick_phase[SUBJECT] = self.runs[0].pa.tick_phase[SUBJECT]
        self.started = np.zeros(len(self.runs), dtype=bool)
        self.opt_alloc = np.zeros(len(self.runs), dtype=np.int64)
        self.added_at = np.full(len(self.runs), np.inf)
        self._with_subject: set[int] = set()  # torrents whose swarm the subject has joined (pruned as it leaves)
        self._coupled: list[int] = []  # the torrents the last coupling shared the session's resources among
        self._up_back = self._dn_back = 0.0  # quota torrents left behind in the session's channels (bytes)
        for j, run in enumerate(self.runs):
            run.admit_subject = lambda now, j=j: self._admit(j, now)
            # connections_limit is the session's, checked at each connection the subject opens or
            # accepts against what every torrent holds at that moment (SwarmRun.others_held)
            run.pop.conn_limit[SUBJECT] = self.conn_limit
            run.others_held = lambda j=j: self._held_elsewhere(j)
            run.on_subject_join = lambda j=j: self._subject_joined(j)
            run.subject_channel = self._subject_channel

    # ----- the auto-manage queue ------------------------------------------------------------
    def _downloading(self) -> int:
        return sum(1 for j, r in enumerate(self.runs) if self.started[j] and math.isnan(r.complete_s[SUBJECT])
                   and math.isnan(r.leave_s[SUBJECT]))

    def _seeding(self) -> list[int]:
        return [j for j, r in enumerate(self.runs) if r.pa.active[SUBJECT] and not math.isnan(r.complete_s[SUBJECT])]

    def _room(self) -> bool:
        st = self.session.settings
        return self._downloading() < st.active_downloads and self._downloading() + len(self._seeding()) < st.active_limit

    def _admit(self, j: int, now: float) -> bool:
        """Asked when torrent j is added. Not auto-managed: it starts now, outside the queue.
        Auto-managed (libtorrent's default): it waits for the auto-manage pass (``_auto_manage``)."""
        self.added_at[j] = now
        if not self.session.settings.auto_managed:
            self.started[j] = True
            return True
        return False

    def _auto_manage(self, now: float) -> None:
        """Start waiting torrents in queue order while download slots are free — a newly added one
        no earlier than AUTO_MANAGE_START_S after it was added; pause seeds beyond active_seeds
        (the last in the queue first). A paused seed is not resumed (docs/model.md)."""
        if not self.session.settings.auto_managed:
            return
        for j, run in enumerate(self.runs):
            if not run.subject_waiting:
                continue
            if not self._room():
                break  # libtorrent starts queued torrents in queue order: none may jump the queue
            if now >= self.added_at[j] + AUTO_MANAGE_START_S - 1e-9:
                run.start_subject()
                self.started[j] = True
        seeding = self._seeding()
        for j in seeding[self.session.settings.active_seeds:][::-1]:
            self.runs[j].stop_subject()

    # ----- session-wide resources ---------------------------------------------------------
    def _couple(self, now: float) -> None:
        active = [j for j, r in enumerate(self.runs) if r.pa.active[SUBJECT] and not r.finished]
        up_back, dn_back = self._quota_left_behind(active)
        if len(active) <= 1:  # alone: the torrent holds all of the session (a one-torrent run)
            for j in active:
                self._give_all(self.runs[j])
                self.runs[j].pa.up_quota[SUBJECT] += up_back
                self.runs[j].pa.dn_quota[SUBJECT] += dn_back
            return
        # several: the channels' quota is pooled and shared out again (_couple_channels)
        self.runs[active[0]].pa.up_quota[SUBJECT] += up_back
        self.runs[active[0]].pa.dn_quota[SUBJECT] += dn_back
        runs = [self.runs[j] for j in active]
        self._couple_channels(runs)
        self._couple_choker(active, runs, now)

    def _quota_left_behind(self, active: list[int]) -> tuple[float, float]:
        """The upload and download quota that torrents the subject has left since the last coupling
        (stopped at completion, paused by the queue) leave in the session's channels: handed to the
        torrents still running (returned), or kept for the next to start (``_subject_joined``).

        libtorrent's rate limits are the session's: one bandwidth channel each way (the global peer
        class), whose saved quota (``bandwidth_channel::m_quota_left``, up to three seconds of the
        limit) belongs to the channel, not to a torrent; and a connection that disconnects with a
        request still queued gives the part already assigned to it back to the channel
        (``bandwidth_manager::update_quotas``, ``return_quota``). The model keeps each torrent's
        part of a channel in its swarm (``up_quota``/``dn_quota`` of the subject, shared out in
        proportion to the torrents' waiting requests each tick), so a torrent leaving hands its
        part, with its queued requests' assigned bytes, back."""
        for j in self._coupled:
            if j in active:
                continue
            pa, ea = self.runs[j].pa, self.runs[j].ea
            d = pa.deg[SUBJECT]
            self._up_back += float(pa.up_quota[SUBJECT]) + float(ea.bw_got[SUBJECT, :d][ea.bw_req[SUBJECT, :d] > 0].sum())
            self._dn_back += float(pa.dn_quota[SUBJECT]) + float(ea.dl_got[SUBJECT, :d][ea.dl_req[SUBJECT, :d] > 0].sum())
            pa.up_quota[SUBJECT] = pa.dn_quota[SUBJECT] = 0.0
        self._coupled = list(active)
        if not active:  # the channels keep it for the next torrent to start
            return 0.0, 0.0
        up, dn = self._up_back, self._dn_back
        self._up_back = self._dn_back = 0.0
        return up, dn

    def _subject_joined(self, j: int) -> None:
        """The subject has joined torrent j's swarm: counted for connections_limit, and the quota
        the session's channels kept while no torrent ran is this torrent's to use."""
        self._with_subject.add(j)
        if j not in self._coupled:  # (a torrent run alone between couplings leaves through it too)
            self._coupled.append(j)
        pa = self.runs[j].pa
        pa.up_quota[SUBJECT] += self._up_back
        pa.dn_quota[SUBJECT] += self._dn_back
        self._up_back = self._dn_back = 0.0

    def _subject_channel(self) -> tuple[float, float]:
        """The session's upload channel as a torrent starting now finds it: the session's limit and
        the quota saved in it (the part of every torrent the subject is in, and what torrents that
        left gave back). Its first messages pass this channel's rate limiter
        (SwarmRun._handshake_done): a session that holds more than a second of its limit sends
        them at once."""
        bank = self._up_back + sum(float(r.pa.up_quota[SUBJECT]) for r in self.runs if r.pa.active[SUBJECT])
        return float(self.runs[0].pop.up_bps[SUBJECT]), bank

    def _held_elsewhere(self, j: int) -> int:
        """The connections the subject holds in every torrent but j, as num_connections() counts
        them (open, opening, to itself): libtorrent's counter is the session's."""
        total = 0
        for k in tuple(self._with_subject):  # (the sum's order does not matter)
            r = self.runs[k]
            if not r.pa.active[SUBJECT]:  # it has left (it joins again only through SwarmRun._join)
                self._with_subject.discard(k)
            elif k != j:
                total += r.held(SUBJECT)
        return total

    def _give_all(self, run: SwarmRun) -> None:
        pa, pop = run.pa, run.pop
        pa.up_cap[SUBJECT] = pop.up_bps[SUBJECT]
        pa.down_cap[SUBJECT] = pop.down_bps[SUBJECT]
        pa.slots[SUBJECT] = pop.slots[SUBJECT]
        pa.opt_slots[SUBJECT] = pop.opt_slots[SUBJECT]

    def _couple_channels(self, runs: list[SwarmRun]) -> None:
        up_wait = np.array([self._upload_requests(r) for r in runs])
        up_bank = np.array([r.pa.up_quota[SUBJECT] for r in runs])
        total = runs[0].pop.up_bps[SUBJECT]
        caps, banks = split_channel(total, up_bank, up_wait)
        if 0.0 < total < np.inf:
            # a torrent with no request this tick gets no part of the limit, yet still a limit: a zero
            # one would take its transfers away (a peer that uploads nothing has none), so a
            # connection holding quota could not send it, nor one newly asked ask for any
            caps = np.where(caps > 0.0, caps, NO_SHARE_BPS)
        dn_wait = np.array([self._incoming(r).sum() for r in runs])
        dn_bank = np.array([r.pa.dn_quota[SUBJECT] for r in runs])
        dcaps, dbanks = split_channel(runs[0].pop.down_bps[SUBJECT], dn_bank, dn_wait)
        for r, c, b, dc, db in zip(runs, caps, banks, dcaps, dbanks):
            r.pa.up_cap[SUBJECT], r.pa.up_quota[SUBJECT] = c, b
            r.pa.down_cap[SUBJECT], r.pa.dn_quota[SUBJECT] = dc, db

    @staticmethod
    def _upload_requests(r: SwarmRun) -> int:
        """The subject's bandwidth requests in this torrent that its upload channel's next quota tick
        shares its quota among: those waiting, and those its connections may make before that tick
        (a peer it unchokes is interested: it asks the subject for blocks in the tick's first step,
        and the connection, holding neither quota nor a request, asks its channel then:
        bandwidth.ask_when_asked). Counting only those already waiting gave a torrent whose
        connections had not asked yet no share of the limit while another torrent's requests
        waited, and a peer with no limit has no transfer in which to be asked: its peers went
        unserved."""
        d, ea = r.pa.deg[SUBJECT], r.ea
        v, kv = ea.nbr[SUBJECT, :d], ea.rev[SUBJECT, :d]
        waiting = ea.bw_req[SUBJECT, :d] > 0
        asking = (ea.unchoked[SUBJECT, :d] & (ea.wants[v, kv] > 0) & ~waiting & (ea.bw_quota[SUBJECT, :d] <= 0))
        return int(waiting.sum() + asking.sum())

    @staticmethod
    def _incoming(r: SwarmRun) -> np.ndarray:
        """The subject's connections that may send to it: it is interested and they unchoke it."""
        d = r.pa.deg[SUBJECT]
        v, kv = r.ea.nbr[SUBJECT, :d], r.ea.rev[SUBJECT, :d]
        return (r.ea.wants[SUBJECT, :d] > 0) & r.ea.unchoked[v, kv]

    @staticmethod
    def _interested(r: SwarmRun) -> np.ndarray:
        d = r.pa.deg[SUBJECT]
        v, kv = r.ea.nbr[SUBJECT, :d], r.ea.rev[SUBJECT, :d]
        return r.ea.wants[v, kv] > 0

    def _tie_keys(self, r: SwarmRun, now: float) -> np.ndarray:
        """The seeding algorithm's tie-break keys for the subject's connections (smaller first),
        then the last unchoke time: choke.ranks_before, one row per key."""
        d, ea, pa = r.pa.deg[SUBJECT], r.ea, r.pa
        unchoked = ea.unchoked[SUBJECT, :d]
        algo = pa.seed_algo[SUBJECT]
        if algo == ROUND_ROBIN:
            over_quota = (unchoked & (ea.up_since_unchoke[SUBJECT, :d] > pa.quota_bytes[SUBJECT])
                          & (now - ea.last_unchoke_t[SUBJECT, :d] > QUOTA_MIN_UNCHOKED_S))
            keys = [over_quota.astype(np.float64), -np.where(unchoked, ea.up_round[SUBJECT, :d], 0).astype(np.float64)]
        elif algo == FASTEST_UPLOAD:
            keys = [-ea.up_round[SUBJECT, :d].astype(np.float64)]
        else:
            keys = [-np.array([anti_leech_score(ea.up_conn_total[SUBJECT, k], pa.n_have[ea.nbr[SUBJECT, k]],
                                                r.layout.piece_bytes, r.layout.total_bytes) for k in range(d)],
                              dtype=np.float64)]
        return np.array(keys + [ea.last_unchoke_t[SUBJECT, :d]]).reshape(len(keys) + 1, d)

    def _couple_choker(self, active: list[int], runs: list[SwarmRun], now: float) -> None:
        """One choker over every torrent's peers: align the torrents' round clocks on the session's,
        choose the session's regular and optimistic unchokes when a round is due, and tell each
        torrent how many slots it holds (its own choker then unchokes the same peers)."""
        round_due = min(r.pa.next_round_t[SUBJECT] for r in runs)
        opt_due = min(r.pa.next_opt_t[SUBJECT] for r in runs)
        for r in runs:
            r.pa.next_round_t[SUBJECT], r.pa.next_opt_t[SUBJECT] = round_due, opt_due
        d = [int(r.pa.deg[SUBJECT]) for r in runs]
        owner = np.repeat(np.arange(len(runs)), d)
        per_torrent = lambda x: np.bincount(owner[x], minlength=len(runs))  # noqa: E731
        interested = np.concatenate([self._interested(r) for r in runs])
        unchoked = np.concatenate([r.ea.unchoked[SUBJECT, :k] for r, k in zip(runs, d)])
        optimistic = np.concatenate([r.ea.optimistic[SUBJECT, :k] for r, k in zip(runs, d)])
        was_interested = np.concatenate([r.ea.was_interested[SUBJECT, :k] for r, k in zip(runs, d)])
        regular_now = unchoked & ~optimistic
        # Full ties are broken at random, as in the one-torrent choker (sim/kernels/choke.py): the
        # session's choker ranks its connections with std::nth_element, which for more than three
        # peers partitions around pivots and leaves the order of equal peers unspecified. (Ties by
        # torrent and connection order, tried from the first three-run recording of s01 where the
        # first torrent got twice the others' share, gave it a third too much against the fifteen-run
        # recording, in which it gets the least: validation/sessions/ANALYSIS.md.)
        tie = self.rng.random(len(owner)) if now >= round_due or now >= opt_due else None
        if now >= round_due:
            down_round = np.concatenate([r.ea.down_round[SUBJECT, :k] for r, k in zip(runs, d)]).astype(np.float64)
            ties = np.vstack([np.concatenate([self._tie_keys(r, now) for r in runs], axis=1), tie])
            n_opt = int(optimistic.sum()) or self.opt_slots  # the kernel's regular round keeps them
            regular_now = rank_regular(np.where(interested, down_round, -np.inf), ties, self.slots - n_opt) & interested
        opt_alloc = self.opt_alloc[active]
        if now >= opt_due:
            last_opt = np.concatenate([r.ea.last_opt_t[SUBJECT, :k] for r, k in zip(runs, d)])
            opt_alloc = per_torrent(pick_optimistic(last_opt, tie, interested & ~regular_now, self.opt_slots))
        opt_alloc[0] += max(self.opt_slots - opt_alloc.sum(), 0)  # unused optimistic slots: the first torrent's
        self.opt_alloc[:] = 0
        self.opt_alloc[active] = opt_alloc
        n_opt_now = per_torrent(optimistic)
        if now >= round_due:  # its regular round unchokes slots - (optimistic peers, or the optimistic slots)
            held = per_torrent(regular_now) + np.where(n_opt_now > 0, n_opt_now, opt_alloc)
        elif now >= opt_due:
            held = per_torrent(regular_now) + opt_alloc
        else:
            held = per_torrent(unchoked)
        # Slots no one holds go to the peers that just became interested (preemptive unchoke), one
        # torrent after another, so that two torrents cannot both fill the same free slot in one
        # tick. Which torrent's INTERESTED reaches the session first within the tick the model does
        # not resolve (each comes from a piece completed in its own torrent): the order is random.
        free = max(self.slots - int(held.sum()), 0)
        newly = per_torrent(interested & ~was_interested & ~unchoked)
        order = range(len(runs))
        if free and np.count_nonzero(newly) > 1:
            order = self.rng.permutation(len(runs))
        for i in order:
            extra = min(int(newly[i]), free)
            held[i] += extra
            free -= extra
        for r, s, o in zip(runs, held, opt_alloc):
            r.pa.slots[SUBJECT], r.pa.opt_slots[SUBJECT] = s, o
            if s == 0:
                self._rounds_without_slots(r, now, now >= round_due, now >= opt_due)

    @staticmethod
    def _rounds_without_slots(r: SwarmRun, now: float, regular: bool, optimistic: bool) -> None:
        """A torrent that holds none of the session's slots: the choker kernel skips a peer with no
        slots, so its rounds are done here — every peer choked, the round counters reset."""
        d, ea, pa = r.pa.deg[SUBJECT], r.ea, r.pa
        if regular:
            pa.next_round_t[SUBJECT] = now + pa.interval_s[SUBJECT]
            ea.down_round[SUBJECT, :d] = 0
            ea.up_round[SUBJECT, :d] = 0
            ea.unchoked[SUBJECT, :d] &= ea.optimistic[SUBJECT, :d]
        if optimistic:
            pa.next_opt_t[SUBJECT] = now + pa.opt_interval_s[SUBJECT]
            ea.unchoked[SUBJECT, :d] &= ~ea.optimistic[SUBJECT, :d]
            ea.optimistic[SUBJECT, :d] = False

    # ----- run ---------------------------------------------------------------------------------
    def run(self) -> SessionResult:
        for r in self.runs:
            r.start()
        for r in self.runs:
            r.advance_to_next_tick()
        while not all(r.finished for r in self.runs):
            now = max(r.env.now for r in self.runs if not r.finished)
            self._auto_manage(now)
            self._couple(now)
            for r in self.runs:
                r.advance_to_next_tick()
        results = [r.result() for r in self.runs]
        return SessionResult(self.replication, results, session_totals(results))

    def run_until_subjects_left(self) -> SessionResult:
        """The replication of ``run()`` as far as the subject is concerned, for a corpus of many torrents.

        Three differences in how it is stepped, none in what the subject does (tests/test_session_corpus.py):
        - a swarm the subject is not in (before the torrent is added, while it waits in the queue) is
          outside the session — nothing of the session reads or changes it — so it is not stepped tick
          by tick with the others: it is advanced in one call (the engine's batched ticks, bit-identical
          to single ticks) to the session's time when the session next needs it, to add or start it;
        - a swarm is no longer stepped once its subject has left it (as a corpus replication stops,
          forensics/corpus_run.py), and the run ends when every subject has left or every swarm is done.
        - while one swarm alone holds the subject, the session gives it all of its resources at every
          tick (``_give_all``, the same values), so it runs in one call until the session next has
          something to do: a torrent added or due to start, or this subject completing (``_run_alone``).
        Every result is taken where its swarm stopped: the subject's numbers are those of ``run()``.
        """
        dt = self.session.scenarios[0].simulation.tick_s
        horizon = self.session.scenarios[0].simulation.horizon_s
        auto = self.session.settings.auto_managed
        for r in self.runs:
            r.start()
            r._on_complete = functools.partial(self._completed, r, r._on_complete)
        added = [float(r.pop.join_s[SUBJECT]) for r in self.runs]
        live: list[int] = []  # stepped tick by tick: the subject is (or is about to be) in the swarm
        dormant = list(range(len(self.runs)))  # the subject not yet in it: advanced lazily
        now = 0.0
        at_horizon = False
        while True:
            nxt = now + dt  # the session's next tick: the same sum as every swarm's clock
            # Bring in the swarms the coming step needs: those whose subject joins in it (not
            # auto-managed), and with room in the queue, those whose wait for the auto-manage pass is over.
            wake = [j for j in dormant if (not auto and added[j] < nxt)
                    or (auto and now > 0 and now >= added[j] + AUTO_MANAGE_START_S - 1e-9)]
            if wake and auto and not self._room():
                wake = []
            for j in wake:
                self._bring_to(self.runs[j], now)
                dormant.remove(j)
                live.append(j)
            live.sort()
            if now > 0:
                self._auto_manage(now)
                self._couple(now)
            if at_horizon and not live:  # the session's last pass (run() starts torrents due at the horizon)
                break
            if len(live) == 1 and now > 0 and (not auto or self.started[live[0]]):
                nxt = self._run_alone(self.runs[live[0]], now, self._next_wake(now, dormant, added, horizon))
            elif not live:  # no swarm holds the subject: on to the next tick that brings one in
                nxt = self._next_wake(now, dormant, added, horizon)
            else:
                for j in live:
                    self.runs[j].advance_to_next_tick()
            now = nxt
            # A swarm leaves the step once its subject has left (or it is done); one whose subject is
            # queued and not started goes back to waiting outside the session.
            live = [j for j in live if not self.runs[j].finished and math.isnan(self.runs[j].leave_s[SUBJECT])]
            for j in [j for j in live if auto and not self.started[j]]:
                live.remove(j)
                dormant.append(j)
            dormant.sort()
            if not live and not dormant:
                break
            at_horizon = at_horizon or (not live and now >= horizon - 1e-9)
        for j in dormant:  # never started (the horizon came first): to its end, as run() takes it
            r = self.runs[j]
            if not r.finished:
                r.env.run(until=r._ticker_proc)
        results = [r.result() for r in self.runs]
        return SessionResult(self.replication, results, session_totals(results))

    def _next_wake(self, now: float, dormant: list[int], added: list[float], horizon: float) -> float:
        """The first session tick after ``now`` at which a swarm outside the session must be brought in
        (the wake rule of ``run_until_subjects_left``; the queue's room cannot change before the one
        live subject completes), or the horizon's."""
        dt = self.session.scenarios[0].simulation.tick_s
        auto = self.session.settings.auto_managed
        due = [added[j] + AUTO_MANAGE_START_S - 1e-9 for j in dormant] if auto and self._room() else []
        joins = [] if auto else [added[j] for j in dormant]
        first_due, first_join = min(due, default=math.inf), min(joins, default=math.inf)
        t = now + dt
        while t < horizon - 1e-9 and t < first_due and not t + dt > first_join:
            t = t + dt
        return t

    def _completed(self, r: SwarmRun, on_complete, u: int) -> None:
        """The engine's completion of peer u, and if u is the subject, the session's mark of it."""
        on_complete(u)
        done = getattr(r, "_subject_done", None)
        if u == SUBJECT and done is not None and not done.triggered:
            done.succeed()

    def _run_alone(self, r: SwarmRun, now: float, until: float) -> float:
        """Advance the one swarm holding the subject from the session's ``now`` to the session tick
        ``until`` in one call, or only to the session tick after its subject completes (the queue
        then has room), as the lockstep would. Returns the session's time reached."""
        if r.finished:
            return until
        env = r.env
        if StopSimulation.callback not in r._ticker_proc.callbacks:
            r._ticker_proc.callbacks.append(StopSimulation.callback)
        stop = simpy.Event(env)  # as env.run(until=t) schedules its stop: before the tick at t
        stop._ok, stop._value = True, None
        stop.callbacks.append(StopSimulation.callback)
        env.schedule(stop, URGENT, until - env.now)
        r._subject_done = done = env.event()
        done.callbacks.append(StopSimulation.callback)
        env.run()
        r._subject_done = None
        stop.callbacks = []  # spent, or left in the queue to do nothing
        if not done.triggered:
            if not r.finished and env.now != until:
                raise RuntimeError(f"a swarm's clock reached {env.now!r}, not the session's {until!r}")
            return until
        # completed in the tick at complete_s: the lockstep's next session tick is the one after it
        dt = self.session.scenarios[0].simulation.tick_s
        t = now + dt
        while t <= r.complete_s[SUBJECT]:
            t = t + dt
        if not r.finished and t > env.now:
            env.run(until=t)
        return t

    @staticmethod
    def _bring_to(r: SwarmRun, t: float) -> None:
        """Advance a swarm outside the session to the session's time t (its tick at t left to run)."""
        if r.finished or r.env.now >= t:
            return
        if StopSimulation.callback not in r._ticker_proc.callbacks:
            r._ticker_proc.callbacks.append(StopSimulation.callback)
        r.env.run(until=t)
        if not r.finished and r.env.now != t:
            raise RuntimeError(f"a swarm's clock reached {r.env.now!r}, not the session's {t!r}")


def session_totals(results: list[ReplicationResult]) -> dict[str, float]:
    """The session's totals over its torrents (what the client's own session counters add up)."""
    h = [r.headline for r in results]
    leech = sum(int(x["subject_upload_leech_bytes"]) for x in h)
    seed = sum(int(x["subject_upload_seed_bytes"]) for x in h)
    down = sum(int(x["subject_download_bytes"]) for x in h)
    done = [x for x in h if x["subject_completed"]]
    last = [float(r.peers["complete_s"][SUBJECT]) for r in results if r.headline["subject_completed"]]
    totals = {
        "session_upload_leech_bytes": leech,
        "session_upload_seed_bytes": seed,
        "session_upload_total_bytes": leech + seed,
        "session_download_bytes": down,
        "session_torrents_completed": len(done),
        "session_ratio_at_completion": leech / down if down else float("nan"),
        "session_ratio_total": (leech + seed) / down if down else float("nan"),
        "session_last_completion_s": max(last) if last else float("nan"),
    }
    assert tuple(totals) == SESSION_FIELDS
    return totals


def simulate_session_replication(args: tuple[Session, int, np.random.SeedSequence, bool]) -> SessionResult:
    session, i, seed, trace = args
    return SessionRun(session, i, seed, trace_connections=trace).run()


def run_session_replications(session: Session, n: int | None = None, master_seed: int | None = None,
                             workers: int = 1, on_done=None, trace_connections: bool = False) -> list[SessionResult]:
    """Replications of a session, bit-identical whatever the number of workers (sim/montecarlo.py's
    seed rule: replication i uses SeedSequence(master_seed).spawn(n)[i]). ``trace_connections``:
    each torrent's connections traced at every tick, as ``simulate --trace-connections`` does
    (the same results: the engine then runs its ticks one call at a time, bit-identical)."""
    n = session.simulation.replications if n is None else n
    master_seed = session.simulation.seed if master_seed is None else master_seed
    seeds = replication_seeds(master_seed, n)
    return map_in_order(simulate_session_replication, [(session, i, seeds[i], trace_connections) for i in range(n)],
                        workers, on_done)
