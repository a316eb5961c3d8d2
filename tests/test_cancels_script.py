"""validation/traces/cancels.py on peer logs written by hand."""

import gzip

import pytest

from validation.traces import cancels

HEADER = "t_s,remote_ip,remote_port,direction,event,detail\n"


def _log(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + "".join(line + "\n" for line in lines))


def test_counts_by_hand(tmp_path, capsys):
    # peer 2 asks block (3, 0x4000) of two peers and gets it twice; (3, 0) of two peers, once;
    # (4, 0) of one peer; it writes one CANCEL. Peer 3's log: nothing asked, no CANCEL.
    raw = tmp_path / "run" / "replications" / "0000" / "raw"
    _log(raw / "peer-0002-peerlog.csv.gz", [
        "1.0,127.0.0.3,1,==>,REQUEST,piece: 3 s: 4000 l: 4000",
        "1.1,127.0.0.4,1,==>,REQUEST,piece: 3 s: 4000 l: 4000",
        "1.2,127.0.0.3,1,==>,REQUEST,piece: 3 s: 0 l: 4000",
        "1.3,127.0.0.4,1,==>,REQUEST,piece: 3 s: 0 l: 4000",
        "1.4,127.0.0.3,1,==>,REQUEST,piece: 4 s: 0 l: 4000",
        "2.0,127.0.0.3,1,<==,PIECE,piece: 3 s: 4000 l: 4000",
        "2.1,127.0.0.4,1,<==,PIECE,piece: 3 s: 4000 l: 4000",
        "2.2,127.0.0.3,1,<==,PIECE,piece: 3 s: 0 l: 4000",
        "2.3,127.0.0.4,1,==>,CANCEL,piece: 3 s: 0 l: 4000",
        "2.4,127.0.0.3,1,<==,REQUEST,piece: 9 s: 0 l: 4000",  # a request received: not counted
    ])
    _log(raw / "peer-0003-peerlog.csv.gz", ["0.5,127.0.0.2,1,***,CONNECTION,ep"])
    assert cancels.peer_log_counts(raw / "peer-0002-peerlog.csv.gz") == (1, 3, 2, 1)
    cancels.main([str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert "0000/peer-0002-peerlog.csv.gz: 1 CANCEL written; 3 blocks asked, 2 of them of two peers or more, " \
           "1 of those received twice or more" in out
    assert "1 CANCEL written in 2 peer logs; blocks asked of two peers or more 2, received twice or more 1" in out


def test_bad_input_is_named(tmp_path):
    with pytest.raises(SystemExit, match="record with --peer-log"):
        cancels.run_counts(tmp_path)
    bad = tmp_path / "replications" / "0000" / "raw" / "peer-0001-peerlog.csv.gz"
    bad.parent.mkdir(parents=True)
    with gzip.open(bad, "wt") as fh:
        fh.write("t_s,event\n1,REQUEST\n")
    with pytest.raises(SystemExit, match=r"peer-0001-peerlog.csv.gz: missing column\(s\) detail, direction"):
        cancels.run_counts(tmp_path)
