"""validation/traces/read_split.py on a run directory written by hand, and the model's trace columns
it reads (receive quota, read state, upload queue) against the model's own state."""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_path = Path(__file__).parents[1] / "validation/traces/read_split.py"
sys.path.insert(0, str(_path.parent))
_spec = importlib.util.spec_from_file_location("read_split", _path)
read_split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(read_split)

COLS = ["t_s", "local", "remote", "total_down_bytes", "download_queue_length", "upload_queue_length",
        "receive_quota", "read_state"]


def _run(root: Path, conns: list[tuple], roles: list[str]) -> Path:
    d = root / "replications" / "0000"
    d.mkdir(parents=True)
    pd.DataFrame(conns, columns=COLS).to_csv(d / "connections.csv", index=False)
    pd.DataFrame({"peer": range(len(roles)), "role": roles}).to_csv(d / "peers.csv", index=False)
    return root


def test_split_by_hand(tmp_path):
    # peer 0 subject, 1 seed, 2 and 3 leechers. Window 10-20 s.
    # leecher 2 receives from the subject 100,000 B (rows at 10 and 19.5 s), from the seed 300,000 B;
    # leecher 3 receives from the subject 200,000 B. The subject's rows toward 2 and 3 carry its
    # upload queue (4 and 2 blocks); leecher 2's rows carry its queue, quota and read state.
    rows = [
        (10.0, 2, 0, 1_000, 10, 0, 5_000, "limit"), (19.5, 2, 0, 101_000, 20, 0, 15_000, "idle"),
        (10.0, 2, 1, 0, 30, 0, 0, "limit+network"), (19.5, 2, 1, 300_000, 30, 0, 0, "limit"),
        (10.0, 3, 0, 0, 5, 0, 1_000, "idle"), (19.5, 3, 0, 200_000, 5, 0, 1_000, "idle"),
        (10.0, 0, 2, 0, 0, 4, 0, "idle"), (19.5, 0, 2, 0, 0, 4, 0, "idle"),
        (10.0, 0, 3, 0, 0, 2, 0, "idle"), (19.5, 0, 3, 0, 0, 2, 0, "idle"),
        (25.0, 2, 0, 999_999, 99, 99, 99, "limit"),  # outside the window: not read
    ]
    run = _run(tmp_path / "run", rows, ["subject", "seed", "leecher", "leecher"])
    t = read_split.split(run, 10.0, 20.0, None).set_index("connection")
    s = t.loc["subject -> leecher"]
    assert s["connections"] == 2
    assert s["kB/s"] == pytest.approx((100_000 + 200_000) / 10 / 2 / 1000)
    assert s["upload queue"] == pytest.approx(3.0)  # 4, 4, 2, 2
    assert s["downloader's queue"] == pytest.approx((10 + 20 + 5 + 5) / 4)
    assert s["receive quota"] == pytest.approx((5_000 + 15_000 + 1_000 + 1_000) / 4)
    assert s["waits to read"] == pytest.approx(0.25)
    d = t.loc["seed -> leecher"]
    assert d["kB/s"] == pytest.approx(30.0)
    assert d["waits to read"] == pytest.approx(1.0)  # "limit+network" waits too
    assert math.isnan(d["upload queue"])  # the seed's own rows are not in this trace


def test_bad_input_is_a_clear_error(tmp_path):
    run = _run(tmp_path / "run", [(10.0, 1, 0, 0, 0, 0, 0, "idle")], ["subject", "seed"])
    with pytest.raises(SystemExit, match="must be after"):
        read_split.split(run, 20.0, 10.0, None)
    pd.DataFrame({"peer": [0, 1]}).to_csv(run / "replications" / "0000" / "peers.csv", index=False)
    with pytest.raises(SystemExit, match="peers.csv: no 'role' column"):
        read_split.split(run, 0.0, 20.0, None)


def test_model_trace_reads_the_model_state():
    """The model's connections.csv columns receive_quota, read_state and upload_queue_length are
    the downloader's held download quota, whether its download request waits, and the requests
    at the uploader not yet served (none when the downloader asks nothing)."""
    from sim.engine import SwarmRun
    from sim.kernels.topology import BLOCK_BYTES
    from sim.scenario import load_scenario
    sc = load_scenario(Path(__file__).parents[1] / "validation/holdout/h12-leechers-download-600k.toml")
    run = SwarmRun(sc, 0, np.random.SeedSequence(7), keep_state=True)
    run.start()
    run.env.run(until=20.0)
    run._trace_parts = []
    run._trace(20.0)
    part = run._trace_parts[-1]
    pa, ea = run.pa, run.ea
    waiting = 0
    for i, (u, v) in enumerate(zip(part["local"], part["remote"])):
        k = int(np.nonzero(ea.nbr[u, :pa.deg[u]] == v)[0][0])
        kv = ea.rev[u, k]
        assert part["receive_quota"][i] == int(ea.dl_held[u, k])
        assert part["read_state"][i] == ("limit" if ea.dl_req[u, k] > 0 else "idle")
        waiting += ea.dl_req[u, k] > 0
        expect = max(ea.rq_open[v, kv] - ea.credit[v, kv], 0.0) // BLOCK_BYTES if ea.cur_piece[v, kv] >= 0 else 0
        assert part["upload_queue_length"][i] == expect
    assert waiting > 0  # capped leechers wait for download quota at 20 s
