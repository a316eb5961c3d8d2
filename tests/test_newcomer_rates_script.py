"""validation/traces/newcomer_rates.py on a run directory written by hand."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location(
    "newcomer_rates", Path(__file__).parents[1] / "validation/traces/newcomer_rates.py")
nr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nr)

PEERS = ["peer", "role", "join_s", "complete_s"]


def _replication(root: Path, i: int, conns: list[tuple], peers: list[tuple]) -> None:
    rep = root / "replications" / f"{i:04d}"
    rep.mkdir(parents=True)
    pd.DataFrame(conns, columns=["t_s", "local", "remote", "total_up_bytes"]).to_csv(
        rep / "connections.csv", index=False)
    pd.DataFrame(peers, columns=PEERS).to_csv(rep / "peers.csv", index=False)


def test_rates_by_hand(tmp_path):
    # subject 0 joins at 10 s; leechers 2 and 3; seed 1 (not a leecher: not counted)
    peers = [(0, "subject", 10.0, float("nan")), (1, "seed", 0.0, float("nan")),
             (2, "leecher", 0.0, 10.5), (3, "leecher", 0.0, 30.0)]
    conns = [
        # leecher 2: to the subject 0 B by 10 s, 40,000 by 11 s, 100,000 by 12 s
        (10.0, 2, 0, 0), (11.0, 2, 0, 40_000), (12.0, 2, 0, 100_000),
        # leecher 2 to leecher 3: 500,000 by 10 s, 520,000 by 11 s, 520,000 by 12 s
        (10.0, 2, 3, 500_000), (11.0, 2, 3, 520_000), (12.0, 2, 3, 520_000),
        # leecher 3: nothing to the subject; to leecher 2: 0, 10,000, 30,000
        (10.0, 3, 2, 0), (11.0, 3, 2, 10_000), (12.0, 3, 2, 30_000),
        # the seed's upload is not a leecher's
        (10.0, 1, 0, 0), (12.0, 1, 0, 999_999),
    ]
    _replication(tmp_path, 0, conns, peers)
    t = nr.newcomer_table([tmp_path], 0, 2, None)
    # second 0: to the subject (40 + 0) / 2 = 20 kB/s; pairs 2->3 20, 3->2 10 -> 15; totals 60 and 10 -> 35
    # second 1: (60 + 0) / 2 = 30; pairs 0 and 20 -> 10; totals 60 and 20 -> 40
    assert t.to_newcomer.tolist() == [20.0, 30.0]
    assert t.to_leecher.tolist() == [15.0, 10.0]
    assert t.leecher_total.tolist() == [35.0, 40.0]
    # leecher 2 completed at 10.5 s: by 11 s and 12 s
    assert t.completed.tolist() == [1.0, 1.0]


def test_median_over_replications(tmp_path):
    peers = [(0, "subject", 0.0, float("nan")), (1, "leecher", 0.0, float("nan"))]
    for i, got in enumerate((10_000, 30_000, 50_000)):
        _replication(tmp_path, i, [(0.0, 1, 0, 0), (1.0, 1, 0, got)], peers)
    assert nr.newcomer_table([tmp_path], 0, 1, None).to_newcomer.tolist() == [30.0]
    assert nr.newcomer_table([tmp_path], 0, 1, 2).to_newcomer.tolist() == [20.0]  # --runs 2


def test_clear_errors(tmp_path, capsys):
    with pytest.raises(SystemExit, match="no such run directory"):
        nr.newcomer_table([tmp_path / "nothing"], 0, 1, None)
    _replication(tmp_path, 0, [(0.0, 1, 0, 0)], [(0, "subject", float("nan"), float("nan")),
                                                   (1, "leecher", 0.0, float("nan"))])
    with pytest.raises(SystemExit, match="never joined"):
        nr.newcomer_table([tmp_path], 0, 1, None)
    with pytest.raises(SystemExit):
        nr.main([str(tmp_path), "--seconds", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_spare_summary_by_hand():
    # replication a: leecher 2 spare (sends the others 10 kB/s) gives the newcomer 400; leecher 3 busy
    # replication b: leechers 2 and 3 both spare (0 and 50 kB/s to the others): 300 and 100
    a = pd.DataFrame({"to_newcomer": [400.0, 16.0], "to_leechers": [10.0, 480.0]}, index=[2, 3])
    b = pd.DataFrame({"to_newcomer": [300.0, 100.0], "to_leechers": [0.0, 50.0]}, index=[2, 3])
    s = nr.spare_summary([a, b], 100.0)
    assert s["spare_leechers"] == 3.0
    assert s["spare_to_newcomer"] == 300.0  # median of 400, 300, 100
    assert s["largest_giver"] == 350.0  # median of 400 and 300
    assert s["all_leechers"] == 408.0  # median of 416 and 400
    assert nr.spare_summary([a, b], 5.0)["spare_leechers"] == 1.0  # only b's leecher 2


def test_each_leecher_by_hand(tmp_path):
    peers = pd.DataFrame([(0, "subject", 10.0, float("nan")), (2, "leecher", 0.0, float("nan")),
                          (3, "leecher", 0.0, float("nan"))], columns=PEERS)
    conns = pd.DataFrame([(11.0, 2, 0, 0), (13.0, 2, 0, 600_000), (11.0, 2, 3, 100_000), (13.0, 2, 3, 140_000),
                          (11.0, 3, 2, 0), (13.0, 3, 2, 0)], columns=["t_s", "local", "remote", "total_up_bytes"])
    e = nr.each_leecher(conns, peers, 0, 1, 3)  # 11 s to 13 s: 2 s
    assert e.loc[2].tolist() == [300.0, 20.0]
    assert e.loc[3].tolist() == [0.0, 0.0]


def test_each_leecher_names_a_newcomer_that_never_joined():
    peers = pd.DataFrame([(0, "subject", float("nan"), float("nan")), (2, "leecher", 0.0, float("nan"))],
                         columns=PEERS)
    conns = pd.DataFrame([(1.0, 2, 0, 0)], columns=["t_s", "local", "remote", "total_up_bytes"])
    with pytest.raises(SystemExit, match="peer 0 never joined"):
        nr.each_leecher(conns, peers, 0, 1, 2)
    with pytest.raises(SystemExit, match="peer 5 never joined"):
        nr.each_leecher(conns, peers, 5, 1, 2)
