"""lab --peer-log: libtorrent's own per-connection log from a real swarm, and what the model's
bandwidth kernels assume of it (sim/kernels/bandwidth.py), checked on real sessions."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from forensics.lab.peerlog import PEER_LOG_COLUMNS, bandwidth_waits, parse_message, read_peer_log

from .conftest import STOP_SCENARIO, _lab_run

pytestmark = pytest.mark.lab
QUOTA_TICK_S = 0.5  # libtorrent's tick_interval default


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory) -> Path:
    return _lab_run(tmp_path_factory, {**STOP_SCENARIO, "scenario": {"name": "lab-test-peer-log"}}, "--peer-log")


@pytest.fixture(scope="module")
def rows(logged_run) -> list[dict]:
    return read_peer_log(logged_run / "replications" / "0000" / "peer_log.csv")


def test_header_remotes_nothing_dropped(logged_run, rows):
    """The documented header; every line names two different lab peers; no peer's alert queue
    overflowed (a dropped line would break the pairing below); the manifest says the log was kept."""
    rep = logged_run / "replications" / "0000"
    with open(rep / "peer_log.csv") as f:
        assert tuple(f.readline().strip().split(",")) == PEER_LOG_COLUMNS
    n = len(list(csv.DictReader(open(rep / "peers.csv"))))
    assert rows and all(0 <= r["remote"] < n and r["remote"] != r["local"] for r in rows)
    # one peer's lines in the order its session posted them: in time order but for the few
    # microseconds by which its disk and network threads' alerts may cross
    by_local = defaultdict(list)
    for r in rows:
        by_local[r["local"]].append(r["t_s"])
    assert all(b >= a - 0.005 for ts in by_local.values() for a, b in zip(ts, ts[1:]))
    for p in sorted((rep / "raw").glob("peer-*.json")):
        assert json.loads(p.read_text())["alerts_dropped"] == 0, p.name
    assert json.loads((logged_run / "manifest.json").read_text())["lab"]["peer_log"] is True
    # every peer that sent payload logged messages of its own
    assert {r["local"] for r in rows if r["event"] == "PIECE" and r["direction"] == "==>"} >= {1}


def test_waiting_requests_ask_for_wanted_less_held(rows):
    """peer_connection::request_bandwidth asks for wanted_transfer less the quota the connection
    holds (the model's request before the write: bandwidth.grant_sends). Every upload request that
    waited says so, and its release brings at most what it asked for — nothing only when the
    connection is closing (bandwidth_manager::update_quotas releases a disconnecting peer's request
    with nothing): it sends no block after."""
    waits = bandwidth_waits(rows)
    assert len(waits) >= 20
    last_piece = {}
    for r in rows:
        if r["direction"] == "==>" and r["event"] == "PIECE":
            last_piece[r["local"], r["remote"]] = r["t_s"]
    for w in waits:
        assert w.requested == w.wanted - w.held > 0, w
        assert 0 <= w.assigned <= w.requested, w
        if w.assigned == 0:
            assert last_piece.get((w.local, w.remote), -1.0) <= w.released_s, w
        assert w.wait_s >= 0.0
    assert sum(w.assigned > 0 for w in waits) >= 20


def test_releases_fall_on_the_senders_quota_ticks(rows):
    """A waiting request is released only at its sender's quota tick (bandwidth_manager::update_quotas
    runs from session_impl::on_tick, every tick_interval): one sender's release instants lie on a
    500 ms grid. The timer is re-armed from each tick when it fires, so a busy machine can only make a
    tick late, never early: no two release instants of one sender fall within one tick of each other,
    and almost every gap is a whole number of ticks give or take a few ms of drift per tick (a
    scheduler stall of the lab machine may stretch one)."""
    by_sender = defaultdict(set)
    for w in bandwidth_waits(rows):
        by_sender[w.local].add(round(w.released_s, 2))
    gaps = []
    for sender, ts in by_sender.items():
        ts = sorted(ts)
        ticks = [t for i, t in enumerate(ts) if i == 0 or t - ts[i - 1] > 0.05]  # one tick's releases together
        if len(ticks) >= 5:
            gaps += [(sender, a, b) for a, b in zip(ticks, ticks[1:])]
    assert len(gaps) >= 4
    on_grid = 0
    for sender, a, b in gaps:
        k = round((b - a) / QUOTA_TICK_S)
        assert k >= 1 and b - a >= k * QUOTA_TICK_S - 0.03, (sender, a, b)  # never between two ticks
        on_grid += (b - a) - k * QUOTA_TICK_S <= 0.03 * k + 0.02
    assert on_grid >= 0.9 * len(gaps), (on_grid, gaps)


def test_parse_message_shapes():
    """The alert text's shapes: with a detail, without one, and a line of another shape."""
    assert parse_message("ab12 peer 127.0.0.1:6881 >>> REQUEST_BANDWIDTH [ bytes: 68 quota: 0 ]") == \
        (">>>", "REQUEST_BANDWIDTH", "bytes: 68 quota: 0")
    assert parse_message("ab12 peer 127.0.0.1:6881 <== UNCHOKE") == ("<==", "UNCHOKE", "")
    assert parse_message("not a peer log line") is None
