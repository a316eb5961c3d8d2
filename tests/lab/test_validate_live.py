"""`leechsim validate` end to end: a matrix scenario run live in the real lab and in the simulator."""

import io
import json
from pathlib import Path

from forensics.cli.env import Environment
from forensics.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_validate_one_matrix_scenario_live(tmp_path):
    out = tmp_path / "val"
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(["validate", "--matrix", str(ROOT / "validation"), "--only", "v09-several-seeds", "--live",
                 "--lab-runs", "1", "--sim-runs", "30", "--out", str(out), "--doc", str(tmp_path / "v.md")], env)
    assert code == 0, env.stderr.getvalue()
    data = json.loads((out / "validation.json").read_text())
    rows = {r["quantity"]: r for r in data["rows"]}
    assert set(rows) == {"subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_download_time_s"}
    leech = rows["subject_upload_leech_bytes"]
    assert leech["lab_runs"] == 1 and leech["sim_replications"] == 30
    assert leech["lab_median"] > 0 and leech["sim_median"] > 0  # both saw the subject upload while leeching
    # the error is what the two medians say it is
    assert abs(leech["rel_error"] - (leech["sim_median"] - leech["lab_median"]) / leech["lab_median"]) < 1e-12
    assert (out / "lab" / "v09-several-seeds" / "results.csv").is_file()
    assert (out / "sim" / "v09-several-seeds" / "results.csv").is_file()
    assert "| v09-several-seeds | upload_leech_bytes |" in (tmp_path / "v.md").read_text()
