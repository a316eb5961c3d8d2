"""validation/recordings_compare.py: the same model against two sets of recordings."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_a_table_row_per_scenario_with_both_errors(tmp_path, capsys):
    import sys
    sys.path.insert(0, str(ROOT / "validation"))
    from recordings_compare import main

    doc = ROOT / "docs" / "validation.json"
    rows = json.loads(doc.read_text())["rows"]
    old = tmp_path / "old.json"
    changed = [dict(r) for r in rows]
    for r in changed:  # an "earlier" set whose lab medians are twice as large
        if r["quantity"] == "subject_upload_leech_bytes":
            r["lab_median"] *= 2
    old.write_text(json.dumps({"rows": changed}))
    assert main([str(old), str(doc)]) == 0
    out = capsys.readouterr().out.splitlines()
    scenarios = sorted({r["scenario"] for r in rows})
    assert len(out) == 2 + len(scenarios)
    v01 = next(r for r in rows if r["scenario"].startswith("v01") and r["quantity"] == "subject_upload_leech_bytes")
    line = next(x for x in out if x.startswith("| v01 |"))
    assert f"{2 * v01['lab_median'] / 2**20:.2f} MiB" in line and f"{v01['lab_median'] / 2**20:.2f} MiB" in line


def test_a_file_that_is_not_a_validation_json_is_named(tmp_path):
    import sys
    sys.path.insert(0, str(ROOT / "validation"))
    from recordings_compare import main

    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit) as e:
        main([str(bad), str(bad)])
    assert "bad.json" in str(e.value) and "rows" in str(e.value)
