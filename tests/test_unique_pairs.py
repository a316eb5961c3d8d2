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
