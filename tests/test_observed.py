"""Observed against simulated: percentile, widened interval, likelihood ratio — known answers."""

import json
import math

import numpy as np
import pytest

from forensics.analysis.observed import (Comparison, compare, likelihood_ratio, log_density, percentile_of,
                                         validated_errors)


def test_percentile_counts_ties_half():
    """5 among 1..10: four below, one equal -> 45th; 0 among ten zeros -> 50th; above all -> 100th."""
    assert percentile_of(5, np.arange(1, 11.0)) == 45.0
    assert percentile_of(0, np.zeros(10)) == 50.0
    assert percentile_of(11, np.arange(1, 11.0)) == 100.0
    assert percentile_of(3, np.array([1.0, np.nan, 5.0])) == 50.0


def test_density_is_a_gaussian_of_the_model_error_width():
    """One replication at 1,000,000 B, 10% model error: the kernel is N(1e6, 1e5); at 1.1e6 (one
    standard deviation) the density is exp(-1/2) / (1e5 sqrt(2 pi))."""
    got = log_density(1.1e6, np.array([1e6]), 0.1, 16384)
    assert got == pytest.approx(-0.5 - math.log(1e5 * math.sqrt(2 * math.pi)), rel=1e-12)


def test_density_never_narrower_than_the_granularity():
    """A point mass at 0 with 10% error: the kernel is one 16 KiB block wide, not zero."""
    got = log_density(0.0, np.zeros(5), 0.1, 16384)
    assert got == pytest.approx(-math.log(16384 * math.sqrt(2 * math.pi)), rel=1e-12)


def test_interval_widened_by_the_model_error():
    """0..100 -> p5 = 5, p95 = 95; widened by 10%: 4.5 .. 104.5; 104 inside, 105 outside."""
    from forensics.analysis.observed import ModelError
    v = np.arange(0, 101.0)
    errors = {"subject_download_time_s": ModelError(0.1, "test")}
    (inside,) = compare({"subject_download_time_s": 104.0}, "p", "p", {"subject_download_time_s": v}, errors)
    (outside,) = compare({"subject_download_time_s": 105.0}, "p", "p", {"subject_download_time_s": v}, errors)
    assert (inside.p5, inside.p95, inside.low, inside.high) == (5.0, 95.0, 4.5, 104.5)
    assert inside.inside and not outside.inside
    (plain,) = compare({"subject_download_time_s": 96.0}, "p", "p", {"subject_download_time_s": v}, {})
    assert plain.rel_error == 0 and not plain.inside  # not validated: not widened


def test_likelihood_ratio_between_two_point_policies():
    """Policy A puts its replication at the observed value, B two kernel widths away (same width):
    the observation is exp(2) times more probable under A."""
    x, s = 1e6, 1e5
    a = log_density(x, np.array([x]), 0.0, s)
    b = log_density(x, np.array([x + 2 * s]), 0.0, s)
    ca = Comparison("a", "a", "q", x, 1, 50, x, x, x, x, 0, True, a)
    cb = Comparison("b", "b", "q", x, 1, 0, x, x, x, x, 0, False, b)
    assert likelihood_ratio(ca, cb) == pytest.approx(math.exp(2), rel=1e-9)


def test_validated_errors_and_the_total_from_its_parts(tmp_path):
    """Errors come from validation.json; the total's is the larger of its parts' (a sum's bound)."""
    p = tmp_path / "validation.json"
    p.write_text(json.dumps({"error_rate": {"subject_upload_leech_bytes": {"median_abs_rel_error": 0.2},
                                            "subject_upload_seed_bytes": {"median_abs_rel_error": 0.5}}}))
    e = validated_errors(p)
    assert e["subject_upload_leech_bytes"].rel_error == 0.2
    assert e["subject_upload_total_bytes"].rel_error == 0.5
    assert validated_errors(tmp_path / "absent.json") == {}
