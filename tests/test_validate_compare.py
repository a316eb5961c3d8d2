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


def test_lab_median_interval_by_hand():
    """Order statistics [x(k), x(n+1-k)] with coverage 1 - 2 P(Bin(n, 1/2) <= k-1) >= 75%: three
    runs give their range (1 - 2/8 = 75%), five their range (1 - 2/32), seven the 2nd to the 6th
    (1 - 2 (1 + 7)/128 = 87.5%); one run is its own interval with no coverage."""
    from forensics.analysis.sim_vs_lab import median_interval

    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0, 0.75)
    assert median_interval([5.0, 1.0, 4.0, 2.0, 3.0]) == (1.0, 5.0, 0.9375)
    assert median_interval([7.0, 1.0, 6.0, 2.0, 5.0, 3.0, 4.0]) == (2.0, 6.0, 0.875)
    assert median_interval([4.0]) == (4.0, 4.0, 0.0)
    c = compare_quantity("s", "subject_upload_leech_bytes", np.array([1.0, 2, 3, 4, 5, 6, 7]) * MIB,
                         np.full(11, 6.5 * MIB), 0.10, True, 64 * MIB)
    assert (c.lab_median_low, c.lab_median_high) == (2 * MIB, 6 * MIB) and not c.sim_in_lab_median_interval
    assert error_rate([{"comparisons": [c]}])["subject_upload_leech_bytes"]["sim_median_in_lab_median_interval"] == "0/1"


def test_lab_median_interval_covers_as_stated():
    """Drawn many times from a skewed distribution with a known median (exponential: ln 2), the
    interval holds the median about as often as its stated coverage."""
    from forensics.analysis.sim_vs_lab import median_interval

    rng = np.random.default_rng(5)
    for n, level in ((3, 0.75), (7, 0.875)):
        hits = 0
        for _ in range(4000):
            lo, hi, lv = median_interval(rng.exponential(size=n))
            assert lv == level
            hits += lo <= np.log(2) <= hi
        assert abs(hits / 4000 - level) < 0.025, (n, hits / 4000)
