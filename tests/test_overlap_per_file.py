"""sim.layout.overlap_per_file (bytes the subject sent of each file) against a byte-by-byte count."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.layout import overlap_per_file


def by_byte(starts, ends, offsets):
    """Each sent byte looked up in the file table, one at a time."""
    out = np.zeros(len(offsets) - 1, dtype=np.int64)
    for s, e in zip(starts, ends):
        for x in range(s, e):
            f = [i for i in range(len(offsets) - 1) if offsets[i] <= x < offsets[i + 1]]
            assert len(f) == 1
            out[f[0]] += 1
    return out


@st.composite
def case(draw):
    sizes = draw(st.lists(st.integers(0, 40), min_size=1, max_size=10).filter(lambda s: sum(s) > 0))
    total = sum(sizes)
    ranges = draw(st.lists(st.tuples(st.integers(0, total - 1), st.integers(1, 60)), max_size=25))
    starts = np.array([s for s, _ in ranges], dtype=np.int64)
    ends = np.array([min(s + n, total) for s, n in ranges], dtype=np.int64)
    return starts, ends, np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


@settings(max_examples=300, deadline=None)
@given(case())
def test_every_byte_counts_in_its_file(c):
    starts, ends, offsets = c
    got = overlap_per_file(starts, ends, offsets)
    assert got.dtype == np.int64
    assert np.array_equal(got, by_byte(starts, ends, offsets))
    assert got.sum() == int((ends - starts).sum())  # overlapping ranges each count


def test_empty_files_and_no_ranges():
    offsets = np.array([0, 0, 10, 10, 25], dtype=np.int64)  # files 0 and 2 are empty
    assert overlap_per_file(np.zeros(0, np.int64), np.zeros(0, np.int64), offsets).tolist() == [0, 0, 0, 0]
    # [5, 20) is 5 bytes of file 1 and 10 of file 3; [10, 12) twice is 4 bytes of file 3
    assert overlap_per_file(np.array([5, 10, 10]), np.array([20, 12, 12]), offsets).tolist() == [0, 5, 0, 14]
