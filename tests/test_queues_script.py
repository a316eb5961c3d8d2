"""validation/traces/queues.py on run directories written by hand."""

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

_dir = Path(__file__).parents[1] / "validation/traces"
sys.path.insert(0, str(_dir))  # queues.py imports its neighbour favourites.py
_spec = importlib.util.spec_from_file_location("queues", _dir / "queues.py")
queues = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(queues)

COLS = ["t_s", "local", "remote", "interesting", "remote_choked", "download_queue_length", "payload_down_bps"]
PEERS = pd.DataFrame({"peer": [0, 1, 2, 3], "role": ["subject", "seed", "leecher", "leecher"],
                      "join_s": [10.0, 0.0, 0.0, 1.0]})


def _rep(root: Path, i: int, rows) -> Path:
    d = root / "replications" / f"{i:04d}"
    d.mkdir(parents=True)
    PEERS.to_csv(d / "peers.csv", index=False)
    pd.DataFrame(rows, columns=COLS).to_csv(d / "connections.csv", index=False)
    return d


def test_asking_in_time_by_hand(tmp_path):
    # the subject joins at 10 s; windows (0, 2] and (2, 4] after it: 10-12 s and 12-14 s.
    # (0, 2]: leecher 2 at 11 s open and asking 3 blocks at 40 kB/s; leecher 3 at 11 s open, nothing
    #         asked, 20 kB/s; leecher 2 at 12 s interested but choked (not open), 0 kB/s
    # (2, 4]: leecher 3 at 13 s open, asking 1 block, 60 kB/s
    # not counted: the seed's row (local 1), a leecher's row towards the seed (remote 1), a row at
    # 15 s (outside the windows), the subject's own row (local 0)
    rows = [(11.0, 2, 0, 1, 0, 3, 40_000), (11.0, 3, 0, 1, 0, 0, 20_000), (12.0, 2, 0, 1, 1, 0, 0),
            (13.0, 3, 0, 1, 0, 1, 60_000),
            (11.0, 1, 0, 0, 0, 0, 0), (11.0, 2, 1, 1, 0, 50, 99_000), (15.0, 2, 0, 1, 0, 5, 1),
            (11.0, 0, 2, 1, 0, 7, 5)]
    t = queues.summarise_in_time(_rep(tmp_path, 0, rows).parent.parent, None, [0, 2, 4])
    assert t.loc["interested and unchoked"].tolist() == pytest.approx([2 / 3, 1.0])
    assert t.loc["of those, asked something"].tolist() == pytest.approx([0.5, 1.0])
    assert t.loc["rate from the subject (kB/s)"].tolist() == pytest.approx([20.0, 60.0])


def test_replications_pool_their_samples(tmp_path):
    _rep(tmp_path, 0, [(11.0, 2, 0, 1, 0, 2, 10_000)])  # open, asked
    _rep(tmp_path, 1, [(11.0, 2, 0, 1, 0, 0, 0), (11.5, 3, 0, 1, 0, 0, 0), (11.5, 2, 0, 0, 0, 0, 0)])
    t = queues.summarise_in_time(tmp_path, None, [0, 2])
    assert t.iloc[:, 0].tolist() == pytest.approx([3 / 4, 1 / 3, 10 / 4])
    only_first = queues.summarise_in_time(tmp_path, 1, [0, 2])
    assert only_first.iloc[:, 0].tolist() == pytest.approx([1.0, 1.0, 10.0])


def test_cli_in_time(tmp_path, capsys):
    _rep(tmp_path, 0, [(11.0, 2, 0, 1, 0, 2, 10_000)])
    queues.main([str(tmp_path), "--in-time", "0", "2"])
    out = capsys.readouterr().out
    assert "leechers and the subject" in out and "of those, asked something" in out
    with pytest.raises(SystemExit):
        queues.main([str(tmp_path), "--in-time", "4", "2"])
    assert "increasing" in capsys.readouterr().err


def test_a_trace_without_queue_lengths_is_refused(tmp_path):
    _rep(tmp_path, 0, [(11.0, 2, 0, 1, 0, None, 10_000)])
    with pytest.raises(SystemExit, match="download_queue_length"):
        queues.summarise_in_time(tmp_path, None, [0, 2])
