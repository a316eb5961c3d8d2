"""The hold-out scenarios (validation/holdout/: written and recorded after the model, not part of the
matrix's targets) against their recorded lab runs (no lab needed).

docs/validation-holdout.json must be what the current model gives (`leechsim validate --matrix
validation/holdout --out runs/holdout --force`, then copy runs/holdout/validation.json to docs/), and
the hold-out table of validation/ANALYSIS.md ("model now") must quote it."""

import io
import json
import re
from pathlib import Path

import pytest

from leechsim.env import Environment
from leechsim.main import main
from tests.test_validation_matrix import _same

ROOT = Path(__file__).resolve().parents[1]
HOLDOUT = ROOT / "validation" / "holdout"


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("holdout") / "validation"
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["validate", "--matrix", str(HOLDOUT), "--out", str(out)], env)
    assert code == 0, env.stderr.getvalue()
    return json.loads((out / "validation.json").read_text())


def test_every_holdout_scenario_has_three_recorded_lab_runs_or_more():
    names = sorted(p.stem for p in HOLDOUT.glob("*.toml"))
    assert len(names) == 20
    for name in names:
        runs = list((HOLDOUT / "recorded" / name / "replications").glob("*/peers.csv"))
        assert len(runs) >= 3, name


def test_documented_holdout_is_the_current_models(comparison):
    documented = json.loads((ROOT / "docs" / "validation-holdout.json").read_text())
    assert comparison["summary"] == documented["summary"]
    assert len(comparison["rows"]) == len(documented["rows"]) == 60
    for got, doc in zip(comparison["rows"], documented["rows"]):
        bad = {k: (got[k], doc[k]) for k in got if not _same(got[k], doc[k])}
        assert not bad, (got["scenario"], got["quantity"], bad)


def test_analysis_table_quotes_the_current_model(comparison):
    text = (ROOT / "validation" / "ANALYSIS.md").read_text()
    text = text[text.index("### Hold-out check"):]  # its table (other sections compare recordings)
    rows = {r["scenario"][:3]: r for r in comparison["rows"] if r["quantity"] == "subject_upload_leech_bytes"}
    times = {r["scenario"][:3]: r for r in comparison["rows"] if r["quantity"] == "subject_download_time_s"}
    for name, r in rows.items():
        line = re.search(rf"^\| {name} \|.*$", text, re.M)
        assert line, name
        cells = [c.strip() for c in line.group(0).strip("|").split("|")]
        now = f"{100 * r['rel_error']:+.1f} %".replace("-", "−")
        assert cells[4] == now, (name, cells[4], now)
        assert cells[5] == f"{r['lab_inside']} of {r['lab_runs']}", name
        t = times[name]
        assert cells[6] == f"{t['lab_median']:.1f} s / {100 * t['rel_error']:+.1f} %".replace("-", "−"), name
