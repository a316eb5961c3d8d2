"""benchmarks/corpus_throughput.py --replication-costs: where a corpus's CPU goes, replication by
replication (the evidence for which replications a faster step has to speed up)."""

import json

import numpy as np
import pytest

from benchmarks.corpus_throughput import main, spearman, tail_shares


def test_tail_shares_on_hand_worked_costs():
    costs = [1.0] * 9 + [91.0]  # one replication of ten takes 91 % of the total
    s = tail_shares(costs, (0.1, 0.25, 0.5))
    assert s["top_10pct"] == pytest.approx(0.91)
    assert s["top_25pct"] == pytest.approx(0.92)  # 2.5 rounds to 2 items (banker's rounding): 91 + 1
    assert s["top_50pct"] == pytest.approx(0.95)
    assert tail_shares([2.0, 2.0, 2.0, 2.0], (0.25,))["top_25pct"] == pytest.approx(0.25)  # even costs
    assert tail_shares([5.0], (0.01,))["top_1pct"] == pytest.approx(1.0)  # at least one item


def test_spearman_on_hand_worked_ranks():
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([10.0, 20, 30, 40])) == pytest.approx(1.0)
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([4.0, 3, 2, 1])) == pytest.approx(-1.0)
    # monotone but not linear: still 1
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([1.0, 8, 27, 1000])) == pytest.approx(1.0)


def test_a_small_real_run(capsys):
    assert main(["--torrents", "2", "--runs", "2", "--replication-costs"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["command"] == "python -m benchmarks.corpus_throughput --torrents 2 --runs 2 --replication-costs"
    assert out["replications"] == 4
    share = out["cpu_share"]
    assert 0.0 < share["top_1pct"] <= share["top_10pct"] <= share["top_25pct"] <= 1.0
    assert out["cpu_s_max"] >= out["cpu_s_mean"] > 0
    assert 0 <= out["completed"] <= 4
    assert out["simulated_s_before_join_mean"] >= 0
