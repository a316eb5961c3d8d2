"""validation/traces/open_connections.py on run directories written by hand."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "open_connections", Path(__file__).parents[1] / "validation/traces/open_connections.py")
open_connections = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(open_connections)

HEAD = "t_s,local,remote,payload_up_bps\n"


def _rep(root: Path, name: str, rows: str) -> None:
    d = root / "replications" / name
    d.mkdir(parents=True)
    (d / "connections.csv").write_text(HEAD + rows)


def test_counts_by_window_by_hand(tmp_path):
    # run 0: peer 0 has remotes {1, 2} at 1 s, {1, 2, 3} at 4 s, {1} at 6 s; peer 1's rows do not count
    # run 1: peer 0 has {2} at 2 s and {2, 3} at 7 s
    _rep(tmp_path, "0000", "1,0,1,0\n1,0,2,0\n1,1,0,0\n4,0,1,0\n4,0,2,0\n4,0,3,0\n6,0,1,0\n")
    _rep(tmp_path, "0001", "2,0,2,0\n7,0,2,0\n7,0,3,0\n")
    n, mean = open_connections.open_connections(tmp_path, 0, [0, 5, 10, 20])
    assert n == 2
    # (0, 5]: samples 2, 3, 1 -> 2.0; (5, 10]: 1, 2 -> 1.5; (10, 20]: none
    assert mean[:2].tolist() == [2.0, 1.5] and np.isnan(mean[2])


def test_a_run_without_traces_is_named(tmp_path):
    (tmp_path / "replications" / "0000").mkdir(parents=True)
    with pytest.raises(SystemExit, match="0000: no connections.csv"):
        open_connections.open_connections(tmp_path, 0, [0, 5])


def test_a_trace_without_the_columns_is_named(tmp_path):
    d = tmp_path / "replications" / "0000"
    d.mkdir(parents=True)
    (d / "connections.csv").write_text("t_s,local\n1,0\n")
    with pytest.raises(SystemExit, match=r"missing columns \['remote'\]"):
        open_connections.open_connections(tmp_path, 0, [0, 5])
