"""Counterfactuals and sensitivity re-simulate with the run's seeds: invariants that must hold."""

from __future__ import annotations

import csv

from .conftest import run_cli


def _rows(path):
    return {r.get("variant") or r["key"]: r for r in csv.DictReader(open(path))}


def test_counterfactual_invariants(fresh_run):
    """Same seeds: 'stops at completion' reproduces a stop run exactly; a free rider uploads 0; a cap bounds upload."""
    code, _, err = run_cli("report", fresh_run, "--workers", "1", "--range", "swarm.leechers.count=2,4")
    assert code == 0, err
    cf = _rows(fresh_run / "report-data" / "counterfactuals.csv")
    assert list(cf) == ["as_run", "stop", "never_stop", "capped", "few_slots", "not_connectable", "free_rider"]
    for q in ("subject_upload_leech_bytes", "subject_upload_total_bytes", "subject_download_time_s"):
        for stat in ("median", "p5", "p95"):
            assert float(cf["stop"][f"{q}_{stat}"]) == float(cf["as_run"][f"{q}_{stat}"]), (q, stat)
    assert float(cf["free_rider"]["subject_upload_total_bytes_p95"]) == 0
    assert float(cf["stop"]["subject_upload_seed_bytes_p95"]) == 0
    capped = cf["capped"]
    bound = 50_000 * (float(capped["subject_download_time_s_p95"]) + 1)
    assert float(capped["subject_upload_leech_bytes_p95"]) <= bound
    assert float(cf["never_stop"]["subject_upload_total_bytes_median"]) >= float(cf["stop"]["subject_upload_total_bytes_median"])
    sens = _rows(fresh_run / "report-data" / "sensitivity.csv")
    assert list(sens) == ["swarm.leechers.count"] and sens["swarm.leechers.count"]["replications"] == "2"
    md = (fresh_run / "report.md").read_text()
    assert "Caution" not in md  # the run was made by this very code
