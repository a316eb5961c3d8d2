"""The report command on the fixed small run: sections, numbers, files, golden Markdown, refusals."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from forensics import fmt
from forensics.analysis.stats import describe
from forensics.rundir import REPORT_HASH_FILE, integrity_problems, report_problems

from .conftest import DATA, run_cli

GOLDEN = DATA / "golden-small-run-report.md"
SECTIONS = ("1. Question and answer", "2. Scenario and assumptions", "3. Method", "4. Results",
            "5. Counterfactuals: what did the settings change?", "6. Sensitivity", "7. Error rate", "8. Reproducibility")
FIGURES = ("upload_distribution", "cumulative", "recipients")


@pytest.fixture(autouse=True)
def _no_repo_validation_file(monkeypatch, tmp_path):
    """The golden report must not change when docs/validation.json appears in the source tree."""
    monkeypatch.setattr("forensics.report.error_rate.PACKAGED_VALIDATION", tmp_path / "no-validation.json")


def _results(run: Path) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(open(run / "results.csv")))
    return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}


def _quick_report(run: Path) -> str:
    code, out, err = run_cli("report", run, "--no-counterfactuals", "--no-sensitivity")
    assert code == 0, err
    return (run / "report.md").read_text()


def normalize(md: str, run: Path) -> str:
    """Drop what legitimately changes between report runs: generation time, tool version, paths."""
    md = md.replace(str(run), "<RUN>")
    md = re.sub(r"report generated \S+ by leechsim \S+", "report generated <TIME> by leechsim <VERSION>", md)
    return md


def test_report_has_every_section_in_order(fixed_run):
    """report.md and report.html carry the eight sections of the issue, in order."""
    md = _quick_report(fixed_run)
    html = (fixed_run / "report.html").read_text()
    positions = [md.index(f"## {s}") for s in SECTIONS]
    assert positions == sorted(positions)
    for s in SECTIONS:
        assert s.replace("'", "&#39;") in html
    for sub in ("4.1 Distribution", "4.2 Cumulative", "4.3 Uploads per receiving peer", "4.4 Which files", "4.5 Exposure"):
        assert sub in md and sub in html


def test_html_is_self_contained(fixed_run):
    """Every figure is embedded as base64 PNG; the page loads nothing from anywhere."""
    _quick_report(fixed_run)
    html = (fixed_run / "report.html").read_text()
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) == len(FIGURES) and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in html and "https://" not in html and "<link" not in html and "<script" not in html
    for name in FIGURES:
        assert (fixed_run / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_answer_numbers_match_the_results_table(fixed_run):
    """The answer paragraph and table state the medians and 5th–95th percentiles of results.csv."""
    md = _quick_report(fixed_run)
    R = _results(fixed_run)
    summary = json.loads((fixed_run / "summary.json").read_text())["headline"]
    answer = next(line for line in md.splitlines() if line.startswith("**Answer.**"))
    for q in ("subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_upload_total_bytes"):
        st = describe(R[q])
        assert st.median == summary[q]["median"] and st.p5 == summary[q]["p5"]
        assert f"**{fmt.nbytes(st.median)}** (90% interval {fmt.nbytes(st.p5)} – {fmt.nbytes(st.p95)})" in answer
    leech = describe(R["subject_upload_leech_bytes"]).median
    assert f"| Subject upload while leeching | {fmt.nbytes_exact(leech)} |" in md
    size = sum(int(r["size_bytes"]) for r in csv.DictReader(open(fixed_run / "replications/0000/files.csv")))
    share = describe(R["subject_upload_total_bytes"] / size).median
    assert f"**{fmt.percent(share)}** of the torrent" in answer
    assert f"**{fmt.ratio(describe(R['subject_ratio_total']).median)}** to the bytes it downloaded" in answer
    assert "It completed its download in 6 of 6 replications" in answer


def test_per_file_and_monitor_tables(fixed_run):
    """Per-file exposure counts complete copies from files.csv; monitor exposure is a probability."""
    md = _quick_report(fixed_run)
    copies = [row["complete_copy"] == "True"
              for i in range(6) for row in csv.DictReader(open(fixed_run / f"replications/{i:04d}/files.csv"))
              if row["path"] == "books/c.epub"]
    assert "| `books/c.epub` | 29.30 KiB (30,000 B) | 1 |" in md
    assert re.search(rf"\| `books/c.epub` .*\| {re.escape(fmt.percent(np.mean(copies)))} \|", md)
    rows = list(csv.DictReader(open(fixed_run / "report-data" / "exposure.csv")))
    assert len(rows) == 6
    present = sum(int(r["present_leechers"]) for r in rows)
    got_piece = sum(int(r["got_piece"]) for r in rows)
    assert f"| at least one whole (hash-verifiable) piece | {got_piece / present:.3f} |" in md


def test_sources_from_comments(fixed_run):
    """`# evidence:` / `# assumed:` comments mark sources; unmarked libtorrent settings are defaults."""
    md = _quick_report(fixed_run)
    assert "| `subject.upload` | 976.56 KiB/s (1,000,000 B/s) | evidence | ISP contract, exhibit 12 |" in md
    assert "| `swarm.seeds.count` | 1 | evidence | tracker scrape, exhibit 3 |" in md
    assert "| `swarm.announce_interval_s` | 60 s | assumed | short interval of a small private tracker |" in md
    assert "| `subject.libtorrent.unchoke_slots_limit` | 8 | libtorrent default |" in md
    assert "| `swarm.leechers.count` | 6 | scenario file | source not stated |" in md


def test_error_rate_is_honest_without_validation(fixed_run):
    """Without validation data the report says no error rate can be stated."""
    md = _quick_report(fixed_run)
    section = md.split("## 7. Error rate")[1].split("## 8.")[0]
    assert "not yet available" in section and "no error rate" in section


def test_report_files_are_hashed_and_the_run_stays_intact(fixed_run):
    """report.SHA256SUMS lists every report file; the run's own SHA256SUMS is untouched."""
    before = (fixed_run / "SHA256SUMS").read_bytes()
    _quick_report(fixed_run)
    assert (fixed_run / "SHA256SUMS").read_bytes() == before
    listed = [line.split("  ", 1)[1] for line in (fixed_run / REPORT_HASH_FILE).read_text().splitlines()]
    assert {"report.md", "report.html", "figures/cumulative.png", "report-data/files.csv"} <= set(listed)
    assert integrity_problems(fixed_run) == [] and report_problems(fixed_run) == []
    _quick_report(fixed_run)  # a second report over the first is allowed
    assert integrity_problems(fixed_run) == []


