"""sweep: the full grid of run directories, the summary table, value parsing."""

from __future__ import annotations

import csv
import json

import pytest

from forensics.errors import UserError
from forensics.overrides import grid, parse_vary, split_values
from forensics.rundir import integrity_problems
from sim.scenario import load_scenario

from .conftest import SCENARIO, run_cli


def test_sweep_produces_the_full_grid(tmp_path):
    """2 x 3 values give 6 cells, each a complete run directory with its values applied."""
    out = tmp_path / "sweep"
    code, stdout, err = run_cli("sweep", SCENARIO, "--vary", "subject.libtorrent.upload_rate_limit=0,50k",
                                "--vary", "swarm.leechers.count=2,4,6", "--runs", "2", "--workers", "1", "--out", out)
    assert code == 0, err
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert [r["cell"] for r in rows] == [f"cell-{i:03d}" for i in range(6)]
    combos = {(r["subject.libtorrent.upload_rate_limit"], r["swarm.leechers.count"]) for r in rows}
    assert combos == {(a, b) for a in ("0", "50000") for b in ("2", "4", "6")}
    for r in rows:
        cell = out / r["run_dir"]
        assert integrity_problems(cell) == []
        res = list(csv.DictReader(open(cell / "results.csv")))
        assert len(res) == 2
        assert int(res[0]["swarm_peers"]) == int(r["swarm.leechers.count"]) + 2  # + seed + subject
        med = sorted(float(x["subject_upload_total_bytes"]) for x in res)
        assert float(r["subject_upload_total_bytes_median"]) == (med[0] + med[1]) / 2
        man = json.loads((cell / "manifest.json").read_text())
        assert man["command"][:2] == ["leechsim", "simulate"] and man["replications"] == 2
    capped = [r for r in rows if r["subject.libtorrent.upload_rate_limit"] == "50000"]
    free = [r for r in rows if r["subject.libtorrent.upload_rate_limit"] == "0"]
    assert max(float(r["subject_upload_total_bytes_median"]) for r in capped) < min(
        float(r["subject_upload_total_bytes_median"]) for r in free)
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    meta = json.loads((out / "sweep.json").read_text())
    assert len(meta["cells"]) == 6 and meta["vary"][0]["values"] == [0, "50kB/s"]
    assert integrity_problems(out) == []
    assert "cell-005" in stdout


def test_rate_shorthand_and_toml_values():
    """'50k' is 50kB/s for a rate key; TOML values pass through; commas inside tables do not split."""
    sc = load_scenario(SCENARIO)
    key, given, values = parse_vary(sc, "subject.libtorrent.upload_rate_limit=0,50k,1.5M,64KiB/s")
    assert values == [0, "50kB/s", "1.5MB/s", "64KiB/s"]
    key, given, values = parse_vary(sc, 'swarm.seeds.upload={dist="uniform",low=1000,high=2000},500k')
    assert given[0] == '{dist="uniform",low=1000,high=2000}' and values[1] == "500kB/s"
    assert split_values("a,[1,2],{x=1,y='a,b'}") == ["a", "[1,2]", "{x=1,y='a,b'}"]
    assert len(grid([("a.b", ["1", "2"], [1, 2]), ("c", ["x", "y", "z"], ["x", "y", "z"])])) == 6


@pytest.mark.parametrize("text, message", [
    ("swarm.leechers.count=2,lots", "not a valid value for swarm.leechers.count"),
    ("swarm.leechers.count=50k", "was read as the rate"),
    ("subject.nonsense=1,2", "unknown key"),
    ("swarm.leechers.count", "expected KEY=V1,V2"),
    ("swarm.leechers.count=2,2", "listed twice"),
])
def test_bad_vary_is_a_user_error(text, message):
    """A bad --vary names the key, the value and what is wrong."""
    with pytest.raises(UserError, match=message):
        parse_vary(load_scenario(SCENARIO), text)


def test_bad_vary_exits_2_without_writing(tmp_path):
    """Through the CLI: exit 2, nothing written."""
    code, _, err = run_cli("sweep", SCENARIO, "--vary", "swarm.leechers.count=two", "--out", tmp_path / "s")
    assert code == 2 and "swarm.leechers.count" in err and not (tmp_path / "s").exists()


def test_cell_values_reach_simulate_as_toml():
    """A table value goes to simulate as an inline TOML table that --set reads back unchanged."""
    from forensics.overrides import Cell, parse_override, toml_inline

    value = {"dist": "uniform", "low": "500kB/s", "high": 2_000_000, "x y": [1.5, True, float("inf")]}
    (override,) = Cell(0, {"k": "given"}, {"swarm.seeds.upload": value}).overrides()
    assert parse_override(override) == ("swarm.seeds.upload", value)
    assert toml_inline("a\"b") == '"a\\"b"'


def test_verify_checks_every_cell_of_a_sweep(tmp_path):
    """verify on a sweep directory re-runs each cell; a changed cell output is named."""
    out = tmp_path / "sweep"
    code, _, err = run_cli("sweep", SCENARIO, "--vary", "swarm.leechers.count=2,3", "--runs", "1", "--workers", "1",
                           "--out", out)
    assert code == 0, err
    code, stdout, err = run_cli("verify", out, "--workers", "1")
    assert code == 0 and "all 2 cells" in stdout, err
    f = out / "cells" / "cell-001" / "results.csv"
    f.write_bytes(f.read_bytes().replace(b",", b";", 1))
    code, _, err = run_cli("verify", out, "--workers", "1")
    assert code == 1 and "cells/cell-001/results.csv" in err
