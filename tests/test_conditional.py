"""validation/conditional.py: the model's value of one quantity at the lab runs' value of another,
on cases worked out by hand."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("conditional", ROOT / "validation" / "conditional.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


LAB = pd.DataFrame({"t": [10.0, 20.0], "up": [100.0, 300.0]})
SIM = pd.DataFrame({"t": [9.8, 10.3, 12.0, 19.9, 20.2, 25.0], "up": [90.0, 110.0, 500.0, 280.0, 320.0, 0.0]})


def test_conditional_by_hand():
    """Lab runs at t = 10 and 20: the replications within 0.5 of them have up 90, 110 (median 100)
    and 280, 320 (300); the median of those, 200, is the lab's median (error 0). The model's own
    median is (110 + 280) / 2 = 195 (-2.5 %). Within 0.1 no replication is close to either run."""
    r = _script().conditional(LAB, SIM, "up", "t", 0.5)
    assert (r["lab_median"], r["model_median"], r["conditional_median"]) == (200.0, 195.0, 200.0)
    assert abs(r["model_error"] + 0.025) < 1e-12 and r["conditional_error"] == 0.0
    assert (r["lab_runs_matched"], r["lab_runs"]) == (2, 2)
    # t: lab median 15, 90th percentile 10 + 0.9 * 10 = 19; model median (12 + 19.9) / 2 = 15.95;
    # two lab runs rising together: correlation +1
    assert (r["lab_given_median"], r["lab_given_p90"], r["lab_correlation"]) == (15.0, 19.0, 1.0)
    assert abs(r["model_given_median"] - 15.95) < 1e-12
    r = _script().conditional(LAB, SIM, "up", "t", 0.1)
    assert r["lab_runs_matched"] == 0 and np.isnan(r["conditional_median"])


def test_conditional_command(tmp_path, capsys):
    for name, df in (("lab", LAB), ("sim", SIM)):
        (tmp_path / name).mkdir()
        df.to_csv(tmp_path / name / "results.csv", index=False)
    main = _script().main
    assert main([str(tmp_path / "lab"), str(tmp_path / "sim"), "--of", "up", "--given", "t", "--within", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "lab median 200.0; model 195.0 (-2.5%)" in out and "200.0 (+0.0%; 2 of 2 lab runs matched)" in out
    assert "t: lab median 15.0 (90th percentile 19.0); model 15.9" in out and "correlation with up: lab +1.00" in out
    assert main([str(tmp_path / "lab"), str(tmp_path / "sim"), "--of", "down", "--given", "t", "--within", "0.5"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "lab" / "results.csv") in err and "no column down" in err
    assert main([str(tmp_path / "lab"), str(tmp_path / "sim"), "--of", "up", "--given", "t", "--within", "0"]) == 2
    assert "--within 0.0: must be above 0" in capsys.readouterr().err
