"""An argsort that allocates nothing and gives exactly ``np.argsort``'s order as numba compiles it.

numba's ``np.argsort`` (kind 'quicksort', numba/misc/quicksort.py) is a quicksort whose order of
equal keys depends on the algorithm: below 16 keys it is an insertion sort (stable), above it
partitions around a median-of-three pivot. A tick's serve order (transfer.serve_order) is such an
argsort, and equal keys occur, so a replacement must take the same steps, not merely sort: this is
numba's code, step for step, with the result and the partition stack in arrays the caller owns.
Without an allocation the tick loop can run without numba's runtime (sim/kernels/__init__.py).
tests/test_sorting.py compares it with np.argsort (compiled) on keys with many ties.
"""

from __future__ import annotations

from numba import njit

SMALL_QUICKSORT = 15  # numba's: partitions at least this long are split further, shorter ones insertion-sorted
MAX_STACK = 100  # numba's partition stack (the larger part is pushed: its depth stays below log2 n)


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