def test_golden_markdown(fixed_run):
    """report.md of the fixed run, without timestamps, equals the golden file.

    After an intended change of the report, regenerate with LEECHSIM_UPDATE_GOLDEN=1.
    """
    md = normalize(_quick_report(fixed_run), fixed_run)
    if os.environ.get("LEECHSIM_UPDATE_GOLDEN"):
        GOLDEN.write_text(md)
    assert md == GOLDEN.read_text()


@pytest.mark.parametrize("victim", ["results.csv", "replications/0003/transfer_log.csv", "scenario.toml"])
def test_refuses_a_tampered_run(fixed_run, victim):
    """A changed byte in any evidence file: exit 2, naming the file and why; nothing written."""
    f = fixed_run / victim
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    code, _, err = run_cli("report", fixed_run, "--no-counterfactuals", "--no-sensitivity")
    assert code == 2
    assert victim in err and "differs from its SHA-256" in err and "refusing" in err
    assert "Traceback" not in err and not (fixed_run / "report.html").exists()


def test_refuses_an_incomplete_run(fixed_run):
    """A run marked INCOMPLETE is refused with the recorded reason."""
    (fixed_run / "INCOMPLETE").write_text("run failed at 2026-01-01: interrupted (Ctrl-C)\n")
    code, _, err = run_cli("report", fixed_run)
    assert code == 2 and "marked incomplete" in err and "interrupted" in err


def test_refuses_a_missing_run(tmp_path):
    """A directory that does not exist: exit 2 with a one-line message."""
    code, _, err = run_cli("report", tmp_path / "nope")
    assert code == 2 and "no such run directory" in err


def test_error_rate_from_a_validation_file(fixed_run, tmp_path):
    """With --validation, the section cites the file (and its SHA-256) and tabulates the error per quantity."""
    v = tmp_path / "validation.json"
    v.write_text(json.dumps({"summary": "2 of 2 comparisons within target over 1 scenario(s).", "rows": [],
                             "error_rate": {"subject_upload_leech_bytes": {
                                 "scenarios": 1, "met": 1, "median_abs_rel_error": 0.125, "max_abs_rel_error": 0.125,
                                 "lab_runs_inside_interval": "3/3"}}}))
    code, _, err = run_cli("report", fixed_run, "--no-counterfactuals", "--no-sensitivity", "--validation", v)
    assert code == 0, err
    section = (fixed_run / "report.md").read_text().split("## 7. Error rate")[1].split("## 8.")[0]
    assert "validation.json (SHA-256 " in section and "2 of 2 comparisons" in section
    assert "| upload_leech_bytes | 1 | 1 | 12.5% | 12.5% | 3/3 |" in section
    v.write_text("{}")
    code, _, err = run_cli("report", fixed_run, "--no-counterfactuals", "--no-sensitivity", "--validation", v)
    assert code == 2 and "no 'error_rate' table" in err
