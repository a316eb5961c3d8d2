"""The comparison behind `leechsim validate`, on inputs whose answers are worked out by hand."""

import numpy as np

from forensics.analysis.sim_vs_lab import compare_quantity, error_rate

MIB = 2**20


def test_relative_error_and_interval():
    lab = np.array([100.0, 104.0, 96.0]) * MIB
    sim = np.linspace(90, 110, 201) * MIB  # median 100, p5 91, p95 109
    c = compare_quantity("s", "subject_upload_leech_bytes", lab, sim, 0.10, True, 64 * MIB)
    assert c.lab_median == 100 * MIB and c.sim_median == 100 * MIB
    assert c.sim_p5 == 91 * MIB and c.sim_p95 == 109 * MIB
    assert c.rel_error == 0.0 and c.lab_inside == 3 and c.met


def test_a_lab_run_outside_the_interval_misses_the_leech_target():
    lab = np.array([100.0, 100.0, 120.0]) * MIB
    sim = np.linspace(90, 110, 201) * MIB
    c = compare_quantity("s", "subject_upload_leech_bytes", lab, sim, 0.10, True, 64 * MIB)
    assert c.lab_inside == 2 and not c.met
    c2 = compare_quantity("s", "subject_download_time_s", lab, sim, 0.15, False, 64 * MIB)
    assert c2.met  # medians agree; no interval requirement for download time


def test_relative_error_sign_and_size():
    c = compare_quantity("s", "subject_download_time_s", np.array([50.0]), np.array([40.0, 40.0, 40.0]), 0.15, False, 1)
    assert c.rel_error == -0.2 and not c.met


def test_near_zero_lab_median_is_compared_in_absolute_terms():
    torrent = 100 * MIB
    lab = np.array([0.0, 0.0, 0.5 * MIB])
    ok = compare_quantity("s", "subject_upload_seed_bytes", lab, np.zeros(50), 0.15, False, torrent)
    assert ok.rel_error is None and ok.met
    bad = compare_quantity("s", "subject_upload_seed_bytes", lab, np.full(50, 5.0 * MIB), 0.15, False, torrent)
    assert not bad.met


def test_error_rate_summary():
    sim = np.linspace(90, 110, 201)
    a = compare_quantity("a", "subject_download_time_s", np.array([100.0]), sim, 0.15, False, 1)
    b = compare_quantity("b", "subject_download_time_s", np.array([80.0]), sim, 0.15, False, 1)
    rate = error_rate([{"comparisons": [a]}, {"comparisons": [b]}])["subject_download_time_s"]
    assert rate["scenarios"] == 2 and rate["met"] == 1
    assert rate["max_abs_rel_error"] == 0.25 and rate["median_abs_rel_error"] == 0.125
