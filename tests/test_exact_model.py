"""The validation's scores of how much a hit or a miss means (forensics.analysis.sim_vs_lab: crps,
meets, exact_pass_probability, met_count_distribution) on cases worked out by hand, and the two
scripts built on them (validation/exact_model.py, validation/score.py)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from forensics.analysis.sim_vs_lab import crps, exact_pass_probability, meets, met_count_distribution

ROOT = Path(__file__).resolve().parents[1]


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "validation" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_met_count_distribution_by_hand():
    assert np.allclose(met_count_distribution([0.5, 0.5]), [0.25, 0.5, 0.25])
    assert np.allclose(met_count_distribution([1.0, 0.2]), [0.0, 0.8, 0.2])


def test_meets_follows_the_comparison_rule():
    # lab median 0 is under 1 % of a 100,000-byte torrent: compared absolutely (|100 - 0| <= 1,000);
    # 5,000 is not: 100 is 98 % off
    assert meets(100.0, np.array([0.0, 5000.0]), 0.10, 1000.0).tolist() == [True, False]
    assert meets(105.0, np.array([100.0, 120.0]), 0.10, None).tolist() == [True, False]


def test_exact_pass_probability_by_hand():
    """Replications 1, 1, 1, 2 (median 1) and one lab run: the lab median is 1 with probability 3/4
    (the model within 10 %) and 2 with 1/4 (50 % off)."""
    p = exact_pass_probability(np.array([1.0, 1.0, 1.0, 2.0]), 1, 0.10, False, None, "case", 40000)
    assert abs(p - 0.75) < 0.01
    # seeded by its text: the same inputs, the same number
    assert p == exact_pass_probability(np.array([1.0, 1.0, 1.0, 2.0]), 1, 0.10, False, None, "case", 40000)
    # a model without spread always meets it
    assert exact_pass_probability(np.full(10, 3.0), 3, 0.10, False, None, "flat", 1000) == 1.0
    # every lab run inside the 5-95 % interval as well: 100 replications 0..99, interval [4.95, 94.05];
    # one lab run x: within 10 % of the median 49.5 means 49.5 / 1.1 <= x <= 49.5 / 0.9, i.e. 45..55
    # (11 of 100 values), all inside the interval
    p = exact_pass_probability(np.arange(100.0), 1, 0.10, True, None, "wide", 40000)
    assert abs(p - 0.11) < 0.01
    # lab runs outside the interval fail it: replications 0..99 and two lab runs; within 10 % of 49.5 needs a
    # median of two in 45..55, and both inside [4.95, 94.05]: less likely than the median condition alone
    assert (exact_pass_probability(np.arange(100.0), 2, 0.10, True, None, "two", 40000)
            < exact_pass_probability(np.arange(100.0), 2, 0.10, False, None, "two", 40000))


def test_crps_by_hand():
    # sample {0, 2}, observation 1: E|S - 1| = 1, E|S - S'| = (0 + 2 + 2 + 0) / 4 = 1: 1 - 1/2
    assert crps(np.array([2.0, 0.0]), 1.0) == pytest.approx(0.5)
    assert crps(np.array([1.0, 1.0, 1.0]), 1.0) == pytest.approx(0.0)
    assert crps(np.array([0.0]), 3.0) == pytest.approx(3.0)
    rng = np.random.default_rng(3)
    s = rng.normal(size=40)
    brute = np.mean(np.abs(s - 0.3)) - 0.5 * np.mean(np.abs(s[:, None] - s[None, :]))
    assert crps(s, 0.3) == pytest.approx(brute)


def test_scripts_refuse_bad_directories(tmp_path, capsys):
    em = _script("exact_model")
    assert em.main([str(tmp_path)]) == 2
    assert "validation.json: cannot read" in capsys.readouterr().err
    (tmp_path / "validation.json").write_text(json.dumps({"rows": [
        {"quantity": "subject_download_time_s", "scenario": "v99-none", "lab_runs": 3}]}))
    assert em.main([str(tmp_path)]) == 2
    assert "v99-none" in capsys.readouterr().err
    score = _script("score")
    assert score.main([str(tmp_path)]) == 2  # an older validation.json: no crps_scaled in its rows
    assert "no crps_scaled" in capsys.readouterr().err
    assert score.main([str(tmp_path / "missing")]) == 2
    assert "validation.json: cannot read" in capsys.readouterr().err
