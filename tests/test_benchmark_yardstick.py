"""benchmarks/yardstick.py: its compiled workload does the interpreter's work, keeps its arrays
consistent, is the workload its version names, and its command line names bad input."""

import hashlib
import inspect
import json

import numpy as np
import pytest

from benchmarks import yardstick

def _workload_hash() -> str:
    """SHA-256 (16 hex digits) of the workload's source and sizes."""
    sizes = (yardstick.BUCKET_ENTRIES, yardstick.BUCKETS, yardstick.CACHE_MOVES, yardstick.MEMORY_ROWS,
             yardstick.MEMORY_MOVES, yardstick.INTERPRETER_MOVES, yardstick.SEED)
    return hashlib.sha256((inspect.getsource(yardstick._moves) + repr(sizes)).encode()).hexdigest()[:16]


def test_compiled_and_interpreted_moves_agree():
    """The compiled workload does exactly the interpreter's work (same checksum, same arrays)."""
    a, b = yardstick._arrays(3), yardstick._arrays(3)
    c1 = yardstick._moves_compiled(*a, 5000, yardstick.SEED)
    c2 = yardstick._moves(*b, 5000, yardstick.SEED)
    assert int(c1) == int(c2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], yardstick._arrays(3)[0])  # the moves moved something


def test_moves_keep_order_pos_and_bounds_consistent():
    """After many moves each row is still a permutation, pos its inverse, the bucket edges in order."""
    order, pos, bound = yardstick._arrays(4)
    yardstick._moves_compiled(order, pos, bound, 200_000, yardstick.SEED)
    for r in range(4):
        assert sorted(order[r].tolist()) == list(range(yardstick.BUCKET_ENTRIES))
        np.testing.assert_array_equal(pos[r][order[r]], np.arange(yardstick.BUCKET_ENTRIES))
        assert bound[r, 0] == 0 and bound[r, -1] == yardstick.BUCKET_ENTRIES
        assert np.all(np.diff(bound[r]) >= 0)
    # entries did change buckets: the edges are no longer the even split they started as
    assert not np.array_equal(bound, yardstick._arrays(4)[2])


def test_the_workload_is_the_one_its_version_names():
    """An edit of the workload without a new WORKLOAD_VERSION fails here: old reports' yardsticks
    would silently stop being comparable with new ones. A new version pins its own hash."""
    pinned = {1: "fce2b22fec7da280"}
    assert yardstick.WORKLOAD_VERSION in pinned, "a new workload version: pin its hash here"
    assert _workload_hash() == pinned[yardstick.WORKLOAD_VERSION], (
        "benchmarks/yardstick.py's workload changed: raise WORKLOAD_VERSION and pin the new hash")


def test_measure_reports_positive_times(monkeypatch):
    """measure() times the three workloads (sizes shrunk here: the real ones take seconds)."""
    monkeypatch.setattr(yardstick, "MEMORY_ROWS", 8)
    monkeypatch.setattr(yardstick, "CACHE_MOVES", 1000)
    monkeypatch.setattr(yardstick, "MEMORY_MOVES", 1000)
    monkeypatch.setattr(yardstick, "INTERPRETER_MOVES", 200)
    m = yardstick.measure(rounds=1)
    assert m["workload_version"] == yardstick.WORKLOAD_VERSION
    for key in ("compiled_cache_ms", "compiled_memory_ms", "interpreter_ms"):
        assert m[key] > 0


def test_cli_names_bad_rounds(capsys):
    """--rounds 0 is an argparse error naming the option, not a traceback."""
    with pytest.raises(SystemExit) as e:
        yardstick.cli(["--rounds", "0"])
    assert e.value.code == 2
    assert "--rounds 0" in capsys.readouterr().err


def test_report_line_gives_median_and_range():
    """The benchmark report's yardstick sentence gives each workload's median and range over its readings."""
    from benchmarks.report import yardstick_line
    readings = [{"workload_version": 1, "compiled_cache_ms": c, "compiled_memory_ms": m, "interpreter_ms": i}
                for c, m, i in ((166.9, 590.1, 436.2), (268.3, 544.1, 423.9), (189.4, 496.2, 450.2))]
    line = yardstick_line(readings)
    assert "3 readings" in line
    assert "in the caches 189 ms [167–268]" in line
    assert "memory-bound 544 ms [496–590]" in line
    assert "interpreted 436 ms [424–450]" in line
