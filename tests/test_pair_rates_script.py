"""validation/traces/pair_rates.py on run directories written by hand."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location("pair_rates", Path(__file__).parents[1] / "validation/traces/pair_rates.py")
pair_rates = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pair_rates)

COLS = ["t_s", "local", "remote", "total_up_bytes", "total_down_bytes"]


def _run(root: Path, reps: list[tuple[list[tuple], list[tuple]]]) -> Path:
    for i, (conns, peers) in enumerate(reps):
        d = root / "replications" / f"{i:04d}"
        d.mkdir(parents=True)
        pd.DataFrame(conns, columns=COLS).to_csv(d / "connections.csv", index=False)
        pd.DataFrame(peers, columns=["peer", "complete_s"]).to_csv(d / "peers.csv", index=False)
    return root


def test_per_second_by_hand(tmp_path):
    # replication 0: peer 1 sends 3,000 B to peer 0 by 1.5 s and 5,000 by 2.5 s, and 1,000 to peer
    # 2 by 2.5 s; peer 0's own rows are another direction and are not read
    # replication 1: 2,000 B to peer 0 by 0.5 s, nothing more
    run = _run(tmp_path / "run", [
        ([(0.5, 1, 0, 0, 0), (1.5, 1, 0, 3000, 0), (2.5, 1, 0, 5000, 0), (2.5, 1, 2, 1000, 0),
          (1.5, 0, 1, 0, 3000)], [(0, 3.0), (2, 9.0)]),
        ([(0.5, 1, 0, 2000, 0), (2.5, 1, 0, 2000, 0)], [(0, 5.0)]),
    ])
    tables = pair_rates.replications(run, None)
    # seconds [0,1) [1,2) [2,3): rep 0 all remotes 0 / 3,000 / 3,000; rep 1 2,000 / 0 / 0 -> mean
    assert pair_rates.per_second(tables, 1, None, "total_up_bytes", 0, 3).tolist() == [1000.0, 1500.0, 1500.0]
    # to peer 0 only: rep 0 0 / 3,000 / 2,000
    assert pair_rates.per_second(tables, 1, 0, "total_up_bytes", 0, 3).tolist() == [1000.0, 1500.0, 1000.0]
    # what peer 0 received from peer 1, by its own rows
    assert pair_rates.per_second(tables, 0, None, "total_down_bytes", 0, 3).tolist() == [0.0, 1500.0, 0.0]


def test_before_completion_by_hand(tmp_path):
    # peer 1 sends peer 0 (completes at 3.0) 3,000 B at 1.5 s (1.5 s before: bin -2) and 2,000 at
    # 2.5 s (bin -2 too with 2 s bins; -1 with 1 s bins); peer 2 (completes at 9.0) 1,000 at 2.5 s
    # (6.5 s before: bin -8 / -7); peer 3 never completes: not counted
    run = _run(tmp_path / "run", [
        ([(0.5, 1, 0, 0, 0), (1.5, 1, 0, 3000, 0), (2.5, 1, 0, 5000, 0), (2.5, 1, 2, 1000, 0),
          (2.5, 1, 3, 7000, 0)], [(0, 3.0), (2, 9.0), (3, float("nan"))]),
        ([], [(0, 5.0)]),
    ])
    tables = pair_rates.replications(run, None)
    assert pair_rates.before_completion(tables, 1, 2) == {-8: 500.0, -2: 2500.0}
    assert pair_rates.before_completion(tables, 1, 1) == {-7: 500.0, -2: 1500.0, -1: 1000.0}


def test_bad_sources_are_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit, match="no such run directory"):
        pair_rates.replications(tmp_path / "nothing", None)
    (tmp_path / "empty" / "replications").mkdir(parents=True)
    with pytest.raises(SystemExit, match="--trace-connections"):
        pair_rates.replications(tmp_path / "empty", None)
    d = tmp_path / "narrow" / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame([(0.5, 1, 0, 0)], columns=COLS[:4]).to_csv(d / "connections.csv", index=False)
    with pytest.raises(SystemExit, match="total_down_bytes"):
        pair_rates.replications(tmp_path / "narrow", None)
    with pytest.raises(SystemExit):
        pair_rates.main([str(tmp_path), "--local", "1", "--from", "5", "--to", "5"])
    assert "must be after" in capsys.readouterr().err
    for args, said in ((["--runs", "0"], "at least 1"), (["--bin", "0"], "positive"),
                       (["--served-seconds", "--remote", "2"], "do not apply"),
                       (["--served-seconds", "--before-completion"], "one at a time"),
                       (["--each-run", "--before-completion"], "--each-run applies")):
        with pytest.raises(SystemExit):
            pair_rates.main([str(tmp_path), "--local", "1", *args])
        assert said in capsys.readouterr().err
    # --served-seconds needs the choke and interest columns: named, with the run directory
    with pytest.raises(SystemExit, match="remote_interested"):
        pair_rates.main([str(tmp_path / "narrow"), "--local", "1", "--served-seconds"])


def test_main_prints_one_row_per_source(tmp_path, capsys):
    run = _run(tmp_path / "lab", [([(0.5, 1, 0, 0, 0), (1.5, 1, 0, 4000, 0)], [(0, 2.0)])])
    assert pair_rates.main([str(run), "--local", "1", "--to", "2"]) == 0
    assert capsys.readouterr().out.strip() == f"lab (1): 0 4  total {4000 / 2**20:.2f} MiB"
    assert pair_rates.main([str(run), "--local", "1", "--before-completion"]) == 0
    assert capsys.readouterr().out.strip() == "lab (1): -2:4  total 4 kB"


def test_served_seconds_by_hand(tmp_path):
    cols = ["t_s", "local", "remote", "total_up_bytes", "total_down_bytes", "choked", "remote_interested"]
    # subject (0) to leecher 2: unchoked and interested at 0 and 1 s, choked at 2 s; sends 3,000 B
    # in [0,1), nothing in [1,2), 5,000 in [2,3) (choked at its start: not a served second);
    # leecher 3 interested but choked throughout; peer 1 (the seed) is not a leecher
    rows = [(0.0, 0, 2, 0, 0, 0, 1), (0.9, 0, 2, 3000, 0, 0, 1), (1.5, 0, 2, 3000, 0, 0, 1),
            (2.0, 0, 2, 3000, 0, 1, 1), (2.9, 0, 2, 8000, 0, 1, 1),
            (0.0, 0, 3, 0, 0, 1, 1), (2.9, 0, 3, 0, 0, 1, 1),
            (0.0, 0, 1, 0, 0, 0, 1), (2.9, 0, 1, 9000, 0, 0, 1)]
    d = tmp_path / "run" / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame(rows, columns=cols).to_csv(d / "connections.csv", index=False)
    tables = pair_rates.replications(tmp_path / "run", None)
    assert sorted(pair_rates.served_seconds(tables, 0, 0, 3).tolist()) == [0.0, 3000.0]


def test_each_run_total_by_hand(tmp_path, capsys):
    # peer 1 sends 2 MiB by 1.5 s in replication 0 and 1 MiB in replication 1 (and 3 MiB more at
    # 4.5 s, after --to 2): mean total 1.5 MiB; each run 2 and 1
    mib = 2**20
    run = _run(tmp_path / "lab", [([(0.5, 1, 0, 0, 0), (1.5, 1, 0, 2 * mib, 0)], [(0, 2.0)]),
                                  ([(0.5, 1, 0, 0, 0), (1.5, 1, 0, mib, 0), (4.5, 1, 0, 4 * mib, 0)], [(0, 5.0)])])
    assert pair_rates.main([str(run), "--local", "1", "--to", "2", "--each-run"]) == 0
    first, each = capsys.readouterr().out.strip().splitlines()
    assert first.endswith("total 1.50 MiB")
    assert each == "lab (2): each run's total, MiB: 2.00 1.00"
