"""benchmarks/tick_cycles.py: its counted ticks are the model's ticks (same results, bit for bit),
its counters count, and its command line names bad input."""

import json

import numba
import numpy as np
import pytest

from sim.engine import SwarmRun
from sim.scenario import parse_scenario

pytestmark = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="the counted ticks are compiled code")

SCENARIO = {"torrent": {"total_size": "2MiB", "piece_size": "64KiB"},
            "swarm": {"leechers": {"count": 6, "spread_s": 5}}, "simulation": {"horizon_s": 300}}


def _columns(result):
    return {**result.log.columns(), **{f"peer.{k}": v for k, v in result.peers.items()}}


@pytest.mark.parametrize("max_batch_ticks", [None, 1])
def test_counted_ticks_give_the_models_results(max_batch_ticks):
    """Batched (swarm_ticks) and one tick per call (swarm_tick): what the counted ticks report
    describes the model only if they run its steps, in its order."""
    from benchmarks.tick_cycles import COUNTS, CYCLES, EVENTS, counted_ticks
    sc = parse_scenario(SCENARIO)
    fused = SwarmRun(sc, 0, np.random.SeedSequence(3), max_batch_ticks=max_batch_ticks).run()
    with counted_ticks():
        counted = SwarmRun(sc, 0, np.random.SeedSequence(3), max_batch_ticks=max_batch_ticks).run()
        cycles, counts = CYCLES.copy(), dict(zip(EVENTS, COUNTS.tolist()))
    assert counted.headline == fused.headline
    a, b = _columns(fused), _columns(counted)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # every tick counted once: the run's simulated time in ticks
    assert counts["ticks"] == round(fused.headline["end_s"] / sc.simulation.tick_s)
    assert 0 < counts["ticks_with_flows"] <= counts["ticks"] <= counts["flows"] + counts["ticks"]
    assert counts["flows"] >= counts["ticks_with_flows"]
    assert 0 < counts["conn_seconds_same"] <= counts["conn_seconds_within_block"] <= counts["conn_seconds"]
    assert cycles.sum() > 0


def test_the_engine_gets_its_own_ticks_back():
    import sim.engine as engine
    from benchmarks.tick_cycles import counted_ticks
    before = engine.swarm_tick, engine.swarm_ticks
    with pytest.raises(RuntimeError):
        with counted_ticks():
            assert engine.swarm_ticks is not before[1]
            raise RuntimeError("a failed run")
    assert (engine.swarm_tick, engine.swarm_ticks) == before


def test_a_scenario_run_reports_shares_that_add_up(tmp_path, capsys):
    from benchmarks.tick_cycles import STEPS, cli
    path = tmp_path / "small.toml"
    path.write_text('[torrent]\ntotal_size = "2MiB"\npiece_size = "64KiB"\n'
                    '[swarm.leechers]\ncount = 6\nspread_s = 5\n[simulation]\nhorizon_s = 300\n')
    assert cli([str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["share"]) == set(STEPS)
    assert sum(out["share"].values()) == pytest.approx(1.0)
    assert out["share"]["transfer_blocks"] > 0 and out["flows"] > 0
    assert out["cycles_per_tick"] == pytest.approx(out["cycles_total"] / out["ticks"])


def test_bad_input_is_named(tmp_path, capsys):
    from benchmarks.tick_cycles import cli
    bad = tmp_path / "bad.toml"
    bad.write_text('[simulation]\nhorizon_s = "soon"\n')
    assert cli([str(bad)]) == 2
    err = capsys.readouterr().err
    assert "horizon_s" in err and "Traceback" not in err
    assert cli([str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli([])  # neither a scenario nor --corpus-torrents
    with pytest.raises(SystemExit):
        cli(["--corpus-torrents", "0"])
    with pytest.raises(SystemExit):
        cli([str(bad), "--runs", "3"])  # --runs goes with --corpus-torrents
    assert "--corpus-torrents" in capsys.readouterr().err
