"""Skipping a swarm's idle prefix (sim/warm_start.py): where it starts, and the subject's outcomes keep
their distribution."""

from __future__ import annotations

import numpy as np

from forensics.corpus_run import simulate_until_subject_left
from sim.engine import SwarmRun
from sim.montecarlo import replication_seeds
from sim.population import SUBJECT_ROW
from sim.warm_start import idle_prefix_s, skip_idle_prefix
from tests.conftest import make_scenario

# Few leechers arriving, the subject late: most replications begin with a long seeds-only stretch.
SCENARIO = {
    "torrent": {"piece_size": "64KiB", "total_size": "3MiB"},
    "swarm": {"announce_interval_s": 300, "seeds": {"count": 1, "upload": "40kB/s"},
              "leechers": {"arrival": "poisson", "rate_per_s": 0.0012, "window_s": [0, 3000], "upload": "100kB/s",
                           "download": "1MB/s", "seed_time": {"dist": "exponential", "mean": 120}}},
    "subject": {"join_s": 1250, "upload": "1MB/s", "download": "1MB/s", "on_complete": "stop"},
    "simulation": {"horizon_s": 5000},
}


def sc():
    return make_scenario(**SCENARIO)


def test_the_skip_is_a_multiple_of_every_period_before_the_first_join():
    """Hand-worked: periods 0.5 s, 1 s, announce 300 s, unchoke 15 s, optimistic 30 s: multiples of 300 s;
    the first non-seed joins at t1, so S = 300 * floor((t1 - 60) / 300)."""
    for i, seed in enumerate(replication_seeds(1, 20)):
        run = SwarmRun(sc(), i, seed)
        non_seed = [run.pop.join_s[u] for u in range(run.pop.size) if run.pop.role[u] != 1 or u == SUBJECT_ROW]
        t1 = min(non_seed)
        want = 300.0 * np.floor((t1 - 60.0) / 300.0) if t1 >= 360.0 else 0.0
        assert idle_prefix_s(run) == want, (i, t1)


def test_skipped_run_is_the_run_moved_earlier():
    """After the skip every join and the horizon are S earlier; seeds still join at 0."""
    run = SwarmRun(sc(), 0, replication_seeds(1, 1)[0])
    joins = run.pop.join_s.copy()
    shift = skip_idle_prefix(run)
    assert shift > 0
    seeds = joins == 0.0
    assert np.all(run.pop.join_s[seeds] == 0.0) and np.allclose(run.pop.join_s[~seeds], joins[~seeds] - shift)
    assert run.sc.simulation.horizon_s == 5000 - shift


def test_subject_outcomes_keep_their_distribution():
    """Over 240 seeds, the subject's download time, upload and peers served with and without the skip
    agree within Monte Carlo noise (means within 4 standard errors, a two-sample Kolmogorov-Smirnov
    distance below its 0.1% critical value), while most replications did skip a long prefix."""
    s = sc()
    seeds = replication_seeds(2, 240)
    full = [simulate_until_subject_left(s, i, seeds[i]) for i in range(240)]
    skip = [simulate_until_subject_left(s, i, seeds[i], skip_idle=True) for i in range(240)]
    skipped = np.array([r.extra["idle_skipped_s"] for r in skip])
    assert np.mean(skipped > 0) > 0.5 and skipped.max() >= 900
    n = len(full)
    for key in ("subject_download_time_s", "subject_upload_leech_bytes", "peers_received_block"):
        a = np.array([r.headline[key] for r in full], dtype=float)
        b = np.array([r.headline[key] for r in skip], dtype=float)
        se = np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
        assert abs(a.mean() - b.mean()) < 4 * se + 1e-9, (key, a.mean(), b.mean(), se)
        grid = np.union1d(a, b)
        ks = np.max(np.abs(np.searchsorted(np.sort(a), grid, side="right") / n
                           - np.searchsorted(np.sort(b), grid, side="right") / n))
        assert ks < 1.95 * np.sqrt(2 / n), (key, ks)  # c(0.001) = 1.95
    assert np.mean([r.headline["subject_upload_leech_bytes"] > 0 for r in full]) > 0.1  # it is not all zeros


def test_corpus_with_skip_reports_times_on_the_swarms_clock(tmp_path):
    """A corpus with skip_idle_prefix: the manifest states the rule, each row's end comes after the
    subject joined and completed on the swarm's own clock (the shift added back), and the subject's
    download is the same kind of number as without it."""
    import json

    from forensics import corpus_table
    from forensics.corpus_run import run_corpus
    from tests.test_corpus_run import write_corpus

    csv = "name,files,seeds,leecher_arrivals_per_h,subject_join_s\na,40,1,2,400\nb,25,2,3,420\n"
    run = run_corpus(write_corpus(tmp_path, extra="skip_idle_prefix = true\n", csv=csv), tmp_path / "o", workers=1)
    table = corpus_table.read_table(run.root)
    man = json.loads((run.root / "manifest.json").read_text())
    assert "idle prefix is skipped" in man["idle_prefix_rule"]
    done = table["subject_completed"] == 1
    assert done.all()
    assert np.all(table["end_s"] >= table["subject_join_s"] + table["subject_download_time_s"])
    assert np.all(table["subject_join_s"] == np.repeat([400.0, 420.0], 4))


def test_shorter_horizon_is_the_reparsed_scenario():
    """The shorter-horizon scenario equals the one with_changes parses (every field), and is refused
    (None) exactly where with_changes refuses that horizon: below the minimum, the subject not before it."""
    from sim.scenario import ScenarioError
    from sim.warm_start import _shorter_horizon
    base = sc()
    for shift in (0.0, 600.0, 1200.0, 3749.5, 3750.0, 4000.0, 4999.0, 4999.5, 5000.0):
        try:
            want = base.with_changes(**{"simulation.horizon_s": base.simulation.horizon_s - shift})
        except ScenarioError:
            want = None
        got = _shorter_horizon(base, shift)
        assert got == want, shift
        assert got is None or got.simulation.horizon_s == 5000 - shift
