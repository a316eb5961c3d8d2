"""An argsort that allocates nothing and gives exactly ``np.argsort``'s order as numba compiles it.

numba's ``np.argsort`` (kind 'quicksort', numba/misc/quicksort.py) is a quicksort whose order of
equal keys depends on the algorithm: below 16 keys it is an insertion sort (stable), above it
partitions around a median-of-three pivot. A tick's serve order (transfer.serve_order) is such an
argsort, and should two keys ever be equal a replacement must take the same steps, not merely sort:
this is numba's code, step for step, with the result and the partition stack in arrays the caller owns.
Without an allocation the tick loop can run without numba's runtime (sim/kernels/__init__.py).
tests/test_sorting.py compares it with np.argsort (compiled) on keys with many ties.

When the keys are all distinct (serve_order's are: each connection end has its own number) their
sorted order is unique, and any sort gives exactly numba's: ``argsort_distinct_into``, a radix sort
that takes fewer steps than the quicksort on many keys, is used first from RADIX_MIN_KEYS keys on,
and says when the keys are not distinct. Below that the quicksort is faster: the radix sort's eight
passes over 256 digit counts cost about 0.6 us whatever the number of keys (serve-order-like keys,
compiled, one core: 8 keys 674 ns radix / 37 ns quicksort, 64: 1,563 / 454, 512: 11,252 / 5,350,
1,024: 16,759 / 13,197, 2,048: 48,938 / 57,536, 16,384: 564 / 1,187 us).
"""

from __future__ import annotations

from numba import njit

SMALL_QUICKSORT = 15  # numba's: partitions at least this long are split further, shorter ones insertion-sorted
MAX_STACK = 100  # numba's partition stack (the larger part is pushed: its depth stays below log2 n)
RADIX_BITS = 8  # argsort_distinct_into: bits of the key sorted by per pass
RADIX_BUCKETS = 1 << RADIX_BITS
RADIX_MIN_KEYS = 1024  # transfer.serve_order_into: fewer keys than this are sorted by argsort_into


@njit(cache=True, _nrt=False)
def _insertion_sort(keys, order, low, high):
    """numba's insertion_sort: order[low:high + 1] by keys, inclusive bounds."""
    if high <= low:
        return
    for i in range(low + 1, high + 1):
        k = order[i]
        v = keys[k]
        j = i
        while j > low and v < keys[order[j - 1]]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = k


@njit(cache=True, _nrt=False)
def _partition(keys, order, low, high):
    """numba's partition: order[low:high + 1] around the median of three; the pivot's place."""
    mid = (low + high) >> 1
    if keys[order[mid]] < keys[order[low]]:
        order[low], order[mid] = order[mid], order[low]
    if keys[order[high]] < keys[order[mid]]:
        order[high], order[mid] = order[mid], order[high]
    if keys[order[mid]] < keys[order[low]]:
        order[low], order[mid] = order[mid], order[low]
    pivot = keys[order[mid]]
    order[high], order[mid] = order[mid], order[high]
    i = low
    j = high - 1
    while True:
        while i < high and keys[order[i]] < pivot:
            i += 1
        while j >= low and pivot < keys[order[j]]:
            j -= 1
        if i >= j:
            break
        order[i], order[j] = order[j], order[i]
        i += 1
        j -= 1
    order[i], order[high] = order[high], order[i]
    return i


@njit(cache=True, _nrt=False)
def argsort_into(keys, n, order, stack):
    """order[:n] = np.argsort(keys[:n]) as numba computes it (ties in the same order). ``stack``:
    scratch of at least 2 * MAX_STACK integers (numba's stack of partitions)."""
    for i in range(n):
        order[i] = i
    if n < 2:
        return
    stack[0] = 0
    stack[1] = n - 1
    top = 1
    while top > 0:
        top -= 1
        low = stack[2 * top]
        high = stack[2 * top + 1]
        while high - low >= SMALL_QUICKSORT:
            i = _partition(keys, order, low, high)
            if high - i > i - low:  # push the larger part (here the right one), go on with the other
                if high > i:
                    stack[2 * top] = i + 1
                    stack[2 * top + 1] = high
                    top += 1
                high = i - 1
            else:
                if i > low:
                    stack[2 * top] = low
                    stack[2 * top + 1] = i - 1
                    top += 1
                low = i + 1
        _insertion_sort(keys, order, low, high)


@njit(cache=True, _nrt=False)
def _radix_scatter(keys, n, src, dst, start, shift):
    """One pass of the radix sort: src[:n] into dst[:n], stably, by the key digit at ``shift``
    (``start``: where each digit's run begins in dst; advanced as it is filled)."""
    for i in range(n):
        j = src[i]
        d = (keys[j] >> shift) & (RADIX_BUCKETS - 1)
        dst[start[d]] = j
        start[d] += 1


@njit(cache=True, _nrt=False)
def argsort_distinct_into(keys, n, order, tmp, count):
    """order[:n] = the argsort of keys[:n] if those keys are distinct and not negative, and True;
    otherwise False, order[:n] undefined (the caller then sorts with argsort_into). Distinct keys
    have one sorted order, so this is argsort_into's (numba's np.argsort) order exactly; the result
    is checked to be strictly increasing before it is returned as such.

    An LSD radix sort, RADIX_BITS of the key a pass, lowest first; a pass in which every key has
    the same digit changes nothing and is skipped. ``tmp``: scratch of n; ``count``: scratch of
    RADIX_BUCKETS (nothing allocated)."""
    for i in range(n):
        if keys[i] < 0:
            return False
        order[i] = i
    in_order = True  # the permutation so far is in ``order`` (else in ``tmp``)
    shift = 0
    while n > 1 and shift < 64:
        for b in range(RADIX_BUCKETS):
            count[b] = 0
        for i in range(n):
            count[(keys[i] >> shift) & (RADIX_BUCKETS - 1)] += 1
        if count[(keys[0] >> shift) & (RADIX_BUCKETS - 1)] != n:
            total = 0
            for b in range(RADIX_BUCKETS):
                c = count[b]
                count[b] = total
                total += c
            if in_order:
                _radix_scatter(keys, n, order, tmp, count, shift)
            else:
                _radix_scatter(keys, n, tmp, order, count, shift)
            in_order = not in_order
        shift += RADIX_BITS
    if not in_order:
        for i in range(n):
            order[i] = tmp[i]
    for i in range(1, n):
        if keys[order[i - 1]] >= keys[order[i]]:
            return False  # two equal keys: their order is the quicksort's to decide
    return True
