"""validation/traces/in_transit.py on peer logs and traces written by hand."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location("in_transit", Path(__file__).parents[1] / "validation/traces/in_transit.py")
in_transit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(in_transit)

COLS = ["t_s", "local", "remote", "direction", "event", "detail"]


def test_request_transit_by_hand():
    log = pd.DataFrame([
        # leecher 2 asks the subject for piece 5 block 0 at 1.0 s, read at 1.5 s; block 1 at 1.0 s, read at 1.75 s
        (1.0, 2, 0, "==>", "REQUEST", "piece: 5 s: 0 l: 16384 ds: 0B/s"),
        (1.0, 2, 0, "==>", "REQUEST", "piece: 5 s: 16384 l: 16384 ds: 0B/s"),
        (1.5, 0, 2, "<==", "REQUEST", "piece: 5 s: 0 l: 16384"),
        (1.75, 0, 2, "<==", "REQUEST", "piece: 5 s: 16384 l: 16384"),
        # leecher 3 asks the seed at 2.0 s, read at 2.002 s
        (2.0, 3, 1, "==>", "REQUEST", "piece: 7 s: 0 l: 16384"),
        (2.002, 1, 3, "<==", "REQUEST", "piece: 7 s: 0 l: 16384"),
        # written after the window: not counted; never read: not counted; other events ignored
        (30.0, 2, 0, "==>", "REQUEST", "piece: 9 s: 0 l: 16384"),
        (3.0, 2, 0, "==>", "REQUEST", "piece: 8 s: 0 l: 16384"),
        (3.0, 0, 2, "==>", "HAVE", "piece: 8"),
    ], columns=COLS)
    d = in_transit.request_transit(log, 25.0).sort_values("transit_s").reset_index(drop=True)
    assert d.writer.tolist() == [3, 2, 2] and d.reader.tolist() == [1, 0, 0]
    assert d.transit_s.round(3).tolist() == [0.002, 0.5, 0.75]


def test_in_transit_share_by_hand():
    rows = [  # t_s, local, remote, download_queue_length, upload_queue_length
        (0.1, 2, 0, 10, None), (0.1, 0, 2, None, 2),   # 8 of 10 still at the leecher
        (0.2, 2, 0, 4, None), (0.2, 0, 2, None, 4),    # all 4 at the subject
        (0.3, 2, 0, 0, None), (0.3, 0, 2, None, 0),    # nothing out: not a sample
        (30.0, 2, 0, 9, None), (30.0, 0, 2, None, 0),  # after the window
    ]
    t = pd.DataFrame(rows, columns=["t_s", "local", "remote", "download_queue_length", "upload_queue_length"])
    n, out, transit = in_transit.in_transit_share(t, 25.0)
    assert n == 2 and out == pytest.approx(7.0) and transit == pytest.approx(4.0)


def test_have_to_block_by_hand():
    log = pd.DataFrame([
        # the subject gets piece 4's last block at 2.000 s, announces it to leecher 2 at 2.001 s
        (1.9, 0, 1, "<==", "PIECE", "piece: 4 s: 0 l: 16384"),
        (2.0, 0, 1, "<==", "PIECE", "piece: 4 s: 16384 l: 16384"),
        (2.001, 0, 2, "==>", "HAVE", "piece: 4"),
        # leecher 2 had asked for piece 4 elsewhere before (ignored: before the HAVE), asks the subject at 2.101 s
        (1.0, 2, 0, "==>", "REQUEST", "piece: 4 s: 0 l: 16384"),
        (2.101, 2, 0, "==>", "REQUEST", "piece: 4 s: 0 l: 16384"),
        (2.601, 0, 2, "<==", "REQUEST", "piece: 4 s: 0 l: 16384"),
        (2.9, 2, 0, "<==", "PIECE", "piece: 4 s: 0 l: 16384"),
        (3.001, 2, 0, "<==", "PIECE", "piece: 4 s: 16384 l: 16384"),
        # piece 6 announced but never asked for: no chain
        (3.5, 0, 1, "<==", "PIECE", "piece: 6 s: 0 l: 16384"),
        (3.5, 0, 2, "==>", "HAVE", "piece: 6"),
    ], columns=COLS)
    chains, have_after = in_transit.have_to_block(log)
    assert len(chains) == 1
    row = chains.iloc[0]
    assert row.piece == 4 and row.request_s == pytest.approx(0.1) and row.last_block_s == pytest.approx(1.0)
    assert row.arrive_s == pytest.approx(0.5)
    assert have_after.round(3).to_dict() == {4.0: 0.001, 6.0: 0.0}


def test_queue_time_by_hand():
    # leecher 2's queue at the subject: 4 blocks for 1 s, then 0 for 1 s; 8 blocks received in
    # the 2 s -> 4 block-seconds, 2 s, 8 blocks (Little: 0.5 s a block); a row after the window
    # and the subject's own rows are not read
    t = pd.DataFrame([(0.0, 2, 0, 4, 0), (1.0, 2, 0, 0, 4 * 16384), (2.0, 2, 0, 0, 8 * 16384),
                      (30.0, 2, 0, 9, 20 * 16384), (1.0, 0, 2, 7, 0)],
                     columns=["t_s", "local", "remote", "download_queue_length", "total_down_bytes"])
    assert in_transit.queue_time(t, 25.0) == (pytest.approx(4.0), pytest.approx(2.0), pytest.approx(8.0))


def test_by_window_by_hand():
    # leecher REQUESTs to the subject written at 1, 2 and 12 s (transits 0.1, 0.3, 2.0); one to
    # the seed and one by the subject are not counted; nothing written in [20, 30)
    d = pd.DataFrame({"writer": [2, 3, 2, 2, 0], "reader": [0, 0, 0, 1, 2],
                      "written_s": [1.0, 2.0, 12.0, 3.0, 4.0], "transit_s": [0.1, 0.3, 2.0, 0.0, 0.0]})
    w = in_transit.by_window(d, [0.0, 10.0, 20.0, 30.0])
    assert [(a, b, n) for a, b, n, _, _ in w] == [(0.0, 10.0, 2), (10.0, 20.0, 1), (20.0, 30.0, 0)]
    assert w[0][3] == pytest.approx(0.2) and w[0][4] == pytest.approx(0.28)
    assert w[1][3] == pytest.approx(2.0)
    assert w[2][3] != w[2][3]  # nan: no request in the window


def test_windows_option_errors_and_output(tmp_path, capsys):
    d = tmp_path / "log" / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame([(1.0, 2, 0, "==>", "REQUEST", "piece: 5 s: 0 l: 16384"),
                  (1.5, 0, 2, "<==", "REQUEST", "piece: 5 s: 0 l: 16384")], columns=COLS).to_csv(d / "peer_log.csv", index=False)
    for args, said in ((["--windows", "0,10"], "give --peer-log"),
                       (["--peer-log", str(tmp_path / "log"), "--windows", "10,5"], "increasing"),
                       (["--peer-log", str(tmp_path / "log"), "--windows", "0,a"], "separated by commas"),
                       (["--peer-log", str(tmp_path / "log"), "--windows", "0,60"], "raise --to")):
        with pytest.raises(SystemExit):
            in_transit.main(["--traces", str(tmp_path), *args] if args[0] == "--windows" else args)
        assert said in capsys.readouterr().err
    in_transit.main(["--peer-log", str(tmp_path / "log"), "--windows", "0,10,20"])
    out = capsys.readouterr().out
    assert "0-10 s:     1 requests, median 0.50 s, 90th 0.50 s" in out
    assert "10-20 s:     0 requests\n" in out


def test_unread_bytes_by_hand():
    # leecher 2 has written 50,000 B to the subject by 1.0 s, which has read 20,000 of them; at
    # 2.0 s both 60,000 (none unread); leecher 3 -> leecher 2 10,000 written, 4,000 read at 1.0 s;
    # the subject's own writes are not a leecher's; a sample outside [1, 3) is not counted
    cols = ["t_s", "local", "remote", "total_up_bytes", "total_down_bytes"]
    t = pd.DataFrame([(1.0, 2, 0, 50000, 0), (1.0, 0, 2, 0, 20000), (2.0, 2, 0, 60000, 0), (2.0, 0, 2, 0, 60000),
                      (1.0, 3, 2, 10000, 0), (1.0, 2, 3, 0, 4000), (1.0, 0, 3, 9000, 0), (1.0, 3, 0, 0, 1000),
                      (3.0, 2, 0, 90000, 0), (3.0, 0, 2, 0, 60000)], columns=cols)
    u = in_transit.unread_bytes(t, 1.0, 3.0).sort_values(["reader", "unread"]).reset_index(drop=True)
    # each row is one direction's sample: leecher 3 -> subject (0 written, 0 read) and leecher 2 ->
    # leecher 3 (0 and 0) count too, with nothing unread
    assert u.reader.tolist() == [0, 0, 0, 2, 3] and u.unread.tolist() == [0, 0, 30000, 6000, 0]


def test_unread_option_output_and_errors(tmp_path, capsys):
    d = tmp_path / "lab" / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame([(1.0, 2, 0, 50000, 0), (1.0, 0, 2, 0, 20000)],
                 columns=["t_s", "local", "remote", "total_up_bytes", "total_down_bytes"]).to_csv(d / "connections.csv", index=False)
    in_transit.main(["--unread", str(tmp_path / "lab"), "--to", "5"])
    assert "lab leecher -> subject: unread 30.0 kB mean, 30.0 median" in capsys.readouterr().out
    bad = tmp_path / "bad" / "replications" / "0000"
    bad.mkdir(parents=True)
    pd.DataFrame([(1.0, 2, 0)], columns=["t_s", "local", "remote"]).to_csv(bad / "connections.csv", index=False)
    with pytest.raises(SystemExit, match="lacks the columns .*total_down_bytes"):
        in_transit.main(["--unread", str(tmp_path / "bad")])
    with pytest.raises(SystemExit, match="--trace-connections"):
        in_transit.main(["--unread", str(tmp_path)])  # no replications/NNNN/connections.csv
    with pytest.raises(SystemExit, match="no leecher's connection sampled at both ends between 2 and 5 s"):
        in_transit.main(["--unread", str(tmp_path / "lab"), "--from", "2", "--to", "5"])
    with pytest.raises(SystemExit):
        in_transit.main(["--unread", str(tmp_path / "lab"), "--from", "5", "--to", "2"])
    assert "must be after" in capsys.readouterr().err


def test_peer_log_without_its_columns_is_named(tmp_path):
    d = tmp_path / "log" / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame([(1.0, 2, 0)], columns=["t_s", "local", "remote"]).to_csv(d / "peer_log.csv", index=False)
    with pytest.raises(SystemExit, match="peer_log.csv: not a lab peer log .*direction"):
        in_transit.main(["--peer-log", str(tmp_path / "log")])
