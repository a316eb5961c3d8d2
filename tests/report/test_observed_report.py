"""simulate and report with an [evidence] table: known answers for the observed-against-simulated section."""

from __future__ import annotations

import csv

import tomli_w

from .conftest import run_cli

# The subject alone with one seed: nobody to upload to, whatever the policy (0 bytes in every
# replication of every policy), and it downloads exactly the 2 MiB torrent.
ALONE = {
    "scenario": {"name": "alone-with-evidence"},
    "torrent": {"piece_size": "64KiB", "total_size": 2 * 1024**2},
    "swarm": {"seeds": {"count": 0}, "leechers": {"count": 0},
              "peer": [{"id": "P001", "role": "seed", "upload": 500_000}]},
    "subject": {"on_complete": "stop"},
    "simulation": {"horizon_s": 200, "replications": 3, "seed": 2},
    "evidence": {"subject_upload_total_bytes": 0, "subject_download_bytes": 2 * 1024**2,
                 "subject_seeding_time_s": 123},
    "sources": {"evidence.subject_upload_total_bytes": "evidence: test, the counter"},
}


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_observed_zero_upload_when_nobody_can_receive(tmp_path):
    """0 B observed, 0 B in every replication of every policy: the 50th percentile (ties count
    half), inside every interval, likelihood ratio 1 between policies; the download (always the
    whole torrent) likewise."""
    case = tmp_path / "case.toml"
    case.write_text(tomli_w.dumps(ALONE))
    run = tmp_path / "run"
    code, out, err = run_cli("simulate", case, "--out", run, "--workers", "1")
    assert code == 0, err
    sim_rows = rows(run / "observed.csv")
    assert [r["quantity"] for r in sim_rows] == ["subject_upload_total_bytes", "subject_download_bytes"]
    assert all(float(r["percentile"]) == 50.0 and r["inside"] == "true" for r in sim_rows)
    assert "Evidence against the simulation" in out
    code, _, err = run_cli("report", run, "--no-sensitivity", "--variant-runs", "2")
    assert code == 0, err
    report = rows(run / "report-data" / "observed.csv")
    assert {r["policy"] for r in report} == {"as_run", "stop", "seed_for", "seed_until_ratio", "never_stop", "capped"}
    assert {r["label"] for r in report if r["policy"] == "seed_for"} == {"seeds for 123 s"}  # T from the evidence
    for r in report:
        assert float(r["percentile"]) == 50.0 and r["inside"] == "true", r
        assert float(r["likelihood_ratio_vs_as_run"]) == 1.0, r
    md = (run / "report.md").read_text()
    assert "### Observed against simulated" in md and "**50.0th percentile**" in md
    assert (run / "figures" / "observed.png").is_file()
    html = (run / "report.html").read_text()
    assert '<h3 id="observed">Observed against simulated</h3>' in html
    assert '<img alt="Observed against simulated" src="data:image/png;base64,' in html


def test_parameter_table_summarises_explicit_peers_and_omits_the_sources_table(tmp_path):
    """The report's parameter table: [[swarm.peer]] as a count, not a list dump; the [sources]
    table's own entries are the rows' sources, never parameter rows."""
    from forensics.report.sources import parameter_table
    from sim.scenario import parse_scenario

    sc = parse_scenario(ALONE)
    rows = {p.key: p for p in parameter_table(sc, tomli_w.dumps(ALONE), [])}
    assert rows["swarm.peer"].value == "1 explicit peers (1 seeds, 0 leechers; full list in scenario.resolved.toml)"
    assert not [k for k in rows if k.startswith("sources")]
    assert rows["evidence.subject_upload_total_bytes"].source == "evidence"
