"""sorting.argsort_into gives np.argsort's order exactly as numba compiles it (ties included)."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.sorting import MAX_STACK, argsort_into


@njit
def numba_argsort(keys):
    return np.argsort(keys)


def test_equals_numba_argsort_on_keys_with_ties():
    """Random int64 keys of 0 to 300 entries, from few distinct values (many ties) to all distinct,
    sorted, reversed and constant: the same permutation as numba's np.argsort."""
    rng = np.random.default_rng(7)
    order = np.full(400, -1, np.int64)
    stack = np.zeros(2 * MAX_STACK, np.int64)
    cases = 0
    for n in list(range(0, 40)) + [63, 64, 65, 100, 127, 128, 200, 300]:
        for distinct in (1, 2, 3, 5, 20, 10**9):
            for shape in ("random", "sorted", "reversed"):
                keys = rng.integers(0, distinct, n).astype(np.int64)
                if shape == "sorted":
                    keys.sort()
                elif shape == "reversed":
                    keys = np.ascontiguousarray(np.sort(keys)[::-1])
                padded = np.concatenate([keys, rng.integers(-5, 5, 17)])  # only keys[:n] count
                argsort_into(padded, n, order, stack)
                np.testing.assert_array_equal(order[:n], numba_argsort(keys), err_msg=f"{n} {distinct} {shape}")
                cases += 1
    assert cases > 800


def test_leaves_the_rest_alone():
    """Only order[:n] is written."""
    order = np.full(10, -7, np.int64)
    argsort_into(np.array([3, 1, 2, 9, 9], np.int64), 3, order, np.zeros(2 * MAX_STACK, np.int64))
    assert order.tolist() == [1, 2, 0] + [-7] * 7


def test_distinct_keys_radix_sort_gives_numba_argsort():
    """argsort_distinct_into on distinct keys (serve_order's: up to 2^62 and more) gives numba's
    np.argsort order; on keys with a tie or a negative key it says so (False)."""
    from sim.kernels.sorting import RADIX_BUCKETS, argsort_distinct_into
    rng = np.random.default_rng(11)
    order = np.full(3000, -1, np.int64)
    tmp = np.zeros(3000, np.int64)
    count = np.zeros(RADIX_BUCKETS, np.int64)
    for n in list(range(0, 20)) + [255, 256, 257, 1000, 2999]:
        for high in (n + 1, 2**31, 2**62, 2**63 - 1):
            for shape in ("random", "sorted", "reversed"):
                keys = rng.choice(high, size=n, replace=False).astype(np.int64) if high < 2**32 else \
                    np.unique(rng.integers(0, high, n, dtype=np.int64))
                rng.shuffle(keys)
                if shape == "sorted":
                    keys.sort()
                elif shape == "reversed":
                    keys = np.ascontiguousarray(np.sort(keys)[::-1])
                padded = np.concatenate([keys, rng.integers(-5, 5, 17)])  # only keys[:n] count
                assert argsort_distinct_into(padded, len(keys), order, tmp, count)
                np.testing.assert_array_equal(order[:len(keys)], numba_argsort(keys), err_msg=f"{n} {high} {shape}")
    for keys in ([3, 1, 3], [5, -1, 2], [0, 0], [7, 2**40, 9, 2**40]):
        assert not argsort_distinct_into(np.array(keys, np.int64), len(keys), order, tmp, count), keys


def test_both_sorts_agree_around_the_radix_threshold():
    """transfer.serve_order_into sorts fewer than RADIX_MIN_KEYS keys with argsort_into, more with
    the radix sort: on distinct keys of serve_key's range both give numba's np.argsort order there."""
    from sim.kernels.sorting import RADIX_BUCKETS, RADIX_MIN_KEYS, argsort_distinct_into
    rng = np.random.default_rng(5)
    stack = np.zeros(2 * MAX_STACK, np.int64)
    for n in (2, 15, 16, 64, RADIX_MIN_KEYS - 1, RADIX_MIN_KEYS, RADIX_MIN_KEYS + 1):
        keys = np.unique(rng.integers(2**40, 2**62 + 2**61, n + 10, dtype=np.int64))[:n]
        rng.shuffle(keys)
        a, b = np.zeros(n, np.int64), np.zeros(n, np.int64)
        argsort_into(keys, n, a, stack)
        assert argsort_distinct_into(keys, n, b, np.zeros(n, np.int64), np.zeros(RADIX_BUCKETS, np.int64))
        np.testing.assert_array_equal(a, numba_argsort(keys))
        np.testing.assert_array_equal(b, a)
