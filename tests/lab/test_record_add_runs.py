"""`leechsim validate --matrix DIR --record --add-runs`: runs added to a real recording.

One real recording of one run, cut to what was sent, then one run added: the first run stays byte
for byte, the new run is the replication the seed rule gives index 1 (its peers join when the plan
of replication 1 says, not replication 0), and the merged recording loads, counts two runs and
says in its manifest what was added, by which command, under which versions."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from forensics.calibration import _main as calibration_main
from forensics.lab.plan import plan_run
from forensics.rundir import load_run
from forensics.tables import read_columns
from sim.montecarlo import replication_seeds
from sim.scenario import load_scenario

from .conftest import STOP_SCENARIO, require_opentracker, run_cli, write_scenario

pytestmark = pytest.mark.lab


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_add_runs_keeps_the_recording_and_continues_its_seeds(tmp_path):
    require_opentracker()
    data = copy.deepcopy(STOP_SCENARIO)
    data["scenario"]["name"] = "lab-test-add-runs"
    data["swarm"]["leechers"]["spread_s"] = 3  # joins far enough apart to tell replication 0 from 1
    scenario = write_scenario(tmp_path, data)
    sc = load_scenario(scenario)
    seeds = replication_seeds(sc.simulation.seed, 2)
    plans = [[p.join_s for p in plan_run(sc, i, seeds[i], 100).peers] for i in (0, 1)]
    assert max(abs(a - b) for a, b in zip(*plans)) > 0.5  # the check below can tell them apart

    code, out, err = run_cli(["validate", "--matrix", tmp_path, "--record", "--lab-runs", "1"])
    assert code == 0, err
    rec = tmp_path / "recorded" / "lab-test-add-runs"
    assert calibration_main(["cut-to-sent", str(rec)]) == 0
    before = _hashes(rec / "replications" / "0000")
    rows_before = (rec / "results.csv").read_text().splitlines()
    cut_before = json.loads((rec / "manifest.json").read_text())["cut_to_sent"]

    code, out, err = run_cli(["validate", "--matrix", tmp_path, "--record", "--add-runs", "--lab-runs", "2"])
    assert code == 0, err
    assert "1 → 2 runs" in out

    run = load_run(rec)  # intact: hash list, scenario, results
    assert run.replications == 2
    assert _hashes(rec / "replications" / "0000") == before
    rows = (rec / "results.csv").read_text().splitlines()
    assert rows[:2] == rows_before and rows[2].startswith("1,")
    joined = read_columns(rec / "replications" / "0001" / "peers.csv")["join_s"]
    assert max(abs(j - p) for j, p in zip(joined, plans[1])) < 0.25, (list(joined), plans)
    man = json.loads((rec / "manifest.json").read_text())
    assert man["replications"] == 2 and "first_replication" not in man
    ext = man["extensions"]
    assert len(ext) == 1 and ext[0]["replications"] == [1]
    assert ext[0]["command"][:3] == ["leechsim", "validate", "--matrix"]
    assert ext[0]["lab"]["versions"]["libtorrent"] == man["lab"]["versions"]["libtorrent"]
    assert set(ext[0]["lab"]["host"]["load_1min_before_after"]) == {"0001"}
    # the first run's cut report stays as made; the new run has its own
    assert man["cut_to_sent"]["replications"]["0000"] == cut_before["replications"]["0000"]
    assert set(man["cut_to_sent"]["replications"]) == {"0000", "0001"}
    assert man["cut_to_sent"]["extended"][0]["replications"] == [1]
    assert (rec / "replications" / "0001" / "connections.csv.gz").is_file()
    assert not (rec / "replications" / "0001" / "raw").exists()
    assert sorted(p.name for p in rec.parent.iterdir()) == ["lab-test-add-runs"]  # nothing left beside it

    # a recording at the count already asked for gets nothing more
    whole = _hashes(rec)
    code, out, err = run_cli(["validate", "--matrix", tmp_path, "--record", "--add-runs", "--lab-runs", "2"])
    assert code == 0 and "1 → 2" not in out and "lab-test-add-runs 2" in out
    assert _hashes(rec) == whole
