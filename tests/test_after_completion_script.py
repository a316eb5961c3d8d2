"""validation/traces/after_completion.py on run directories written by hand."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "after_completion", Path(__file__).parents[1] / "validation/traces/after_completion.py")
after_completion = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(after_completion)

PEERS = "peer,role,join_s,complete_s\n"
LOG = "t_s,peer,piece,first_block,blocks,bytes\n"


def _rep(root: Path, name: str, peers: str, log: str) -> None:
    d = root / "replications" / name
    d.mkdir(parents=True)
    (d / "peers.csv").write_text(PEERS + peers)
    (d / "transfer_log.csv").write_text(LOG + log)


def test_leechers_left_and_subject_upload_by_hand(tmp_path):
    # run 0: the subject completes at 10 s; leecher 2 (joined first) at 9 s, leecher 3 at 11.5 s;
    #   the subject sends 3,000 B at 9.5 s (before: not counted), 2,000 B at 10.2 s, 1,000 B at 11.1 s
    # run 1: completes at 20 s; leecher 2 at 20.5 s, leecher 3 never; sends 4,000 B at 20.0 s
    # run 2: the subject never completes: left out
    _rep(tmp_path, "0000", "0,subject,0,10\n1,seed,0,\n2,leecher,1,9\n3,leecher,2,11.5\n",
         "9.5,2,0,0,1,3000\n10.2,3,0,0,1,2000\n11.1,3,0,1,1,1000\n")
    _rep(tmp_path, "0001", "0,subject,0,20\n1,seed,0,\n2,leecher,1,20.5\n3,leecher,2,\n", "20.0,2,0,0,1,4000\n")
    _rep(tmp_path, "0002", "0,subject,0,\n1,seed,0,\n2,leecher,1,30\n3,leecher,2,31\n", "")
    r = after_completion.after_completion(tmp_path, 3)
    assert r["runs"] == 2
    # still downloading at 0, 1, 2 s after: run 0 (1, 1, 0), run 1 (2, 1, 1)
    assert list(r["left"]) == [1.5, 1.0, 0.5]
    # kB in each second: run 0 (2.0, 1.0, 0), run 1 (4.0, 0, 0)
    assert list(r["sent_kB"]) == pytest.approx([3.0, 0.5, 0.0])
    # join order: leecher 2 (-1, +0.5) -> -0.25; leecher 3 (+1.5, never) -> +1.5
    assert list(r["done_after_subject_s"]) == [-0.25, 1.5]


def test_no_completed_subject_is_a_clear_error(tmp_path):
    _rep(tmp_path, "0000", "0,subject,0,\n1,seed,0,\n", "")
    with pytest.raises(SystemExit, match="no replication in which the subject completed"):
        after_completion.after_completion(tmp_path, 3)
