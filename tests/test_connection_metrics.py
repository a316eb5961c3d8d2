"""Connection-trace metrics on small hand-made tables whose answers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forensics import connection_metrics as cm


def table(rows: list[tuple]) -> dict[str, np.ndarray]:
    """rows: (t_s, local, remote, total_up_bytes, choked, optimistic_unchoke, remote_interested)."""
    cols = list(zip(*rows))
    out = {"t_s": np.asarray(cols[0], dtype=np.float64)}
    for name, col in zip(cm.NEEDED[1:], cols[1:]):
        out[name] = np.asarray(col, dtype=np.int64)
    return out


# Uploader 0, samples every second. Remote 1: choked at t=0, then optimistically unchoked and
# climbing 1000 -> 2000 B per second. Remote 2: unchoked throughout, 500 B/s, reconnects at t=4
# (its total drops to 200), loses interest at t=6. A row of peer 1's own trace and one to an
# unknown address (-1) must be ignored.
R1 = [(t, 0, 1, tot, int(t == 0), int(t > 0), 1) for t, tot in enumerate([0, 0, 1000, 3000, 5000, 7000, 9000])]
R2 = [(t, 0, 2, tot, 0, 0, int(t < 6)) for t, tot in enumerate([0, 500, 1000, 1500, 200, 700, 1200])]
OTHER = [(3, 1, 0, 123456, 0, 0, 1), (3, 0, -1, 99999, 0, 0, 1)]
TABLE = table(R2 + OTHER + R1)


def test_sent_increments_restart_at_a_drop():
    """A total that drops is a new connection: its increment is the new total."""
    assert cm.sent_increments(np.array([0, 100, 300, 50, 80])).tolist() == [0, 100, 200, 50, 30]
    assert cm.sent_increments(np.array([700])).tolist() == [700]


def test_connections_of_picks_the_uploader_and_known_remotes():
    """Only the uploader's rows, one connection per known remote, bytes corrected for the reconnect."""
    conns = cm.connections_of(TABLE, 0)
    assert sorted(conns) == [1, 2]
    assert conns[2].sent_bytes.tolist() == [0, 500, 500, 500, 200, 500, 500]
    assert conns[2].cumulative_bytes[-1] == 2700


def test_centred_rate_by_hand():
    """w = 1 s: (C(t+0.5) - C(t-0.5)); at the ends the window is cut to the samples."""
    t = np.arange(7.0)
    c = np.array([0, 0, 1000, 3000, 5000, 7000, 9000])
    # t=0: (C(0.5)-C(0))/0.5 = 0; t=1: C(1.5)-C(0.5) = 500-0; t=2: 2000-500; t=6: (9000-8000)/0.5
    assert cm.centred_rate_bps(t, c, 1.0).tolist() == [0, 500, 1500, 2000, 2000, 2000, 2000]
    # w = 2 s at t=2: (C(3)-C(1))/2 = 1500
    assert cm.centred_rate_bps(t, c, 2.0)[2] == 1500
    assert cm.centred_rate_bps(np.array([5.0]), np.array([100]), 1.0).tolist() == [0.0]


def test_episode_spans():
    """Runs of True as [first, last] indices."""
    assert cm.episode_spans(np.array([0, 1, 1, 0, 1], dtype=bool)) == [(1, 2), (4, 4)]
    assert cm.episode_spans(np.zeros(3, dtype=bool)) == []


def test_ramp_by_hand():
    """Eventual = median of the last third (t >= 14: 400); 50 % (200) at t=12, 90 % (360) at t=14."""
    t = np.arange(10.0, 17.0)
    eventual, (t50, t90) = cm.ramp(t, np.array([0, 100, 200, 300, 400, 400, 400.0]))
    assert (eventual, t50, t90) == (400.0, 2.0, 4.0)
    eventual, times = cm.ramp(t, np.zeros(7))
    assert eventual == 0 and all(math.isnan(x) for x in times)


def test_episodes_by_hand():
    """Remote 1: unchoked t=1..6, rates 500,1500,2000,... -> eventual 2000 (t=5,6), t50 = 1 s
    (t=2), t90 = 2 s (t=3), 9000 B, optimistic. Remote 2: served t=0..5 (uninterested at 6), 2200 B."""
    conns = cm.connections_of(TABLE, 0)
    (e1,) = cm.episodes(conns[1])
    assert (e1.start_s, e1.end_s, e1.optimistic, e1.bytes) == (1.0, 6.0, True, 9000)
    assert (e1.eventual_bps, e1.t50_s, e1.t90_s) == (2000.0, 1.0, 2.0)
    (e2,) = cm.episodes(conns[2])
    assert (e2.start_s, e2.end_s, e2.optimistic, e2.bytes) == (0.0, 5.0, False, 2200)


