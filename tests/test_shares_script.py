"""validation/traces/shares.py on connection traces written by hand."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location("shares", Path(__file__).parents[1] / "validation/traces/shares.py")
shares = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shares)


def _trace(rows):
    return pd.DataFrame(rows, columns=["t_s", "local", "remote", "total_up_bytes"])


def test_shares_by_hand(tmp_path):
    # uploader 1: peer 5 opened first (t 0.1), peer 3 second (t 4); peer 9 is another uploader's
    a = _trace([(0.1, 1, 5, 0), (5.0, 1, 5, 50_000), (10.0, 1, 5, 60_000),
                (4.0, 1, 3, 0), (5.0, 1, 3, 10_000), (10.0, 1, 3, 40_000),
                (5.0, 2, 9, 999_999)])
    b = _trace([(0.2, 1, 4, 0), (5.0, 1, 4, 20_000), (10.0, 1, 4, 20_000)])  # one connection only
    fa, fb = tmp_path / "a.csv", tmp_path / "b.csv"
    a.to_csv(fa, index=False)
    b.to_csv(fb, index=False)
    t = shares.shares(shares.traces([fa, fb], None), "1", 5.0, 10.0)
    # window 0-5: first connections 50,000 and 20,000 B -> 10 and 4 kB/s, mean 7; second 2 and 0 -> 1
    # window 5-10: first 2 and 0 -> 1; second 6 and 0 -> 3
    assert t.loc[0.0].tolist() == [7.0, 1.0]
    assert t.loc[5.0].tolist() == [1.0, 3.0]


def test_unknown_source_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit, match="no such run directory"):
        shares.traces([tmp_path / "nothing"], None)
    with pytest.raises(SystemExit):
        shares.main(["first", str(tmp_path)])
    assert "a peer number or 'seed'" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    pd.DataFrame({"t_s": [0.0], "peer": [1]}).to_csv(other, index=False)
    with pytest.raises(SystemExit, match="lacks the columns"):
        shares.traces([other], None)


def test_download_curve_by_hand(tmp_path):
    import sys
    sys.path.insert(0, str(Path(__file__).parents[1] / "validation/traces"))  # it imports favourites.py
    spec = importlib.util.spec_from_file_location(
        "download_curve", Path(__file__).parents[1] / "validation/traces/download_curve.py")
    dc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dc)
    mib = 2**20
    for i, got in enumerate(([0, 2 * mib, 4 * mib], [0, 1 * mib, 2 * mib], [0, 4 * mib, 8 * mib])):
        rep = tmp_path / "replications" / f"{i:04d}"
        rep.mkdir(parents=True)
        pd.DataFrame({"t_s": [30.0, 32.0, 34.0], "subject_uploaded_bytes": [0, 0, 0],
                      "subject_downloaded_bytes": got}).to_csv(rep / "timeseries.csv", index=False)
    # at 31 s: 1, 0.5, 2 MiB -> median 1; at 34 s: 4, 2, 8 -> 4; before the first sample (still 0): 0
    assert dc.curve(tmp_path, [31.0, 34.0, 10.0]).tolist() == [1.0, 4.0, 0.0]
    # a run sampled every 5 s from 5 s (the model's default) that has data by its first sample: the
    # seconds before it are unknown, not 0
    coarse = tmp_path / "coarse"
    rep = coarse / "replications" / "0000"
    rep.mkdir(parents=True)
    pd.DataFrame({"t_s": [5.0, 10.0], "subject_uploaded_bytes": [0, 0],
                  "subject_downloaded_bytes": [mib, 3 * mib]}).to_csv(rep / "timeseries.csv", index=False)
    got = dc.curve(coarse, [2.0, 7.5])
    assert np.isnan(got[0]) and got[1] == 2.0
    assert dc.main([str(coarse), "--at", "2", "7.5"]) == 0
    with pytest.raises(SystemExit, match="no replications"):
        dc.curve(tmp_path / "none", [1.0])
