"""A corpus run through one client session (``model = "session"``): the corpus as consecutive sessions.

The corpus's torrents, in corpus order, are cut into consecutive sessions of
``[corpus.session] torrents_per_session`` torrents. Each session is one run of the multi-torrent
session model (sim/session.py): one subject session — the base scenario's ``[subject]`` settings
(link, libtorrent's rate limits, unchoke slots, connection limit, completion policy) shared by its
torrents — fed through libtorrent's auto-manage queue in corpus order (``active_downloads``
downloading at once, ``active_seeds``, ``active_limit``); each torrent is added at its
``subject_join_s`` on the session's clock, which is its swarm's clock (its swarm has run since 0).
Sessions do not overlap: what the client does in one session does not touch another's torrents.

Work units are (session, block of replications). Session s holds torrents [s·B, s·B + B) and uses
the master seed of its first torrent; its replication r uses ``SeedSequence(master).spawn(n)[r]``
and torrent j of the session that replication's seed (j = 0) or its child j (``sim.session.
torrent_seed``). So a one-torrent session that is not auto-managed is the independent model's
run of that torrent, bit for bit (tests/test_corpus_session.py); and the table does not depend on
the workers, the block size or a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine import layout_of
from sim.montecarlo import replication_seeds
from sim.population import SUBJECT_ROW
from sim.scenario import Scenario
from sim.session import SessionRun
from sim.session_config import Session, SessionSettings

from . import corpus_table
from .corpus import Corpus, CorpusSession, FileSizes, TorrentRow, torrent_changes

SESSION_SEED_RULE = ("model 'session': session s (torrents s*B .. s*B+B-1, B = corpus.session.torrents_per_session) "
                     "uses the master seed of its first torrent; its replication r uses "
                     "SeedSequence(master_seed).spawn(replications)[r], and torrent j of the session that seed (j = 0) "
                     "or its child SeedSequence(entropy, spawn_key + (j,)) (j > 0)")
SESSION_STOP_RULE = ("a session replication steps each torrent's swarm until its subject has left it (the swarms the "
                     "subject is not in are advanced without it: nothing of the session touches them), and ends when "
                     "every subject has left or the horizon is reached; the subject's numbers are those of the full "
                     "session run")


@dataclass(frozen=True)
class SessionUnit:
    """One work unit of a session corpus: replications [start, stop) of session ``index``."""

    index: int
    first: int  # the corpus position of the session's first torrent
    rows: tuple[TorrentRow, ...]
    file_sizes: FileSizes | None
    settings: CorpusSession
    master_seed: int
    replications: int
    start: int
    stop: int

    @property
    def torrents(self) -> range:
        return range(self.first, self.first + len(self.rows))


def plan_session_units(corpus: Corpus, replications: int, block: int) -> list[SessionUnit]:
    """Every (session, block) unit, session-major."""
    cs = corpus.meta.session_settings
    seeds = corpus.torrent_seeds()
    B, T = cs.torrents_per_session, len(corpus.torrents)
    return [SessionUnit(s, first, tuple(corpus.torrents[first:first + B]), corpus.meta.file_sizes, cs, seeds[first],
                        replications, r0, min(r0 + block, replications))
            for s, first in enumerate(range(0, T, B)) for r0 in range(0, replications, block)]


def session_settings(base: Scenario, cs: CorpusSession, name: str) -> SessionSettings:
    """The subject's session: the base scenario's [subject] for every torrent, the queue from [corpus.session]."""
    subj = base.subject
    return SessionSettings(name=name, upload=subj.upload, download=subj.download, connectable=subj.connectable,
                           libtorrent=subj.libtorrent, auto_managed=cs.auto_managed,
                           active_downloads=cs.active_downloads, active_seeds=cs.active_seeds,
                           active_limit=cs.active_limit, on_complete=subj.on_complete, seed_for_s=subj.seed_for_s,
                           seed_until_ratio=subj.seed_until_ratio)


def session_of(base: Scenario, u: SessionUnit) -> Session:
    """The unit's session: its torrents' scenarios in queue (corpus) order, each added at its subject's join time."""
    scenarios = tuple(base.with_changes(**torrent_changes(base, row, i, u.file_sizes, "corpus"))
                      for i, row in zip(u.torrents, u.rows))
    return Session(session_settings(base, u.settings, f"corpus-session-{u.index}"), base.simulation, scenarios,
                   tuple(sc.subject.join_s for sc in scenarios), tuple(row.name for row in u.rows))


_CACHE: dict[tuple, Session] = {}  # the worker's last session (consecutive units share it)


def _session(base: Scenario, u: SessionUnit) -> Session:
    key = (id(base), u.index, u.rows, u.settings)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = session_of(base, u)
    return _CACHE[key]


def run_session_unit(u: SessionUnit, base: Scenario) -> dict[str, np.ndarray]:
    """Simulate one unit; its rows of the per-replication table (torrent-major within the unit), as columns.
    A torrent's ``subject_join_s`` is when the queue started it (its add time plus its wait)."""
    session = _session(base, u)
    seeds = replication_seeds(u.master_seed, u.replications)
    layouts = [layout_of(sc) for sc in session.scenarios]
    per_torrent: list[list[dict]] = [[] for _ in u.rows]
    for r in range(u.start, u.stop):
        result = SessionRun(session, r, seeds[r]).run_until_subjects_left()
        for j, (tr, layout) in enumerate(zip(result.torrents, layouts)):
            joined = float(tr.peers["join_s"][SUBJECT_ROW])
            per_torrent[j].append(corpus_table.row_of(u.first + j, tr, layout, joined))
    return corpus_table.columns_of([row for rows in per_torrent for row in rows])