def test_shares_in_the_first_window():
    """Start = first sample with bytes (remote 2 at t=1); [1, 4): remote 1 3000 B, remote 2 1500 B."""
    conns = cm.connections_of(TABLE, 0)
    start = cm.first_upload_s(conns)
    assert start == 1.0
    b = cm.bytes_in_window(conns, start, 3.0)
    assert b == {1: 3000, 2: 1500}
    assert cm.shares(b) == pytest.approx({1: 2 / 3, 2: 1 / 3})


def test_utilisation_by_hand():
    """Demand at every sample (remote 1 always interested): intervals t=1..6, 6 s, 11700 B at a
    2000 B/s limit = 0.975; in [2, 4): 4000 B in 2 s = 1.0; unlimited: nan."""
    conns = cm.connections_of(TABLE, 0)
    assert cm.utilisation(conns, 2000) == (0.975, 6.0, 11700)
    assert cm.utilisation(conns, 2000, 2.0, 4.0) == (1.0, 2.0, 4000)
    assert math.isnan(cm.utilisation(conns, 0)[0])


def test_utilisation_skips_no_demand_and_gaps():
    """Intervals ending without an interested remote, or longer than 1 s, do not count."""
    rows = [(t, 0, 1, tot, 0, 0, i) for t, tot, i in [(0, 0, 1), (1, 100, 1), (2, 200, 0), (4, 300, 1), (5, 400, 1)]]
    u, seconds, nbytes = cm.utilisation(cm.connections_of(table(rows), 0), 100)
    assert (seconds, nbytes) == (2.0, 200)  # t=1 and t=5; t=2 has no demand, t=4 ends a 2 s gap
    assert u == 1.0


def test_summarize_uploader_by_hand():
    """The per-connection table gathers the hand-worked numbers above (60 s window: everything
    from t=1 on: remote 1 9000 B, remote 2 2700 B)."""
    s = cm.summarize_uploader(TABLE, 0, 2000)
    by = {c.remote: c for c in s.connections}
    assert (by[1].first_unchoke_s, by[1].t50_s, by[1].t90_s, by[1].first_optimistic) == (1.0, 1.0, 2.0, True)
    assert (by[1].window_bytes, by[2].window_bytes) == (9000, 2700)
    assert by[1].window_share == pytest.approx(9000 / 11700)
    assert (by[2].episodes, by[2].total_bytes) == (1, 2700)
    assert (s.window_start_s, s.utilisation, s.demand_s) == (1.0, 0.975, 6.0)
    assert [e.remote for e in s.episodes] == [2, 1]


def test_uploader_headline_by_hand():
    """First unchoked is remote 2 (t=0) with 2700/11700 of the window; the later one is remote 1
    (t50 1 s, t90 2 s); two episodes, one optimistic."""
    h = cm.uploader_headline(cm.summarize_uploader(TABLE, 0, 2000))
    assert (h["first_remote"], h["even_share"]) == (2, 0.5)
    assert h["first_share"] == pytest.approx(2700 / 11700)
    assert (h["later_t50_median_s"], h["later_t90_median_s"], h["later_t90_max_s"]) == (1.0, 2.0, 2.0)
    assert (h["episodes"], h["optimistic_episodes"], h["utilisation"]) == (2, 1, 0.975)


def test_choked_bytes_by_hand():
    """Only intervals choked at both ends count: t=1 (choked at 0 and 1) 100 B and t=2 (choked at
    1 and 2) 150 B; t=3 ends unchoked. Total sent 300 B, so 250/300 went to a choked remote."""
    rows = [(t, 0, 1, tot, ch, 0, 1) for t, tot, ch in [(0, 0, 1), (1, 100, 1), (2, 250, 1), (3, 300, 0)]]
    conn = cm.connections_of(table(rows), 0)[1]
    assert conn.choked_bytes() == 250
    assert cm.summarize_uploader(table(rows), 0, 100).choked_share == pytest.approx(250 / 300)


def test_even_share_ramp_by_hand():
    """Served: t=0 remote 2 alone, t=1..5 both, t=6 remote 1 alone: even share 2000, 1000 x5, 2000.
    Remote 1 (rates 500, 1500, 2000, ...) reaches 500 at t=1 (0 s) and 900 at t=2 (1 s). Remote 2
    (rates 500, 500, 500, 350, 350, 500) reaches 50 % at t=1 (1 s) and never 90 %."""
    assert cm.served_count(np.arange(7.0), [(1, 6), (0, 5)]).tolist() == [1, 2, 2, 2, 2, 2, 1]
    by = {c.remote: c for c in cm.summarize_uploader(TABLE, 0, 2000).connections}
    assert (by[1].t50_fair_s, by[1].t90_fair_s) == (0.0, 1.0)
    assert by[2].t50_fair_s == 1.0 and math.isnan(by[2].t90_fair_s)
    assert math.isnan(cm.summarize_uploader(TABLE, 0, 0).connections[0].t50_fair_s)
