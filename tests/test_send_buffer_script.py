"""validation/traces/send_buffer.py on run directories written by hand."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TRACES = Path(__file__).parents[1] / "validation/traces"
sys.path.insert(0, str(TRACES))  # the script imports its neighbour favourites.py, as when run from there
_spec = importlib.util.spec_from_file_location("send_buffer", TRACES / "send_buffer.py")
send_buffer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(send_buffer)

COLS = ["t_s", "local", "remote", "used_send_buffer", "upload_queue_length", "payload_up_bps"]


def _run(root: Path, reps: list[list[tuple]]) -> Path:
    for i, rows in enumerate(reps):
        d = root / "replications" / f"{i:04d}"
        d.mkdir(parents=True)
        pd.DataFrame(rows, columns=COLS).to_csv(d / "connections.csv", index=False)
    return root


def test_window_requests_and_ratio_by_hand(tmp_path):
    run = _run(tmp_path / "run", [
        [(10.0, 1, 0, 100_000, 10, 200_000),   # in: ratio 0.5
         (12.0, 1, 2, 30_000, 9, 40_000),      # in, but under 50 kB/s: no ratio
         (12.0, 1, 0, 90_000, 7, 200_000),     # too few requests waiting
         (20.0, 1, 0, 100_000, 10, 200_000),   # after the window
         (12.0, 0, 1, 50_000, 10, 100_000),    # another uploader
         (12.0, 1, -1, 50_000, 10, 100_000)],  # an unknown remote
        [(11.0, 1, 0, 150_000, 8, 250_000)],   # in: ratio 0.6
    ])
    s = send_buffer.samples(run, 1, None, 5.0, 20.0, 8)
    assert sorted(s.used_send_buffer.tolist()) == [30_000, 100_000, 150_000]
    out = send_buffer.summary(s)
    assert out["samples"] == 3
    assert np.allclose(out["buffer_s"], np.percentile([0.5, 0.6], [10, 50, 90]))
    assert np.allclose(out["send_buffer_bytes"], np.percentile([30_000, 100_000, 150_000], [10, 50, 90]))
    only_0 = send_buffer.samples(run, 1, 0, 5.0, 20.0, 8)
    assert sorted(only_0.used_send_buffer.tolist()) == [100_000, 150_000]


def test_no_traces_and_an_empty_window(tmp_path, capsys):
    (tmp_path / "bare" / "replications" / "0000").mkdir(parents=True)
    assert send_buffer.samples(tmp_path / "bare", 1, None, 0.0, 10.0, 8) is None
    run = _run(tmp_path / "run", [[(1.0, 1, 0, 100_000, 10, 200_000)]])
    assert send_buffer.main([str(run), "--local", "1", "--from", "5"]) == 0
    assert "no samples in the window" in capsys.readouterr().out
