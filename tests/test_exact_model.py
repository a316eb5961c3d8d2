"""validation/exact_model.py: what an exact model would score on the matrix, on cases worked out by hand."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("exact_model", ROOT / "validation" / "exact_model.py")
em = importlib.util.module_from_spec(spec)
spec.loader.exec_module(em)


def test_count_distribution_by_hand():
    assert np.allclose(em.count_distribution([0.5, 0.5]), [0.25, 0.5, 0.25])
    assert np.allclose(em.count_distribution([1.0, 0.2]), [0.0, 0.8, 0.2])


def test_within_follows_the_comparison_rule():
    # lab median 0 is under 1 % of a 100,000-byte torrent: compared absolutely (|100 - 0| <= 1,000);
    # 5,000 is not: 100 is 98 % off
    assert em.within(100.0, np.array([0.0, 5000.0]), 0.10, 1000.0).tolist() == [True, False]
    assert em.within(105.0, np.array([100.0, 120.0]), 0.10, None).tolist() == [True, False]


def test_pass_probability_by_hand():
    """The model's replications 1, 1, 1, 2 (median 1) and one lab run: the lab median is 1 with
    probability 3/4 (the model within 10 %) and 2 with 1/4 (50 % off)."""
    rng = np.random.default_rng(0)
    p = em.pass_probability(np.array([1.0, 1.0, 1.0, 2.0]), 1, 0.10, None, rng, 40000)
    assert abs(p - 0.75) < 0.01
    # a model without spread always meets it
    assert em.pass_probability(np.full(10, 3.0), 3, 0.10, None, rng, 1000) == 1.0


def test_unreadable_run_dir_is_a_clear_error(tmp_path, capsys):
    assert em.main([str(tmp_path)]) == 2
    assert "validation.json: cannot read" in capsys.readouterr().err
    (tmp_path / "validation.json").write_text(json.dumps({"rows": [
        {"quantity": "subject_download_time_s", "scenario": "v99-none", "lab_runs": 3}]}))
    assert em.main([str(tmp_path)]) == 2
    assert "v99-none" in capsys.readouterr().err


score_spec = importlib.util.spec_from_file_location("score", ROOT / "validation" / "score.py")
score = importlib.util.module_from_spec(score_spec)
score_spec.loader.exec_module(score)


def test_crps_by_hand():
    # sample {0, 2}, observation 1: E|S - 1| = 1, E|S - S'| = (0 + 2 + 2 + 0) / 4 = 1: 1 - 1/2
    assert score.crps(np.array([2.0, 0.0]), 1.0) == pytest.approx(0.5)
    assert score.crps(np.array([1.0, 1.0, 1.0]), 1.0) == pytest.approx(0.0)
    assert score.crps(np.array([0.0]), 3.0) == pytest.approx(3.0)
    # brute force on a random sample
    rng = np.random.default_rng(3)
    s = rng.normal(size=40)
    brute = np.mean(np.abs(s - 0.3)) - 0.5 * np.mean(np.abs(s[:, None] - s[None, :]))
    assert score.crps(s, 0.3) == pytest.approx(brute)


def test_score_refuses_a_directory_without_sim(tmp_path, capsys):
    assert score.main([str(tmp_path)]) == 2
    assert "no sim/ in it" in capsys.readouterr().err
