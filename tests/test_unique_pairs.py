"""results.unique_pairs equals np.unique over rows (axis=0), sorted rows and inverse, on any input."""

from __future__ import annotations

import numpy as np

from sim.results import unique_pairs


def reference(a, b):
    rows, inverse = np.unique(np.stack((np.asarray(a, np.int64), np.asarray(b, np.int64)), axis=1), axis=0,
                              return_inverse=True)
    return rows, inverse.ravel()


def test_equals_unique_rows():
    """Random logs (few and many peers and pieces, repeats), pieces at the bound's edge, and inputs the
    one-integer path does not take (negative, a piece beyond the bound): the same rows and inverse."""
    rng = np.random.default_rng(5)
    cases = [([], [], 4), ([0], [3], 4), ([2, 2, 1], [0, 3, 3], 4), ([-1, 0], [1, 1], 4), ([0, 1], [5, 1], 4),
             ([3, 0], [-2, 1], 4), ([2**40, 1], [1, 2], 2**22)]
    for n in (1, 2, 10, 1000):
        for peers, pieces in ((3, 5), (50, 800), (2, 2)):
            cases.append((rng.integers(0, peers, n), rng.integers(0, pieces, n), pieces))
    for a, b, bound in cases:
        rows, inverse = unique_pairs(np.asarray(a, np.int64), np.asarray(b, np.int64), bound)
        want_rows, want_inverse = reference(a, b)
        assert rows.dtype == want_rows.dtype and rows.shape == want_rows.shape
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(inverse, want_inverse)


def test_table_and_sort_paths_agree():
    """Both ways unique_pairs and distinct take — marking keys in a table of their range (small
    ranges) and sorting them (large ranges: a peer number far beyond the rows) — give np.unique's
    answer, values, places and dtypes."""
    from sim import results
    from sim.results import distinct
    rng = np.random.default_rng(11)
    for n in (1, 3, 500):
        for peers, pieces in ((4, 7), (30, 800), (10**6, 4096)):
            a, b = rng.integers(0, peers, n), rng.integers(0, pieces, n)
            small = (int(a.max()) + 1) * pieces <= max(results.SMALL_KEY_RANGE, 8 * n)
            rows, inverse = unique_pairs(a, b, pieces)
            want_rows, want_inverse = reference(a, b)
            np.testing.assert_array_equal(rows, want_rows)
            np.testing.assert_array_equal(inverse, want_inverse)
            assert inverse.dtype == want_inverse.dtype
            for x in (a, b, b.astype(np.int32)):
                got = distinct(x)
                assert got.dtype == np.unique(x).dtype
                np.testing.assert_array_equal(got, np.unique(x))
            if peers == 10**6:
                assert not small  # the sorting path was taken for the pairs
    np.testing.assert_array_equal(distinct(np.array([5, -1, 5])), [-1, 5])  # negative: sorted as np.unique
    assert distinct(np.zeros(0, np.int64)).shape == (0,)
