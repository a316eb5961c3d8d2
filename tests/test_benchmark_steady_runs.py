"""benchmarks/steady_runs.py: its run lengths, per-second bytes and shares on hand-worked cases; one
small real run through its command line; named errors for bad input."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.steady_runs import BLOCK_BYTES, cli, per_second_bytes, run_lengths, shares, swarm_seconds


def test_run_lengths_by_hand():
    # exact: 5 5 5 | (0 ends it) | 3 | 4 4  -> 3, 1, 2
    assert run_lengths([5, 5, 5, 0, 3, 4, 4], 0) == [3, 1, 2]
    # within 1 byte: 3 4 4 is one run
    assert run_lengths([5, 5, 5, 0, 3, 4, 4], 1) == [3, 3]
    # each second is compared with the one before, not with the run's first: 10 11 12 13 within 1
    assert run_lengths([10, 11, 12, 13], 1) == [4]
    assert run_lengths([0, 0], 0) == [] and run_lengths([], 0) == []
    assert run_lengths([7], BLOCK_BYTES) == [1]


def test_per_second_bytes_by_hand():
    # connection (1, 2): samples every 0.5 s; whole seconds 0..3 then 5 (a gap), and a reopened
    # connection at 6 (its count drops): stretches [1..3] and [6] is not a stretch (drop), [5] alone
    # has no second before it in its stretch
    t = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 6.0, 7.0]
    d = [0, 50, 100, 120, 300, 300, 900, 10, 40]
    out = per_second_bytes(t, [1] * len(t), [2] * len(t), d)
    assert list(out) == [(1, 2)]
    stretches = [(s.tolist(), g.tolist()) for s, g in out[(1, 2)]]
    assert stretches == [([1, 2, 3], [100, 200, 0]), ([7], [30])]


def test_swarm_seconds_and_shares_by_hand():
    conns = {(1, 2): [(np.array([1, 2, 3]), np.array([100, 100, 100]))],
             (3, 2): [(np.array([2, 3]), np.array([50, 60]))]}
    # second 1: only (1,2), no second before -> not steady; second 2: (1,2) repeats, (3,2) has none
    # before -> not steady; second 3: (1,2) repeats, (3,2) 60 vs 50 -> steady only within 10 bytes
    assert swarm_seconds(conns, 0) == (3, 0)
    assert swarm_seconds(conns, 10) == (3, 1)
    s = shares([3, 1, 4], minima=(2, 4))
    assert s == {">=2s": 7 / 8, ">=4s": 4 / 8}
    assert shares([], minima=(2,)) == {">=2s": 0.0}


def test_one_small_run(capsys):
    """One case-study torrent, one replication: shares in [0, 1], falling with the run length, the
    exact ones at most those within a block; some transfer happened."""
    assert cli(["--corpus-torrents", "1", "--runs", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["replications"] == 1 and out["connection_seconds"] > 100
    for kind in ("in_runs_exact", "in_runs_within_block"):
        v = list(out[kind].values())
        assert all(0.0 <= x <= 1.0 for x in v) and v == sorted(v, reverse=True)
    assert all(out["in_runs_exact"][k] <= out["in_runs_within_block"][k] for k in out["in_runs_exact"])
    assert 0.0 <= out["swarm_all_exact"] <= out["swarm_all_within_block"] <= 1.0


def test_bad_input_named(tmp_path, capsys):
    assert cli(["--corpus", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml" in capsys.readouterr().err
    assert cli(["--corpus-torrents", "6000"]) == 2
    assert "--corpus-torrents 6000" in capsys.readouterr().err
