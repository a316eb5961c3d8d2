"""validation/traces/first_asker.py on run directories written by hand."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location("first_asker", Path(__file__).parents[1] / "validation/traces/first_asker.py")
first_asker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(first_asker)

COLS = ["t_s", "local", "remote", "total_up_bytes"]


def _run(root: Path, reps) -> Path:
    for i, rows in enumerate(reps):
        d = root / "replications" / f"{i:04d}"
        d.mkdir(parents=True)
        pd.DataFrame(rows, columns=COLS).to_csv(d / "connections.csv", index=False)
    return root


def test_first_served_by_hand():
    # the seed (1) first sends at 1.5 s: 2,000 B to peer 2 and 500 B to peer 0 -> peer 2 first;
    # by 3.5 s (2 s window) peer 2 has 3,000 and peer 0 1,000 -> peer 0's share 0.25; the 4.0 s row
    # is outside the window; peer 0's own rows (local 0) are another uploader's
    t = pd.DataFrame([(1.0, 1, 0, 0), (1.0, 1, 2, 0), (1.5, 1, 0, 500), (1.5, 1, 2, 2000),
                      (3.5, 1, 0, 1000), (3.5, 1, 2, 3000), (4.0, 1, 0, 9000), (0.5, 0, 1, 7000)], columns=COLS)
    assert first_asker.first_served(t, 1, 0, 2.0) == (0.0, 0.25)
    assert first_asker.first_served(t, 1, 2, 2.0) == (1.0, 0.75)
    assert first_asker.first_served(t, 1, 0, 3.0) == (0.0, 9000 / 12000)
    assert first_asker.first_served(t, 5, 0, 2.0) is None  # peer 5 sent nothing
    # a tie at the first sample: peers 0 and 2 both 500 B -> half a first each
    tie = pd.DataFrame([(1.5, 1, 0, 500), (1.5, 1, 2, 500), (1.5, 1, 3, 100)], columns=COLS)
    assert first_asker.first_served(tie, 1, 0, 2.0) == (0.5, 500 / 1100)
    assert first_asker.first_served(tie, 1, 3, 2.0)[0] == 0.0


def test_main_averages_over_replications(tmp_path, capsys):
    run = _run(tmp_path / "lab", [
        [(1.0, 1, 0, 100), (1.0, 1, 2, 0), (2.0, 1, 2, 300)],  # peer 0 first, share 100/400
        [(1.0, 1, 0, 0), (1.0, 1, 2, 100), (2.0, 1, 0, 100)],  # peer 2 first, peer 0's share 0.5
    ])
    assert first_asker.main([str(run)]) == 0
    assert capsys.readouterr().out.strip() == "lab (2): peer 0 first 0.50, its share of the seed's first 2 s 0.38"


def test_bad_sources_are_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit, match="no such run directory"):
        first_asker.tables(tmp_path / "nothing", None)
    (tmp_path / "empty" / "replications" / "0000").mkdir(parents=True)
    with pytest.raises(SystemExit, match="--trace-connections"):
        first_asker.tables(tmp_path / "empty", None)
    d = tmp_path / "narrow" / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame([(0.5, 1, 0)], columns=COLS[:3]).to_csv(d / "connections.csv", index=False)
    with pytest.raises(SystemExit, match="total_up_bytes"):
        first_asker.tables(tmp_path / "narrow", None)
    with pytest.raises(SystemExit):
        first_asker.main([str(tmp_path), "--window", "0"])
    assert "must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        first_asker.main([str(tmp_path), "--runs", "0"])
    assert "at least 1" in capsys.readouterr().err


def _with_peers(root: Path, joins) -> None:
    for i, join in enumerate(joins):
        pd.DataFrame({"peer": [0, 1, 2], "join_s": join}).to_csv(
            root / "replications" / f"{i:04d}" / "peers.csv", index=False)


FD = COLS + ["interesting", "remote_choked"]


def test_first_data_by_hand(tmp_path, capsys):
    # replication 0: the subject joined at 0.2 s; its own rows (local 0 -> 1) interested from 1.4 s,
    # unchoked from 1.5 s; the seed's first bytes to it sampled at 1.9 s -> 1.2, 1.3, 1.7 s after its
    # join. Replication 1: joined at 0.0; interested 1.0, unchoked 1.0, first bytes at 1.5 (the 1.0 s
    # row has none). Replication 2: the seed never sent it anything -> left out.
    reps = [
        [(1.0, 1, 0, 0, 0, 1), (1.9, 1, 0, 16384, 0, 1), (1.2, 1, 2, 0, 0, 1), (1.6, 1, 2, 500, 0, 1),
         (1.0, 0, 1, 0, 0, 1), (1.4, 0, 1, 0, 1, 1), (1.5, 0, 1, 99, 1, 0)],
        [(1.0, 1, 0, 0, 0, 1), (1.5, 1, 0, 100, 0, 1), (2.0, 1, 2, 7, 0, 1), (1.0, 0, 1, 0, 1, 0)],
        [(1.0, 1, 0, 0, 0, 1), (1.5, 1, 2, 300, 0, 1)],
    ]
    for i, rows in enumerate(reps):
        d = tmp_path / "lab" / "replications" / f"{i:04d}"
        d.mkdir(parents=True)
        pd.DataFrame(rows, columns=FD).to_csv(d / "connections.csv", index=False)
    run = tmp_path / "lab"
    _with_peers(run, [[0.2, 0.0, 0.5], [0.0, 0.0, 0.1], [0.0, 0.0, 0.3]])
    (t, p), = first_asker.replications(run, 1, first_asker.FIRST_DATA)
    assert first_asker.first_data(t, p, 1, 0) == pytest.approx((1.2, 1.3, 1.7))
    got = first_asker.first_data(t, p, 1, 2)  # peer 2's own rows were not sampled: NaN, NaN, 1.1
    assert got[2] == pytest.approx(1.1) and np.isnan(got[0]) and np.isnan(got[1])
    assert first_asker.first_data(t, p, 0, 2) is None  # peer 0 sent peer 2 nothing
    assert first_asker.main([str(run), "--first-data"]) == 0
    # over the two replications: interested [1.2, 1.0] -> 1.02 / 1.10 / 1.18; unchoked [1.3, 1.0] ->
    # 1.03 / 1.15 / 1.27; first payload [1.7, 1.5] -> 1.52 / 1.60 / 1.68
    assert capsys.readouterr().out.strip() == (
        "lab (2): peer 0 after its join, from peer 1 (10th / 50th / 90th percentile): interested 1.02 / 1.10 / 1.18 s; "
        "unchoked 1.03 / 1.15 / 1.27 s; first payload 1.52 / 1.60 / 1.68 s")
    assert first_asker.main([str(run), "--first-data", "--peer", "2"]) == 0
    # first payload [1.1, 1.9, 1.2]: 10th 1.12, 50th 1.20, 90th 1.76
    assert "first payload 1.12 / 1.20 / 1.76 s" in capsys.readouterr().out
    (run / "replications" / "0000" / "peers.csv").unlink()
    with pytest.raises(SystemExit, match="peers.csv"):
        first_asker.main([str(run), "--first-data"])
