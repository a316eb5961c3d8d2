"""validation/traces/redundant.py on a hand-made recording: redundant shares and the subject's copies."""

import gzip
import shutil

import pytest

from tests.conftest import ROOT
from validation.traces import redundant

SIZE = 24 * 1024 * 1024  # validation/v13-late-join-linger.toml's torrent
PEERS = "peer,role,join_s,complete_s,leave_s,downloaded_bytes\n"


def _write_blocks(path, rows):
    with gzip.open(path, "wt") as fh:
        fh.write("t_s,peer_ip,piece,block\n")
        for r in rows:
            fh.write(",".join(map(str, r)) + "\n")


@pytest.fixture
def recording(tmp_path):
    shutil.copy(ROOT / "validation" / "v13-late-join-linger.toml", tmp_path / "scenario.toml")
    rep = tmp_path / "replications" / "0000"
    (rep / "blocks").mkdir(parents=True)
    (rep / "peers.csv").write_text(
        PEERS
        + f"0,subject,40,70,70,{SIZE + SIZE // 100}\n"  # 1 % more than the torrent
        + f"1,seed,0,,,0\n"
        + f"2,leecher,1,60,,{SIZE + SIZE // 50}\n"  # 2 %
        + f"3,leecher,1,61,,{SIZE}\n"  # none
        + f"4,leecher,1,,,{SIZE // 2}\n")  # not completed: left out
    # the subject sent peer 2 four blocks: (5, 0) also sent by the seed earlier, (5, 1) by peer 3 later,
    # (5, 2) by the seed to someone else (not a copy), (6, 0) by nobody else
    _write_blocks(rep / "blocks" / "subject-blocks.csv.gz",
                  [(50.0, "127.1.0.4", 5, 0), (50.1, "127.1.0.4", 5, 1), (50.2, "127.1.0.4", 5, 2),
                   (50.3, "127.1.0.4", 6, 0)])
    _write_blocks(rep / "blocks" / "peer-0001-blocks.csv.gz",
                  [(49.0, "127.1.0.4", 5, 0), (49.5, "127.1.0.5", 5, 2)])
    _write_blocks(rep / "blocks" / "peer-0003-blocks.csv.gz", [(51.0, "127.1.0.4", 5, 1)])
    return tmp_path


def test_shares_by_hand(recording):
    leechers, subject = redundant.redundant_shares(recording)
    assert sorted(leechers) == pytest.approx([0.0, (SIZE // 50) / SIZE])
    assert subject == pytest.approx([(SIZE // 100) / SIZE])


def test_copies_by_hand(recording):
    assert redundant.subject_copies(recording) == (4, 2, 1)


def test_main_prints_and_rejects(recording, tmp_path, capsys):
    redundant.main([str(recording)])
    out = capsys.readouterr().out
    assert "also sent by another peer 50.0%, after the other copy 25.0% (of 4)" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="scenario.toml: missing"):
        redundant.main([str(empty)])


def test_table_against_a_model(recording, tmp_path, capsys):
    """--model-from reads the same scenario's replications in a validate output directory."""
    out = tmp_path / "validate-out"
    model = out / "sim" / recording.name
    shutil.copytree(recording, model)
    (model / "replications" / "0000" / "peers.csv").write_text(
        PEERS + f"0,subject,40,70,70,{SIZE}\n" + f"2,leecher,1,60,,{SIZE + SIZE // 200}\n")
    redundant.main([str(recording), "--model-from", str(out)])
    row = capsys.readouterr().out.splitlines()[1]
    assert row == f"{recording.name} | 1.00% | 0.50% | 50.0%, 25.0%"
    with pytest.raises(SystemExit, match="missing; run leechsim validate"):
        redundant.main([str(recording), "--model-from", str(tmp_path / "nowhere")])


def test_bad_peers_file_is_named(recording, capsys):
    """A peers.csv without the needed columns, or with a non-number, gets a one-line error naming the file."""
    peers = recording / "replications" / "0000" / "peers.csv"
    peers.write_text("peer,role,complete_s\n0,subject,70\n")
    with pytest.raises(SystemExit, match=r"peers.csv: missing column\(s\) downloaded_bytes"):
        redundant.main([str(recording)])
    peers.write_text(PEERS + "0,subject,40,seventy,70,100\n")
    with pytest.raises(SystemExit, match=r"peers.csv, line 2: complete_s and downloaded_bytes must be numbers"):
        redundant.main([str(recording)])


def test_copy_timing_by_hand(recording, capsys):
    """--copies: peer 2 got (5, 0) from the seed at 49.0 s and the subject at 50.0 s, and (5, 1) from
    the subject at 50.1 s and peer 3 at 51.0 s; (5, 2) and (6, 0) once, and peer 3 got (5, 2) once:
    2 of 5 blocks twice, gaps 1.0 and 0.9 s, sent 11.0 and 9.9 s before peer 2 completed (60 s).
    Peer 2's queue to the seed was 1 block (short), to the subject 10 (long, its sample at 49.9 s
    holds at 50.0 and 50.1 s), to peer 3 2 (short): one short-long pair, one long-short."""
    rep = recording / "replications" / "0000"
    (rep / "connections.csv").write_text(
        "t_s,local,remote,download_queue_length\n48.5,2,1,1\n49.9,2,0,10\n50.9,2,3,2\n51.5,2,3,\n")
    c = redundant.copy_timing(recording)
    assert (c["blocks"], c["copies"]) == (5, 2)
    assert sorted(c["gaps"]) == pytest.approx([0.9, 1.0])
    assert sorted(c["before"]) == pytest.approx([9.9, 11.0])
    assert c["pairs"] == {("short", "long"): 1, ("long", "short"): 1}
    redundant.main([str(recording), "--copies"])
    out = capsys.readouterr().out
    assert "40.00% of blocks sent twice or more (2 of 5)" in out
    assert "long-short 50%, short-long 50% (of 2)" in out
    (rep / "blocks").rename(rep / "no-blocks")
    with pytest.raises(SystemExit, match="record with --all-blocks"):
        redundant.main([str(recording), "--copies"])
