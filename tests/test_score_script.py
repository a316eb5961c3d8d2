"""validation/score.py: the CRPS summary of one or more validation runs, over all scenarios or only some."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path, name, scores):
    d = tmp_path / name
    d.mkdir()
    rows = [{"scenario": sc, "quantity": "subject_upload_leech_bytes", "crps_scaled": v} for sc, v in scores.items()]
    (d / "validation.json").write_text(json.dumps({"rows": rows}))
    return d


def test_only_keeps_the_named_scenarios_and_prints_median_and_mean(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "validation"))
    from score import main

    a = _run(tmp_path, "a", {"h01-x": 0.1, "h18-y": 0.2, "h19-z": 0.4, "h20-w": 0.9})
    b = _run(tmp_path, "b", {"h01-x": 0.1, "h18-y": 0.1, "h19-z": 0.4, "h20-w": 0.9})
    assert main([str(a), str(b), "--only", "h18", "--only", "h19", "--only", "h20"]) == 0
    out = capsys.readouterr().out
    assert f"{a}: median scaled CRPS 0.4000 (mean 0.5000) over 3 scenarios" in out
    assert f"{b}: median scaled CRPS 0.4000 (mean 0.4667) over 3 scenarios" in out
    assert "better in 1, worse in 0 of 3" in out and "h01" not in out
    assert main([str(a)]) == 0
    assert "median scaled CRPS 0.3000 (mean 0.4000) over 4 scenarios" in capsys.readouterr().out


def test_a_prefix_matching_nothing_is_named(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "validation"))
    from score import main

    a = _run(tmp_path, "a", {"h01-x": 0.1})
    assert main([str(a), "--only", "v99"]) == 2
    err = capsys.readouterr().err
    assert "v99" in err and "validation.json" in err


def test_a_change_from_a_score_of_zero_is_shown_as_such_and_counted_worse(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "validation"))
    from score import main

    a = _run(tmp_path, "a", {"h01-x": 0.0, "h02-y": 0.0, "h03-z": 0.2})
    b = _run(tmp_path, "b", {"h01-x": 0.0, "h02-y": 0.0037, "h03-z": 0.2})
    assert main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "better in 0, worse in 1 of 3" in out
    assert "h01 +0%" in out and "h02 0 → 0.0037" in out and "h03 +0%" in out
