"""validation/traces/first_asker.py on run directories written by hand."""

import importlib.util
from pathlib import Path

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
