"""validation/traces/by_draw.py: a quantity of the lab against the model, per drawn configuration of
the capacities (hand-made run directories: each replication's peers.csv and the results.csv)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20


def _run(tmp_path, name, reps):
    """reps: list of (seed upload rates, subject upload MiB)."""
    d = tmp_path / name
    lines = ["replication,subject_upload_leech_bytes"]
    for i, (seeds, up) in enumerate(reps):
        r = d / "replications" / f"{i:04d}"
        r.mkdir(parents=True)
        peers = ["peer,role,upload_bps", "0,subject,1000000", "1,leecher,500000"]
        peers += [f"{2 + j},seed,{bps}" for j, bps in enumerate(seeds)]
        (r / "peers.csv").write_text("\n".join(peers) + "\n")
        lines.append(f"{i},{int(up * MiB)}")
    (d / "results.csv").write_text("\n".join(lines) + "\n")
    return d


def test_groups_by_configuration_and_takes_the_model_median_over_the_lab_runs_own(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "validation" / "traces"))
    from by_draw import main, table

    slow, fast = (300000, 300000), (1000000, 300000)
    lab = _run(tmp_path, "lab", [(slow, 10.0), (slow, 12.0), (fast, 30.0)])
    sim = _run(tmp_path, "sim", [(slow, 20.0), ((300000, 1000000), 28.0), (slow, 22.0), (fast, 32.0), (slow, 24.0)])
    t, s = table(lab, sim, "subject_upload_leech_bytes", "seed")
    by = {r["configuration"]: r for r in t.to_dict("records")}
    assert set(by) == {"seed 300k/300k", "seed 300k/1000k"}  # sorted capacities: order within a role ignored
    assert by["seed 300k/300k"]["lab runs"] == 2 and by["seed 300k/300k"]["model replications"] == 3
    assert by["seed 300k/300k"]["lab values"] == "10.00, 12.00"
    assert by["seed 300k/1000k"]["model median [quartiles]"].startswith("30.00 ")
    assert s["lab_median"] == 12.0 and s["model_median"] == 24.0
    # the lab runs' configurations: slow, slow, fast → model medians 22, 22, 30 → 22
    assert s["model_median_over_lab_configurations"] == 22.0
    main([str(lab), str(sim), "--role", "seed"])
    assert "model median over the lab runs' configurations 22.00" in capsys.readouterr().out


def test_a_missing_column_names_the_file_and_what_is_allowed(tmp_path):
    sys.path.insert(0, str(ROOT / "validation" / "traces"))
    from by_draw import main

    lab = _run(tmp_path, "lab", [((300000,), 1.0)])
    with pytest.raises(SystemExit) as e:
        main([str(lab), str(lab), "--of", "no_such"])
    assert "results.csv: no column 'no_such'" in str(e.value) and "subject_upload_leech_bytes" in str(e.value)


def test_a_role_no_peer_has_names_the_file_and_the_roles_allowed(tmp_path):
    sys.path.insert(0, str(ROOT / "validation" / "traces"))
    from by_draw import main

    lab = _run(tmp_path, "lab", [((300000,), 1.0)])
    with pytest.raises(SystemExit) as e:
        main([str(lab), str(lab), "--role", "seeds"])
    assert "peers.csv: --role 'seeds': no such peer; allowed: leecher, seed" in str(e.value)
