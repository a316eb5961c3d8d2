"""The simulator against the recorded lab runs of the whole calibration matrix (no lab needed).

docs/validation.json (and the table in docs/validation.md, written by the same command) must be
what the current model gives: the simulator is deterministic, so re-running the comparison on the
recordings reproduces every number. A model change that is not followed by
`leechsim validate --matrix validation/ --out runs/validation --force --doc docs/validation.md`
(and copying runs/validation/validation.json to docs/) fails here."""

import io
import json
import math
from pathlib import Path

import pytest

from leechsim.env import Environment
from leechsim.main import main

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "validation"


def test_every_matrix_scenario_has_recorded_lab_runs():
    names = sorted(p.stem for p in MATRIX.glob("*.toml"))
    assert len(names) >= 10
    for name in names:
        rec = MATRIX / "recorded" / name
        manifest = json.loads((rec / "manifest.json").read_text())
        assert manifest["software"]["libtorrent"], name
        assert len(list((rec / "replications").glob("*/peers.csv"))) >= 3, name


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("val") / "validation"
    doc = out.parent / "validation.md"
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["validate", "--matrix", str(MATRIX), "--out", str(out), "--doc", str(doc)], env)
    assert code == 0, env.stderr.getvalue()
    return json.loads((out / "validation.json").read_text()), doc.read_text()


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def test_documented_error_rate_is_the_current_models(comparison):
    data, _ = comparison
    documented = json.loads((ROOT / "docs" / "validation.json").read_text())
    assert data["summary"] == documented["summary"]
    assert len(data["rows"]) == len(documented["rows"]) >= 30
    for got, doc in zip(data["rows"], documented["rows"]):
        assert got.keys() == doc.keys()
        bad = {k: (got[k], doc[k]) for k in got if not _same(got[k], doc[k])}
        assert not bad, (got["scenario"], got["quantity"], bad)


def test_documented_table_is_the_current_models(comparison):
    _, md = comparison
    published = (ROOT / "docs" / "validation.md").read_text()
    body = lambda text: text.split("**", 1)[1]  # noqa: E731 - after the command line, which names paths
    assert body(md) == body(published)
