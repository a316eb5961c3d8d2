"""validation/traces/subject_offer.py on a lab run directory written by hand, and the model side on
a small scenario (its counts checked against the model's own state)."""

import gzip
import importlib.util
from pathlib import Path

import pandas as pd

_spec = importlib.util.spec_from_file_location("subject_offer",
                                               Path(__file__).parents[1] / "validation/traces/subject_offer.py")
subject_offer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(subject_offer)


def _blocks(path: Path, rows: list[tuple]) -> None:
    # the lab's format: a 4-name header, each row with the receiver's port as a fifth value
    with gzip.open(path, "wt") as f:
        f.write("t_s,peer_ip,piece,block\n")
        for t, ip, piece, block in rows:
            f.write(f"{t},{ip},{piece},{block},40000\n")


def test_lab_pieces_by_hand(tmp_path):
    # two pieces of two blocks. The seed (peer 1, 127.9.0.3) sends the subject (peer 0, .2) piece 0
    # by 3.0 s and piece 1's first block at 4.0 s; it sends leecher 2 (.4) piece 1 by 1.0 s; the
    # subject sends leecher 2 piece 0's block 0 at 6.0 s (its block 1 twice: counted once), by 7.0 s
    d = tmp_path / "lab" / "replications" / "0000"
    (d / "blocks").mkdir(parents=True)
    _blocks(d / "blocks" / "peer-0001-blocks.csv.gz",
            [(1.0, "127.9.0.2", 0, 0), (3.0, "127.9.0.2", 0, 1), (4.0, "127.9.0.2", 1, 0),
             (0.5, "127.9.0.4", 1, 0), (1.0, "127.9.0.4", 1, 1)])
    _blocks(d / "blocks" / "subject-blocks.csv.gz",
            [(6.0, "127.9.0.4", 0, 0), (6.5, "127.9.0.4", 0, 1), (7.0, "127.9.0.4", 0, 1)])
    # the subject's connection to leecher 2 is open from 4 s; to the seed (not a leecher) throughout
    pd.DataFrame([(4.2, 0, 2), (5.2, 0, 2), (10.2, 0, 2), (0.2, 0, 1)],
                 columns=["t_s", "local", "remote"]).to_csv(d / "connections.csv", index=False)
    got = subject_offer.lab_pieces(str(tmp_path / "lab"))
    # at 5 s: the subject has piece 0, the leecher piece 1; at 10 s the leecher has both
    assert got[5] == [(1, 1, 1)]
    assert got[10] == [(0, 1, 1)]
    assert got[0] == []  # no connection to a leecher in [0, 1)


def test_model_pieces_counts_the_subjects_leechers(tmp_path):
    scenario = Path(__file__).parents[1] / "validation/holdout/h08-subject-4-connections.toml"
    got = subject_offer.model_pieces(str(scenario), 2)
    # the subject holds at most two leechers (four connections: the seed, itself for 3 s, two)
    assert 0 < len(got[10]) <= 2 * 2
    for s, rows in got.items():
        for mine, theirs, n in rows:
            assert 0 <= mine <= n <= 128 and 0 <= theirs <= 128
    assert max(n for _, _, n in got[30]) > max(n for _, _, n in got[10])  # it downloads


def test_a_directory_without_traces_is_a_clear_error(tmp_path, capsys):
    import pytest
    (tmp_path / "run" / "replications" / "0000").mkdir(parents=True)
    with pytest.raises(SystemExit, match=r"run: no replications/NNNN/ with connections.csv\*"):
        subject_offer.main([str(tmp_path / "run"), str(tmp_path / "run"), "x.toml"])
