"""validation/traces/channel_ticks.py: the model stepped tick by tick is the traced run itself."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sim.engine import SwarmRun
from sim.montecarlo import replication_seeds
from sim.scenario import load_scenario

_spec = importlib.util.spec_from_file_location(
    "channel_ticks", Path(__file__).parents[1] / "validation/traces/channel_ticks.py")
ct = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ct)

SCENARIO = """
[torrent]
piece_size = "64KiB"
total_size = "2MiB"
[swarm.seeds]
count = 1
upload = "200kB/s"
[swarm.leechers]
arrival = "flash_crowd"
count = 3
spread_s = 1
upload = "100kB/s"
download = "1MB/s"
seed_time = "leave"
[subject]
join_s = 2
upload = "100kB/s"
download = "1MB/s"
[simulation]
horizon_s = 30
seed = 7
"""


def test_ticks_follow_the_traced_run(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    seed_peer = 1  # peer 0 is the subject, then the seeds
    rows = list(ct.ticks(path, 1, seed_peer, 3.0, 8.0))
    assert [t for t, _, _ in rows] == pytest.approx(np.arange(3.0, 8.0 + 1e-9, 0.5).tolist())
    limit = 200_000.0
    assert all(q <= 3 * limit for _, q, _ in rows)  # a channel saves at most 3 s of its limit
    # the same replication traced by the engine: the seed's bytes sent on each connection agree
    sc = load_scenario(path)
    traced = SwarmRun(sc, 1, replication_seeds(sc.simulation.seed, 2)[1], trace_connections=True).run()
    c = traced.extra["connections"]
    sent_somewhere = False
    for t, _, conns in rows:
        for v, sent, *_ in conns:
            at = (np.abs(c["t_s"] - t) < 1e-9) & (c["local"] == seed_peer) & (c["remote"] == v)
            assert at.sum() == 1
            assert float(c["total_up_bytes"][at][0]) == sent
            sent_somewhere |= sent > 0
    assert sent_somewhere


def test_bad_arguments_are_clear_errors(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    with pytest.raises(SystemExit, match="peers 0-"):
        list(ct.ticks(path, 0, 99, 0.0, 1.0))
    bad = tmp_path / "bad.toml"
    bad.write_text("[torrent]\npiece_size = 'huge'\n")
    with pytest.raises(SystemExit, match="bad.toml"):
        list(ct.ticks(bad, 0, 1, 0.0, 1.0))
    with pytest.raises(SystemExit, match="whole numbers"):
        ct.main([str(path), "zero", "1", "0", "1"])
    with pytest.raises(SystemExit, match="SCENARIO REPLICATION UPLOADER"):
        ct.main(["only-one"])
