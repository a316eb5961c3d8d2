"""validation/traces/pair_state.py and download_curve.py --traces on connection traces written by hand."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_dir = Path(__file__).parents[1] / "validation/traces"
sys.path.insert(0, str(_dir))  # both import their neighbour favourites.py


def _load(name):
    spec = importlib.util.spec_from_file_location(name, _dir / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


pair_state = _load("pair_state")
download_curve = _load("download_curve")
COLS = ["t_s", "local", "remote", "interesting", "remote_choked", "download_queue_length", "payload_down_bps",
        "total_down_bytes"]


def _rep(root: Path, i: int, rows) -> None:
    d = root / "replications" / f"{i:04d}"
    d.mkdir(parents=True)
    pd.DataFrame(rows, columns=COLS).to_csv(d / "connections.csv", index=False)


def test_pair_state_by_hand(tmp_path):
    # replication 0, connection 0 <- 2 in [10, 20): four samples; interested in three, served in two
    # (the third interested one is choked); of the served, one with nothing asked; 40 and 60 kB/s.
    # Not counted: a sample at 25 s, another connection (0 <- 1), the other end (2 <- 0).
    _rep(tmp_path, 0, [(10.0, 0, 2, 1, 0, 3, 40_000, 0), (12.0, 0, 2, 1, 0, 0, 60_000, 0),
                       (14.0, 0, 2, 1, 1, 5, 0, 0), (16.0, 0, 2, 0, 0, 0, 0, 0),
                       (25.0, 0, 2, 1, 0, 0, 9_000, 0), (12.0, 0, 1, 1, 0, 0, 1, 0), (12.0, 2, 0, 1, 0, 0, 1, 0)])
    # replication 1: one sample, served, asking, 100 kB/s
    _rep(tmp_path, 1, [(11.0, 0, 2, 1, 0, 2, 100_000, 0)])
    s = pair_state.pair_state(tmp_path, 0, 2, 10.0, 20.0)
    assert s["replications"] == 2
    assert s["interested"] == pytest.approx((0.75 + 1.0) / 2)
    assert s["served"] == pytest.approx((0.5 + 1.0) / 2)
    assert s["no_request_when_served"] == pytest.approx((0.5 + 0.0) / 2)
    assert s["kB_s_when_served"] == pytest.approx((50.0 + 100.0) / 2)
    assert pair_state.pair_state(tmp_path, 0, 2, 30.0, 40.0) == {"replications": 0}
    assert pair_state.main([str(tmp_path), "--local", "0", "--remote", "2", "--from", "10", "--to", "20"]) == 0


def test_pair_state_refuses_old_traces(tmp_path):
    d = tmp_path / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame({"t_s": [1.0], "local": [0], "remote": [2]}).to_csv(d / "connections.csv", index=False)
    with pytest.raises(SystemExit, match="connections.csv: no column interesting"):
        pair_state.pair_state(tmp_path, 0, 2, 0.0, 10.0)


def test_download_curve_from_traces_by_hand(tmp_path):
    mib = 2**20
    # the subject (local 0) from peers 1 and 2: by 5 s 1 + 2 MiB, by 10 s 3 + 2 MiB; peer 3's
    # download (local 3) is not the subject's
    _rep(tmp_path, 0, [(5.0, 0, 1, 1, 0, 0, 0, mib), (5.0, 0, 2, 1, 0, 0, 0, 2 * mib),
                       (9.5, 0, 1, 1, 0, 0, 0, 3 * mib), (5.0, 3, 0, 1, 0, 0, 0, 50 * mib)])
    _rep(tmp_path, 1, [(5.0, 0, 1, 1, 0, 0, 0, 0), (10.0, 0, 1, 1, 0, 0, 0, mib)])
    got = download_curve.curve_from_traces(tmp_path, [4.0, 5.0, 10.0])
    assert got.tolist() == [0.0, np.median([3.0, 0.0]), np.median([5.0, 1.0])]
    with pytest.raises(SystemExit, match="no replications/NNNN/connections.csv"):
        download_curve.curve_from_traces(tmp_path / "none", [1.0])


def test_download_curve_names_a_file_without_samples(tmp_path):
    d = tmp_path / "replications" / "0000"
    d.mkdir(parents=True)
    (d / "timeseries.csv").write_text("t_s,subject_downloaded_bytes\n")
    with pytest.raises(SystemExit, match="timeseries.csv: no samples"):
        download_curve.curve(tmp_path, [1.0])
