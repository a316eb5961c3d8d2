"""forensics.lab.shares on a hand-made raw/ directory: the matrix and rates it reads, and the
errors it gives for missing or malformed logs (the real-lab test is tests/lab/test_lab_swarm.py)."""

import io
import json

import numpy as np
import pytest

from forensics.errors import UserError
from forensics.lab.shares import load_uploads, main

BLOCK = 16 * 1024


def _raw(tmp_path):
    raw = tmp_path / "run" / "replications" / "0000" / "raw"
    raw.mkdir(parents=True)
    peers = [(0, 0, "127.9.0.2"), (1, 1, "127.9.0.3"), (2, 2, "127.9.0.4")]
    for i, role, ip in peers:
        (raw / f"peer-{i:04d}.json").write_text(json.dumps({"index": i, "role": role, "ip": ip, "join_s": float(i)}))
    (raw / "subject-blocks.csv").write_text("t_s,peer_ip,piece,block\n0.5,127.9.0.4,0,0\n")
    (raw / "peer-0001-blocks.csv").write_text(
        "t_s,peer_ip,piece,block\n0.1,127.9.0.2,0,0\n0.2,127.9.0.2,0,1\n1.5,127.9.0.4,1,0\n")
    (raw / "peer-0002-blocks.csv").write_text("t_s,peer_ip,piece,block\n")
    return raw


def test_matrix_and_rates(tmp_path):
    up = load_uploads(_raw(tmp_path))
    m = up.matrix_bytes()
    assert m.tolist() == [[0, 0, BLOCK], [2 * BLOCK, 0, BLOCK], [0, 0, 0]]
    starts, rates = up.rates(1, 1.0)
    assert starts.tolist() == [0.0, 1.0]
    assert rates[:, 0].tolist() == [2 * BLOCK, 0] and rates[:, 2].tolist() == [0, BLOCK]
    out = io.StringIO()
    assert main([str(tmp_path / "run"), "--window-s", "1"], out=out) == 0
    assert "peer 1 (seed): upload to each receiver" in out.getvalue()


@pytest.mark.parametrize("damage, message", [
    (lambda raw: (raw / "peer-0002-blocks.csv").unlink(), "record the run with 'leechsim lab --all-blocks'"),
    (lambda raw: (raw / "peer-0001-blocks.csv").write_text("x,y\n1,2\n"), "expected a header with columns t_s and peer_ip"),
    (lambda raw: (raw / "peer-0001-blocks.csv").write_text("t_s,peer_ip\nsoon,127.9.0.2\n"), "line 2: expected columns"),
    (lambda raw: (raw / "peer-0001-blocks.csv").write_text("t_s,peer_ip\n1,127.200.0.9\n"), "which is no peer of this run"),
    (lambda raw: (raw / "peer-0002.json").write_text("{"), "not a lab peer record"),
])
def test_bad_logs_name_the_file(tmp_path, damage, message):
    raw = _raw(tmp_path)
    damage(raw)
    with pytest.raises(UserError, match=message) as e:
        load_uploads(raw)
    assert str(raw) in str(e.value)


def test_bad_arguments_exit_2(tmp_path, capsys):
    _raw(tmp_path)
    assert main([str(tmp_path / "run"), "--uploader", "9"]) == 2
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    assert np.isfinite(load_uploads(tmp_path / "run" / "replications" / "0000" / "raw").t_s).all()
